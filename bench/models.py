"""Survival-model benchmark: published DeepSurv settings, full METABRIC cross-validation, timings.

    python bench/models.py                 # everything (tens of minutes on 2 cores)
    python bench/models.py --part deepsurv # DeepSurv METABRIC split and Rotterdam -> GBSG
    python bench/models.py --part cv       # full METABRIC, 5-fold CV, OS and DSS
    python bench/models.py --part timing   # training and scoring times
    python bench/models.py --quick         # fewer seeds / folds

Needs ONCOTX_DATA. Baselines (lifelines Cox, scikit-survival RSF) are fitted in the same run.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: python bench/models.py

from bench.baselines import CoxBaseline, RSFBaseline  # noqa: E402
from genomics.cohorts import load_cohort  # noqa: E402
from genomics.settings import get_settings  # noqa: E402
from models.deepsurv import DeepSurvModel  # noqa: E402
from models.ensemble import SurvivalEnsemble  # noqa: E402
from models.features import FeatureBuilder, survival_target  # noqa: E402
from models.metrics import cross_validate, harrell_c  # noqa: E402
from models.xgb import XGBSurvival  # noqa: E402

PUBLISHED = {"metabric": "0.643-0.654", "gbsg": "0.668"}
CLINICAL = ["age_at_diagnosis", "tumor_size_mm", "lymph_nodes_positive", "grade", "er_status=Positive",
            "her2_status=Positive", "pr_status=Positive"]


def _deepsurv_split(name: str) -> tuple[np.ndarray, ...]:
    data_dir = get_settings().data_dir
    if data_dir is None:
        raise SystemExit("set ONCOTX_DATA")
    file = {"metabric": "metabric_IHC4_clinical_train_test.csv.gz", "gbsg": "gbsg_cancer_train_test.csv.gz"}[name]
    table = pd.read_csv(data_dir / "deepsurv" / file)
    features = [c for c in table.columns if c.startswith("x")]
    train, test = table[table["split"] == "train"], table[table["split"] == "test"]
    return (train[features].to_numpy(np.float32), train["duration"].to_numpy(float), train["event"].to_numpy(float),
            test[features].to_numpy(np.float32), test["duration"].to_numpy(float), test["event"].to_numpy(float),
            features)


def part_deepsurv(seeds: int) -> None:
    print("\n## Published DeepSurv settings: fixed train/test split, test Harrell C")
    rows = []
    for name in ("metabric", "gbsg"):
        Xtr, ttr, etr, Xte, tte, ete, features = _deepsurv_split(name)
        treatments = [i for i, f in enumerate(features) if "therapy" in f]
        makers = {
            "Cox PH (lifelines)": lambda s: CoxBaseline(),
            "Random survival forest": lambda s: RSFBaseline(seed=s),
            "OncoTx xgboost": lambda s: XGBSurvival(seed=s),
            "OncoTx torch (DeepSurv-style)": lambda s: DeepSurvModel(seed=s),
        }
        for label, make in makers.items():
            n_seeds = 1 if label.startswith("Cox") else seeds
            scores, seconds = [], []
            for seed in range(n_seeds):
                t0 = time.perf_counter()
                model = make(seed).fit(Xtr, ttr, etr, feature_names=features, treatment_index=treatments)
                seconds.append(time.perf_counter() - t0)
                scores.append(harrell_c(tte, ete, model.predict_risk(Xte)))
            rows.append({"data": name, "model": label, "seeds": n_seeds, "C_mean": np.mean(scores),
                         "C_min": np.min(scores), "C_max": np.max(scores), "fit_s": np.mean(seconds),
                         "published DeepSurv": PUBLISHED[name]})
            print(f"  {name:<9} {label:<32} C {np.mean(scores):.3f} ({np.min(scores):.3f}-{np.max(scores):.3f}, "
                  f"{n_seeds} seed(s)), {np.mean(seconds):.1f} s/fit   published DeepSurv {PUBLISHED[name]}",
                  flush=True)
    print(pd.DataFrame(rows).round(3).to_string(index=False))


def _metabric_features():
    cohort = load_cohort("metabric")
    frame = FeatureBuilder().fit(cohort).transform(cohort)  # fills/one-hot levels from all rows (no outcome used)
    return cohort, frame, survival_target


def part_cv(folds: int, endpoints: tuple[str, ...]) -> None:
    print(f"\n## Full METABRIC, {folds}-fold CV (seed 0): clinical + 300 expression genes + treatments")
    cohort, frame, survival_target = _metabric_features()
    columns = list(frame.columns)
    treatments = list(range(3))
    clinical = [c for c in columns if c in CLINICAL or c.startswith(("chemotherapy", "hormone", "radio"))]
    makers = {
        "Cox clinical-only": lambda: CoxBaseline(columns=clinical, penalizer=0.01),
        "Penalised Cox (all features)": lambda: CoxBaseline(penalizer=0.5, l1_ratio=0.0),
        "Random survival forest": lambda: RSFBaseline(n_estimators=200),
        "OncoTx xgboost": lambda: XGBSurvival(seed=0),
        "OncoTx ensemble (10 xgboost)": lambda: SurvivalEnsemble(kind="xgb", seed=0),
        "OncoTx torch (DeepSurv-style)": lambda: DeepSurvModel(seed=0),
    }
    for endpoint in endpoints:
        t, e, usable = survival_target(cohort, endpoint=endpoint)
        X = frame.X[usable]
        rows = []
        for label, make in makers.items():
            t0 = time.perf_counter()
            result = cross_validate(make, X, t[usable], e[usable], feature_names=columns, treatment_index=treatments,
                                    n_folds=folds, seed=0, horizon=120)
            s = result.summary()
            rows.append({"endpoint": endpoint, "model": label, "C": s["c_mean"], "C_sd": s["c_sd"],
                         "Uno C": s["uno_c_mean"], "IBS": s["ibs_mean"], "slope@10y": s["calibration_slope"],
                         "CITL@10y": s["calibration_in_the_large"], "fit_s": s["fit_seconds_mean"]})
            print(f"  {endpoint} {label:<32} C {s['c_mean']:.3f}±{s['c_sd']:.3f}  IBS {s['ibs_mean']:.3f}  "
                  f"slope {s['calibration_slope']:.2f}  ({time.perf_counter() - t0:.0f} s)", flush=True)
        table = pd.DataFrame(rows)
        print(table.round(3).to_string(index=False))
        ours = table[table["model"].str.startswith("OncoTx")]
        base = table[~table["model"].str.startswith("OncoTx")]
        best = ours.sort_values("C", ascending=False).iloc[0]
        beats = (best["C"] > base["C"].max()) and (best["IBS"] < base["IBS"].min())
        print(f"  best OncoTx model: {best['model']} (C {best['C']:.3f}, IBS {best['IBS']:.3f}, slope "
              f"{best['slope@10y']:.2f}); beats every baseline on C and IBS: {beats}")


def part_timing() -> None:
    print("\n## Timings on this machine (CPU)")
    cohort, frame, survival_target = _metabric_features()
    t, e, usable = survival_target(cohort, endpoint="OS")
    X, t, e = frame.X[usable], t[usable], e[usable]
    big = np.repeat(X, 53, axis=0)[:100_000]
    for label, model in (("xgboost", XGBSurvival(seed=0)), ("torch", DeepSurvModel(seed=0)),
                         ("ensemble (10 xgboost)", SurvivalEnsemble(kind="xgb", seed=0))):
        t0 = time.perf_counter()
        model.fit(X, t, e, feature_names=list(frame.columns), treatment_index=[0, 1, 2])
        fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.predict_survival(big, np.array([60.0, 120.0]))
        score = time.perf_counter() - t0
        print(f"  {label:<24} train {fit:6.1f} s on {len(X)} patients; score 100,000 patients in {score:5.2f} s "
              f"({100_000 / score:,.0f} patients/s); device {getattr(model, 'device_', 'cpu')}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("deepsurv", "cv", "timing", "all"), default="all")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--endpoints", default="OS,DSS")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.part in ("deepsurv", "all"):
        part_deepsurv(seeds=2 if args.quick else 5)
    if args.part in ("cv", "all"):
        part_cv(folds=3 if args.quick else 5, endpoints=tuple(args.endpoints.split(",")))
    if args.part in ("timing", "all"):
        part_timing()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
