"""The synthetic demo cohort: breast-cancer-like expression, clinical data, treatments and outcomes.

The demo cohort is what the app shows when no reference data are configured, and the ground truth that
tests use to check the treatment-effect engine. It needs no files: every gene symbol it uses is a constant
in :mod:`genomics.demo.genes` (real HGNC symbols; fillers are MSigDB Hallmark genes).

Model, in short (all parameters are in :data:`GROUND_TRUTH_PARAMS` and in ``uns["oncotx"]["ground_truth"]``):

* A latent PAM50-like subtype sets the means of named expression programs (luminal/ER, proliferation,
  HER2 amplicon, basal, normal-like, immune, stromal, progesterone) and each gene loads on a few
  programs: ``X = baseline + programs @ loadings + noise`` (log2, float32, floor 2).
* Clinical features and ER/PR/HER2 status follow from the programs; treatment is assigned with
  confounding by indication.
* Competing risks: cancer death from a Weibull proportional-hazards model with heterogeneous treatment
  effects (log hazard ratios per patient), other-cause death from a Gompertz hazard on attained age with
  no treatment effect. Recurrence precedes cancer death. Administrative plus random censoring.
* ``obsm["true_survival"]`` holds the analytic survival of every patient under every regimen at 60 and
  120 months (``S`` all-cause, ``CSS`` cancer-specific); :func:`true_survival` gives any horizon.

Modules: :mod:`~genomics.demo.parameters` (constants and ground-truth parameters), :mod:`~genomics.demo.genes`,
:mod:`~genomics.demo.expression`, :mod:`~genomics.demo.clinical` (clinical fields and treatment assignment),
:mod:`~genomics.demo.outcomes` (hazards, :func:`true_survival`), :mod:`~genomics.demo.spec` (:func:`demo_spec`)
and :mod:`~genomics.demo.cohort` (:func:`make_demo_cohort`).
"""
from __future__ import annotations

from genomics.demo.cohort import make_demo_cohort
from genomics.demo.genes import ALL_GENES, CORE_GENES, MAX_GENES, MIN_GENES
from genomics.demo.outcomes import regimen_of, true_survival
from genomics.demo.parameters import (
    DEMO_COHORT_ID,
    GENERATOR_VERSION,
    GROUND_TRUTH_PARAMS,
    HORIZONS_MONTHS,
    PROGRAMS,
    REGIMENS,
    SCENARIOS,
    SUBTYPES,
)
from genomics.demo.spec import demo_spec
from genomics.gene_panels import ONCOTYPE_GENES, PAM50_GENES

__all__ = ["ALL_GENES", "CORE_GENES", "DEMO_COHORT_ID", "GENERATOR_VERSION", "GROUND_TRUTH_PARAMS", "HORIZONS_MONTHS",
           "MAX_GENES", "MIN_GENES", "ONCOTYPE_GENES", "PAM50_GENES", "PROGRAMS", "REGIMENS", "SCENARIOS", "SUBTYPES",
           "demo_spec", "make_demo_cohort", "regimen_of", "true_survival"]
