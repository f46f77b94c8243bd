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
    }
    result["ok"] = (len(ok) == n and not errors and not result["cross_talk"] and not db_problems
                    and (cold is None or cold.ok))
    return result


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
    lines.append("RESULT " + ("ok" if result["ok"] else "FAILED"))
    print("\n".join(lines), flush=True)
