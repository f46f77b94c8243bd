"""The result of a load run: per-phase latency, errors, cross-talk and database checks as a dict, and as a table."""
from __future__ import annotations

import numpy as np

from bench.load.session import PHASES, SessionResult


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    a = np.asarray(values, dtype=float)
    return {"p50": round(float(np.percentile(a, 50)), 2), "p95": round(float(np.percentile(a, 95)), 2),
            "max": round(float(a.max()), 2)}


def summarise(n: int, cold: SessionResult | None, results: list[SessionResult], wall: float,
              db_problems: list[str], *, cold_mode: bool) -> dict:
    ok = [r for r in results if r.ok]
    errors = [f"{r.user}: {r.error}" for r in results if not r.ok]
    if cold is not None and not cold.ok:
        errors.insert(0, f"{cold.user} (warm-up): {cold.error}")
    latency = {ph: _stats([r.times[ph] for r in ok if ph in r.times]) for ph in PHASES}
    result = {
        "sessions": n,
        "successes": len(ok),
        "errors": errors,
        "cross_talk": [f"{r.user}: {c}" for r in results for c in r.cross_talk],
        "blocked_requests": sorted({h for r in results for h in r.blocked}),
        "http_errors": [f"{r.user}: {e}" for r in results for e in r.http_errors],
        "reconnects": sum(max(len(r.websockets) - 1, 0) for r in results),
        "console_errors": sorted({e for r in results for e in r.console_errors}),  # reported, not failed on
        "latency_s": latency,
        "wall_s": round(wall, 2),
        "mode": "cold (no warm-up session)" if cold_mode else "warm (after one warm-up session)",
        "cold_s": {k: round(v, 2) for k, v in cold.times.items()} if cold is not None else None,
        "db_problems": db_problems,
        "db_ok": not db_problems,
        "dropped_uploads": sum(r.dropped for r in results),
    }
    result["ok"] = (len(ok) == n and not errors and not result["cross_talk"] and not db_problems
                    and (cold is None or cold.ok))
    return result


# the speed targets: (what, the measured value's path, the limit)
TARGETS = (
    ("(a) warm single user: Analyse -> all charts, p50", "analyse_p50", 1.0),
    ("(b) reload -> page usable, p50", "reload_p50", 2.0),
    ("(c) parallel users: upload -> all charts, p95", "parallel_p95", 5.0),
    ("(c) dropped uploads (never reached the validation report)", "dropped", 0),
)


def targets(result: dict) -> list[dict]:
    """Each target with its measured value and PASS or SHORT (SHORT too when it could not be measured, or when a
    parallel session failed: a p95 over the survivors would flatter)."""
    single = result.get("single_user") or {}
    lat = result["latency_s"].get("upload_to_charts", {})
    measured = {
        "analyse_p50": _stats(single.get("analyse_s", []))["p50"],
        "reload_p50": _stats(single.get("reload_s", []))["p50"],
        "parallel_p95": lat.get("p95") if result["successes"] == result["sessions"] else None,
        "dropped": result["dropped_uploads"],
    }
    counts = {"analyse_p50": len(single.get("analyse_s", [])), "reload_p50": len(single.get("reload_s", [])),
              "parallel_p95": result["successes"], "dropped": result["sessions"]}
    return [{"target": what, "value": measured[key], "limit": limit, "n": counts[key],
             "verdict": "PASS" if measured[key] is not None and measured[key] <= limit else "SHORT"}
            for what, key, limit in TARGETS]


def _cores(result: dict) -> int | None:
    """The cores the run had: those it was pinned to, else the machine's."""
    return len(result.get("cores_used") or []) or result.get("cpu_count")


def parallel_floor(result: dict) -> float | None:
    """The least time in which N users who start an upload -> all charts flow together can all finish on the run's
    cores: N times one flow's CPU time (the single user's median: browser, server and the rest of the machine)
    over the cores, were the work perfectly shared. None without a single-user CPU measurement."""
    flows = (result.get("single_user") or {}).get("flow_cpu_s") or []
    cores = _cores(result)
    if not flows or not cores:
        return None
    return round(result["sessions"] * float(np.median(flows)) / cores, 2)


def print_report(result: dict) -> None:
    lines = [f"sessions {result['sessions']}  successes {result['successes']}  errors {len(result['errors'])}  "
             f"wall {result['wall_s']:.1f} s  ({result['mode']})"]
    if result["cold_s"]:
        lines.append("cold first session: " + "  ".join(f"{k} {v:.1f} s" for k, v in result["cold_s"].items()))
    if result.get("server_cpu_s") is not None and result.get("machine_cpu_s") is not None:
        lines.append(f"CPU during the parallel sessions: server {result['server_cores_busy']:.2f} cores, whole "
                     f"machine {result['machine_cores_busy']:.2f} of {result['cpu_count']} cores (browser, server, "
                     f"anything else); load average before {result['load_average_before']:.1f}")
    lines.append(f"{'phase':<10}{'p50 s':>9}{'p95 s':>9}{'max s':>9}")
    for phase, s in result["latency_s"].items():
        cells = "".join(f"{'-' if s[k] is None else f'{s[k]:.2f}':>9}" for k in ("p50", "p95", "max"))
        lines.append(f"{phase:<10}{cells}")
    for e in result["errors"]:
        lines.append(f"ERROR {e}")
    for p in result["db_problems"]:
        lines.append(f"DB    {p}")
    lines.append("database checks: " + ("ok" if result["db_ok"] else f"{len(result['db_problems'])} problems"))
    cores = result.get("cores_used")
    lines.append(f"cores: {len(cores) if cores else result.get('cpu_count')} used "
                 f"({'pinned to ' + ','.join(map(str, cores)) if cores else 'not pinned'}; "
                 f"{result.get('cpu_count')} on this machine)")
    single = result.get("single_user") or {}
    if single:
        lines.append(f"single user: Analyse -> all charts {single['analyse_s']} s (first, not counted: "
                     f"{single['first_analyse_s']} s); reload -> usable {single['reload_s']} s")
        if single.get("flow_cpu_s"):
            lines.append(f"CPU of one upload -> all charts flow (single user): machine {single['flow_cpu_s']} s, of "
                         f"which the server {single.get('flow_server_cpu_s')} s (the rest: the browser)")
    if result.get("parallel_floor_s") is not None:
        lines.append(f"floor for {result['sessions']} users at once: {result['parallel_floor_s']} s for the last to "
                     f"finish ({result['sessions']} x the median flow's CPU / {_cores(result)} cores, perfectly shared)")
    if "upload_to_charts" in result["latency_s"]:
        s = result["latency_s"]["upload_to_charts"]
        lines.append(f"{result['sessions']} parallel users: upload -> all charts p50 {s['p50']} s, p95 {s['p95']} s "
                     f"({result['successes']} of {result['sessions']} sessions finished)")
    for t in result.get("targets", []):
        value = "not measured" if t["value"] is None else f"{t['value']}"
        lines.append(f"TARGET {t['target']}: {value} (limit {t['limit']}, n={t['n']}) {t['verdict']}")
    lines.append("RESULT " + ("ok" if result["ok"] else "FAILED"))
    print("\n".join(lines), flush=True)
