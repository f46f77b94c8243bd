"""XGBSurvival: boosted Cox trees tuned by inner CV, Breslow survival curves, TreeSHAP, pickle-free bundles.

Fast tests use the demo cohort (no data needed); ``realdata`` tests check METABRIC OS against the
reference points (xgboost 5-fold CV C ≈ 0.69 with clinical + expression + treatments).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sksurv.metrics import concordance_index_censored
from sksurv.nonparametric import kaplan_meier_estimator

from genomics.cohorts import load_cohort
from models.errors import ModelError
from models.features import FeatureBuilder, survival_target
from models.xgb import DEFAULT_GRID, META_FILE, MODEL_FILE, SHARED_PARAMS, XGBSurvival, default_threads
from tests.test_model_contract import contract_problems

realdata = pytest.mark.realdata

# One xgboost thread in tests: on shared, oversubscribed runners OpenMP's busy-waiting makes a
# 2-thread fit tens of times slower than a 1-thread one (measured here: 18 s against 0.9 s).
THREADS = 1
HORIZONS = np.array([60.0, 120.0])  # months
FAST = {**DEFAULT_GRID[0]}  # depth 2, eta 0.05
FAST_ROUNDS = 80


@dataclass(frozen=True)
class Split:
    """A train/test split of one cohort endpoint, features learned on the training rows only."""

    X_train: np.ndarray
    time_train: np.ndarray
    event_train: np.ndarray
    X_test: np.ndarray
    time_test: np.ndarray
    event_test: np.ndarray
    columns: list[str]
    treatment_index: list[int]


def split_cohort(adata: ad.AnnData, *, endpoint: str = "OS", test_size: float = 0.3, seed: int = 0,
                 genes: object = "all") -> Split:
    time, event, usable = survival_target(adata, endpoint=endpoint)
    rows = np.flatnonzero(usable)
    train, test = train_test_split(rows, test_size=test_size, random_state=seed, stratify=event[rows])
    builder = FeatureBuilder(genes=genes).fit(adata[train])
    return Split(
        builder.transform(adata[train]).X, time[train], event[train].astype(bool),
        builder.transform(adata[test]).X, time[test], event[test].astype(bool),
        list(builder.columns_), builder.treatment_index,
    )


def harrell(split: Split, risk: np.ndarray) -> float:
    return float(concordance_index_censored(split.event_test, split.time_test, risk)[0])


def kaplan_meier_at(time: np.ndarray, event: np.ndarray, horizons: np.ndarray) -> np.ndarray:
    grid, surv = kaplan_meier_estimator(event, time)
    return surv[np.searchsorted(grid, horizons, side="right") - 1]


def fit_fixed(split: Split, *, n: int | None = None, **options) -> XGBSurvival:
    rows = slice(None) if n is None else slice(0, n)
    model = XGBSurvival(**{"nthread": THREADS, "fixed_params": FAST, "n_rounds": FAST_ROUNDS, **options})
    return model.fit(split.X_train[rows], split.time_train[rows], split.event_train[rows],
                     feature_names=split.columns, treatment_index=split.treatment_index)


@pytest.fixture(scope="module")
def demo() -> Split:
    return split_cohort(load_cohort("demo"), genes=100)


@pytest.fixture(scope="module")
def tuned(demo: Split) -> XGBSurvival:
    """Inner 3-fold CV over two candidates (the full default grid runs in the METABRIC test)."""
    return XGBSurvival(seed=0, nthread=THREADS, param_grid=DEFAULT_GRID[:2]).fit(
        demo.X_train, demo.time_train, demo.event_train,
        feature_names=demo.columns, treatment_index=demo.treatment_index)


def test_fit_tunes_by_inner_cv_and_follows_the_protocol(tuned: XGBSurvival, demo: Split):
    assert not contract_problems(type(tuned)) and tuned.name == "xgb"
    assert len(tuned.cv_results_) == 2 and sum(r["chosen"] for r in tuned.cv_results_) == 1
    chosen = next(r for r in tuned.cv_results_ if r["chosen"])
    assert chosen["cindex_mean"] == max(r["cindex_mean"] for r in tuned.cv_results_)
    assert all(len(r["cindex_folds"]) == 3 and len(r["best_rounds"]) == 3 for r in tuned.cv_results_)
    assert tuned.params_ == {**SHARED_PARAMS, **chosen["params"]}
    assert tuned.n_rounds_ == chosen["n_rounds"] == round(np.mean(chosen["best_rounds"]))
    assert tuned.booster_.num_boosted_rounds() == tuned.n_rounds_
    assert tuned.feature_names_ == demo.columns and tuned.treatment_index_ == [0, 1, 2]
    assert tuned.device_ == "cpu" and tuned.nthread_ == THREADS
    assert tuned.baseline_ is not None and tuned.baseline_.cumulative_hazard[-1] > 0


def test_fixed_params_skip_tuning(demo: Split):
    model = fit_fixed(demo)
    assert model.cv_results_ == [] and model.n_rounds_ == FAST_ROUNDS
    assert model.params_ == {**SHARED_PARAMS, **FAST}
    assert model.booster_.num_boosted_rounds() == FAST_ROUNDS
    with pytest.raises(ValueError, match="go together"):
        XGBSurvival(fixed_params=FAST)


def test_save_load_round_trip_is_exact(tuned: XGBSurvival, demo: Split, tmp_path):
    files = tuned.save(tmp_path / "bundle")
    assert files == [MODEL_FILE, META_FILE]
    assert sorted(p.name for p in (tmp_path / "bundle").iterdir()) == sorted(files)
    meta = json.loads((tmp_path / "bundle" / META_FILE).read_text())
    assert meta["n_rounds"] == tuned.n_rounds_ and meta["feature_names"] == demo.columns
    assert meta["xgboost_version"] and meta["device"] == "cpu" and len(meta["cv_results"]) == 2
    loaded = XGBSurvival.load(tmp_path / "bundle")
    times = np.array([0.0, 12.0, 60.0, 120.0, 240.0])
    np.testing.assert_array_equal(loaded.predict_risk(demo.X_test), tuned.predict_risk(demo.X_test))
    np.testing.assert_array_equal(loaded.predict_survival(demo.X_test, times), tuned.predict_survival(demo.X_test, times))
    np.testing.assert_array_equal(loaded.contributions(demo.X_test), tuned.contributions(demo.X_test))
    assert loaded.params_ == tuned.params_ and loaded.feature_names_ == tuned.feature_names_


def test_load_refuses_missing_or_foreign_bundles(tuned: XGBSurvival, tmp_path):
    with pytest.raises(ModelError, match="No xgboost model"):
        XGBSurvival.load(tmp_path)
    tuned.save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    (tmp_path / META_FILE).write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ModelError, match="can read"):
        XGBSurvival.load(tmp_path)


def test_survival_curves_are_monotone_probabilities(tuned: XGBSurvival, demo: Split):
    times = np.linspace(0.0, 400.0, 81)
    surv = tuned.predict_survival(demo.X_test, times)
    assert surv.shape == (len(demo.X_test), len(times))
    assert np.all((surv >= 0.0) & (surv <= 1.0))
    assert np.all(np.diff(surv, axis=1) <= 0.0)
    np.testing.assert_array_equal(surv[:, 0], 1.0)


def test_risk_order_matches_survival_at_horizon(tuned: XGBSurvival, demo: Split):
    risk = tuned.predict_risk(demo.X_test)
    surv = tuned.predict_survival(demo.X_test, HORIZONS)
    order = np.argsort(risk, kind="stable")
    assert np.all(np.diff(surv[order], axis=0) <= 0.0)  # higher risk, lower survival, at every horizon
    assert surv[order[-1], 0] < surv[order[0], 0]


def test_contributions_sum_to_the_margin(tuned: XGBSurvival, demo: Split):
    contribs = tuned.contributions(demo.X_test)
    assert contribs.shape == (len(demo.X_test), len(demo.columns) + 1)
    margin = tuned.booster_.predict(tuned._dmatrix(demo.X_test), output_margin=True)
    np.testing.assert_allclose(contribs.sum(axis=1), margin, atol=1e-4)
    np.testing.assert_allclose(contribs.sum(axis=1), tuned.predict_risk(demo.X_test), atol=1e-4)


def test_demo_held_out_concordance_and_calibration(tuned: XGBSurvival, demo: Split):
    # measured: C = 0.689; mean S(60, 120) = 0.716, 0.503 against KM 0.705, 0.549 (the training
    # half's KM is 0.713, 0.508: most of the gap at 120 months is the split, not the model)
    assert harrell(demo, tuned.predict_risk(demo.X_test)) > 0.62
    predicted = tuned.predict_survival(demo.X_test, HORIZONS).mean(axis=0)
    observed = kaplan_meier_at(demo.time_test, demo.event_test, HORIZONS)
    np.testing.assert_allclose(predicted, observed, atol=0.05)


def test_cuda_request_falls_back_to_cpu_with_a_warning(demo: Split, caplog, monkeypatch):
    monkeypatch.setattr("models.device.cuda_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="models.device"):
        model = fit_fixed(demo, n=400, device="cuda")
    assert model.device_ == "cpu"
    assert any(r.levelno == logging.WARNING and "cuda" in r.getMessage() for r in caplog.records)
    assert np.isfinite(model.predict_risk(demo.X_test)).all()


def test_same_seed_same_model_other_seed_differs(demo: Split):
    grid = DEFAULT_GRID[:1]
    options = {"nthread": THREADS, "param_grid": grid, "n_inner_folds": 2}
    a = XGBSurvival(seed=7, **options).fit(demo.X_train[:500], demo.time_train[:500], demo.event_train[:500],
                                          feature_names=demo.columns)
    b = XGBSurvival(seed=7, **options).fit(demo.X_train[:500], demo.time_train[:500], demo.event_train[:500],
                                          feature_names=demo.columns)
    assert a.cv_results_[0]["best_rounds"] == b.cv_results_[0]["best_rounds"]
    np.testing.assert_array_equal(a.predict_risk(demo.X_test), b.predict_risk(demo.X_test))
    c = fit_fixed(demo, n=500, seed=8)
    d = fit_fixed(demo, n=500, seed=7)
    assert not np.array_equal(c.predict_risk(demo.X_test), d.predict_risk(demo.X_test))  # row/column sampling


def test_aft_objective_gives_time_scale_risk_and_analytic_curves(demo: Split, tmp_path):
    model = fit_fixed(demo, objective="survival:aft", aft_distribution="extreme")
    assert model.baseline_ is None
    risk = model.predict_risk(demo.X_test)
    margin = model.booster_.predict(model._dmatrix(demo.X_test), output_margin=True)
    np.testing.assert_allclose(risk, -margin, rtol=1e-6)  # risk = -log(predicted time)
    np.testing.assert_allclose(model.contributions(demo.X_test).sum(axis=1), risk, atol=1e-4)
    times = np.linspace(0.0, 400.0, 41)
    surv = model.predict_survival(demo.X_test, times)
    assert np.all((surv >= 0) & (surv <= 1)) and np.all(np.diff(surv, axis=1) <= 0)
    np.testing.assert_array_equal(surv[:, 0], 1.0)
    # extreme-value AFT is Weibull PH: at any horizon, survival falls as risk rises
    order = np.argsort(risk)
    assert np.all(np.diff(model.predict_survival(demo.X_test, HORIZONS)[order], axis=0) <= 1e-12)
    assert harrell(demo, risk) > 0.6
    model.save(tmp_path)
    np.testing.assert_array_equal(XGBSurvival.load(tmp_path).predict_survival(demo.X_test, times), surv)


def test_bad_inputs_raise_model_errors(demo: Split):
    with pytest.raises(ModelError, match="not fitted"):
        XGBSurvival().predict_risk(demo.X_test)
    model = fit_fixed(demo, n=300)
    with pytest.raises(ModelError, match="feature columns"):
        model.predict_risk(demo.X_test[:, :-1])
    def unfitted() -> XGBSurvival:
        return XGBSurvival(nthread=THREADS, fixed_params=FAST, n_rounds=5)

    with pytest.raises(ModelError, match="No events"):
        unfitted().fit(demo.X_train[:50], demo.time_train[:50], np.zeros(50), feature_names=demo.columns)
    with pytest.raises(ModelError, match="positive"):
        unfitted().fit(demo.X_train[:50], -demo.time_train[:50], demo.event_train[:50], feature_names=demo.columns)
    with pytest.raises(ModelError, match="feature names"):
        unfitted().fit(demo.X_train[:50], demo.time_train[:50], demo.event_train[:50],
                       feature_names=demo.columns[:-1])
    with pytest.raises(ValueError, match="objective"):
        XGBSurvival(objective="reg:squarederror")


def test_default_threads_are_the_usable_cores(demo: Split):
    model = XGBSurvival(fixed_params=FAST, n_rounds=5).fit(
        demo.X_train[:200], demo.time_train[:200], demo.event_train[:200], feature_names=demo.columns)
    assert model.nthread_ == default_threads() >= 1


@pytest.fixture(scope="module")
def metabric_os(data_dir) -> Split:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONCOTX_DATA", str(data_dir))
        return split_cohort(load_cohort("metabric"), endpoint="OS", test_size=0.3, seed=0)


@realdata
def test_metabric_os_held_out_concordance_and_calibration(metabric_os: Split):
    """Default grid on a stratified 70/30 split (seed 0).

    Reference: xgboost 5-fold CV C ≈ 0.69 on full METABRIC OS with clinical + expression +
    treatments; one 30 % test set (~570 patients, ~330 deaths) has a C standard error of ~0.015,
    so 0.64 sits ~3 SE below it. Measured here: C = 0.685.
    """
    split = metabric_os
    model = XGBSurvival(seed=0, nthread=THREADS).fit(
        split.X_train, split.time_train, split.event_train,
        feature_names=split.columns, treatment_index=split.treatment_index)
    assert len(model.cv_results_) == len(DEFAULT_GRID)
    assert harrell(split, model.predict_risk(split.X_test)) >= 0.64
    # mean predicted S(t) against the test set's KM. Measured: 0.774, 0.563 against 0.795, 0.597 (the
    # training rows' KM is 0.773, 0.585). A KM on ~570 patients has a standard error of ~0.02-0.025
    # at these horizons, so 0.05 is about two standard errors.
    predicted = model.predict_survival(split.X_test, HORIZONS).mean(axis=0)
    observed = kaplan_meier_at(split.time_test, split.event_test, HORIZONS)
    np.testing.assert_allclose(predicted, observed, atol=0.05)
