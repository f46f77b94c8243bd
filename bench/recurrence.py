"""The recurrence-score approximation's distribution, before and after calibration, vs the published one.

``python -m bench.recurrence [--loo N]``

For METABRIC, SCAN-B and VDX (each its own reference, as ``python -m genomics signatures`` on a whole cohort),
and for single SCAN-B samples scored against SCAN-B without themselves (leave-one-out), prints the median,
the 5-95% range, the share at 0 and at 100 and the Paik 2004 groups (low < 18 <= intermediate < 31 <= high),
for all patients and for the ER-positive, HER2-negative ones, together with the TAILORx bands (0-10, 11-25,
26-30, 31-100), and the published TAILORx distribution (:data:`genomics.signatures.recurrence.TAILORX`).

"before" is the formula's own scaling, ``RS = 20 * (RSu - 6.7)`` truncated to 0-100, on the same unscaled
scores; "after" is the calibrated score (:func:`genomics.signatures.recurrence.calibrate_rs`). METABRIC
measures 3 of the 16 genes and is refused, with the reason printed. Research use only. About 30 s on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import norm  # noqa: E402

from genomics.cohorts import load_cohort  # noqa: E402
from genomics.errors import InputError  # noqa: E402
from genomics.platforms import platform_reference  # noqa: E402
from genomics.signatures.recurrence import RS_CUTOFFS, TAILORX, recurrence_score  # noqa: E402


def formula_scaling(rsu: pd.Series) -> pd.Series:
    """The Paik 2004 scaling, meant for RT-PCR values: what the approximation printed before calibration."""
    return (20.0 * (rsu - 6.7)).clip(0.0, 100.0)


def summary(rs: pd.Series) -> dict:
    """Median, 5-95%, shares at 0 and 100, Paik groups and TAILORx bands of a set of scores."""
    rs = rs.dropna()
    r = rs.round()
    return {"n": int(len(rs)), "median": float(rs.median()), "q05": float(rs.quantile(0.05)),
            "q95": float(rs.quantile(0.95)), "at_0": float((rs <= 0).mean()), "at_100": float((rs >= 100).mean()),
            "low": float((rs < RS_CUTOFFS[0]).mean()),
            "intermediate": float(((rs >= RS_CUTOFFS[0]) & (rs < RS_CUTOFFS[1])).mean()),
            "high": float((rs >= RS_CUTOFFS[1]).mean()),
            "bands": {"0-10": float((r <= 10).mean()), "11-25": float(r.between(11, 25).mean()),
                      "26-30": float(r.between(26, 30).mean()), "31-100": float((r >= 31).mean())}}


def published() -> dict:
    """The TAILORx bands as published, and the Paik groups and quantiles of the log-normal fitted to them."""
    mu, sigma = TAILORX.lognormal()

    def cdf(x: float) -> float:
        return float(norm.cdf((np.log(x) - mu) / sigma))

    return {"source": f"{TAILORX.source}: {TAILORX.population}", "bands": TAILORX.shares(),
            "median": float(np.exp(mu)), "q05": float(np.exp(mu + sigma * norm.ppf(0.05))),
            "q95": float(np.exp(mu + sigma * norm.ppf(0.95))),
            "low": cdf(RS_CUTOFFS[0] - 0.5), "intermediate": cdf(RS_CUTOFFS[1] - 0.5) - cdf(RS_CUTOFFS[0] - 0.5),
            "high": 1 - cdf(RS_CUTOFFS[1] - 0.5)}


def _er_pos_her2_neg(obs: pd.DataFrame) -> np.ndarray:
    er = obs["er_status"].astype(str).eq("Positive").to_numpy()
    if "her2_status" in obs:
        return er & obs["her2_status"].astype(str).eq("Negative").to_numpy()
    return er  # VDX records no HER2 status


def cohort_distribution(cohort_id: str) -> dict:
    adata = load_cohort(cohort_id)
    try:
        table = recurrence_score(adata)
    except InputError as exc:
        return {"refused": str(exc)}
    subset = _er_pos_her2_neg(adata.obs)
    before, after = formula_scaling(table["rs_unscaled"]), table["rs_approx"]
    return {"calibration": table.attrs["rs_calibration"],
            "all": {"before": summary(before), "after": summary(after)},
            "er_pos_her2_neg": {"before": summary(before[subset]), "after": summary(after[subset])}}


def scanb_leave_one_out(n: int) -> dict:
    """``n`` evenly spaced SCAN-B samples, each scored alone against SCAN-B without itself."""
    scanb = load_cohort("scanb")
    reference = platform_reference("scanb")
    subset = _er_pos_her2_neg(scanb.obs)
    rows = np.unique(np.linspace(0, scanb.n_obs - 1, min(n, scanb.n_obs)).round().astype(int))
    before, after = [], []
    for i in rows:
        one = scanb[i:i + 1].copy()
        one.uns["oncotx"] = {"scale": "log"}
        table = recurrence_score(one, reference=reference.without(one.obs_names))
        before.append(float(formula_scaling(table["rs_unscaled"]).iloc[0]))
        after.append(float(table["rs_approx"].iloc[0]))
    before_s, after_s, keep = pd.Series(before), pd.Series(after), subset[rows]
    return {"all": {"before": summary(before_s), "after": summary(after_s)},
            "er_pos_her2_neg": {"before": summary(before_s[keep]), "after": summary(after_s[keep])}}


def _line(name: str, s: dict) -> str:
    bands = ", ".join(f"{k} {v:.0%}" for k, v in s["bands"].items())
    extra = f"at 0 {s['at_0']:.1%}, at 100 {s['at_100']:.1%}; " if "at_0" in s else ""
    n = f" (n={s['n']})" if "n" in s else ""
    return (f"    {name}{n}: median {s['median']:.1f}, 5-95% {s['q05']:.1f}-{s['q95']:.1f}; {extra}"
            f"low {s['low']:.0%} / intermediate {s['intermediate']:.0%} / high {s['high']:.0%}; TAILORx bands {bands}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recurrence")
    parser.add_argument("--loo", type=int, default=196, help="SCAN-B samples scored alone (0: none)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    ref = published()
    print("Recurrence-score approximation (research use, not the Oncotype DX assay): distribution")
    print(f"  published: {ref['source']}")
    print(_line("TAILORx (bands as published; median, 5-95% and groups from the fitted log-normal)", ref))
    results = {cid: cohort_distribution(cid) for cid in ("metabric", "scanb", "vdx")}
    if args.loo:
        results["scanb single samples, leave-one-out"] = scanb_leave_one_out(args.loo)
    for name, result in results.items():
        if "refused" in result:
            print(f"  {name}: refused: {result['refused']}")
            continue
        print(f"  {name}" + (f" (calibrated on {result['calibration']})" if "calibration" in result else ""))
        for part, label in (("all", "all patients"), ("er_pos_her2_neg", "ER+/HER2-")):
            for when in ("before", "after"):
                print(_line(f"{label}, {when}", result[part][when]))
    print(f"  ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
