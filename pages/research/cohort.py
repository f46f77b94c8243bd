"""Cohort page: the selected cohort at a glance (size, endpoints, treatments, clinical, overall KM)."""
from __future__ import annotations

import streamlit as st

from dashboard import loaders, model_cache
from dashboard.charts import bar_figure, km_figure
from dashboard.shell import current_cohort
from dashboard.text import field_label, plain, regimen_label
from dashboard.views import show_model_card
from genomics.survival import kaplan_meier

cohort_id = current_cohort().id
summary = loaders.cohort_summary(cohort_id)
spec = summary.spec
st.title(f"Cohort: {spec.display_name}")
st.caption(f"{plain(spec.platform)}. {plain(spec.notes)}")

cols = st.columns(2 + len(summary.endpoints))
cols[0].metric("Patients", f"{summary.n_patients:,}")
cols[1].metric("Genes", f"{summary.n_genes:,}")
for col, ep in zip(cols[2:], summary.endpoints, strict=True):
    col.metric(f"{ep.name} events", f"{ep.events:,}")

st.subheader("Endpoints")
st.dataframe(
    [
        {"endpoint": ep.name, "description": ep.description, "patients": ep.n, "events": ep.events,
         "median follow-up (months)": f"{ep.median_follow_up_months:.1f}",
         "5-year survival": f"{ep.survival_5y:.1%}", "10-year survival": f"{ep.survival_10y:.1%}"}
        for ep in summary.endpoints
    ],
    hide_index=True,
)

endpoint_names = [ep.name for ep in spec.endpoints]
chosen = st.selectbox("Kaplan-Meier endpoint", endpoint_names, key="cohort_km_endpoint")
ep = spec.endpoint(chosen)
adata = loaders.cohort(cohort_id)
km = kaplan_meier(adata.obs[ep.time_col], adata.obs[ep.event_col])
ep_summary = next(e for e in summary.endpoints if e.name == chosen)
caption = f"{spec.display_name} · {ep.name} · n={ep_summary.n} · events={ep_summary.events}"
st.plotly_chart(km_figure(km, title=f"Overall {ep.name}", caption=caption), width="stretch")

st.subheader(f"Default model · {ep.name}")
bundle = model_cache.existing_bundle(spec, ep.name)
if bundle is None:
    st.write("No model is trained for this endpoint yet. Training runs once and is kept under ONCOTX_HOME.")
    if st.button(f"Train the default model for {ep.name}", key="train_default"):
        bundle = model_cache.train_default(spec, ep.name)
if bundle is not None:
    show_model_card(bundle.card)

if spec.treatments:
    st.subheader("Treatments")
    left, right = st.columns(2)
    left.plotly_chart(
        bar_figure(summary.treatments.assign(treatment=summary.treatments["treatment"].map(regimen_label)),
                   x="treatment", y="patients", title="Patients per treatment",
                   caption=f"{spec.display_name} · n={summary.n_patients}"),
        width="stretch",
    )
    regimens = summary.regimens.assign(regimen=summary.regimens["regimen"].map(regimen_label))
    right.dataframe(regimens, hide_index=True)
    if "confounded" not in spec.notes:
        st.caption("Treatment in observational cohorts is confounded by indication.")

st.subheader("Clinical fields")
st.dataframe(summary.clinical.assign(field=summary.clinical["field"].map(field_label)), hide_index=True,
             width="stretch")
