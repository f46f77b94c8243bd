"""The Patient page's guided-policy line and its single-gene modifiers (text from dashboard.patient.guidance)."""
from __future__ import annotations

import streamlit as st

from dashboard.i18n import tr
from dashboard.patient.guidance import guidance_text, modifier_lines
from dashboard.patient.record import PatientAnalysis
from dashboard.text import plain


def render_guidance(a: PatientAnalysis) -> None:
    """The guideline rule's regimen and whether the model's evidence departs from it (nothing where unknown)."""
    text = guidance_text(a.risk)
    if text:
        st.info(plain(text))


def render_modifiers(a: PatientAnalysis) -> None:
    """The single genes found to modify a treatment's benefit in the reference cohort, with this patient's values."""
    lines = modifier_lines((a.explanations or {}).get("modifiers"))
    st.markdown(tr("**Single genes that modify a treatment's benefit** (found in the reference cohort)"))
    if not lines:
        st.caption(tr("No single gene passed the modifier screen of the reference cohort (false-discovery rate "
                      "5%, every gene x treatment tested): the effects shown come from the clinical fields, gene "
                      "modules and expression components."))
        return
    st.markdown("\n".join(f"- {plain(line)}" for line in lines))
    st.caption(tr("Found by a score test of every treatment x gene interaction against the effect model; these "
                  "describe the model, not causes."))
