"""The Patient page's guided-policy line and its single-gene modifiers (text from dashboard.patient.guidance), and
the Model lab's table of a treatment-effect model's modifiers."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.i18n import format_percent, regimen_label, tr
from dashboard.modelling.bundles import effect_modifiers
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


def render_model_modifiers(folder) -> None:
    """The Model lab's table of the single-gene modifiers a treatment-effect model's screen found (nothing for a
    model of another kind)."""
    table = effect_modifiers(folder)
    if table is None:
        return
    st.subheader(tr("Single-gene effect modifiers"), anchor=False)
    if table.empty:
        st.caption(tr("No treatment x gene interaction passed the screen (false-discovery rate 5%)."))
        return
    shown = pd.DataFrame({
        tr("Treatment"): [regimen_label(t) for t in table["treatment"]],
        tr("Gene"): table["gene"],
        tr("Direction"): [tr("less benefit as the gene rises") if z > 0 else tr("more benefit as the gene rises")
                          for z in table["z"]],
        "z": table["z"], "q": table["q"].map(lambda v: f"{v:.3g}"),
        tr("Bootstrap stability"): table["stability"].map(
            lambda v: format_percent(float(v)) if v is not None and pd.notna(v) else "–"),
    })
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption(tr("Score test of every treatment x gene interaction against the fitted effect model (robust "
                  "variance, Benjamini-Hochberg); stability: the share of bootstrap refits whose own screen selected "
                  "the gene. These describe the model, not causes."))
