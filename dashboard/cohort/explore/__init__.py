"""The cohort explorer as pure functions: variables, filters, groupings, survival by group, downsampling.

The package re-exports the explorer's public names, so the Cohort page and the tests use ``explore.<name>``;
each lives in one module: variables (variables, filters, groupings), survival (Kaplan-Meier, log-rank, hazard
ratios), cox (the Cox fits), expression, treatments, drawing (at scale).

The Cohort page reads widgets and calls these; nothing here imports Streamlit, so every number the page
shows can be checked in a test (Kaplan-Meier, log-rank and Cox numbers against lifelines).

A *variable* is anything a patient has one value of: an ``obs`` column (clinical, treatment, subtype ...),
a gene (``gene:ESR1``), the regimen, the expression cluster or a model's risk (given by the caller as extra
columns). Categorical variables group patients as they are; continuous ones are split at the median,
tertiles, quartiles or chosen cut points. Missing values never form a group: they are counted and left out.
"""
from __future__ import annotations

from dashboard.cohort.explore.cox import LIFELINES_COX_MAX, grouped_cox
from dashboard.cohort.explore.drawing import MAX_CURVE_POINTS, MAX_EMBEDDING_POINTS, sample_rows, thin_curve
from dashboard.cohort.explore.expression import scores_by_group, top_genes_by_group, two_groups
from dashboard.cohort.explore.survival import (
    GroupSurvival,
    compare_groups,
    hazard_ratio_per_sd,
    risk_table_times,
    survival_table,
)
from dashboard.cohort.explore.treatments import THIN_EVIDENCE, treatment_counts
from dashboard.cohort.explore.variables import (
    CONTINUOUS_MIN_LEVELS,
    GENE_PREFIX,
    MAX_CATEGORIES,
    REGIMEN,
    SPLITS,
    Kind,
    Rule,
    Split,
    Variable,
    as_text,
    category_order,
    cohort_variables,
    filter_mask,
    gene_variable,
    outcome_columns,
    split_groups,
    variable_kind,
    variable_values,
)

__all__ = [
    "CONTINUOUS_MIN_LEVELS", "GENE_PREFIX", "LIFELINES_COX_MAX", "MAX_CATEGORIES", "MAX_CURVE_POINTS",
    "MAX_EMBEDDING_POINTS", "REGIMEN", "SPLITS", "THIN_EVIDENCE", "GroupSurvival", "Kind", "Rule", "Split", "Variable",
    "as_text", "category_order", "cohort_variables", "compare_groups", "filter_mask", "gene_variable", "grouped_cox",
    "hazard_ratio_per_sd", "outcome_columns", "risk_table_times", "sample_rows", "scores_by_group", "split_groups",
    "survival_table", "thin_curve", "top_genes_by_group", "treatment_counts", "two_groups", "variable_kind",
    "variable_values",
]
