"""Process-wide cached, read-only reference objects (cohorts). Patient data never go here."""
from __future__ import annotations

import anndata as ad
import streamlit as st

from dashboard.i18n import N_
from dashboard.ui.caching import cache_resource
from genomics.cohorts import list_cohorts, load_cohort
from genomics.spec import CohortSpec
from genomics.summary import CohortSummary, summarise_cohort


@cache_resource(N_("Loading cohort…"))
def cohort(cohort_id: str) -> ad.AnnData:
    """The reference cohort, loaded once per server process (treat as read-only)."""
    return load_cohort(cohort_id)


@cache_resource(N_("Summarising cohort…"))
def cohort_summary(cohort_id: str) -> CohortSummary:
    return summarise_cohort(cohort(cohort_id))


@st.cache_data(ttl=300)
def available_cohorts() -> list[CohortSpec]:
    return list_cohorts()
