"""The demo simulation's constants and parameters: cohort id and generator version, subtypes, expression programs,
regimens, benchmark scenarios, and :data:`GROUND_TRUTH_PARAMS` (JSON-serialisable; copied into
``uns["oncotx"]["ground_truth"]``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from genomics.demo.genes import CORE_LOADINGS, FILLER_LOADING_RANGE
from genomics.regimens import regimens
from genomics.spec import BREAST_TREATMENTS

DEMO_COHORT_ID = "demo"
GENERATOR_VERSION = "1.0.0"

SUBTYPES: tuple[str, ...] = ("LumA", "LumB", "Her2", "Basal", "Normal")
HORIZONS_MONTHS: tuple[int, ...] = (60, 120)
#: Expression programs (latent patient-level scores); ``gstm1_null`` is the common GSTM1 deletion genotype.
PROGRAMS: tuple[str, ...] = (
    "luminal", "proliferation", "her2_amplicon", "basal", "normal_like", "immune", "stromal",
    "progesterone", "gstm1_null", "nuisance_1", "nuisance_2",
)


#: The 8 regimens: treatment columns with value 1 joined by "+" (in ``BREAST_TREATMENTS`` order), or "none".
REGIMENS: tuple[str, ...] = tuple(regimens(BREAST_TREATMENTS))
SCENARIOS: tuple[str, ...] = ("guideline", "linear", "nonlinear", "weak", "gene_driven", "confounded",
                              "gene_modifiers_weak", "gene_modifiers_strong")
HIDDEN_CONFOUNDER = {"cancer_log_hazard": 0.6, "chemotherapy_logit": -1.0}

PROGRAM_MEANS = {  # subtype -> program -> mean score (within-subtype sd in PROGRAM_SD)
    "LumA": {"luminal": 1.6, "proliferation": -0.7, "basal": -0.4, "normal_like": -0.5, "immune": -0.2, "stromal": 0.2},
    "LumB": {"luminal": 1.3, "proliferation": 0.7, "basal": -0.7, "normal_like": -1.2, "immune": -0.1, "stromal": -0.3},
    "Her2": {"luminal": -0.9, "proliferation": 0.6, "basal": -0.6, "normal_like": -0.6, "immune": 0.4, "stromal": 0.0},
    "Basal": {"luminal": -2.0, "proliferation": 1.0, "basal": 2.0, "normal_like": 0.3, "immune": 0.6, "stromal": -0.2},
    "Normal": {"luminal": -0.4, "proliferation": -1.0, "basal": 0.3, "normal_like": 1.6, "immune": -0.2, "stromal": 0.3},
}
PROGRAM_SD = {"luminal": 0.5, "proliferation": 0.5, "basal": 0.5, "normal_like": 0.5, "immune": 0.8, "stromal": 0.7}

GROUND_TRUTH_PARAMS: dict[str, Any] = {
    "time_unit": "months",
    "subtypes": {
        "probabilities": {"LumA": 0.38, "LumB": 0.25, "Her2": 0.11, "Basal": 0.16, "Normal": 0.10},
        "program_means": PROGRAM_MEANS,
        "program_sd": PROGRAM_SD,
        "her2_amplification_probability": {"LumA": 0.03, "LumB": 0.14, "Her2": 0.85, "Basal": 0.03, "Normal": 0.03},
        "her2_amplicon": "her2_amplicon = 2.4 * amplified + N(0, 0.35)",
        "progesterone": "progesterone = 0.8 * luminal + N(0, 0.6)",
        "gstm1_null": "Bernoulli(0.5) (GSTM1 deletion genotype, lowers GSTM1 by 3 log2 units)",
        "nuisance": "two N(0, 1) programs that drive only filler genes and never the outcome",
    },
    "expression": {
        "model": "X = baseline + programs @ loadings + noise_sd * N(0, 1), clipped to [2, 15] (log2)",
        "baseline": "core genes U(6, 9), reference genes U(11.5, 13.5), fillers U(4.5, 10.5)",
        "noise_sd": "core genes U(0.25, 0.45), reference genes 0.15, fillers U(0.2, 0.6)",
        "core_loadings": CORE_LOADINGS,
        "filler_loading_range": {k: list(v) for k, v in FILLER_LOADING_RANGE.items()},
        "filler_cross_loading_sd": 0.05,
        "other_filler_nuisance_loading_sd": 0.3,
    },
    "clinical": {
        "age_at_diagnosis": "61 + shift[subtype] + 12.5 * N(0, 1), clipped to [24, 95] years",
        "age_shift": {"LumA": 2.0, "LumB": 2.0, "Her2": -4.0, "Basal": -7.0, "Normal": -2.0},
        "menopausal_state": "Post with probability sigmoid((age - 50.5) / 1.8)",
        "tumor_size_mm": "exp(log(22) + 0.12 proliferation + 0.08 basal + 0.45 N(0,1)), rounded, clipped [2, 180]",
        "grade": "1 + [g > -1.45] + [g > 0.0], g = proliferation + 0.6 N(0, 1)",
        "grade_cuts": [-1.45, 0.0],
        "lymph_nodes_positive": "0 with prob 1 - sigmoid(-0.25 + 1.0 log(size/22) + 0.25 proliferation); "
        "else 1 + NegBin(n=0.9, mean 2.5), at most 45",
        "er_status": "Positive iff luminal + 0.3 N(0,1) > -0.7",
        "pr_status": "Positive iff progesterone + 0.3 N(0,1) > 0.45",
        "her2_status": "Positive iff her2_amplicon + 0.3 N(0,1) > 1.3",
    },
    "treatment_assignment": {
        "chemotherapy": {
            "intercept": -2.7, "age_minus_60": -0.07, "node_positive": 0.9, "nodes_capped_10": 0.08,
            "grade_3": 0.6, "er_negative": 1.1, "her2_positive": 0.5, "log_size_over_22": 0.5,
        },
        "hormone_therapy": {"er_positive_intercept": 1.3, "er_negative_intercept": -2.2, "age_minus_60": 0.02,
                            "node_positive": 0.5},
        "radio_therapy": {"intercept": 0.35, "node_positive": 0.5, "age_minus_60": -0.02, "chemotherapy": 0.3,
                          "log_size_over_22": -0.3},
        "link": "logistic; each treatment a Bernoulli draw given the patient's features (and chemotherapy for radio)",
    },
    "cancer_death": {
        "model": "Weibull PH: H_c(t) = scale[ER] * (t / 120)^shape[ER] * exp(lp + loghr(regimen)), t in months",
        "scale": {"Positive": 0.30, "Negative": 0.33},
        "shape": {"Positive": 1.0, "Negative": 0.7},
        "lp": {
            "proliferation": 0.45, "log1p_nodes": 0.40, "log_size_over_22": 0.30, "grade_minus_2": 0.15,
            "immune_if_er_negative": -0.30, "immune_if_er_positive": -0.05, "stromal": 0.10, "age_under_40": 0.30,
            "subtype": {"LumA": 0.0, "LumB": 0.25, "Her2": 0.35, "Basal": 0.20, "Normal": 0.10},
        },
    },
    "treatment_effects": {
        "rule": "loghr(regimen) = sum of the log hazard ratios of the treatments given; they act on the "
        "cancer-specific hazard only (and on recurrence), never on other-cause death",
        "hormone_therapy": {
            "rule": "0 if er_status is Negative; else -(base + luminal_subtype * [subtype in LumA, LumB] "
            "+ luminal_score * clip(luminal, 0, 2))",
            "base": 0.25, "luminal_subtype": 0.20, "luminal_score": 0.10,
        },
        "chemotherapy": {
            "rule": "min(0, subtype[subtype] + proliferation * clip(proliferation, -1, 2) + er_negative * [ER-])",
            "subtype": {"LumA": -0.05, "LumB": -0.15, "Her2": -0.35, "Basal": -0.30, "Normal": -0.10},
            "proliferation": -0.12, "er_negative": -0.10,
        },
        "radio_therapy": {"rule": "base + node_positive * [nodes > 0]", "base": -0.10, "node_positive": -0.10},
    },
    "scenarios": {
        "guideline": "the default: the treatment effects above (they roughly follow the clinical guidelines)",
        "linear": "loghr linear in observed features: chemotherapy -0.30 - 0.20 proliferation + 0.15 luminal "
        "+ 0.10 (age - 60) / 10; hormone_therapy -0.15 - 0.25 luminal; radio_therapy -0.10 - 0.10 log1p(nodes) "
        "+ 0.05 (age - 60) / 10",
        "nonlinear": "thresholds and interactions: chemotherapy -0.55 [proliferation > 0.5][ER-] "
        "- 0.30 [proliferation > 0.5][ER+][nodes >= 4] + 0.20 [age > 70]; hormone_therapy "
        "-0.55 sigmoid(3 (luminal - 1)); radio_therapy -0.30 [nodes >= 1][size > 30 mm]",
        "weak": "the guideline effects times 0.3",
        "gene_driven": "effects set by programs no guideline uses: chemotherapy 0.15 - 0.90 sigmoid(2.5 immune) "
        "(immune-cold tumours are harmed, immune-hot ones gain); hormone_therapy -0.60 [ER+] "
        "(1 - sigmoid(3 (proliferation - 0.5))); radio_therapy 0.05 - 0.45 [nuisance_1 > 0.3]",
        "confounded": "the guideline effects plus an unmeasured frailty U ~ N(0, 1) that raises the cancer hazard "
        "(+0.6 U) and lowers the odds of chemotherapy (-1.0 U): no recorded feature or gene carries U",
        "gene_modifiers_weak": "the guideline effects plus, per treatment, 1-5 single genes drawn at random per seed "
        "from all genes, each adding +-0.15 x U(0.75, 1.25) per SD of the gene to the log HR (endocrine: ER+ only); "
        "the draws are in ground_truth.modifier_genes",
        "gene_modifiers_strong": "as gene_modifiers_weak with +-0.35 per SD",
    },
    "other_cause_death": {
        "model": "Gompertz on attained age: h(a) = exp(log_h70 + slope * (a - 70)) per year",
        "log_h70": float(np.log(0.030)), "slope": 0.095,
    },
    "recurrence": {
        "fatal": "every cancer death time T_c is preceded by a recurrence at T_c * Beta(3, 2)",
        "non_fatal": "extra recurrences with cumulative hazard 0.3 * H_c(t) under the received regimen",
        "non_fatal_fraction": 0.3, "beta": [3.0, 2.0],
        "rfs_event": "recurrence observed before death and censoring (death without recurrence censors RFS)",
    },
    "censoring": {
        "administrative": "U(96, 330) months", "administrative_range": [96.0, 330.0],
        "random": "exponential, rate 0.002 per month", "random_rate": 0.002,
    },
    "true_survival": "S<h>_<regimen> = exp(-H_c(h) - H_o(h)); CSS<h>_<regimen> = exp(-H_c(h)); h in months",
}
