"""The treatment-effect model (models.effects), its Cox fitter (models.cox) and explanations (models.explain)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from genomics.demo import SCENARIOS, make_demo_cohort, regimen_of, true_survival
from genomics.regimens import regimen_flags
from genomics.spec import spec_of
from models.cox import breslow, cv_penalty, fit_cox, partial_loglik
from models.effects import TreatmentEffectModel, _design
from models.explain import benefit_contributions, gene_sets_for, risk_contributions
from models.features import FeatureBuilder, survival_target
from models.registry import _model_class


def _untied(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    T = rng.exponential(1 / np.exp(X @ np.array([0.6, -0.4, 0.0, 0.2])))
    C = rng.exponential(2.0, size=n)
    return X, np.minimum(T, C), (T <= C).astype(float)


def test_cox_matches_lifelines_without_ties():
    X, t, e = _untied()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(T=t, E=e)
    cph = CoxPHFitter().fit(frame, "T", "E")
    beta = fit_cox(X, t, e, penalty=0.0)
    np.testing.assert_allclose(beta, cph.params_.to_numpy(), atol=2e-4)
    H0 = breslow(X, t, e, beta, np.array([0.5, 1.0]))[0]
    # lifelines' baseline is at the covariate means; move ours there
    ours = H0 * np.exp(X.mean(axis=0) @ beta)
    theirs = cph.baseline_cumulative_hazard_.iloc[:, 0]
    expected = [theirs[theirs.index <= s].iloc[-1] for s in (0.5, 1.0)]
    np.testing.assert_allclose(ours, expected, rtol=1e-3)


def test_stratified_cox_matches_lifelines():
    """Two strata with different baseline shapes (Weibull 1.0 and 0.6), shared coefficients: the coefficients and
    each stratum's own baseline hazard equal lifelines' stratified fit."""
    rng = np.random.default_rng(4)
    n = 800
    X = rng.normal(size=(n, 3))
    s = (rng.random(n) < 0.4).astype(int)
    shape = np.where(s == 1, 0.6, 1.0)
    T = (rng.exponential(size=n) / np.exp(X @ np.array([0.5, -0.3, 0.0]))) ** (1.0 / shape)
    C = rng.exponential(2.5, size=n)
    t, e = np.minimum(T, C), (T <= C).astype(float)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(T=t, E=e, s=s)
    cph = CoxPHFitter().fit(frame, "T", "E", strata=["s"])
    beta = fit_cox(X, t, e, penalty=0.0, strata=s)
    np.testing.assert_allclose(beta, cph.params_.to_numpy(), atol=2e-4)
    assert np.abs(beta - fit_cox(X, t, e, penalty=0.0)).max() > 1e-3  # ignoring the strata gives another answer
    per_stratum = sum(partial_loglik(X[s == lv], t[s == lv], e[s == lv], beta) for lv in (0, 1))
    assert partial_loglik(X, t, e, beta, strata=s) == pytest.approx(per_stratum, rel=1e-12)
    grid = np.array([0.3, 1.0, 2.0])
    H0 = breslow(X, t, e, beta, grid, strata=s, n_strata=3)
    assert H0.shape == (3, 3) and np.all(H0[2] == 0)  # stratum 2 has no patients
    ours = H0[:2] * np.exp(X.mean(axis=0) @ beta)  # lifelines' baselines are at the covariate means
    for level in (0, 1):
        theirs = cph.baseline_cumulative_hazard_[level]
        expected = [theirs[theirs.index <= g].iloc[-1] for g in grid]
        np.testing.assert_allclose(ours[level], expected, rtol=1e-3)
    assert H0[1, 0] / H0[1, 2] > H0[0, 0] / H0[0, 2]  # the shape-0.6 stratum front-loads its hazard


def test_cox_weights_equal_duplicated_rows_and_penalty_shrinks():
    X, t, e = _untied(300, seed=1)
    w = np.r_[np.full(150, 2.0), np.ones(150)]
    dup = np.r_[np.arange(150), np.arange(300)]
    np.testing.assert_allclose(fit_cox(X, t, e, penalty=1.0, weight=w), fit_cox(X[dup], t[dup], e[dup], penalty=1.0),
                               atol=1e-8)
    free, shrunk = fit_cox(X, t, e, penalty=0.0), fit_cox(X, t, e, penalty=500.0)
    assert np.linalg.norm(shrunk) < 0.5 * np.linalg.norm(free)
    best, scores = cv_penalty(X, t, e, penalties=[np.full(4, 0.0), np.full(4, 1e5)], folds=3)
    assert best == 0 and scores[0] > scores[1]  # real signal: the cross-validation refuses to crush it


@pytest.fixture(scope="module")
def demo():
    return make_demo_cohort(n_patients=1200, n_genes=300, seed=3)


def fit_effects(cohort, *, n_bootstrap: int):
    """Features and a fitted treatment-effect model on the whole cohort (OS split by DSS)."""
    spec = spec_of(cohort)
    fb = FeatureBuilder().fit(cohort, spec=spec)
    X = fb.transform(cohort).X
    t, e, _ = survival_target(cohort, endpoint="OS", spec=spec)
    _, dss, _ = survival_target(cohort, endpoint="DSS", spec=spec)
    model = TreatmentEffectModel(n_bootstrap=n_bootstrap, seed=0).fit(X, t, e, feature_names=fb.columns_,
                                                                      treatment_index=fb.treatment_index, cause=dss)
    return fb, X, model


@pytest.fixture(scope="module")
def fitted(demo):
    return fit_effects(demo, n_bootstrap=12)


def test_model_shapes_intervals_and_competing_risks(fitted):
    fb, X, model = fitted
    assert model.competing_risks_ and model.events_["cancer"] > 50 and model.events_["other"] > 50
    grid = np.array([60.0, 120.0])
    S = model.predict_survival(X[:50], grid)
    css = model.predict_cause_specific(X[:50], grid)
    members = model.member_predictions(X[:50], grid)
    assert S.shape == (50, 2) and members.shape == (12, 50, 2)
    assert (S <= css + 1e-12).all() and (S[:, 1] <= S[:, 0] + 1e-12).all()
    assert np.isfinite(model.predict_risk(X[:50])).all()
    assert {"module:proliferation", "module:er", "expression_pc1", "age_at_diagnosis"} <= set(model.modifiers_.names)


def test_cancer_baseline_is_stratified_by_er_and_an_unknown_er_gets_the_mixture(fitted):
    fb, X, model = fitted
    k = len(fb.treatments_)
    assert model.modifiers_.anchor_names == ["er_status=Negative", "er_status=Positive"]
    assert sorted(model.stratum_of_level_) == [0, 1] and sum(model.stratum_shares_) == pytest.approx(1.0)
    neg, pos = (fb.columns_.index(c) for c in ("er_status=Negative", "er_status=Positive"))
    row = X[:1].copy()
    grid = np.array([24.0, 120.0])
    baselines = {}
    for label, onehot in {"neg": (1.0, 0.0), "pos": (0.0, 1.0), "unknown": (0.0, 0.0)}.items():
        row[0, neg], row[0, pos] = onehot
        baselines[label] = model._cancer_baseline(row[:, k:], grid, slice(0, 1))[0, 0]
    share_neg = model.stratum_shares_[model.stratum_of_level_[0]]
    np.testing.assert_allclose(baselines["unknown"], share_neg * baselines["neg"] + (1 - share_neg) * baselines["pos"])
    # the simulated ER- hazard is front-loaded (Weibull shape 0.7 vs 1.0): a larger share of its 10 years by year 2
    assert baselines["neg"][0] / baselines["neg"][1] > baselines["pos"][0] / baselines["pos"][1]


def test_stratified_baseline_fits_the_er_groups_over_time():
    """Mean predicted cancer-specific survival per ER group at 2 and 10 years against the simulation's truth:
    the stratified model is closer than the same model with one baseline (which bends both groups to one shape)."""
    cohort = make_demo_cohort(n_patients=2000, n_genes=300, seed=5)
    spec = spec_of(cohort)
    fb = FeatureBuilder().fit(cohort, spec=spec)
    X = fb.transform(cohort).X
    t, e, _ = survival_target(cohort, endpoint="OS", spec=spec)
    _, dss, _ = survival_target(cohort, endpoint="DSS", spec=spec)
    er = cohort.obs["er_status"].astype(str).to_numpy() == "Positive"
    received = regimen_of(cohort.obs).tolist()
    grid = np.array([24.0, 120.0])
    truth = true_survival(cohort, months=grid, regimen=received, cancer_specific=True)
    error = {}
    for stratify in (True, False):
        model = TreatmentEffectModel(n_bootstrap=0, seed=0, gene_screen=False, stratify=stratify).fit(
            X, t, e, feature_names=fb.columns_, treatment_index=fb.treatment_index, cause=dss)
        pred = model.predict_cause_specific(X, grid)
        error[stratify] = max(abs(pred[g].mean(axis=0) - truth[g].mean(axis=0)).max() for g in (er, ~er))
    assert error[True] < error[False]
    assert error[True] < 0.02


def test_a_profile_beyond_the_cohort_is_held_at_its_range(fitted):
    """A gene far beyond every training patient (another platform, a unit error) moves no modifier past the
    training range: predictions equal those at the edge, the service says so, and the explanation still adds up."""
    from dashboard.patient.service import held_modifiers

    fb, X, model = fitted
    k = len(fb.treatments_)
    genes = [j for j, c in enumerate(fb.columns_) if c.startswith("gene:")]
    far, farther = X[:1].copy(), X[:1].copy()
    far[0, genes[:20]] += 40.0
    farther[0, genes[:20]] += 400.0
    assert held_modifiers(model, X[:1]) == [] and len(held_modifiers(model, far)) > 0
    z_far = model.modifiers_.transform(far[:, k:])
    assert np.all(z_far >= model.modifiers_.lower - 1e-12) and np.all(z_far <= model.modifiers_.upper + 1e-12)
    grid = np.array([120.0])
    import copy
    free = copy.copy(model)
    free.modifiers_ = copy.copy(model.modifiers_)
    free.modifiers_.lower = free.modifiers_.upper = None  # the same model without the hold
    held, unheld = model.member_predictions(farther, grid)[:, 0, 0], free.member_predictions(farther, grid)[:, 0, 0]
    assert np.ptp(held) < np.ptp(unheld)  # the refits disagree far less where nothing is extrapolated
    c = risk_contributions(model, far[0], fb.columns_)
    D = _design(model.modifiers_, far[:, k:], far[:, :k])
    H10 = model.H_c_[0, :, 120]
    own = H10[model._strata_of(model.modifiers_.anchor_level(far[:, k:]))[0]]
    np.testing.assert_allclose(c.output, float((D @ model.coef_c_[0])[0]) + np.log(own / np.dot(model.stratum_shares_, H10)),
                               atol=1e-9)
    np.testing.assert_allclose(c.base + c.values.sum(), c.output, atol=1e-9)
    b = benefit_contributions(model, far[0], fb.columns_, regimen=np.ones(k), baseline=np.zeros(k))
    np.testing.assert_allclose(b.base + b.values.sum(), float(model.log_hazard_ratios(far)[0].sum()), atol=1e-9)


def test_treatments_do_not_act_on_other_cause_deaths(fitted):
    """All-cause benefit = other-cause survival × cancer-specific benefit: an older patient's benefit shrinks."""
    fb, X, model = fitted
    k = len(fb.treatments_)
    age = fb.columns_.index("age_at_diagnosis")
    young, old = X[:1].copy(), X[:1].copy()
    young[0, age], old[0, age] = 45.0, 80.0
    grid = np.array([120.0])
    for x in (young, old):
        on, off = x.copy(), x.copy()
        on[0, :k], off[0, :k] = 1.0, 0.0
        b_all = (model.predict_survival(on, grid) - model.predict_survival(off, grid))[0, 0]
        b_css = (model.predict_cause_specific(on, grid) - model.predict_cause_specific(off, grid))[0, 0]
        s_other = (model.predict_survival(off, grid) / model.predict_cause_specific(off, grid))[0, 0]
        np.testing.assert_allclose(b_all, s_other * b_css, rtol=1e-9)
        x[0, -1] = s_other  # stash for the comparison below
    assert old[0, -1] < young[0, -1]


def test_contributions_add_up_to_the_model_output(fitted):
    fb, X, model = fitted
    k = len(fb.treatments_)
    q = len(model.modifiers_.names)
    x = X[7]
    c = risk_contributions(model, x, fb.columns_)
    D = _design(model.modifiers_, x[None, k:], x[None, :k])
    H10 = model.H_c_[0, :, 120]  # the strata's baselines at 10 years (grid step 1 month)
    own = H10[model._strata_of(model.modifiers_.anchor_level(x[None, k:]))[0]]
    stratum_term = np.log(own / np.dot(model.stratum_shares_, H10))
    assert abs(stratum_term) > 1e-3  # ER status reaches the risk through its stratum's baseline
    np.testing.assert_allclose(c.output, float((D @ model.coef_c_[0])[0]) + stratum_term, atol=1e-9)
    np.testing.assert_allclose(c.base + c.values.sum(), c.output, atol=1e-9)
    grouped = c.by_name(fb.treatments_)
    np.testing.assert_allclose(grouped["value"].sum(), c.values.sum(), atol=1e-9)
    regimen, baseline = np.array([1.0, 1.0, 0.0]), np.zeros(k)
    b = benefit_contributions(model, x, fb.columns_, regimen=regimen, baseline=baseline)
    np.testing.assert_allclose(b.output, float(model.log_hazard_ratios(x[None])[0] @ regimen), atol=1e-9)
    np.testing.assert_allclose(b.base + b.values.sum(), b.output, atol=1e-9)
    assert q > 10
    sets = gene_sets_for(fb.genes_)
    assert len(c.by_gene_set(sets)) > 0


def test_save_load_round_trip(fitted, tmp_path):
    fb, X, model = fitted
    files = model.save(tmp_path / "m")
    assert set(files) == {"effects.safetensors", "effects_meta.json"}
    again = _model_class("effects").load(tmp_path / "m")
    grid = np.array([60.0, 120.0])
    np.testing.assert_allclose(again.member_predictions(X[:20], grid), model.member_predictions(X[:20], grid))
    np.testing.assert_allclose(again.log_hazard_ratios(X[:20]), model.log_hazard_ratios(X[:20]))
    assert again.penalty_ == model.penalty_ and again.competing_risks_
    assert again.stratum_of_level_ == model.stratum_of_level_ and again.stratum_shares_ == model.stratum_shares_


def test_a_format_1_model_still_loads_as_one_stratum(fitted, tmp_path):
    """Models saved before the stratified baseline (H_c fits x grid, no strata in the card) load and predict."""
    import json

    from safetensors.numpy import load_file, save_file
    fb, X, model = fitted
    folder = tmp_path / "v1"
    model.save(folder)
    arrays = load_file(str(folder / "effects.safetensors"))
    arrays["H_c"] = np.ascontiguousarray(arrays["H_c"][:, 0, :])  # the first stratum's baseline for everyone
    save_file(arrays, str(folder / "effects.safetensors"))
    meta = json.loads((folder / "effects_meta.json").read_text())
    meta["format_version"] = 1
    del meta["strata"], meta["hyperparameters"]["stratify"]
    (folder / "effects_meta.json").write_text(json.dumps(meta))
    old = _model_class("effects").load(folder)
    assert old.H_c_.shape == (model.H_c_.shape[0], 1, model.H_c_.shape[2]) and old.stratum_shares_ == [1.0]
    grid = np.array([60.0, 120.0])
    assert np.isfinite(old.predict_survival(X[:5], grid)).all()
    H = old._cancer_baseline(X[:5, len(fb.treatments_):], grid, slice(0, 1))
    np.testing.assert_allclose(H, np.broadcast_to(model._on_grid(model.H_c_[:1, 0], grid)[:, None, :], H.shape))


def test_effects_recover_the_known_structure():
    """Guideline scenario: endocrine therapy helps ER+ patients (true log HR about -0.55) and not ER- (0)."""
    cohort = make_demo_cohort(n_patients=3000, n_genes=300, seed=11)
    fb, X, model = fit_effects(cohort, n_bootstrap=0)
    lhr = model.log_hazard_ratios(X)
    er = (cohort.obs["er_status"] == "Positive").to_numpy()
    h = fb.treatments_.index("hormone_therapy")
    truth = cohort.obsm["true_latent"]["loghr_hormone_therapy"].to_numpy()
    print(f"\nhormone log HR ER+ {lhr[er, h].mean():.3f} (true {truth[er].mean():.3f}), "
          f"ER- {lhr[~er, h].mean():.3f} (true {truth[~er].mean():.3f})")
    assert lhr[er, h].mean() < -0.25 and abs(lhr[~er, h].mean()) < 0.35
    assert lhr[er, h].mean() < lhr[~er, h].mean() - 0.2
    # all-cause survival estimates are calibrated on average against the known truth
    flags = np.array([regimen_flags("none", fb.treatments_)[k] for k in fb.treatments_], dtype=np.float32)
    none = X.copy()
    none[:, : len(flags)] = flags
    est = model.predict_survival(none, np.array([120.0]))[:, 0]
    assert abs(est.mean() - true_survival(cohort, months=120, regimen="none").mean()) < 0.05


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenarios_differ_only_in_effects(scenario):
    base = make_demo_cohort(n_patients=300, n_genes=185, seed=5)
    other = make_demo_cohort(n_patients=300, n_genes=185, seed=5, scenario=scenario)
    np.testing.assert_array_equal(base.X, other.X)
    assert base.obs["er_status"].equals(other.obs["er_status"])
    hidden = other.obsm["true_latent"]["hidden_confounder"]
    if scenario == "confounded":
        assert hidden.std() > 0.5
        assert not base.obs["chemotherapy"].equals(other.obs["chemotherapy"])
    else:
        assert (hidden == 0).all() and base.obs["chemotherapy"].equals(other.obs["chemotherapy"])
    if scenario not in ("guideline", "confounded"):
        assert not np.allclose(base.obsm["true_latent"]["loghr_chemotherapy"], other.obsm["true_latent"]["loghr_chemotherapy"])
    with pytest.raises(ValueError, match="scenario"):
        make_demo_cohort(n_patients=10, n_genes=185, scenario="nope")


def test_train_bundle_effects_uses_the_cancer_specific_endpoint(tmp_path):
    from models.registry import load_bundle
    from models.training import cancer_specific_endpoint, train_bundle

    cohort = make_demo_cohort(n_patients=500, n_genes=185, seed=2)
    spec = spec_of(cohort)
    assert cancer_specific_endpoint(spec, "OS").name == "DSS" and cancer_specific_endpoint(spec, "RFS") is None
    messages: list[str] = []
    bundle = train_bundle(cohort, endpoint="OS", kind="effects", out=tmp_path / "b", progress=messages.append)
    assert bundle.model.competing_risks_ and any("competing risks" in m for m in messages)
    again = load_bundle(tmp_path / "b")
    assert again.card.model_kind == "effects" and again.card.metrics["harrell_c"]["value"] > 0.55


def test_regimen_survival_equals_the_generic_path(fitted):
    """The one-pass scoring of every regimen (used by treatment_options) equals predicting each regimen's rows."""
    from models.treatment import _with_flags

    fb, X, model = fitted
    treatments = fb.treatments_
    names = ["none", "chemotherapy", "hormone_therapy+radio_therapy", "chemotherapy+hormone_therapy+radio_therapy"]
    flags = np.array([[regimen_flags(r, treatments)[t] for t in treatments] for r in names], dtype=np.float32)
    rows = X[:40].astype(np.float64)
    grid = np.array([60.0, 120.0])
    fast = model.regimen_survival(rows, flags, grid)
    flat = _with_flags(rows, flags)
    m = len(names)
    np.testing.assert_allclose(fast["all"], model.predict_survival(flat, grid).reshape(m, 40, 2), atol=1e-12)
    np.testing.assert_allclose(fast["all_members"], model.member_predictions(flat, grid).reshape(-1, m, 40, 2),
                               atol=1e-12)
    np.testing.assert_allclose(fast["cancer"], model.predict_cause_specific(flat, grid).reshape(m, 40, 2), atol=1e-12)
    np.testing.assert_allclose(fast["cancer_members"],
                               model.predict_cause_specific(flat, grid, members=True).reshape(-1, m, 40, 2), atol=1e-12)
