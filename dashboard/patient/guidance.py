"""Words for the guided policy and the single-gene modifiers of a patient's analysis (plain text, in the page's
language): the Patient page and the PDF read them here.

The guided policy (models.decision.guided_choice) presents the guideline rule's regimen first unless the model's
best option beats it in at least 90% of the paired bootstrap refits; the single-gene modifiers are the
treatment x gene interactions the effect model's screen found in the reference cohort (models.gene_screen).
Both are options and evidence for discussion, never directives.
"""
from __future__ import annotations

import math
from typing import Any

from dashboard.i18n import format_percent, regimen_label, tr
from models.decision import DEPART_CONFIDENCE
from models.guideline import GUIDELINE_RULE


def guidance_text(risk: dict[str, Any] | None) -> str:
    """One sentence on the guideline's regimen and whether the model's evidence departs from it; "" where the
    analysis has no guided facts (no replicates, or the record lacks a field the rule reads)."""
    risk = risk or {}
    guideline, best = str(risk.get("guideline") or ""), str(risk.get("best_option") or "")
    share = risk.get("departure_confidence")
    if not guideline or share is None or not math.isfinite(float(share)):
        return ""
    rule = tr("Guideline rule ({rule}): {regimen}.", rule=tr(GUIDELINE_RULE), regimen=regimen_label(guideline))
    if best == guideline:
        return rule + " " + tr("The model's best option is the same regimen.")
    detail = tr("The model's best option, {best}, beats it in {share} of the bootstrap refits",
                best=regimen_label(best), share=format_percent(float(share)))
    if float(share) >= DEPART_CONFIDENCE:
        verdict = tr("(at least {level}): shown as the option to discuss first.",
                     level=format_percent(DEPART_CONFIDENCE))
    else:
        verdict = tr("(fewer than {level}): not enough to depart from the guideline's regimen.",
                     level=format_percent(DEPART_CONFIDENCE))
    return f"{rule} {detail} {verdict}"


def modifier_lines(modifiers: list[dict[str, Any]] | None) -> list[str]:
    """One line per single-gene modifier found in the reference cohort, with this patient's value."""
    lines = []
    for m in modifiers or []:
        value, stability = m.get("patient_value"), m.get("stability")
        where = (tr("this patient: {value:+.1f} SD", value=float(value))
                 if value is not None and math.isfinite(float(value)) else tr("not measured in this profile"))
        direction = (tr("{treatment}: less benefit as {gene} expression rises", treatment=regimen_label(m["treatment"]),
                        gene=m["gene"]) if m.get("benefit_falls_with_gene") else
                     tr("{treatment}: more benefit as {gene} expression rises", treatment=regimen_label(m["treatment"]),
                        gene=m["gene"]))
        found = (tr("z {z:+.1f}, q {q:.2g}, selected in {share} of bootstrap refits", z=float(m["z"]), q=float(m["q"]),
                    share=format_percent(float(stability)))
                 if stability is not None and math.isfinite(float(stability))
                 else tr("z {z:+.1f}, q {q:.2g}", z=float(m["z"]), q=float(m["q"])))
        lines.append(tr("{direction} ({found}); {where}", direction=direction, found=found, where=where))
    return lines
