"""The single-gene modifier screen (models.gene_screen), its use in the treatment-effect model, the gene-modifier
scenario family of the demo simulation, and the guided choice (models.decision.guided_choice)."""
from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from genomics.demo import make_demo_cohort
from models.cox import fit_cox, partial_loglik
from models.decision import guided_choice
from models.effects import TreatmentEffectModel
from models.gene_screen import benjamini_hochberg, interaction_z, screen_genes
from tests.test_effects import fit_effects


def _design(cohort):
    from genomics.spec import spec_of
    from models.features import FeatureBuilder, survival_target

    spec = spec_of(cohort)
    fb = FeatureBuilder().fit(cohort, spec=spec)
    X = fb.transform(cohort).X.astype(np.float64)
    t, e, _ = survival_target(cohort, endpoint="OS", spec=spec)
    _, dss, _ = survival_target(cohort, endpoint="DSS", spec=spec)
    k = len(fb.treatments_)
    genes = [j for j, c in enumerate(fb.columns_) if c.startswith("gene:")]
    clinical = [j for j in range(k, X.shape[1]) if j not in set(genes)]
    return X, t, e * (dss > 0), k, genes, clinical, fb


def test_benjamini_hochberg_matches_statsmodels():
    p = np.random.default_rng(0).uniform(size=(3, 40)) ** 2
    np.testing.assert_allclose(benjamini_hochberg(p).ravel(), multipletests(p.ravel(), method="fdr_bh")[1], atol=1e-12)


def test_score_statistic_agrees_with_the_likelihood_ratio():
    """The projected score statistic of one treatment x gene interaction is close to the signed root of the
    likelihood-ratio statistic of the model with the gene and the interaction vs the gene alone."""
    cohort = make_demo_cohort(n_patients=1500, n_genes=185, seed=4, scenario="gene_modifiers_strong")
    X, t, ec, k, genes, clinical, _ = _design(cohort)
    base = np.column_stack([X[:, :k], X[:, clinical]])
    eta = base @ fit_cox(base, t, ec, penalty=1e-3)
    z = interaction_z(eta, t, ec, X[:, :k], X[:, genes])
    for treatment in range(k):
        j = int(np.argmax(np.abs(z[treatment])))
        g = X[:, genes[j]] - X[:, genes[j]].mean()
        null = np.column_stack([base, g])
        alt = np.column_stack([null, X[:, treatment] * g])
        lr = 2 * (partial_loglik(alt, t, ec, fit_cox(alt, t, ec, penalty=1e-3))
                  - partial_loglik(null, t, ec, fit_cox(null, t, ec, penalty=1e-3)))
        assert abs(abs(z[treatment, j]) - np.sqrt(max(lr, 0.0))) < 0.15 * np.sqrt(max(lr, 1.0)) + 0.3


def test_screen_finds_nothing_where_no_gene_acts():
    """Expression shuffled across patients carries no information: over 30 shuffles the statistics are standard
    normal (5% beyond 1.96; genes are correlated, so one shuffle alone says little) and the screen reports
    something in at most a few of them (Benjamini-Hochberg under the global null: in 5% of runs expected)."""
    from scipy.stats import norm

    cohort = make_demo_cohort(n_patients=1500, n_genes=300, seed=6)
    X, t, ec, k, genes, clinical, fb = _design(cohort)
    base = np.column_stack([X[:, :k], X[:, clinical]])
    eta = base @ fit_cox(base, t, ec, penalty=1e-3)
    rng = np.random.default_rng(1)
    beyond, reported = [], 0
    for _ in range(30):
        G = X[:, genes][rng.permutation(len(X))]
        z = interaction_z(eta, t, ec, X[:, :k], G)
        beyond.append(np.mean(np.abs(z) > norm.ppf(0.975)))
        reported += bool(screen_genes(eta, t, ec, X[:, :k], G, treatments=fb.treatments_,
                                      genes=[fb.columns_[j] for j in genes]))
    assert 0.035 <= np.mean(beyond) <= 0.07, np.mean(beyond)
    assert reported <= 4, reported


def test_effects_model_reports_no_gene_on_a_cohort_without_modifiers():
    cohort = make_demo_cohort(n_patients=1200, n_genes=300, seed=3)
    perm = np.random.default_rng(2).permutation(cohort.n_obs)
    cohort.X = np.asarray(cohort.X)[perm]  # no gene carries any outcome information
    _, _, model = fit_effects(cohort, n_bootstrap=0)
    assert model.screen_ == []
    assert "gene" not in model.modifiers_.groups


@pytest.fixture(scope="module")
def strong():
    cohort = make_demo_cohort(n_patients=3000, n_genes=400, seed=0, scenario="gene_modifiers_strong")
    return cohort, fit_effects(cohort, n_bootstrap=4)


def test_planted_modifier_is_found_with_its_direction(strong, tmp_path):
    cohort, (fb, X, model) = strong
    truth = cohort.uns["oncotx"]["ground_truth"]["modifier_genes"]
    true = {(t, f"gene:{g}"): c for t, d in truth.items() for g, c in zip(d["genes"], d["coefficients"], strict=True)}
    found = {(h["treatment"], h["gene"]): h["z"] for h in model.screen_}
    right = set(found) & set(true)
    assert right, f"no true modifier found: {sorted(found)} vs {sorted(true)}"
    assert all(np.sign(found[key]) == np.sign(true[key]) for key in right)  # z > 0: less benefit as the gene rises
    gene_terms = [n for n, g in zip(model.modifiers_.names, model.modifiers_.groups, strict=True) if g == "gene"]
    # the design holds the full-data hits and the genes bootstrap replicates selected, each with its stability
    assert {g for _, g in found} <= set(gene_terms) == set(model.selection_frequency_)
    assert all(0.0 <= h["stability"] <= 1.0 for h in model.screen_)
    model.save(tmp_path / "m")
    again = TreatmentEffectModel.load(tmp_path / "m")
    assert again.screen_ == model.screen_
    np.testing.assert_allclose(again.predict_survival(X[:50], np.array([120.0])),
                               model.predict_survival(X[:50], np.array([120.0])))


def test_gene_modifier_scenarios_store_their_draws():
    weak = make_demo_cohort(n_patients=200, n_genes=185, seed=9, scenario="gene_modifiers_weak")
    strong = make_demo_cohort(n_patients=200, n_genes=185, seed=9, scenario="gene_modifiers_strong")
    plain = make_demo_cohort(n_patients=200, n_genes=185, seed=9)
    drawn = weak.uns["oncotx"]["ground_truth"]["modifier_genes"]
    assert set(drawn) == {"chemotherapy", "hormone_therapy", "radio_therapy"}
    assert all(1 <= len(d["genes"]) <= 5 and set(d["genes"]) <= set(weak.var_names) for d in drawn.values())
    assert [d["genes"] for d in drawn.values()] == [d["genes"] for d in strong.uns["oncotx"]["ground_truth"]
                                                   ["modifier_genes"].values()]
    assert plain.uns["oncotx"]["ground_truth"]["modifier_genes"] == {}
    # endocrine therapy's gene terms act in ER-positive disease only
    er_neg = (weak.obs["er_status"] == "Negative").to_numpy()
    np.testing.assert_allclose(weak.obsm["true_latent"]["loghr_hormone_therapy"].to_numpy()[er_neg],
                               plain.obsm["true_latent"]["loghr_hormone_therapy"].to_numpy()[er_neg])
    spread = np.std(strong.obsm["true_latent"]["loghr_chemotherapy"] - plain.obsm["true_latent"]["loghr_chemotherapy"])
    assert spread > 2 * np.std(weak.obsm["true_latent"]["loghr_chemotherapy"] - plain.obsm["true_latent"]["loghr_chemotherapy"])


def test_guided_choice_departs_only_when_the_replicates_agree():
    burden = np.array([0.0, 0.03])
    S = np.array([[0.70, 0.80], [0.70, 0.80], [0.70, 0.71]])  # patient 3: best net of burden is the default
    allowed = np.ones_like(S, dtype=bool)
    default = np.zeros(3, dtype=int)
    sure = np.repeat(S[None], 20, axis=0)
    unsure = sure.copy()
    unsure[:10, 1, 1] = 0.60  # half the replicates favour the default for patient 2
    assert guided_choice(sure, S, default, allowed, burden).tolist() == [1, 1, 0]
    assert guided_choice(unsure, S, default, allowed, burden).tolist() == [1, 0, 0]
    assert guided_choice(np.empty((0, 3, 2)), S, default, allowed, burden).tolist() == [0, 0, 0]
    blocked = allowed.copy()
    blocked[0, 1] = False  # not enough evidence for the option
    assert guided_choice(sure, S, default, blocked, burden).tolist() == [0, 1, 0]
