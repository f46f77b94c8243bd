"""Treatment-engine benchmark: where the truth is known (synthetic scenarios) and on METABRIC.

Synthetic part: for each scenario of :data:`genomics.demo.SCENARIOS` and each seed, simulate 3,000 patients,
train on 2,000 and score the 1,000 held-out patients, whose survival under every regimen is known. For the
engine (models.effects, competing risks, bootstrap intervals) and a plain S-learner (one xgboost Cox model
with the treatment flags as features) it prints:

* PEHE: root mean squared error of the 10-year all-cause benefit of each single treatment (vs none) and over
  all 7 regimens, next to the PEHE of predicting zero benefit;
* sign accuracy where the true benefit is at least 1 point; coverage and width of the 90% intervals;
* how often an option is flagged for thin evidence (per regimen: a joint combination can be rare);
* regret of each policy against the oracle (true 10-year survival minus the minimum worthwhile benefit per
  treatment, models.treatment.MIN_WORTHWHILE_BENEFIT): engine, S-learner, treat-all, treat-none, the
  simulated clinicians (the regimen received) and a guideline rule.

METABRIC part (``--part metabric``): 5-fold cross-fitted recommendations; Kaplan-Meier and log-rank of
patients whose received regimen matched the recommendation vs not, and an inverse-propensity-weighted
estimate of the 10-year survival under the recommendation policy, with bootstrap intervals.

Timing part (``--part timing``): the effect model trained on METABRIC by the CLI, its single-gene modifiers,
and one patient's options warm.

    python -m bench.treatment [--part synthetic|metabric|timing|all] [--seeds 3] [--scenarios a,b] [--quick]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.treatment_metabric import metabric, timing  # noqa: E402
from genomics.demo import SCENARIOS, make_demo_cohort, true_survival  # noqa: E402
from genomics.regimens import regimen_labels, regimens  # noqa: E402
from genomics.spec import spec_of  # noqa: E402
from models.decision import guided_choice  # noqa: E402
from models.effects import TreatmentEffectModel  # noqa: E402
from models.evidence import RegimenEvidence  # noqa: E402
from models.features import FeatureBuilder, survival_target  # noqa: E402
from models.guideline import guideline_regimen  # noqa: E402
from models.treatment import min_benefit, under_regimen  # noqa: E402
from models.xgb import XGBSurvival  # noqa: E402

HORIZON = 120.0
POLICIES = ("engine", "s_learner", "treat_all", "treat_none", "clinicians", "guideline", "oracle")


def _s_learner(X, t, e, feature_names, treatment_index, seed):
    return XGBSurvival(seed=seed).fit(X, t, e, feature_names=feature_names, treatment_index=treatment_index)


def run_scenario(scenario: str, seed: int, *, n: int = 3000, n_train: int = 2000, n_genes: int = 400,
                 n_bootstrap: int = 50, s_learner: bool = True) -> dict:
    cohort = make_demo_cohort(n_patients=n, n_genes=n_genes, seed=seed, scenario=scenario)
    spec = spec_of(cohort)
    idx = np.random.default_rng(seed).permutation(n)
    tr, te = np.sort(idx[:n_train]), np.sort(idx[n_train:])
    train, test = cohort[tr].copy(), cohort[te].copy()
    fb = FeatureBuilder().fit(train, spec=spec)
    X, Xt = fb.transform(train).X, fb.transform(test).X
    t, e, _ = survival_target(train, endpoint="OS", spec=spec)
    _, dss, _ = survival_target(train, endpoint="DSS", spec=spec)
    treatments = fb.treatments_
    names = regimens(treatments)
    burden = np.array([min_benefit(r, treatments) for r in names])
    started = time.perf_counter()
    engine = TreatmentEffectModel(n_bootstrap=n_bootstrap, seed=seed).fit(
        X, t, e, feature_names=fb.columns_, treatment_index=fb.treatment_index, cause=dss)
    fit_s = time.perf_counter() - started
    grid = np.array([HORIZON])
    S_eng = np.column_stack([engine.predict_survival(under_regimen(Xt, r, treatments), grid)[:, 0] for r in names])
    S_mem = np.stack([engine.member_predictions(under_regimen(Xt, r, treatments), grid)[..., 0] for r in names], axis=-1)
    truth = np.column_stack([true_survival(test, months=HORIZON, regimen=r) for r in names])
    evidence = RegimenEvidence().fit(fb, train)
    _, _, level = evidence.assess(Xt)
    ok = level == "ok"
    ok[:, 0] = True  # 'none' is the baseline: always an option
    out: dict = {"scenario": scenario, "seed": seed, "fit_s": fit_s, "penalty": engine.penalty_}
    B_true = truth - truth[:, [0]]
    B_eng = S_eng - S_eng[:, [0]]
    D = S_mem - S_mem[:, :, [0]]
    lo, hi = np.percentile(D, [5, 95], axis=0)
    lo, hi = np.minimum(lo, B_eng), np.maximum(hi, B_eng)
    estimates = {"engine": B_eng}
    if s_learner:
        started = time.perf_counter()
        sl = _s_learner(X, t, e, fb.columns_, fb.treatment_index, seed)
        out["s_learner_fit_s"] = time.perf_counter() - started
        S_sl = np.column_stack([sl.predict_survival(under_regimen(Xt, r, treatments), grid)[:, 0] for r in names])
        estimates["s_learner"] = S_sl - S_sl[:, [0]]
    for label, B in estimates.items():
        for j, r in enumerate(names[1:4], start=1):
            out[f"{label}_pehe_{r}"] = float(np.sqrt(np.mean((B[:, j] - B_true[:, j]) ** 2)))
        out[f"{label}_pehe_all"] = float(np.sqrt(np.mean((B[:, 1:] - B_true[:, 1:]) ** 2)))
        big = np.abs(B_true[:, 1:]) >= 0.01
        out[f"{label}_sign"] = float(np.mean(np.sign(B[:, 1:][big]) == np.sign(B_true[:, 1:][big]))) if big.any() else np.nan
    for j, r in enumerate(names[1:4], start=1):
        out[f"zero_pehe_{r}"] = float(np.sqrt(np.mean(B_true[:, j] ** 2)))
    out["zero_pehe_all"] = float(np.sqrt(np.mean(B_true[:, 1:] ** 2)))
    inside = (B_true[:, 1:] >= lo[:, 1:]) & (B_true[:, 1:] <= hi[:, 1:])
    out["coverage"] = float(inside.mean())
    out["coverage_ok_evidence"] = float(inside[ok[:, 1:]].mean())
    out["width"] = float(np.mean(hi[:, 1:] - lo[:, 1:]))
    out["flagged"] = float(1.0 - ok[:, 1:].mean())
    for j, r in enumerate(names[1:], start=1):
        out[f"flagged_{r}"] = float(1.0 - ok[:, j].mean())
    utility = truth - burden[None, :]
    best = utility.max(axis=1)

    def regret(choice: np.ndarray) -> float:
        return float(np.mean(best - utility[np.arange(len(choice)), choice]))

    def argmax_policy(S: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        value = np.where(allowed, S - burden[None, :], -np.inf)
        return value.argmax(axis=1)

    received = [names.index(r) for r in _received(test.obs, treatments)]
    out["regret_engine"] = regret(argmax_policy(S_eng, ok))
    out["regret_engine_no_evidence_rule"] = regret(argmax_policy(S_eng, np.ones_like(ok)))
    if s_learner:
        out["regret_s_learner"] = regret(argmax_policy(S_sl, np.ones_like(ok)))
    guide = np.array([names.index(r) for r in guideline_regimen(test.obs)])
    out["regret_engine_guided"] = regret(guided_choice(S_mem, S_eng, guide, ok, burden))
    out["departs_from_guideline"] = float(np.mean(guided_choice(S_mem, S_eng, guide, ok, burden) != guide))
    out["regret_treat_all"] = regret(np.full(len(te), len(names) - 1))
    out["regret_treat_none"] = regret(np.zeros(len(te), dtype=int))
    out["regret_clinicians"] = regret(np.array(received))
    out["regret_guideline"] = regret(guide)
    out.update(_modifier_recovery(engine.screen_, cohort.uns["oncotx"]["ground_truth"].get("modifier_genes", {})))
    out["oracle_utility"] = float(best.mean())
    chemo = names.index("chemotherapy")
    out["chemo_benefit_est"] = float(B_eng[:, chemo].mean())
    out["chemo_benefit_true"] = float(B_true[:, chemo].mean())
    lhr = engine.log_hazard_ratios(Xt)
    out["chemo_loghr_est"] = float(lhr[:, treatments.index("chemotherapy")].mean())
    out["chemo_loghr_true"] = float(test.obsm["true_latent"]["loghr_chemotherapy"].mean())
    return out


def _modifier_recovery(found: list[dict], truth: dict) -> dict:
    """Recall of the true (treatment, gene) modifiers and the share of the reported ones that are false."""
    true = {(t, f"gene:{g}") for t, d in truth.items() for g in d["genes"]}
    hits = {(h["treatment"], h["gene"]) for h in found}
    return {"modifiers_true": len(true), "modifiers_found": len(hits),
            "modifier_recall": len(hits & true) / len(true) if true else np.nan,
            "modifier_false": len(hits - true),
            "modifier_fdp": len(hits - true) / len(hits) if hits else 0.0,
            "modifiers_listed": "; ".join(f"{t}:{g[5:]}{'*' if (t, g) in true else ''}" for t, g in sorted(hits))}


def _received(obs: pd.DataFrame, treatments) -> list[str]:
    return list(regimen_labels(obs, tuple(treatments)))


def synthetic(seeds: int, scenarios: list[str], *, quick: bool) -> pd.DataFrame:
    rows = []
    for scenario in scenarios:
        for seed in range(seeds):
            started = time.perf_counter()
            row = run_scenario(scenario, seed, n_bootstrap=20 if quick else 50, s_learner=True,
                               n=1500 if quick else 3000, n_train=1000 if quick else 2000)
            rows.append(row)
            print(f"  {scenario:12s} seed {seed}: {time.perf_counter() - started:5.1f} s  regret engine "
                  f"{row['regret_engine']:.4f} guided {row['regret_engine_guided']:.4f} s-learner {row.get('regret_s_learner', np.nan):.4f} "
                  f"all {row['regret_treat_all']:.4f} clinicians {row['regret_clinicians']:.4f} guideline "
                  f"{row['regret_guideline']:.4f} | PEHE {row['engine_pehe_all']:.4f} (zero "
                  f"{row['zero_pehe_all']:.4f}) coverage {row['coverage']:.2f} | modifiers found "
                  f"{row['modifiers_listed'] or '-'} (* = true; {row['modifiers_true']} true)", flush=True)
    return pd.DataFrame(rows)


def summarise(df: pd.DataFrame) -> None:
    mean = df.groupby("scenario", sort=False).mean(numeric_only=True)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    print("\nRegret (10-year survival net of minimum worthwhile benefit; lower is better), mean over seeds")
    cols = ["regret_engine_guided", "regret_engine", "regret_s_learner", "regret_treat_all", "regret_treat_none", "regret_clinicians",
            "regret_guideline", "regret_engine_no_evidence_rule"]
    print(mean[[c for c in cols if c in mean]].round(4).to_string())
    worst = df.groupby("scenario", sort=False)[[c for c in cols if c in df]].max()
    print("\nRegret, worst seed")
    print(worst.round(4).to_string())
    print("\nShare of patients for whom the guided engine departs from the guideline's regimen")
    print(mean[["departs_from_guideline"]].round(3).to_string())
    print("\nSingle-gene modifiers found by the screen (FDR 0.05): true per run, found, recall, false discoveries")
    print(mean[["modifiers_true", "modifiers_found", "modifier_recall", "modifier_false", "modifier_fdp"]]
          .round(3).to_string())
    print("\nPEHE of the 10-year benefit (RMSE, absolute survival) vs predicting zero")
    cols = [c for c in mean.columns if "pehe" in c]
    print(mean[cols].round(4).T.to_string())
    print("\nSign accuracy (|true benefit| >= 1 point), 90% interval coverage and width, flagged options")
    cols = ["engine_sign", "s_learner_sign", "coverage", "coverage_ok_evidence", "width", "flagged"]
    print(mean[[c for c in cols if c in mean]].round(3).to_string())
    flagged = [c for c in mean.columns if c.startswith("flagged_")]
    print("\nShare of held-out patients whose option is flagged 'not enough evidence', per regimen")
    print(mean[flagged].rename(columns=lambda c: c.removeprefix("flagged_")).round(3).T.to_string())
    print("\nChemotherapy: mean estimated vs true 10-year benefit and log hazard ratio (the confounded scenario's "
          "hidden frailty makes chemotherapy look better than it is)")
    print(mean[["chemo_benefit_est", "chemo_benefit_true", "chemo_loghr_est", "chemo_loghr_true"]].round(3).to_string())
    print("\nFit time (s): engine", mean["fit_s"].round(1).to_dict(), "S-learner",
          mean.get("s_learner_fit_s", pd.Series(dtype=float)).round(1).to_dict())
    checks = []
    for scenario, row in mean.iterrows():
        w = worst.loc[scenario]
        runs = df[df["scenario"] == scenario]
        if scenario.startswith("gene_modifiers"):
            ok = bool(((runs["regret_engine_guided"] < runs["regret_treat_all"])
                       & (runs["regret_engine_guided"] < runs["regret_guideline"])).all())
            checks.append(f"{scenario}: guided engine below treat-all and the guideline in every seed: "
                          f"{'yes' if ok else 'NO'} (mean {row['regret_engine_guided']:.4f}, worst seed "
                          f"{w['regret_engine_guided']:.4f}; treat-all {row['regret_treat_all']:.4f}, guideline "
                          f"{row['regret_guideline']:.4f}); modifiers: recall {row['modifier_recall']:.2f}, "
                          f"{row['modifier_false']:.1f} false per run")
        elif scenario in ("linear", "nonlinear"):
            gap = runs["regret_engine_guided"] - runs["regret_guideline"]
            checks.append(f"{scenario}: guided engine within 0.005 of the guideline rule in every seed: "
                          f"{'yes' if gap.max() <= 0.005 else 'NO'} (mean {gap.mean():+.4f}, worst seed {gap.max():+.4f})")
        cov = df.loc[df["scenario"] == scenario, "coverage"]
        checks.append(f"{scenario}: 90% interval coverage 0.85-0.95 in every seed: "
                      f"{'yes' if cov.between(0.85, 0.95).all() else 'NO'} ({cov.min():.2f}-{cov.max():.2f})")
        if scenario == "confounded":
            continue
        beats = all(row["regret_engine"] < row[f"regret_{p}"] for p in ("s_learner", "treat_all", "clinicians")
                    if f"regret_{p}" in row)
        checks.append(f"{scenario}: engine beats S-learner/treat-all/clinicians: {'yes' if beats else 'NO'}; "
                      f"vs guideline {row['regret_engine']:.4f} vs {row['regret_guideline']:.4f}; "
                      f"coverage {row['coverage']:.2f} ({'in' if 0.8 <= row['coverage'] <= 0.98 else 'OUT of'} 0.80-0.98)")
    print("\n" + "\n".join(checks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", default="synthetic", choices=("synthetic", "metabric", "timing", "all"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", help="CSV of the per-run rows")
    args = parser.parse_args()
    if args.part in ("synthetic", "all"):
        print(f"Synthetic scenarios ({args.seeds} seeds; train 2000 / test 1000 patients each)")
        df = synthetic(args.seeds, args.scenarios.split(","), quick=args.quick)
        if args.out:
            df.to_csv(args.out, index=False)
        summarise(df)
    if args.part in ("metabric", "all"):
        metabric(quick=args.quick)
    if args.part in ("timing", "all"):
        timing()


if __name__ == "__main__":
    main()
