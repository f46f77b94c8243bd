"""SurvivalEnsemble: resampled members, median predictions, percentile bands, pickle-free bundles."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from genomics.cohorts import load_cohort
from models.ensemble import ENSEMBLE_FILE, SurvivalEnsemble, member_class
from models.errors import ModelError
from models.xgb import DEFAULT_GRID, MODEL_FILE, XGBSurvival
from tests.test_model_contract import contract_problems
from tests.test_xgb import FAST, FAST_ROUNDS, THREADS, Split, split_cohort

TIMES = np.array([0.0, 12.0, 60.0, 120.0, 240.0])
K = 5


def fixed_member(k: int) -> XGBSurvival:
    return XGBSurvival(seed=100 + k, nthread=THREADS, fixed_params=FAST, n_rounds=FAST_ROUNDS)


def fit_ensemble(split: Split, *, n: int | None = None, **options) -> SurvivalEnsemble:
    rows = slice(None) if n is None else slice(0, n)
    ensemble = SurvivalEnsemble(**{"make_model": fixed_member, "n_members": K, **options})
    return ensemble.fit(split.X_train[rows], split.time_train[rows], split.event_train[rows],
                        feature_names=split.columns, treatment_index=split.treatment_index)


@pytest.fixture(scope="module")
def demo() -> Split:
    return split_cohort(load_cohort("demo"), genes=100)


@pytest.fixture(scope="module")
def ensemble(demo: Split) -> SurvivalEnsemble:
    return fit_ensemble(demo)


def test_default_xgb_ensemble_tunes_once_and_members_share_the_choice(demo: Split):
    ens = SurvivalEnsemble(n_members=3, seed=5, member_options={"nthread": THREADS, "param_grid": DEFAULT_GRID[:1]})
    ens.fit(demo.X_train, demo.time_train, demo.event_train, feature_names=demo.columns,
            treatment_index=demo.treatment_index)
    assert not contract_problems(type(ens)) and ens.name == "ensemble"
    assert ens.tuning_ is not None and len(ens.tuning_["cv_results"]) == 1
    assert ens.member_seeds_ == [5, 6, 7]
    for k, member in enumerate(ens.members_):
        assert isinstance(member, XGBSurvival) and member.seed == 5 + k
        assert member.cv_results_ == []  # no inner CV per member
        assert member.params_ == ens.tuning_["params"] and member.n_rounds_ == ens.tuning_["n_rounds"]
        assert member.nthread_ == THREADS and member.treatment_index_ == demo.treatment_index


def test_member_predictions_and_median_point(ensemble: SurvivalEnsemble, demo: Split):
    members = ensemble.member_predictions(demo.X_test, TIMES)
    assert members.shape == (K, len(demo.X_test), len(TIMES))
    np.testing.assert_array_equal(ensemble.predict_survival(demo.X_test, TIMES), np.median(members, axis=0))
    risks = ensemble.member_risks(demo.X_test)
    assert risks.shape == (K, len(demo.X_test))
    np.testing.assert_array_equal(ensemble.predict_risk(demo.X_test), np.median(risks, axis=0))
    assert len({m.seed for m in ensemble.members_}) == K  # members differ
    assert not np.array_equal(members[0], members[1])


def test_intervals_contain_the_point_estimate(ensemble: SurvivalEnsemble, demo: Split):
    point, lo, hi = ensemble.predict_risk_interval(demo.X_test)
    assert np.all(lo <= point) and np.all(point <= hi) and np.mean(hi - lo) > 0
    point, lo, hi = ensemble.predict_survival_interval(demo.X_test, TIMES)
    assert point.shape == lo.shape == hi.shape == (len(demo.X_test), len(TIMES))
    assert np.all(lo <= point) and np.all(point <= hi)
    for band in (point, lo, hi):  # every band is a survival curve
        assert np.all((band >= 0) & (band <= 1)) and np.all(np.diff(band, axis=1) <= 0)
    np.testing.assert_array_equal(point[:, 0], 1.0)


def test_narrower_confidence_gives_a_narrower_band(ensemble: SurvivalEnsemble, demo: Split):
    _, lo90, hi90 = ensemble.predict_survival_interval(demo.X_test, TIMES)
    ensemble.confidence = 0.5
    try:
        _, lo50, hi50 = ensemble.predict_survival_interval(demo.X_test, TIMES)
    finally:
        ensemble.confidence = 0.9
    assert np.all(lo90 <= lo50) and np.all(hi50 <= hi90)


def test_intervals_widen_with_fewer_training_samples(ensemble: SurvivalEnsemble, demo: Split):
    small = fit_ensemble(demo, n=200)
    width = {}
    for label, ens in (("small", small), ("full", ensemble)):
        _, lo, hi = ens.predict_survival_interval(demo.X_test, np.array([60.0]))
        width[label] = float(np.mean(hi - lo))
    assert width["small"] > 1.3 * width["full"] > 0


def test_save_load_round_trip_is_exact(ensemble: SurvivalEnsemble, demo: Split, tmp_path):
    files = ensemble.save(tmp_path / "ens")
    assert files[0] == ENSEMBLE_FILE and f"member_00/{MODEL_FILE}" in files
    assert all((tmp_path / "ens" / f).is_file() for f in files)
    assert not list((tmp_path / "ens").rglob("*.pkl")) and not list((tmp_path / "ens").rglob("*.joblib"))
    meta = json.loads((tmp_path / "ens" / ENSEMBLE_FILE).read_text())
    assert [m["folder"] for m in meta["members"]] == [f"member_{k:02d}" for k in range(K)]
    assert {m["kind"] for m in meta["members"]} == {"xgb"}
    loaded = SurvivalEnsemble.load(tmp_path / "ens")
    assert loaded.member_seeds_ == ensemble.member_seeds_ and loaded.confidence == ensemble.confidence
    np.testing.assert_array_equal(loaded.member_predictions(demo.X_test, TIMES),
                                  ensemble.member_predictions(demo.X_test, TIMES))
    for a, b in zip(loaded.predict_survival_interval(demo.X_test, TIMES),
                    ensemble.predict_survival_interval(demo.X_test, TIMES), strict=True):
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_ensemble(demo: Split):
    a = fit_ensemble(demo, n=300, n_members=3, seed=3)
    b = fit_ensemble(demo, n=300, n_members=3, seed=3)
    np.testing.assert_array_equal(a.member_predictions(demo.X_test, TIMES), b.member_predictions(demo.X_test, TIMES))
    c = fit_ensemble(demo, n=300, n_members=3, seed=4)
    assert not np.array_equal(a.member_predictions(demo.X_test, TIMES), c.member_predictions(demo.X_test, TIMES))


def test_resampling_draws(demo: Split):
    event = demo.event_train
    boot = SurvivalEnsemble(resampling="bootstrap")._resample(event, 0)
    assert len(boot) == len(event) and len(np.unique(boot)) < len(event)  # with replacement
    sub = SurvivalEnsemble(resampling="subsample")._resample(event, 0)
    assert len(sub) == round(0.8 * len(event)) == len(np.unique(sub))  # without replacement
    np.testing.assert_array_equal(sub, SurvivalEnsemble(resampling="subsample")._resample(event, 0))
    ens = fit_ensemble(demo, n=300, n_members=2, resampling="subsample")
    assert np.isfinite(ens.predict_risk(demo.X_test)).all()


def test_member_kinds_and_bad_bundles(ensemble: SurvivalEnsemble, tmp_path):
    assert member_class("xgb") is XGBSurvival
    if importlib.util.find_spec("models.deepsurv") is None:
        with pytest.raises(ModelError, match="deepsurv"):
            member_class("torch")
    else:
        assert member_class("torch").name == "torch"
    with pytest.raises(ModelError, match="Unknown"):
        member_class("forest")
    with pytest.raises(ModelError, match="No ensemble"):
        SurvivalEnsemble.load(tmp_path)
    ensemble.save(tmp_path)
    meta = json.loads((tmp_path / ENSEMBLE_FILE).read_text())
    meta["members"][0]["kind"] = "forest"
    (tmp_path / ENSEMBLE_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="Unknown"):
        SurvivalEnsemble.load(tmp_path)
    with pytest.raises(ValueError):
        SurvivalEnsemble(n_members=1)
    with pytest.raises(ValueError):
        SurvivalEnsemble(resampling="jackknife")
    with pytest.raises(ModelError, match="not fitted"):
        SurvivalEnsemble().predict_risk(np.zeros((1, 3)))
