"""The Patient dashboard's first sections: the header (who, with what, data quality and the model card) and which
model variant answered. Drawn by :func:`dashboard.ui.patient_view.render_analysis`; text from a user or a data file
goes through :func:`dashboard.text.plain`."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.i18n import N_, regimen_label, tr, translate_error
from dashboard.patient.presentation import as_number, created_text
from dashboard.patient.record import PatientAnalysis
from dashboard.patient.report.wording import variant_lines
from dashboard.text import fact_label, field_label, plain


def header_section(a: PatientAnalysis) -> None:
    st.header(tr("Patient {patient}", patient=plain(a.patient_id)), anchor=False)
    synthetic = a.synthetic_cohort and "SYNTHETIC" not in a.cohort_name.upper()
    cohort = plain(a.cohort_name) + (tr(" (SYNTHETIC demo data)") if synthetic else "")
    st.markdown(tr("Reference cohort **{cohort}** · model **{model}** ({kind}, endpoint {endpoint}) · analysed {when} "
                   "by {user}", cohort=cohort, model=plain(a.model_id), kind=plain(a.model_kind),
                   endpoint=plain(a.endpoint), when=plain(created_text(a.created)), user=plain(a.user)))
    st.caption(tr("Research use only: options to discuss with the treating team, never treatment directives."))
    assumptions = a.assumptions or {}
    if assumptions.get("record_corrections"):
        st.info(plain(str(assumptions["record_corrections"])), icon=":material/edit_note:")
    cols = st.columns(4)
    coverage = as_number((a.variant or {}).get("coverage", assumptions.get("gene_coverage")))
    cols[0].metric(tr("Model gene coverage"), "–" if coverage is None else f"{coverage:.0%}",
                   help=tr("Share of the full model's genes present in the uploaded profile. Below 80% a companion "
                           "model fitted on the shared genes answers: missing genes are never filled in."))
    filled = assumptions.get("filled") or []
    cols[1].metric(tr("Clinical fields filled"), f"{len(filled)}",
                   help=tr("Filled from the cohort because they were missing: ")
                   + (tr(", ").join(tr(field_label(str(f))) for f in filled) or tr("none")))
    ood = as_number((a.embedding or {}).get("ood_percentile"))
    cols[2].metric(tr("Distance from cohort (percentile)"), "–" if ood is None else f"{ood:.0f}",
                   help=tr("How far the profile is from its nearest cohort patients, as a percentile of the "
                           "cohort's own distances (above 95: unusual for this cohort)."))
    validation = a.validation or {}
    n_warn = len(validation.get("warnings") or [])
    cols[3].metric(tr("Validation"), tr("passed") if not validation.get("errors") else tr("failed"),
                   help=tr("{count} validation warning(s)", count=n_warn))
    with st.expander(tr("Data quality and assumptions")):
        rows = [(tr("Expression scale detected"), assumptions.get("scale")),
                (tr("Expression standardisation"), assumptions.get("expression_mode")),
                (tr("Model gene coverage"), None if coverage is None else f"{coverage:.1%}"),
                (tr("Clinical fields filled from the cohort"),
                 tr(", ").join(tr(field_label(str(f))) for f in filled) or tr("none")),
                (tr("Regimen the risk is for"), regimen_label(str((a.risk or {}).get("regimen") or assumptions.get(
                    "regimen") or "–"))),
                (tr("Benefit measured against"), regimen_label(a.baseline))]
        clinical = assumptions.get("clinical") or {}
        rows += [(tr("Clinical: {field}", field=tr(field_label(str(k)))), tr("missing") if v is None else v)
                 for k, v in clinical.items()]
        facts = validation.get("facts") or {}
        rows += [(tr("Input: {fact}", fact=fact_label(str(k))), v) for k, v in facts.items()] if isinstance(facts, dict) else []
        table = pd.DataFrame([(k, str(v)) for k, v in rows if v not in (None, "")], columns=[tr("item"), tr("value")])
        st.dataframe(table, hide_index=True, width="stretch")
        for warning in validation.get("warnings") or []:
            st.caption(tr("Validation warning: {warning}", warning=plain(translate_error(warning))))
    with st.expander(tr("Model card")):
        _model_card(a.model_card or {})


VARIANT_SHORT = {"full": N_("Full model"), "companion": N_("Companion"), "robust": N_("Platform-robust"),
                 "clinical": N_("Clinical only")}


def variant_section(a: PatientAnalysis) -> None:
    v = a.variant or {}
    if not v:
        return
    st.subheader(tr("Which model answers"), anchor=False)
    cols = st.columns(3)
    cols[0].metric(tr("Model variant"), tr(VARIANT_SHORT.get(str(v.get("variant")), str(v.get("variant")))),
                   help=tr("full model; companion model on the genes this profile shares with the training cohort; "
                           "or clinical fields only (see the model card)"))
    cols[1].metric(tr("Genes used"), f"{int(v.get('n_genes_used') or 0):,}",
                   help=tr("{count} of the full model's genes are not in this profile",
                           count=f"{int(v.get('n_genes_missing') or 0):,}"))
    c = as_number(v.get("c_index"))
    full = as_number(v.get("full_c_index"))
    cols[2].metric(tr("Held-back C-index"), "–" if c is None else f"{c:.3f}",
                   delta=None if c is None or full is None or v.get("variant") == "full" else tr("{delta} vs full", delta=f"{c - full:+.3f}"),
                   help=tr("Harrell's C on held-back training-cohort patients; the full model's on the same patients "
                           "is the reference"))
    for line in variant_lines(a):
        st.caption(plain(line))
    if v.get("genes_missing"):
        with st.expander(tr("Genes of the full model not in this profile ({count})", count=len(v["genes_missing"]))):
            st.write(plain(", ".join(map(str, v["genes_missing"]))))


def _model_card(card: Mapping[str, Any]) -> None:
    if not card:
        st.caption(tr("No model card was saved with this analysis."))
        return
    cohort = card.get("cohort_name") or card.get("cohort") or "–"
    st.markdown(tr("**{kind}** `{model}` trained on {cohort} · {endpoint} ({description})",
                   kind=plain(card.get("model_kind", "model")), model=plain(card.get("model_id", "–")),
                   cohort=plain(cohort), endpoint=plain(card.get("endpoint", "")),
                   description=plain(card.get("endpoint_description", ""))))
    cols = st.columns(3)
    for col, (n_key, e_key, label) in zip(cols, (("n_train", "events_train", N_("Training patients")),
                                                 ("n_test", "events_test", N_("Held-back patients"))), strict=False):
        if card.get(n_key) is not None:
            col.metric(tr(label), f"{card[n_key]:,}" if isinstance(card[n_key], int) else str(card[n_key]),
                       help=tr("{count} events", count=card.get(e_key, "–")))
    c = card.get("harrell_c")
    metrics = card.get("metrics") or {}
    if c is None and isinstance(metrics.get("harrell_c"), dict):
        c, lo, hi = (metrics["harrell_c"].get(k) for k in ("value", "lo", "hi"))
    else:
        lo, hi = card.get("harrell_c_lo"), card.get("harrell_c_hi")
    if as_number(c) is not None:
        interval = f" [{lo:.3f}, {hi:.3f}]" if as_number(lo) is not None and as_number(hi) is not None else ""
        cols[2].metric(tr("Held-back C-index"), f"{c:.3f}", help=tr("Harrell's C on held-back patients{interval}",
                                                                         interval=interval))
        if interval:
            cols[2].caption(tr("95% interval{interval}", interval=interval))
    if card.get("intended_use"):
        st.caption(tr("Intended use: {text}", text=plain(card["intended_use"])))
    for limit in card.get("limits") or []:
        st.caption(tr("Limit: {text}", text=plain(limit)))
    if card.get("created"):
        st.caption(tr("Trained {when}.", when=plain(card["created"])))
