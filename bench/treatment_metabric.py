"""METABRIC validation of the treatment engine: 5-fold cross-fitted recommendations (DeepSurv-style).

Every patient's recommendation comes from an engine fitted on the other four folds. Reported:

* Kaplan-Meier overall survival of patients whose received regimen matched the recommendation
  ("concordant") vs those whose did not, with the log-rank test and 10-year survival of each group;
* the inverse-propensity-weighted (IPW) estimate of 10-year overall survival had every patient followed
  the engine's recommendation (Hajek estimator; censoring handled by inverse probability of censoring
  weights; propensities from the evidence model fitted on the other folds, clipped at 0.02), next to the
  same estimate for the guideline rule, treat-none and the observed survival; 95% bootstrap intervals.

What this does and does not show: both comparisons rest on the cohort's recorded confounders. Concordant
patients differ from discordant ones in ways that also drive survival (younger, fitter patients receive
more treatment), so a KM gap is not a causal effect; the IPW value corrects for the recorded features
only, and with eight regimens many weights are large, so intervals are wide.

    ONCOTX_DATA=../shared/data python -m bench.treatment_metabric [--quick]
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from lifelines import KaplanMeierFitter  # noqa: E402
from lifelines.statistics import logrank_test  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from genomics.cohorts import load_cohort  # noqa: E402
from genomics.regimens import regimen_labels, regimens  # noqa: E402
from genomics.spec import spec_of  # noqa: E402
from models.effects import TreatmentEffectModel  # noqa: E402
from models.evidence import RegimenEvidence  # noqa: E402
from models.features import FeatureBuilder, survival_target  # noqa: E402
from models.guideline import guideline_regimen  # noqa: E402
from models.treatment import choose_regimen, under_regimen  # noqa: E402

HORIZON = 120.0
MIN_PROPENSITY = 0.02


def _guideline(obs: pd.DataFrame) -> list[str]:
    filled = obs.assign(lymph_nodes_positive=obs["lymph_nodes_positive"].fillna(0),
                        tumor_size_mm=obs["tumor_size_mm"].fillna(0), grade=obs["grade"].fillna(2))
    return guideline_regimen(filled)


def cross_fitted(cohort, *, folds: int = 5, n_bootstrap: int = 20, seed: int = 0) -> pd.DataFrame:
    spec = spec_of(cohort)
    t, e, usable = survival_target(cohort, endpoint="OS", spec=spec)
    _, dss, _ = survival_target(cohort, endpoint="DSS", spec=spec)
    data = cohort[usable].copy()
    t, e, dss = t[usable], e[usable], np.nan_to_num(dss[usable])
    treatments = tuple(spec.treatments)
    names = regimens(treatments)
    received = regimen_labels(data.obs, treatments).to_numpy()
    out = pd.DataFrame(index=data.obs_names, data={"time": t, "event": e, "received": received})
    out["recommended"], out["propensity_received"], out["propensity_recommended"] = "", np.nan, np.nan
    for fold, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(t, e)):
        started = time.perf_counter()
        fb = FeatureBuilder().fit(data[tr], spec=spec)
        X, Xt = fb.transform(data[tr]).X, fb.transform(data[te], require_coverage=False).X
        model = TreatmentEffectModel(n_bootstrap=n_bootstrap, seed=seed).fit(
            X, t[tr], e[tr], feature_names=fb.columns_, treatment_index=fb.treatment_index, cause=dss[tr])
        evidence = RegimenEvidence().fit(fb, data[tr])
        prop, _, level = evidence.assess(Xt)
        S = {}
        for r in names:
            S[r] = model.predict_survival(under_regimen(Xt, r, treatments), np.array([HORIZON]))[:, 0]
        for i, pid in enumerate(data.obs_names[te]):
            choice = choose_regimen({r: S[r][i] for r in names}, dict(zip(names, level[i], strict=True)), treatments,
                                    baseline="none")
            out.at[pid, "recommended"] = choice
            out.at[pid, "propensity_recommended"] = prop[i, names.index(choice)]
            out.at[pid, "propensity_received"] = prop[i, names.index(out.at[pid, "received"])]
        print(f"  fold {fold + 1}/{folds}: {len(tr)} train / {len(te)} held out, penalty {model.penalty_}, "
              f"{time.perf_counter() - started:.1f} s", flush=True)
    out["guideline"] = _guideline(data.obs)
    return out


def _censoring_weights(time_: np.ndarray, event: np.ndarray) -> np.ndarray:
    """1 / G(min(T, horizon)) for patients whose 10-year status is known, else 0 (IPCW)."""
    km = KaplanMeierFitter().fit(time_, 1 - event)
    known = (time_ >= HORIZON) | (event > 0)
    at = np.minimum(time_, HORIZON) - 1e-9
    G = km.survival_function_at_times(at).to_numpy()
    return np.where(known, 1.0 / np.clip(G, 0.05, None), 0.0)


def policy_value(frame: pd.DataFrame, policy: str, rng: np.random.Generator, n_boot: int = 500) -> tuple[float, float, float]:
    """IPW (Hajek) 10-year survival under a policy column, with a 95% bootstrap interval."""
    y = (frame["time"].to_numpy() > HORIZON).astype(float)
    w = _censoring_weights(frame["time"].to_numpy(), frame["event"].to_numpy())
    follow = (frame["received"] == frame[policy]).to_numpy()
    p = np.clip(frame["propensity_received"].to_numpy(), MIN_PROPENSITY, None)
    weight = follow * w / p

    def value(idx):
        ww = weight[idx]
        return float((ww * y[idx]).sum() / ww.sum()) if ww.sum() > 0 else np.nan

    point = value(np.arange(len(y)))
    boots = [value(rng.integers(0, len(y), len(y))) for _ in range(n_boot)]
    lo, hi = np.nanpercentile(boots, [2.5, 97.5])
    return point, float(lo), float(hi)


def _km_at(time_, event, horizon=HORIZON) -> tuple[float, float, float]:
    km = KaplanMeierFitter().fit(time_, event)
    ci = km.confidence_interval_survival_function_
    s = float(km.survival_function_at_times(horizon).iloc[0])
    idx = ci.index[ci.index <= horizon][-1]
    return s, float(ci.loc[idx].iloc[0]), float(ci.loc[idx].iloc[1])


def metabric(*, quick: bool = False) -> pd.DataFrame:
    cohort = load_cohort("metabric")
    print(f"\nMETABRIC ({cohort.n_obs} patients, {cohort.n_vars} genes): 5-fold cross-fitted recommendations")
    frame = cross_fitted(cohort, n_bootstrap=10 if quick else 20)
    frame["none"] = "none"
    concordant = (frame["received"] == frame["recommended"]).to_numpy()
    t, e = frame["time"].to_numpy(), frame["event"].to_numpy()
    print("\nRecommended regimens:", frame["recommended"].value_counts().to_dict())
    print("Received regimens:   ", frame["received"].value_counts().to_dict())
    test = logrank_test(t[concordant], t[~concordant], e[concordant], e[~concordant])
    for label, mask in (("concordant", concordant), ("discordant", ~concordant)):
        s, lo, hi = _km_at(t[mask], e[mask])
        print(f"  {label:10s} n={mask.sum():4d} deaths={int(e[mask].sum()):4d}  KM 10-year OS {s:.3f} [{lo:.3f}, {hi:.3f}]")
    print(f"  log-rank p = {test.p_value:.3g} (chi2 {test.test_statistic:.2f})")
    rng = np.random.default_rng(0)
    s, lo, hi = _km_at(t, e)
    print(f"\nIPW 10-year OS under each policy (95% bootstrap interval); observed KM {s:.3f} [{lo:.3f}, {hi:.3f}]")
    for policy in ("recommended", "guideline", "none"):
        point, plo, phi = policy_value(frame, policy, rng)
        share = float((frame["received"] == frame[policy]).mean())
        print(f"  {policy:12s} {point:.3f} [{plo:.3f}, {phi:.3f}]  (patients who followed it: {share:.1%})")
    return frame


def timing(*, patients: int = 20) -> dict:
    """The effect model's training time on METABRIC through the CLI (``python -m models train --cohort metabric
    --endpoint OS --model effects``), the single-gene modifiers it found, and one patient's options (every regimen,
    intervals, evidence, the guided policy) warm: the evidence model fitted once, as the server keeps it."""
    import subprocess  # lazy: only the timing part starts a child process
    import sys  # lazy: the child runs this interpreter
    import tempfile  # lazy: the trained bundle is thrown away

    from models.registry import load_bundle  # lazy: only the timing part loads a bundle
    from models.treatment import treatment_options  # lazy: only the timing part scores patients

    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "effects")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "models", "train", "--cohort", "metabric", "--endpoint", "OS",
                        "--model", "effects", "--out", out], check=True, capture_output=True)
        train_s = time.perf_counter() - started
        bundle = load_bundle(out)
    cohort = load_cohort("metabric")
    evidence = RegimenEvidence().fit(bundle.features, cohort)
    treatment_options(bundle, cohort[:1].copy(), cohort=evidence)  # warm-up
    seconds = []
    for i in range(1, patients + 1):
        started = time.perf_counter()
        treatment_options(bundle, cohort[i: i + 1].copy(), cohort=evidence)
        seconds.append(time.perf_counter() - started)
    model = bundle.model
    print(f"\nEffect model on METABRIC OS: trained by the CLI in {train_s:.1f} s (goal < 300 s); one patient's "
          f"options warm: median {np.median(seconds):.3f} s, max {np.max(seconds):.3f} s over {patients} patients "
          f"(goal < 0.5 s)")
    hits = getattr(model, "screen_", [])
    print(f"Single-gene modifiers on METABRIC (screen FDR {model.screen_fdr:g}): "
          + ("; ".join(f"{h['treatment']} x {h['gene'][5:]} (z {h['z']:+.1f}, q {h['q']:.3f}, bootstrap stability "
                       f"{h.get('stability', float('nan')):.0%})" for h in hits) or "none"))
    return {"train_s": train_s, "patient_median_s": float(np.median(seconds)), "patient_max_s": float(np.max(seconds)),
            "modifiers": hits}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--timing", action="store_true", help="only the training and per-patient timing")
    args = parser.parse_args()
    if not args.timing:
        metabric(quick=args.quick)
    timing()
