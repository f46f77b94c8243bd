"""Evaluation metrics: golden comparisons with lifelines/scikit-survival, simulated truths, METABRIC CV."""
from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.utils import concordance_index
from sksurv.metrics import concordance_index_ipcw, cumulative_dynamic_auc, integrated_brier_score
from sksurv.nonparametric import kaplan_meier_estimator
from sksurv.util import Surv

from genomics.cohorts import load_cohort
from genomics.settings import Settings
from models.breslow import BreslowBaseline
from models.features import FeatureBuilder, survival_target
from models.metrics import (
    DEFAULT_TIMES,
    CalibrationResult,
    EvaluationReport,
    bootstrap_ci,
    calibration,
    cross_validate,
    evaluate_predictions,
    harrell_c,
    integrated_brier,
    ipcw_horizon,
    metrics_by_subgroup,
    td_auc,
    uno_c,
)
from models.metrics.bootstrap import bootstrap_concordance as _bootstrap_concordance
from tests.test_model_contract import contract_problems

realdata = pytest.mark.realdata
CLINICAL = ["age_at_diagnosis", "lymph_nodes_positive", "tumor_size_mm", "grade", "er_status"]


class LifelinesCox:
    """Test-only reference model: lifelines' Cox PH and a Breslow baseline, following SurvivalModel."""

    name: ClassVar[str] = "lifelines_cox"

    def __init__(self, penalizer: float = 0.01) -> None:
        self.penalizer = penalizer

    def fit(self, X, time, event, *, feature_names, treatment_index=()):
        X = np.asarray(X, dtype=np.float64)
        self.keep_ = X.std(axis=0) > 0  # all-zero missing flags carry nothing
        self.mean_ = X[:, self.keep_].mean(axis=0)
        frame = pd.DataFrame(X[:, self.keep_] - self.mean_,
                             columns=[n for n, k in zip(feature_names, self.keep_, strict=True) if k])
        frame["T"], frame["E"] = np.asarray(time, dtype=np.float64), np.asarray(event, dtype=np.float64)
        self.beta_ = CoxPHFitter(penalizer=self.penalizer).fit(frame, "T", "E").params_.to_numpy()
        self.baseline_ = BreslowBaseline.fit(self.predict_risk(X), time, event)
        return self

    def predict_risk(self, X):
        return (np.asarray(X, dtype=np.float64)[:, self.keep_] - self.mean_) @ self.beta_

    def predict_survival(self, X, times):
        return self.baseline_.survival(self.predict_risk(X), np.asarray(times, dtype=np.float64))

    def save(self, folder: Path) -> list[str]:
        path = Path(folder) / "cox.json"
        path.write_text(json.dumps({"keep": self.keep_.tolist(), "mean": self.mean_.tolist(),
                                    "beta": self.beta_.tolist(), "baseline": self.baseline_.to_dict()}))
        return [path.name]

    @classmethod
    def load(cls, folder: Path) -> LifelinesCox:
        raw = json.loads((Path(folder) / "cox.json").read_text())
        model = cls()
        model.keep_, model.mean_ = np.asarray(raw["keep"], dtype=bool), np.asarray(raw["mean"])
        model.beta_, model.baseline_ = np.asarray(raw["beta"]), BreslowBaseline.from_dict(raw["baseline"])
        return model


def weibull_ph(n: int, *, seed: int, censor_scale: float = 400.0, admin: float = 240.0):
    """Data from a known Weibull PH model: S(t | x) = exp(-(t / 100)^1.3 · exp(0.8 x1 - 0.5 x2))."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    lp = x @ np.array([0.8, -0.5])
    t_event = 100.0 * (-np.log(rng.uniform(size=n)) / np.exp(lp)) ** (1 / 1.3)
    t_censor = np.minimum(rng.exponential(censor_scale, size=n), admin)
    time = np.minimum(t_event, t_censor)
    event = (t_event <= t_censor).astype(int)

    def survival(h, lp_):
        return np.exp(-((np.asarray(h, dtype=float) / 100.0) ** 1.3) * np.exp(lp_))

    return x, time, event, lp, survival


@pytest.fixture(scope="module")
def metabric(data_dir, tmp_path_factory):
    settings = Settings(data_dir=data_dir, home=tmp_path_factory.mktemp("home"))
    cohort = load_cohort("metabric", settings=settings)
    time, event, usable = survival_target(cohort, endpoint="OS")
    cohort = cohort[usable].copy()
    features = FeatureBuilder(genes=None, clinical=CLINICAL, use_treatments=False).fit(cohort)
    frame = features.transform(cohort)
    return {"obs": cohort.obs, "time": time[usable], "event": event[usable], "X": frame.X,
            "columns": list(frame.columns)}


@pytest.fixture(scope="module")
def metabric_split(metabric):
    """A fixed half/half split and a clinical Cox model fitted on the first half."""
    idx = np.random.default_rng(7).permutation(len(metabric["time"]))
    train, test = np.sort(idx[: len(idx) // 2]), np.sort(idx[len(idx) // 2:])
    t, e, X = metabric["time"], metabric["event"], metabric["X"]
    model = LifelinesCox().fit(X[train], t[train], e[train], feature_names=metabric["columns"])
    return train, test, model


# ------------------------------------------------------------------------------------------- concordance


@realdata
@pytest.mark.parametrize("column", ["npi", "grade", "age_at_diagnosis"])
def test_harrell_c_equals_lifelines_on_metabric(metabric, column):
    values = pd.to_numeric(metabric["obs"][column], errors="coerce")
    risk = values.fillna(values.median()).to_numpy(dtype=float)  # grade: 3 levels, many tied risks
    t, e = metabric["time"], metabric["event"]
    assert harrell_c(t, e, risk) == pytest.approx(concordance_index(t, -risk, e), abs=1e-12)


def test_perfect_constant_and_reversed_risk():
    _, time, event, _, _ = weibull_ph(300, seed=0)
    assert harrell_c(time, event, -time) == pytest.approx(1.0)
    assert harrell_c(time, event, np.zeros_like(time)) == pytest.approx(0.5)
    assert harrell_c(time, event, time) == pytest.approx(0.0)


def test_harrell_c_counts_ties_by_hand():
    time = np.array([1.0, 2.0, 2.0, 3.0, 4.0])
    event = np.array([1, 1, 0, 1, 0])
    risk = np.array([3.0, 2.0, 2.0, 2.5, 0.0])
    # comparable (event first): (0,1..4) 4 pairs all concordant; (1,2) tied time with censored: risk tie = 1/2;
    # (1,3) discordant; (1,4) concordant; (3,4) concordant → (4 + 0.5 + 0 + 1 + 1) / 8
    assert harrell_c(time, event, risk) == pytest.approx(6.5 / 8)
    assert harrell_c(time, event, risk) == pytest.approx(concordance_index(time, -risk, event))


def test_uno_c_close_to_harrell_with_light_censoring():
    _, time, event, lp, _ = weibull_ph(2000, seed=1, censor_scale=3000.0, admin=1e9)
    assert 1 - event.mean() < 0.15
    harrell, uno = harrell_c(time, event, lp), uno_c(time, event, time, event, lp)
    assert harrell > 0.65 and abs(uno - harrell) < 0.02


def test_uno_c_equals_sksurv_and_never_runs_past_training_follow_up():
    _, time, event, lp, _ = weibull_ph(1200, seed=2, admin=1e9)
    train, test = np.arange(600), np.arange(600, 1200)
    y_train, y_test = Surv.from_arrays(event[train], time[train]), Surv.from_arrays(event[test], time[test])
    for tau in (60.0, 150.0):
        expected = concordance_index_ipcw(y_train, y_test, lp[test], tau=tau)[0]
        assert uno_c(time[train], event[train], time[test], event[test], lp[test], tau=tau) == pytest.approx(expected)
    # a test patient followed beyond every training patient: sksurv refuses without tau, we truncate
    time_test = time[test].copy()
    time_test[np.argmax(time_test)] = time[train].max() + 50
    event_test = event[test].copy()
    event_test[np.argmax(time_test)] = 1
    with pytest.raises(ValueError):
        concordance_index_ipcw(y_train, Surv.from_arrays(event_test, time_test), lp[test])
    tau = ipcw_horizon(time[train], time_test)
    assert tau == pytest.approx(np.quantile(time[train], 0.95)) and tau < time[train].max()
    got = uno_c(time[train], event[train], time_test, event_test, lp[test])
    assert got == pytest.approx(concordance_index_ipcw(y_train, Surv.from_arrays(event_test, time_test), lp[test],
                                                       tau=tau)[0])


@realdata
def test_uno_c_equals_sksurv_on_metabric(metabric, metabric_split):
    train, test, model = metabric_split
    t, e = metabric["time"], metabric["event"]
    risk = model.predict_risk(metabric["X"][test])
    tau = 120.0
    expected = concordance_index_ipcw(Surv.from_arrays(e[train], t[train]), Surv.from_arrays(e[test], t[test]),
                                      risk, tau=tau)[0]
    assert uno_c(t[train], e[train], t[test], e[test], risk, tau=tau) == pytest.approx(expected, abs=1e-12)


# ------------------------------------------------------------------------------------------- td-AUC and IBS


@realdata
def test_ibs_and_td_auc_on_metabric(metabric, metabric_split):
    """KM-only IBS equals scikit-survival's; a clinical Cox model has lower IBS and a useful td-AUC."""
    train, test, model = metabric_split
    t, e = metabric["time"], metabric["event"]
    km_times, km = kaplan_meier_estimator(e[train].astype(bool), t[train])
    km_at = km[np.searchsorted(km_times, DEFAULT_TIMES, side="right") - 1]
    km_matrix = np.tile(km_at, (len(test), 1))
    # censoring weights from the whole cohort, so scikit-survival accepts every test time
    ibs_km = integrated_brier(t, e, t[test], e[test], km_matrix, times=DEFAULT_TIMES)
    expected = integrated_brier_score(Surv.from_arrays(e, t), Surv.from_arrays(e[test], t[test]), km_matrix,
                                      DEFAULT_TIMES)
    assert ibs_km == pytest.approx(expected, rel=1e-12)
    ibs_cox = integrated_brier(t, e, t[test], e[test], model.predict_survival(metabric["X"][test], DEFAULT_TIMES),
                               times=DEFAULT_TIMES)
    assert ibs_cox < ibs_km - 0.005
    risk = model.predict_risk(metabric["X"][test])
    auc = td_auc(t[train], e[train], t[test], e[test], risk, times=[60.0, 120.0])
    assert (auc > 0.62).all()
    # scikit-survival refuses test events past the training follow-up; with censoring weights from the
    # whole cohort it accepts them, and the two agree
    expected_auc, _ = cumulative_dynamic_auc(Surv.from_arrays(e, t), Surv.from_arrays(e[test], t[test]), risk,
                                             [60.0, 120.0])
    np.testing.assert_allclose(td_auc(t, e, t[test], e[test], risk, times=[60.0, 120.0]), expected_auc, rtol=1e-12)


def test_ibs_handles_test_follow_up_beyond_training():
    _, time, event, lp, survival = weibull_ph(800, seed=3, admin=1e9)
    train, test = np.arange(400), np.arange(400, 800)
    t_test = time[test].copy()
    t_test[0] = time[train].max() + 100  # would make scikit-survival raise
    S = survival(DEFAULT_TIMES[None, :], lp[test][:, None])
    got = integrated_brier(time[train], event[train], t_test, event[test], S, times=DEFAULT_TIMES)
    assert 0.0 < got < 0.25
    with pytest.raises(ValueError):
        integrated_brier_score(Surv.from_arrays(event[train], time[train]), Surv.from_arrays(event[test], t_test), S,
                               DEFAULT_TIMES)


# ------------------------------------------------------------------------------------------- calibration


@pytest.fixture(scope="module")
def simulated():
    return weibull_ph(4000, seed=4)


def test_calibration_of_the_true_model(simulated):
    _, time, event, lp, survival = simulated
    cal = calibration(time, event, survival(60.0, lp), horizon=60.0)
    assert isinstance(cal, CalibrationResult)
    assert 0.8 <= cal.slope <= 1.2 and abs(cal.intercept) < 0.05
    assert abs(cal.calibration_in_the_large) < 0.02
    table = cal.table
    assert list(table["group"]) == list(range(1, 11)) and table["n"].sum() == len(time)
    assert table["predicted"].is_monotonic_increasing
    assert ((table["observed_lo"] <= table["observed"]) & (table["observed"] <= table["observed_hi"])).all()
    # most groups' KM interval covers the mean predicted survival of a correct model
    covered = (table["observed_lo"] <= table["predicted"]) & (table["predicted"] <= table["observed_hi"])
    assert covered.sum() >= 8


def test_calibration_flags_miscalibrated_predictions(simulated):
    _, time, event, lp, survival = simulated
    squared = calibration(time, event, survival(60.0, lp) ** 2, horizon=60.0)  # events over-predicted
    assert squared.calibration_in_the_large < -0.1 and squared.intercept < -0.1
    overconfident = calibration(time, event, survival(60.0, 2 * lp), horizon=60.0)  # predictions too extreme
    assert overconfident.slope < 0.8
    constant = calibration(time, event, np.full(len(time), 0.7), horizon=60.0)
    assert np.isnan(constant.slope) and constant.table["n"].sum() == len(time)


def test_calibration_km_interval_matches_lifelines(simulated):
    _, time, event, _, _ = simulated
    cal = calibration(time, event, np.full(len(time), 0.5), horizon=60.0, n_groups=1)
    kmf = KaplanMeierFitter().fit(time, event)
    assert cal.observed == pytest.approx(float(kmf.survival_function_at_times(60.0).iloc[0]), rel=1e-10)
    ci = kmf.confidence_interval_survival_function_
    row = ci[ci.index <= 60.0].iloc[-1]
    assert (cal.observed_lo, cal.observed_hi) == pytest.approx((row.iloc[0], row.iloc[1]), rel=1e-6)


# ------------------------------------------------------------------------------------------- bootstrap, subgroups


def test_bootstrap_interval_contains_point_and_is_reproducible():
    _, time, event, lp, _ = weibull_ph(500, seed=5)
    point, lo, hi = bootstrap_ci(harrell_c, time, event, lp, n_boot=40, seed=3)
    assert lo < point < hi and hi - lo < 0.1
    assert bootstrap_ci(harrell_c, time, event, lp, n_boot=40, seed=3) == (point, lo, hi)
    # the one-pass concordance bootstrap draws the same resamples and gives the same interval
    fast = _bootstrap_concordance(time, event.astype(bool), lp, np.ones(len(time)), n_boot=40, seed=3, confidence=0.95)
    assert fast == pytest.approx((point, lo, hi), abs=1e-12)


def test_subgroup_table_shape_and_small_groups():
    _, time, event, lp, _ = weibull_ph(600, seed=6)
    groups = pd.Series(np.where(np.arange(600) < 592, np.where(np.arange(600) % 2, "a", "b"), "tiny"), dtype=object)
    groups.iloc[:5] = None
    table = metrics_by_subgroup(time, event, lp, groups, min_events=10)
    assert list(table.columns) == ["group", "n", "events", "harrell_c", "note"]
    assert list(table["group"]) == ["a", "b", "tiny", "(missing)"]
    assert table["n"].sum() == 600
    small = table.set_index("group")
    assert np.isnan(small.loc["tiny", "harrell_c"]) and "fewer than 10 events" in small.loc["tiny", "note"]
    assert 0.6 < small.loc["a", "harrell_c"] < 0.85 and small.loc["a", "note"] == ""


@realdata
def test_subgroups_on_metabric_pam50(metabric, metabric_split):
    _, test, model = metabric_split
    t, e = metabric["time"], metabric["event"]
    risk = model.predict_risk(metabric["X"])
    table = metrics_by_subgroup(t, e, risk, metabric["obs"]["pam50_claudin_low"])
    assert len(table) == 7 and table["n"].sum() == len(t)
    by = table.set_index("group")
    assert np.isnan(by.loc["NC", "harrell_c"]) and by.loc["NC", "n"] == 6
    assert table["harrell_c"].notna().sum() == 6


# ------------------------------------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t, e, r: harrell_c(t[:-1], e, r), "different lengths"),
        (lambda t, e, r: harrell_c(t, np.zeros_like(e), r), "no events"),
        (lambda t, e, r: harrell_c(t, e, np.where(np.arange(len(r)) == 3, np.nan, r)), "non-finite"),
        (lambda t, e, r: harrell_c(t, e, r[:-1]), "one score per patient"),
        (lambda t, e, r: harrell_c(t, e * 2, r), "0/1"),
        (lambda t, e, r: harrell_c(-t, e, r), "negative"),
        (lambda t, e, r: uno_c(t, np.zeros_like(e), t, e, r), "training data have no events"),
        (lambda t, e, r: td_auc(t, e, t, e, r, times=[t.max() + 1]), "td-AUC times must lie within"),
        (lambda t, e, r: integrated_brier(t, e, t, e, np.full((len(t), 2), 1.5), times=[12.0, 24.0]), "within"),
        (lambda t, e, r: integrated_brier(t, e, t, e, np.full((len(t), 2), 0.5), times=[24.0, 12.0]), "increasing"),
        (lambda t, e, r: calibration(t, e, np.full(len(t), 0.5), horizon=1e6), "beyond the horizon"),
        (lambda t, e, r: bootstrap_ci(harrell_c, t, e, r[:-1]), "different lengths"),
    ],
)
def test_metrics_reject_bad_input(call, message):
    _, time, event, lp, _ = weibull_ph(200, seed=7)
    with pytest.raises(ValueError, match=message):
        call(time, event, lp)


# ------------------------------------------------------------------------------------------- reports and CV


def test_evaluate_predictions_from_arrays_is_json_ready():
    _, time, event, lp, survival = weibull_ph(1200, seed=8)
    train, test = np.arange(800), np.arange(800, 1200)
    S = survival(DEFAULT_TIMES[None, :], lp[test][:, None])
    report = evaluate_predictions(time_train=time[train], event_train=event[train], time_test=time[test],
                                  event_test=event[test], risk=lp[test], survival=S, times=DEFAULT_TIMES,
                                  horizon=60.0, n_boot=30)
    assert isinstance(report, EvaluationReport)
    out = report.to_dict()
    json.dumps(out, allow_nan=False)
    for key in ("harrell_c", "uno_c", "td_auc_60", "td_auc_120", "ibs"):
        assert out[key]["lo"] <= out[key]["value"] <= out[key]["hi"], key
    assert 0.8 <= out["calibration_slope"] <= 1.2 and out["sample"] == {
        "n": 400, "events": int(event[test].sum()), "horizon": 60.0, "n_boot": 30, "confidence": 0.95}
    assert len(out["calibration"]["groups"]) == 10 and out["notes"] == []


def test_evaluate_predictions_notes_what_it_cannot_compute():
    _, time, event, lp, survival = weibull_ph(400, seed=9, admin=100.0)  # follow-up ends before 120 months
    times = np.array([12.0, 24.0, 36.0, 48.0, 60.0])
    S = survival(times[None, :], lp[:, None])
    report = evaluate_predictions(time_train=time, event_train=event, time_test=time, event_test=event, risk=lp,
                                  survival=S, times=times, horizon=60.0, n_boot=10)
    out = report.to_dict()
    assert "td_auc_60" in out and "td_auc_120" not in out
    assert any("td-AUC at 120" in note for note in out["notes"])


@realdata
def test_evaluate_predictions_with_a_model_on_metabric(metabric, metabric_split):
    train, test, model = metabric_split
    t, e, X = metabric["time"], metabric["event"], metabric["X"]
    report = evaluate_predictions(model, X_train=X[train], time_train=t[train], event_train=e[train],
                                  X_test=X[test], time_test=t[test], event_test=e[test], n_boot=50)
    out = report.to_dict()
    json.dumps(out, allow_nan=False)
    assert 0.62 < out["harrell_c"]["value"] < 0.72
    assert out["harrell_c"]["lo"] < out["harrell_c"]["value"] < out["harrell_c"]["hi"]
    assert {"uno_c", "td_auc_60", "td_auc_120", "ibs", "calibration_slope"} <= set(out)
    assert abs(out["calibration_in_the_large"]) < 0.05


@realdata
def test_cross_validate_clinical_cox_on_metabric(metabric):
    X, t, e, columns = metabric["X"], metabric["time"], metabric["event"], metabric["columns"]
    result = cross_validate(LifelinesCox, X, t, e, feature_names=columns, n_folds=5, seed=0)
    summary = result.summary()
    assert 0.62 <= summary["c_mean"] <= 0.70  # reference: clinical-only Cox, 5-fold CV C ≈ 0.672
    assert summary["c_sd"] < 0.05 and summary["model"] == "lifelines_cox" and summary["n_folds"] == 5
    assert 0.7 <= summary["calibration_slope"] <= 1.3 and summary["ibs_mean"] < 0.25
    # every row predicted exactly once, by the one fold that held it out
    assert (result.fold >= 0).all() and np.bincount(result.fold).sum() == len(t)
    assert np.isfinite(result.oof_risk).all() and np.isfinite(result.oof_survival).all()
    folds = result.folds
    assert list(folds["n_test"]) == list(np.bincount(result.fold)) and (folds["n_train"] + folds["n_test"] == len(t)).all()
    assert folds["events_test"].max() - folds["events_test"].min() <= 1  # stratified by event
    assert (folds["fit_seconds"] > 0).all()
    json.dumps(result.to_dict(), allow_nan=False)
    again = cross_validate(LifelinesCox, X, t, e, feature_names=columns, n_folds=5, seed=0)
    np.testing.assert_array_equal(again.fold, result.fold)
    np.testing.assert_array_equal(again.oof_risk, result.oof_risk)


def test_cross_validate_checks_its_inputs():
    x, time, event, _, _ = weibull_ph(100, seed=10)
    assert not contract_problems(LifelinesCox)
    with pytest.raises(ValueError, match="rows"):
        cross_validate(LifelinesCox, x[:-1], time, event, feature_names=["a", "b"])
    with pytest.raises(ValueError, match="feature names"):
        cross_validate(LifelinesCox, x, time, event, feature_names=["a"])
    with pytest.raises(TypeError, match="not a SurvivalModel"):
        cross_validate(object, x, time, event, feature_names=["a", "b"])
