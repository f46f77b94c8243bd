"""The demo cohort assembled: :func:`make_demo_cohort` draws programs, clinical fields, treatments and competing-risk
outcomes and stores the ground truth beside them."""
from __future__ import annotations

import copy
import logging

import anndata as ad
import numpy as np
import pandas as pd

from genomics.demo.clinical import sigmoid, simulate_clinical, treatment_probabilities
from genomics.demo.expression import gene_parameters, simulate_expression, simulate_programs
from genomics.demo.genes import ALL_GENES, GENE_GROUPS, MAX_GENES, MIN_GENES
from genomics.demo.modifier_genes import GENE_MODIFIER_SCENARIOS, add_modifier_terms, draw_modifier_genes, standardised
from genomics.demo.outcomes import REGIMEN_MASKS, cancer_model, cumulative_hazards, other_cause_log_h0, regimen_mask
from genomics.demo.parameters import (
    DEMO_COHORT_ID,
    GENERATOR_VERSION,
    GROUND_TRUTH_PARAMS,
    HIDDEN_CONFOUNDER,
    HORIZONS_MONTHS,
    PROGRAMS,
    REGIMENS,
    SCENARIOS,
    SUBTYPES,
)
from genomics.demo.spec import demo_spec
from genomics.spec import BREAST_TREATMENTS

log = logging.getLogger(__name__)


def make_demo_cohort(*, n_patients: int = 1500, n_genes: int = 1000, seed: int = 0,
                     scenario: str = "guideline") -> ad.AnnData:
    """Simulate the demo cohort: patients x genes log2 expression with clinical, treatment and outcome columns.

    Parameters
    ----------
    n_patients
        Number of patients (1 or more; 100,000+ is fine, memory is about the size of X).
    n_genes
        Number of genes, between ``MIN_GENES`` (all marker genes) and ``MAX_GENES``.
    seed
        Everything is a deterministic function of the seed (and the sizes). Clinical, treatment and outcome
        columns do not depend on ``n_genes``.
    scenario
        How treatments act (:data:`SCENARIOS`; the treatment-effect benchmark uses all of them). The default
        ``"guideline"`` is the demo cohort; ``"confounded"`` adds an unmeasured frailty that drives both the
        cancer hazard and the chance of chemotherapy (recorded only in ``obsm["true_latent"]["hidden_confounder"]``).

    Returns
    -------
    AnnData with ``X`` (float32), ``obs`` (clinical, treatments, latent ``subtype``, outcomes),
    ``obsm["true_survival"]`` and ``obsm["true_latent"]`` (ground truth) and ``uns["oncotx"]``.
    """
    if isinstance(n_patients, bool) or not isinstance(n_patients, int | np.integer) or n_patients < 1:
        raise ValueError(f"n_patients must be a positive integer, not {n_patients!r}.")
    if isinstance(n_genes, bool) or not isinstance(n_genes, int | np.integer) or not MIN_GENES <= n_genes <= MAX_GENES:
        raise ValueError(f"n_genes must be an integer between {MIN_GENES} and {MAX_GENES}, not {n_genes!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}.")
    if scenario not in SCENARIOS:
        raise ValueError(f"Unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}.")
    n, n_genes = int(n_patients), int(n_genes)
    # spawn(k) children do not depend on k: each stream added later leaves the earlier ones as they were
    streams = np.random.SeedSequence([int(seed), 0x0C07]).spawn(8)
    rng_genes, rng_latent, rng_clin, rng_treat, rng_surv, rng_expr, rng_hidden, rng_modifiers = (
        np.random.default_rng(s) for s in streams)

    base, sd, loadings = gene_parameters(rng_genes)
    subtype, z = simulate_programs(rng_latent, n)
    c = simulate_clinical(rng_clin, subtype, z)

    # Treatment: confounded by indication (and, in the "confounded" scenario, by an unmeasured frailty).
    hidden = rng_hidden.standard_normal(n) if scenario == "confounded" else np.zeros(n)
    probs = treatment_probabilities(c)
    if scenario == "confounded":
        logit = np.log(probs["chemotherapy"]) - np.log1p(-probs["chemotherapy"])
        probs["chemotherapy"] = sigmoid(logit + HIDDEN_CONFOUNDER["chemotherapy_logit"] * hidden)
    chemo = rng_treat.random(n) < probs["chemotherapy"]
    hormone = rng_treat.random(n) < probs["hormone_therapy"]
    radio_coef = GROUND_TRUTH_PARAMS["treatment_assignment"]["radio_therapy"]["chemotherapy"]
    p_radio_given_chemo = sigmoid(probs["radio_lp"] + radio_coef * chemo)
    radio = rng_treat.random(n) < p_radio_given_chemo
    p_radio = (probs["chemotherapy"] * sigmoid(probs["radio_lp"] + radio_coef)
               + (1 - probs["chemotherapy"]) * sigmoid(probs["radio_lp"]))

    # Survival: competing risks with latent times.
    cm = cancer_model(subtype, z, c, scenario=scenario)
    genes = list(ALL_GENES[:n_genes])
    x = simulate_expression(rng_expr, z, base[:n_genes], sd[:n_genes], loadings[:, :n_genes])
    modifier_genes: dict[str, dict[str, list]] = {}
    if scenario in GENE_MODIFIER_SCENARIOS:
        modifier_genes = draw_modifier_genes(rng_modifiers, genes, GENE_MODIFIER_SCENARIOS[scenario])
        effects = add_modifier_terms({t: cm[f"loghr_{t}"] for t in BREAST_TREATMENTS}, modifier_genes,
                                     standardised(x), genes, c["er"].astype(np.float64))
        cm.update({f"loghr_{t}": v for t, v in effects.items()})
    cm["cancer_log_scale"] = cm["cancer_log_scale"] + HIDDEN_CONFOUNDER["cancer_log_hazard"] * hidden
    latent: dict[str, np.ndarray] = {**cm, "other_cause_log_h0": other_cause_log_h0(c["age"])}
    slope = GROUND_TRUTH_PARAMS["other_cause_death"]["slope"]
    received = (
        chemo * cm["loghr_chemotherapy"] + hormone * cm["loghr_hormone_therapy"] + radio * cm["loghr_radio_therapy"]
    )
    a_c = np.exp(cm["cancer_log_scale"] + received)  # H_c(t) = a_c * (t/120)^shape
    e_c, e_o, e_r = rng_surv.standard_exponential((3, n))
    t_cancer = 120.0 * (e_c / a_c) ** (1.0 / cm["cancer_shape"])
    t_other = 12.0 * np.log1p(e_o * slope / np.exp(latent["other_cause_log_h0"])) / slope
    rec = GROUND_TRUTH_PARAMS["recurrence"]
    t_rec_fatal = t_cancer * rng_surv.beta(*rec["beta"], n)
    t_rec_other = 120.0 * (e_r / (rec["non_fatal_fraction"] * a_c)) ** (1.0 / cm["cancer_shape"])
    t_rec = np.minimum(t_rec_fatal, t_rec_other)
    cens = GROUND_TRUTH_PARAMS["censoring"]
    c_admin = rng_surv.uniform(*cens["administrative_range"], n)
    c_random = rng_surv.exponential(1.0 / cens["random_rate"], n)
    censor = np.minimum(c_admin, c_random)
    t_death = np.minimum(t_cancer, t_other)
    os_event = t_death <= censor
    os_months = np.maximum(np.round(np.minimum(t_death, censor), 2), 0.01)
    dss_event = os_event & (t_cancer <= t_other)
    rfs_event = t_rec <= np.minimum(t_death, censor)
    rfs_months = np.minimum(np.maximum(np.round(np.minimum(t_rec, np.minimum(t_death, censor)), 2), 0.01), os_months)

    width = max(5, len(str(n)))
    ids = pd.Index([f"DEMO-{i:0{width}d}" for i in range(1, n + 1)])
    pos_neg = ["Positive", "Negative"]
    obs = pd.DataFrame(
        {
            "patient_id": ids.to_numpy(),
            "age_at_diagnosis": c["age"],
            "tumor_size_mm": c["size"],
            "grade": c["grade"].astype(np.int64),
            "lymph_nodes_positive": c["nodes"],
            "er_status": pd.Categorical(np.where(c["er"], "Positive", "Negative"), categories=pos_neg),
            "pr_status": pd.Categorical(np.where(c["pr"], "Positive", "Negative"), categories=pos_neg),
            "her2_status": pd.Categorical(np.where(c["her2"], "Positive", "Negative"), categories=pos_neg),
            "menopausal_state": pd.Categorical(np.where(c["post"], "Post", "Pre"), categories=["Pre", "Post"]),
            "chemotherapy": chemo.astype(np.int64),
            "hormone_therapy": hormone.astype(np.int64),
            "radio_therapy": radio.astype(np.int64),
            "subtype": pd.Categorical(np.asarray(SUBTYPES)[subtype], categories=list(SUBTYPES)),
            "os_months": os_months,
            "os_event": os_event.astype(np.int64),
            "dss_event": dss_event.astype(np.int64),
            "rfs_months": rfs_months,
            "rfs_event": rfs_event.astype(np.int64),
        },
        index=ids,
    )

    true_latent = pd.DataFrame(z, index=ids, columns=list(PROGRAMS))
    for key, values in latent.items():
        true_latent[key] = values
    true_latent["hidden_confounder"] = hidden
    true_latent["p_chemotherapy"] = probs["chemotherapy"]
    true_latent["p_hormone_therapy"] = probs["hormone_therapy"]
    true_latent["p_radio_therapy"] = p_radio
    for r in REGIMENS:  # P(regimen | x) = P(chemo) P(hormone) P(radio | chemo)
        c_on, h_on, r_on = REGIMEN_MASKS[r].astype(bool)
        p_c = probs["chemotherapy"] if c_on else 1 - probs["chemotherapy"]
        p_h = probs["hormone_therapy"] if h_on else 1 - probs["hormone_therapy"]
        p_rad = sigmoid(probs["radio_lp"] + radio_coef * c_on)
        true_latent[f"propensity_{r}"] = p_c * p_h * (p_rad if r_on else 1 - p_rad)

    surv: dict[str, np.ndarray] = {}
    horizons = np.asarray(HORIZONS_MONTHS, dtype=float)
    for r in REGIMENS:
        h_c, h_o = cumulative_hazards(latent, horizons, regimen_mask(r, n))
        for j, h in enumerate(HORIZONS_MONTHS):
            surv[f"S{h}_{r}"] = np.exp(-(h_c[:, j] + h_o[:, j]))
            surv[f"CSS{h}_{r}"] = np.exp(-h_c[:, j])
    order = [f"{prefix}{h}_{r}" for prefix in ("S", "CSS") for h in HORIZONS_MONTHS for r in REGIMENS]
    true_surv = pd.DataFrame(surv, index=ids)[order]

    var = pd.DataFrame({"program_group": list(GENE_GROUPS[:n_genes])}, index=pd.Index(genes))
    adata = ad.AnnData(X=x, obs=obs, var=var)
    adata.obsm["true_survival"] = true_surv
    adata.obsm["true_latent"] = true_latent
    adata.uns["oncotx"] = {
        "synthetic": True,
        "cohort": DEMO_COHORT_ID,
        "seed": int(seed),
        "scenario": scenario,
        "generator_version": GENERATOR_VERSION,
        "scale": "log",
        "platform": "synthetic log2 microarray-like",
        "n_patients": n,
        "n_genes": n_genes,
        "spec": demo_spec().to_json(),
        "source_sha256": f"demo-generator-{GENERATOR_VERSION}-seed{int(seed)}-n{n}-g{n_genes}"
        + ("" if scenario == "guideline" else f"-{scenario}"),
        "ground_truth": {
            **copy.deepcopy(GROUND_TRUTH_PARAMS),
            "programs": list(PROGRAMS),
            "subtypes_order": list(SUBTYPES),
            "treatments": list(BREAST_TREATMENTS),
            "regimens": list(REGIMENS),
            "horizons_months": list(HORIZONS_MONTHS),
            "modifier_genes": modifier_genes,
            "obsm": {
                "true_survival": "analytic S/CSS at each horizon under each regimen",
                "true_latent": "program scores, cancer_log_scale, cancer_shape, loghr_<treatment>, "
                "other_cause_log_h0 (log per-year hazard at diagnosis), p_<treatment> (true marginal propensity of "
                "each treatment), propensity_<regimen> (true probability of receiving each regimen)",
            },
        },
    }
    log.info("Generated demo cohort: %d patients x %d genes (seed %d)", n, n_genes, seed)
    return adata
