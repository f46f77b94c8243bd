"""The torch DeepSurv model: Cox loss, persistence, determinism, treatment heads, attributions, device, real data."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch

from models.coxnet import cox_nll
from models.coxnet import risk_sets as _risk_sets
from models.deepsurv import META_FILE, WEIGHTS_FILE, DeepSurvModel
from models.errors import ModelError
from tests.test_model_contract import contract_problems

torch.set_num_threads(1)


def _synthetic(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Two patient features, one treatment that helps only when x1 > 0; times rounded (ties)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    treat = rng.random(n) < 0.5
    lp = 0.8 * x[:, 0] - 0.4 * x[:, 1] + treat * np.where(x[:, 1] > 0, -1.0, 0.0)
    t_event = rng.exponential(np.exp(-lp) * 50)
    t_cens = rng.uniform(10, 150, n)
    time = np.maximum(np.round(np.minimum(t_event, t_cens)), 1.0)
    event = (t_event <= t_cens).astype(float)
    X = np.column_stack([treat.astype(float), x, rng.normal(size=n)])
    return X, time, event, ["treated", "x1", "x2", "noise"]


@pytest.fixture(scope="module")
def synthetic():
    return _synthetic()


@pytest.fixture(scope="module")
def small_model(synthetic) -> DeepSurvModel:
    X, time, event, names = synthetic
    return DeepSurvModel(hidden=(16,), seed=3, n_threads=1).fit(X, time, event, feature_names=names,
                                                                 treatment_index=[0])


@pytest.fixture(scope="module")
def demo_fit():
    """Clinical features of the demo cohort, disease-specific survival, the default network."""
    from genomics.cohorts import load_cohort
    from models.features import FeatureBuilder, survival_target

    adata = load_cohort("demo")
    builder = FeatureBuilder(genes=None).fit(adata)
    frame = builder.transform(adata)
    time, event, usable = survival_target(adata, endpoint="DSS")
    assert usable.all()
    model = DeepSurvModel(seed=0, n_threads=1).fit(
        frame.X, time, event, feature_names=frame.columns, treatment_index=builder.treatment_index
    )
    return adata, builder, frame, model


def _breslow_nll(lp: np.ndarray, time: np.ndarray, event: np.ndarray) -> float:
    """Brute force: -sum over events of lp_i - log sum_{t_j >= t_i} exp(lp_j), per event."""
    total = 0.0
    for i in np.flatnonzero(event):
        total -= lp[i] - np.log(np.exp(lp[time >= time[i]]).sum())
    return total / event.sum()


def test_cox_loss_is_breslow_partial_likelihood_with_ties():
    rng = np.random.default_rng(1)
    time = rng.integers(1, 15, 60).astype(float)  # many ties
    event = (rng.random(60) < 0.6).astype(float)
    lp = rng.normal(size=60)
    t = torch.tensor(time, dtype=torch.float64)
    order, first = _risk_sets(t)
    got = float(cox_nll(torch.tensor(lp), torch.tensor(event), order, first))
    assert got == pytest.approx(_breslow_nll(lp, time, event), rel=1e-10)
    no_events = cox_nll(torch.tensor(lp), torch.zeros(60, dtype=torch.float64), order, first)
    assert float(no_events) == 0.0


def test_protocol_and_learned_attributes(small_model, synthetic):
    X, time, event, names = synthetic
    m = small_model
    assert not contract_problems(type(m)) and m.name == "torch"
    assert m.feature_names_ == names and m.treatment_index_ == [0] and m.treatment_names_ == ["treated"]
    assert m.x_mean_.shape == m.x_sd_.shape == (3,)
    assert m.device_ == "cpu"
    assert 1 <= m.best_epoch_ <= len(m.history_["train"]) == len(m.history_["val"])
    assert np.nanmin(m.history_["val"]) == pytest.approx(m.history_["val"][m.best_epoch_ - 1])
    from sksurv.metrics import concordance_index_censored

    c = concordance_index_censored(event.astype(bool), time, m.predict_risk(X))[0]
    assert c > 0.65  # the signal is strong (the true log-hazard scores C = 0.75)


def test_survival_curves_monotone_in_unit_interval(demo_fit):
    _, _, frame, model = demo_fit
    times = np.linspace(0, 400, 41)
    surv = model.predict_survival(frame.X[:200], times)
    assert surv.shape == (200, 41)
    assert np.all((surv >= 0) & (surv <= 1))
    assert np.all(np.diff(surv, axis=1) <= 1e-12)
    assert np.allclose(surv[:, 0], 1.0)
    # higher risk, lower survival at every time
    risk = model.predict_risk(frame.X[:200])
    hi, lo = np.argmax(risk), np.argmin(risk)
    assert np.all(surv[hi, 1:] <= surv[lo, 1:])


def test_save_load_round_trip_identical(tmp_path, demo_fit):
    _, _, frame, model = demo_fit
    files = model.save(tmp_path)
    assert sorted(files) == sorted([WEIGHTS_FILE, META_FILE])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
    meta = json.loads((tmp_path / META_FILE).read_text())
    assert meta["feature_names"] == list(frame.columns)
    assert meta["treatment_index"] == [0, 1, 2]
    assert meta["best_epoch"] == model.best_epoch_ and meta["torch_version"] == torch.__version__
    assert meta["architecture"]["hidden"] == [32]
    loaded = DeepSurvModel.load(tmp_path)
    X = frame.X[:300]
    times = np.array([12.0, 60.0, 120.0, 240.0])
    assert np.array_equal(loaded.predict_risk(X), model.predict_risk(X))
    assert np.array_equal(loaded.predict_survival(X, times), model.predict_survival(X, times))
    assert np.array_equal(loaded.treatment_effects(X), model.treatment_effects(X))
    assert np.allclose(loaded.integrated_gradients(X[:5]), model.integrated_gradients(X[:5]))
    assert loaded.get_params() == {**model.get_params(), "device": "auto"}


def test_load_rejects_missing_or_mismatched_bundle(tmp_path, small_model):
    with pytest.raises(ModelError):
        DeepSurvModel.load(tmp_path)
    small_model.save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    meta["architecture"]["hidden"] = [8]
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="does not match"):
        DeepSurvModel.load(tmp_path)


def test_determinism_same_seed_same_predictions(synthetic):
    X, time, event, names = synthetic
    rng_before, det_before = torch.get_rng_state(), torch.are_deterministic_algorithms_enabled()

    def fit(seed: int, **kw) -> np.ndarray:
        m = DeepSurvModel(hidden=(16,), seed=seed, max_epochs=60, n_threads=1, **kw)
        return m.fit(X, time, event, feature_names=names, treatment_index=[0]).predict_risk(X)

    assert np.array_equal(fit(7), fit(7))
    assert not np.array_equal(fit(7), fit(8))
    assert np.array_equal(fit(7, batch_size=128), fit(7, batch_size=128))  # mini-batch path too
    assert torch.equal(torch.get_rng_state(), rng_before)  # fitting leaves the caller's RNG alone
    assert torch.are_deterministic_algorithms_enabled() == det_before  # global flags restored


def test_hormone_effect_more_protective_for_er_positive(demo_fit):
    """Demo truth: hormone therapy helps ER-positive patients only (log HR about -0.45 vs 0)."""
    adata, builder, frame, model = demo_fit
    effects = model.treatment_effects(frame.X)
    assert effects.shape == (adata.n_obs, 3)
    hormone = effects[:, builder.treatments_.index("hormone_therapy")]
    er_pos = (adata.obs["er_status"] == "Positive").to_numpy()
    assert hormone[er_pos].mean() < hormone[~er_pos].mean() - 0.03
    truth = adata.obsm["true_latent"]["loghr_hormone_therapy"].to_numpy()
    assert np.corrcoef(hormone, truth)[0, 1] > 0.2
    # the head is the log-hazard change from switching the treatment on
    X_on, X_off = frame.X.copy(), frame.X.copy()
    col = builder.treatment_index[builder.treatments_.index("hormone_therapy")]
    X_on[:, col], X_off[:, col] = 1.0, 0.0
    assert np.allclose(model.predict_risk(X_on) - model.predict_risk(X_off), hormone, atol=1e-5)


def test_integrated_gradients_completeness(demo_fit, small_model, synthetic):
    _, _, frame, model = demo_fit
    X = frame.X[:25]
    ig = model.integrated_gradients(X, steps=64)
    assert ig.shape == X.shape
    ref = model.default_baseline()
    gap = model.predict_risk(X) - model.predict_risk(ref[None, :])[0]
    assert np.allclose(ig.sum(axis=1), gap, atol=0.02 + 0.02 * np.abs(gap).max())
    # an explicit baseline per sample; attributions of untouched columns are zero
    Xs = synthetic[0][:10]
    base = Xs.copy()
    base[:, 1] = 0.0
    ig2 = small_model.integrated_gradients(Xs, baseline=base, steps=32)
    assert np.all(ig2[:, [0, 2, 3]] == 0.0)
    gap2 = small_model.predict_risk(Xs) - small_model.predict_risk(base)
    assert np.allclose(ig2.sum(axis=1), gap2, atol=0.02)
    grads = small_model.gradients(Xs)
    assert grads.shape == Xs.shape and np.isfinite(grads).all()


def test_without_treatments_is_plain_deepsurv(synthetic):
    X, time, event, names = synthetic
    m = DeepSurvModel(hidden=(8,), max_epochs=30, n_threads=1).fit(X[:, 1:], time, event, feature_names=names[1:])
    assert m.treatment_effects(X[:5, 1:]).shape == (5, 0)
    assert m.net_.effects is None
    lin = DeepSurvModel(hidden=(), dropout=0.0, max_epochs=30, val_fraction=0.0, n_threads=1)
    lin.fit(X, time, event, feature_names=names, treatment_index=[0])
    assert lin.best_epoch_ == 30 and lin.history_["val"] == []


def test_refit_on_all_rows(synthetic):
    X, time, event, names = synthetic
    m = DeepSurvModel(hidden=(8,), max_epochs=40, refit=True, n_threads=1)
    m.fit(X, time, event, feature_names=names, treatment_index=[0])
    assert m.refit and 1 <= m.best_epoch_ <= 40 and np.isfinite(m.predict_risk(X)).all()


def test_cuda_request_falls_back_to_cpu(synthetic, caplog):
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible here")
    X, time, event, names = synthetic
    with caplog.at_level(logging.WARNING, logger="models.device"):
        m = DeepSurvModel(hidden=(8,), max_epochs=20, device="cuda", n_threads=1)
        m.fit(X, time, event, feature_names=names, treatment_index=[0])
    assert m.device_ == "cpu"
    assert any("cuda" in r.message for r in caplog.records)
    ref = DeepSurvModel(hidden=(8,), max_epochs=20, device="cpu", n_threads=1)
    ref.fit(X, time, event, feature_names=names, treatment_index=[0])
    assert np.array_equal(m.predict_risk(X), ref.predict_risk(X))


def test_input_errors(synthetic, small_model):
    X, time, event, names = synthetic
    with pytest.raises(ModelError, match="not fitted"):
        DeepSurvModel().predict_risk(X)
    with pytest.raises(ModelError, match="feature columns"):
        small_model.predict_risk(X[:, :2])
    with pytest.raises(ModelError, match="finite"):
        DeepSurvModel().fit(np.where(X > 2, np.nan, X), time, event, feature_names=names)
    with pytest.raises(ModelError, match="feature names"):
        DeepSurvModel().fit(X, time, event, feature_names=names[:2])
    with pytest.raises(ModelError, match="non-treatment"):
        DeepSurvModel().fit(X[:, :1], time, event, feature_names=names[:1], treatment_index=[0])
    with pytest.raises(ValueError):
        DeepSurvModel(activation="tanh")


@pytest.mark.realdata
def test_deepsurv_metabric_split_concordance(data_dir):
    """DeepSurv's fixed METABRIC split (x4-x6 hormone/radio/chemo): published test C 0.643-0.654.

    Seeds 0-9 of the defaults measured 0.636-0.659 (mean 0.646; linear Cox in lifelines: 0.632). 0.62 leaves
    room for one seed's split and platform noise while still failing a model that learned little.
    """
    import h5py
    from sksurv.metrics import concordance_index_censored

    with h5py.File(data_dir / "deepsurv" / "metabric_IHC4_clinical_train_test.h5", "r") as f:
        train = {k: f["train"][k][:].astype(np.float64) for k in ("x", "t", "e")}
        test = {k: f["test"][k][:].astype(np.float64) for k in ("x", "t", "e")}
    names = ["EGFR", "PGR", "ERBB2", "MKI67", "hormone_therapy", "radio_therapy", "chemotherapy", "er_positive", "age"]
    model = DeepSurvModel(seed=0, n_threads=1).fit(train["x"], train["t"], train["e"], feature_names=names,
                                                   treatment_index=[4, 5, 6])
    c = concordance_index_censored(test["e"].astype(bool), test["t"], model.predict_risk(test["x"]))[0]
    assert c >= 0.62, c
    assert model.treatment_effects(test["x"]).shape == (test["x"].shape[0], 3)
