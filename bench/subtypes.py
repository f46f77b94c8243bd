"""PAM50 agreement with SCAN-B's own calls, and the recurrence-score distribution, on real data.

``python -m bench.subtypes [--cli N]``

SCAN-B (GSE96058 development set, 196 RNA-seq samples, 38 of the 50 PAM50 genes) ships its own PAM50 calls,
made from the full transcriptome. Method (fixed before measuring on these samples, as documented in
:func:`genomics.signatures.pam50_subtype`): nearest centroid by Spearman correlation, each gene centred on the
ER-balanced median of the reference (the mean of the ER-positive and ER-negative medians). No model learns
from the SCAN-B labels, so nothing needs cross-validation; the single-sample calls are leave-one-out: each
sample is called against the SCAN-B reference **without itself** (:meth:`PlatformReference.without`).

* whole cohort: the 196 samples centred on themselves;
* single sample, leave-one-out, in process: log2 FPKM as shipped (standardise mode), and the same profile as
  raw counts (``2**x - 0.1`` scaled to 20 M reads, rounded), which the code log-transforms (natural log
  CP10k) and quantile-maps onto SCAN-B (quantile mode): another convention of the same platform;
* through the CLI: ``python -m genomics signatures --expression ONE.tsv`` (no ``--cohort``) on a few
  one-sample two-column files, in subprocesses. The CLI uses the full SCAN-B reference, which holds the
  sample itself (1 of 196): not leave-one-out, so its calls are also compared with the leave-one-out ones;
* the recurrence-score approximation's distribution (quantiles, share at 0 and at 100) on SCAN-B (its own
  reference) and for leave-one-out single samples; METABRIC is refused (3 of the 16 genes among its 300).

The other half of the 400-sample SCAN-B subset is held back for independent validation and is not used here.
Research use only. Budget: about 2 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import subprocess  # noqa: S404 - runs our own CLI with fixed arguments
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before anything loads OpenMP (scikit-learn)

import anndata as ad  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from genomics.cohorts import load_cohort  # noqa: E402
from genomics.errors import InputError  # noqa: E402
from genomics.platforms import platform_reference  # noqa: E402
from genomics.signatures import PAM50_SUBTYPES, RS_CUTOFFS, pam50_subtype, recurrence_score  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
QUANTILES = (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0)


def _one(adata: ad.AnnData, i: int, values: np.ndarray | None = None, scale: str = "log") -> ad.AnnData:
    """A bare one-sample AnnData as an upload would give (no cohort id in provenance)."""
    x = adata.X[i] if values is None else values
    return ad.AnnData(X=np.asarray(x, dtype=np.float32)[None, :], var=pd.DataFrame(index=adata.var_names.copy()),
                      obs=pd.DataFrame(index=[str(adata.obs_names[i])]),
                      uns={"oncotx": {"scale": scale, "transformations": []}})


def _counts(log2fpkm: np.ndarray) -> np.ndarray:
    fpkm = np.clip(2.0 ** np.asarray(log2fpkm, dtype=np.float64) - 0.1, 0, None)
    return np.round(fpkm / fpkm.sum() * 2e7)


def _summary(calls: np.ndarray, truth: np.ndarray) -> dict:
    labels = list(PAM50_SUBTYPES)
    confusion = pd.crosstab(pd.Categorical(truth, categories=labels), pd.Categorical(calls, categories=labels),
                            rownames=["SCAN-B"], colnames=["called"], dropna=False)
    recall = {s: float(np.mean(calls[truth == s] == s)) for s in labels if (truth == s).any()}
    return {"agreement": float(np.mean(calls == truth)), "n": int(len(truth)), "confusion": confusion,
            "recall": recall}


def _rs_summary(rs: pd.Series) -> dict:
    rs = rs.dropna()
    return {"n": int(len(rs)), "quantiles": {f"q{int(q * 100):02d}": float(rs.quantile(q)) for q in QUANTILES},
            "share_0": float((rs <= 0).mean()), "share_100": float((rs >= 100).mean()),
            "groups": {k: int(v) for k, v in rs.pipe(_groups).value_counts().items()}}


def _groups(rs: pd.Series) -> pd.Series:
    return pd.Series(np.select([rs < RS_CUTOFFS[0], rs < RS_CUTOFFS[1]], ["low", "intermediate"], "high"),
                     index=rs.index)


def _cli_calls(scanb: ad.AnnData, indices: list[int]) -> list[dict]:
    rows = []
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    with tempfile.TemporaryDirectory(prefix="oncotx-subtypes-") as tmp:
        for i in indices:
            sample = str(scanb.obs_names[i])
            expression, out = Path(tmp) / f"s{i}.tsv", Path(tmp) / f"s{i}.csv"
            pd.DataFrame({"gene": scanb.var_names, "value": scanb.X[i]}).to_csv(expression, sep="\t", index=False)
            done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
                [sys.executable, "-m", "genomics", "signatures", "--expression", str(expression), "--out", str(out)],
                capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)
            row = {"sample": sample, "returncode": done.returncode, "stdout": done.stdout.strip(),
                   "stderr": done.stderr.strip()[-500:]}
            if done.returncode == 0:
                table = pd.read_csv(out)
                row.update(pam50=str(table["pam50"].iloc[0]), confidence=float(table["pam50_confidence"].iloc[0]),
                           coverage=str(table["pam50_coverage"].iloc[0]), rs=float(table["rs_approx"].iloc[0]))
            rows.append(row)
    return rows


def pam50_agreement(*, n_cli: int = 10, counts: bool = True) -> dict:
    """Agreement of our PAM50 calls with SCAN-B's own calls (see the module docstring), and the RS distribution.

    Returns a dict: ``whole_cohort``, ``single_sample_loo`` (and ``single_sample_loo_counts``), each with
    ``agreement``, ``n``, ``confusion`` (DataFrame, SCAN-B rows × called columns) and per-subtype ``recall``;
    ``cli`` (per-sample rows and ``agreement``); ``confidence`` (mean ``pam50_confidence`` of right and wrong
    leave-one-out calls); ``rs`` (distribution summaries per cohort, or the refusal); ``seconds``.
    """
    started = time.perf_counter()
    scanb = load_cohort("scanb")
    truth = scanb.obs["pam50_subtype"].astype(str).to_numpy()
    out: dict = {"method": "nearest centroid (Spearman), ER-balanced median centring, 38 of 50 genes"}

    whole = pam50_subtype(scanb.copy())
    out["whole_cohort"] = {**_summary(whole["pam50"].astype(str).to_numpy(), truth),
                           "centring": whole.attrs["pam50_centring"],
                           "genes_used": int(whole["pam50_genes_used"].iloc[0])}

    reference = platform_reference("scanb")
    loo_calls, loo_conf, loo_rs, modes = [], [], [], []
    count_calls, count_modes = [], []
    t0 = time.perf_counter()
    for i in range(scanb.n_obs):
        ref = reference.without([scanb.obs_names[i]])
        one = _one(scanb, i)
        table = pam50_subtype(one, reference=ref)
        loo_calls.append(str(table["pam50"].iloc[0]))
        loo_conf.append(float(table["pam50_confidence"].iloc[0]))
        modes.append(str(table["pam50_mode"].iloc[0]))
        loo_rs.append(float(recurrence_score(one, reference=ref)["rs_approx"].iloc[0]))
        if counts:
            c = pam50_subtype(_one(scanb, i, _counts(scanb.X[i]), scale="counts"), reference=ref)
            count_calls.append(str(c["pam50"].iloc[0]))
            count_modes.append(str(c["pam50_mode"].iloc[0]))
    loo = np.array(loo_calls)
    out["single_sample_loo"] = {**_summary(loo, truth), "modes": pd.Series(modes).value_counts().to_dict(),
                                "seconds": time.perf_counter() - t0}
    if counts:
        out["single_sample_loo_counts"] = {**_summary(np.array(count_calls), truth),
                                           "modes": pd.Series(count_modes).value_counts().to_dict()}
    conf = np.array(loo_conf)
    right = loo == truth
    out["confidence"] = {"mean_when_right": float(conf[right].mean()) if right.any() else float("nan"),
                         "mean_when_wrong": float(conf[~right].mean()) if (~right).any() else float("nan"),
                         "agreement_conf_ge_0.9": float(right[conf >= 0.9].mean()) if (conf >= 0.9).any() else None,
                         "share_conf_ge_0.9": float(np.mean(conf >= 0.9)),
                         "agreement_conf_lt_0.9": float(right[conf < 0.9].mean()) if (conf < 0.9).any() else None}

    if n_cli:
        indices = [int(i) for i in np.linspace(0, scanb.n_obs - 1, n_cli).round()]
        rows = _cli_calls(scanb, indices)
        called = [r.get("pam50") for r in rows]
        out["cli"] = {
            "rows": rows,
            "n": len(rows),
            "ok": sum(r["returncode"] == 0 for r in rows),
            "agreement": float(np.mean([c == truth[i] for c, i in zip(called, indices, strict=True)])),
            "same_as_loo": float(np.mean([c == loo[i] for c, i in zip(called, indices, strict=True)])),
        }

    rs: dict = {"scanb_cohort": _rs_summary(recurrence_score(scanb)["rs_approx"]),
                "scanb_single_sample_loo": _rs_summary(pd.Series(loo_rs))}
    for cid in ("vdx", "metabric"):
        try:
            rs[cid] = _rs_summary(recurrence_score(load_cohort(cid))["rs_approx"])
        except InputError as exc:
            rs[cid] = {"refused": str(exc)}
    out["rs"] = rs
    out["seconds"] = time.perf_counter() - started
    return out


def print_agreement(result: dict) -> None:
    """Print :func:`pam50_agreement`'s result as plain text."""
    print(f"\nPAM50 agreement with SCAN-B's own calls ({result['method']})")
    w = result["whole_cohort"]
    print(f"  whole cohort, centred on itself ({w['centring']}): {w['agreement']:.3f} of {w['n']}")
    s = result["single_sample_loo"]
    print(f"  single sample, leave-one-out, log2 FPKM: {s['agreement']:.3f} of {s['n']} (modes {s['modes']}; "
          f"{s['seconds']:.0f} s)")
    if "single_sample_loo_counts" in result:
        c = result["single_sample_loo_counts"]
        print(f"  single sample, leave-one-out, as raw counts: {c['agreement']:.3f} of {c['n']} (modes {c['modes']})")
    if "cli" in result:
        cli = result["cli"]
        print(f"  through the CLI (no --cohort; reference holds the sample): {cli['agreement']:.3f} of {cli['n']} "
              f"({cli['ok']} ran; same call as leave-one-out for {cli['same_as_loo']:.0%})")
        for row in cli["rows"]:
            print(f"    {row['sample']}: {row.get('pam50', 'failed: ' + row['stderr'])} "
                  f"(confidence {row.get('confidence', float('nan')):.2f}, {row.get('coverage', '')})")
    conf = result["confidence"]
    print(f"  pam50_confidence: mean {conf['mean_when_right']:.2f} when right, {conf['mean_when_wrong']:.2f} when "
          f"wrong; {conf['share_conf_ge_0.9']:.0%} of calls at >= 0.9 agree {conf['agreement_conf_ge_0.9']:.3f}, "
          f"below 0.9 agree {conf['agreement_conf_lt_0.9']:.3f}")
    print("  confusion, single sample leave-one-out (rows: SCAN-B's call):")
    print("    " + s["confusion"].to_string().replace("\n", "\n    "))
    print("  recall per subtype: " + ", ".join(f"{k} {v:.2f}" for k, v in s["recall"].items()))
    print("\nRecurrence-score approximation (not the Oncotype DX assay): distribution")
    for cid, summary in result["rs"].items():
        if "refused" in summary:
            print(f"  {cid}: refused: {summary['refused']}")
            continue
        q = summary["quantiles"]
        print(f"  {cid} (n={summary['n']}): min {q['q00']:.1f}, 5% {q['q05']:.1f}, 25% {q['q25']:.1f}, "
              f"median {q['q50']:.1f}, 75% {q['q75']:.1f}, 95% {q['q95']:.1f}, max {q['q100']:.1f}; "
              f"at 0: {summary['share_0']:.1%}, at 100: {summary['share_100']:.1%}; groups {summary['groups']}")
    print(f"  ({result['seconds']:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.subtypes")
    parser.add_argument("--cli", type=int, default=10, help="samples to call through the CLI (0: none)")
    parser.add_argument("--no-counts", action="store_true", help="skip the raw-counts leave-one-out pass")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 200)
    print_agreement(pam50_agreement(n_cli=args.cli, counts=not args.no_counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
