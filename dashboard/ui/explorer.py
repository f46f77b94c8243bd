"""The Cohort page's explorer widgets: the patient filters and the grouping shared by its tabs.

The widgets keep their values while the user moves between tabs (``persist_state``); the values they select
come from :func:`dashboard.ui.research_cache.cohort_values`, and every number from :mod:`dashboard.cohort.explore`.
"""
from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
import streamlit as st

from dashboard.cohort import explore
from dashboard.cohort.tables import CLUSTER, RISK
from dashboard.i18n import tr, translate_error
from dashboard.text import plain
from dashboard.ui.research_cache import cohort_values
from genomics.errors import InputError
from genomics.spec import CohortSpec
from models.errors import ModelError

KEEP = "page"  # explorer widgets keep their values while the user moves between tabs
ENDPOINT_KEY = "ex_endpoint"


@dataclass(frozen=True, eq=False)
class Explorer:
    """A cohort's explorer: its variables (with the derived cluster and model risk) and genes."""

    spec: CohortSpec
    adata: ad.AnnData
    variables: tuple[explore.Variable, ...]

    @classmethod
    def of(cls, spec: CohortSpec, adata: ad.AnnData) -> Explorer:
        variables = explore.cohort_variables(adata, spec, extra={
            CLUSTER: (tr("Expression cluster (Leiden; computed on first use)"), "categorical"),
            RISK: (tr("Model risk (the Patient page's model for the endpoint)"), "continuous"),
        })
        return cls(spec, adata, tuple(variables))

    @property
    def options(self) -> list[str]:
        return [v.key for v in self.variables]

    @property
    def labels(self) -> dict[str, str]:
        return {v.key: v.label for v in self.variables}

    @property
    def kinds(self) -> dict[str, str]:
        return {v.key: v.kind for v in self.variables}

    @property
    def genes(self) -> list[str]:
        return [explore.gene_variable(g).key for g in self.adata.var_names.astype(str)]

    def label(self, key: str) -> str:
        """A variable's label (a gene's when it is not one of the variables)."""
        return self.labels.get(key) or explore.gene_variable(key[len(explore.GENE_PREFIX):]).label


def endpoint_name(view: Explorer) -> str:
    """The endpoint chosen in the explorer (the cohort's first until one is chosen)."""
    return st.session_state.get(ENDPOINT_KEY) or view.spec.endpoints[0].name


def endpoint_select(view: Explorer, where) -> str:
    spec = view.spec
    return where.selectbox(tr("Endpoint"), [ep.name for ep in spec.endpoints], key=ENDPOINT_KEY, persist_state=KEEP,
                           format_func=lambda n: f"{n}: {spec.endpoint(n).description}")


def values_of(view: Explorer, key: str) -> pd.Series:
    """A variable's values for every patient (cluster and model risk computed on first use); stops the tab
    with a plain message when they cannot be had (no model trained yet, cohort too small to embed)."""
    try:
        return cohort_values(view.spec, view.adata, key, endpoint=endpoint_name(view))
    except (InputError, ModelError) as exc:
        st.warning(plain(translate_error(str(exc))))
        st.stop()


def select_patients(view: Explorer) -> tuple[np.ndarray, str]:
    """The patient filters (shared by the explorer tabs): the mask of selected patients and a one-line summary."""
    adata, labels, kinds = view.adata, view.labels, view.kinds
    n_all = adata.n_obs
    with st.expander(tr("Patients: filters (all {count} selected unless filtered)", count=f"{n_all:,}"),
                     icon=":material/filter_alt:"):
        fields = st.multiselect(tr("Filter by"), view.options, key="ex_filter_fields", persist_state=KEEP,
                                format_func=labels.get, placeholder=tr("clinical field, subtype, treatment, cluster…"))
        rules, parts = [], []
        for key in fields:
            values = values_of(view, key)
            if kinds[key] == "continuous":
                numeric = pd.to_numeric(values, errors="coerce")
                lo, hi = float(numeric.min()), float(numeric.max())
                if not np.isfinite(lo) or lo == hi:
                    st.caption(tr("{label}: a single value, nothing to filter.", label=plain(labels[key])))
                    continue
                chosen = st.slider(labels[key], lo, hi, (lo, hi), key=f"ex_filter_range_{key}", persist_state=KEEP)
                rules.append(explore.Rule(key, lo=chosen[0], hi=chosen[1]))
                parts.append(f"{labels[key]} {chosen[0]:.3g}–{chosen[1]:.3g}")
            else:
                levels = explore.category_order(values)
                chosen = st.multiselect(labels[key], levels, default=levels, key=f"ex_filter_values_{key}",
                                        persist_state=KEEP)
                rules.append(explore.Rule(key, values=tuple(chosen)))
                parts.append(f"{labels[key]} ∈ {{{', '.join(chosen)}}}")
        frame = pd.DataFrame({r.key: values_of(view, r.key).to_numpy() for r in rules}, index=adata.obs_names)
        mask = explore.filter_mask(frame, rules) if rules else np.ones(n_all, dtype=bool)
    summary = "; ".join(parts)
    st.caption(tr("{count} of {total} patients selected", count=f"{int(mask.sum()):,}", total=f"{n_all:,}")
               + (f" ({plain(summary)})" if summary else tr(".")))
    return mask, (tr("filtered: {summary}", summary=summary) if summary else "")


def select_grouping(view: Explorer, default: str | None) -> tuple[str, pd.Series, str]:
    """The grouping (shared by the explorer tabs): variable, then a split for continuous ones."""
    left, mid, right = st.columns([2, 1.4, 1.4])
    group_options = view.options + view.genes
    index = group_options.index(default) if default in group_options else 0
    key = left.selectbox(tr("Group patients by"), group_options, index=index, key="ex_group", persist_state=KEEP,
                         format_func=view.label)
    values = values_of(view, key)
    kind = view.kinds.get(key, "continuous")
    label = view.label(key)
    if kind == "categorical":
        return key, explore.split_groups(values), label
    how = mid.radio(tr("Split at"), explore.SPLITS, key="ex_split", persist_state=KEEP, horizontal=True)
    cuts: list[float] = []
    if how == "cut":
        median = float(pd.to_numeric(values, errors="coerce").median())
        text = right.text_input(tr("Cut points (comma-separated)"), value=f"{median:.3g}", key="ex_cuts",
                                persist_state=KEEP)
        try:
            cuts = [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
        except ValueError:
            st.error(tr("Cut points must be numbers separated by commas."))
            st.stop()
    return key, explore.split_groups(values, how, cuts=cuts), f"{label} ({how})"
