"""The PDF report's later sections (molecular profile, data quality and assumptions, model card), drawn on the
report of :mod:`dashboard.patient.report.pdf` with its layout helpers (heading, key_values, table_rows, ...)."""
from __future__ import annotations

from typing import Any

from dashboard.i18n import N_, tr, translate_error
from dashboard.patient.record import PatientAnalysis
from dashboard.patient.report.wording import (
    MISSING,
    any_text,
    finite_number,
    fraction_text,
    metric_label,
    metric_text,
    printable,
)
from dashboard.text import fact_label, field_label, gene_set_label

MAX_PERCENTILES = 60
#: The assumptions an analysis saves (dashboard.patient.service), as the PDF labels them.
ASSUMPTION_LABELS = {"regimen": N_("Regimen"), "clinical": N_("Clinical"), "worthwhile_benefit": N_("Worthwhile benefit"),
                     "competing_risks": N_("Competing risks"), "platform": N_("Platform"),
                     "platform_reference": N_("Platform reference"), "expression_note": N_("Expression note")}


def molecular_section(pdf: Any, a: PatientAnalysis) -> None:
    pdf.heading(N_("Molecular profile"))
    m = a.molecular or {}
    if not m:
        pdf.unavailable(N_("Molecular profile"))
        return
    pairs: list[tuple[str, object]] = []
    pam50 = m.get("pam50") or {}
    if pam50:
        text = printable(pam50.get("subtype", MISSING))
        if (conf := finite_number(pam50.get("confidence"))) is not None:
            text += tr(" (confidence {value})", value=fraction_text(conf))
        pairs.append((N_("PAM50 subtype"), text))
    rs = m.get("rs") or {}
    if rs:
        score = finite_number(rs.get("score"))
        text = f"{score:.0f}" if score is not None else MISSING
        if rs.get("group"):
            text += f", {printable(tr(str(rs['group'])))}"
        pairs.append((N_("Recurrence score (approximation)"), text))
        if rs.get("label"):
            pairs.append(("", printable(tr(str(rs["label"])))))
    if pairs:
        pdf.key_values(pairs)
    for key, title, columns in (("modules", N_("Module scores (z)"), 3), ("pathways", N_("Pathway scores"), 2)):
        values = m.get(key) or {}
        if values:
            pdf.subheading(title)
            _grid(pdf, [(gene_set_label(k), f"{v:+.2f}" if (v := finite_number(val)) is not None else MISSING)
                        for k, val in values.items()], columns=columns)
    percentiles = m.get("percentiles") or {}
    if percentiles:
        pdf.subheading(N_("Key gene expression percentiles (in the reference cohort)"))
        items = list(percentiles.items())
        _grid(pdf, [(str(k), f"{v:.0f}" if (v := finite_number(val)) is not None else MISSING)
                    for k, val in items[:MAX_PERCENTILES]], columns=4)
        if len(items) > MAX_PERCENTILES:
            pdf.para(tr("{count} more genes in the JSON export.", count=len(items) - MAX_PERCENTILES), size=7, colour=(80, 80, 80))


def _grid(pdf: Any, items: list[tuple[str, str]], *, columns: int) -> None:
    """Name/value pairs laid out ``columns`` pairs per table row."""
    pair = pdf.content_width / columns
    rows = []
    for start in range(0, len(items), columns):
        chunk = items[start: start + columns]
        chunk += [("", "")] * (columns - len(chunk))
        rows.append([x for item in chunk for x in item])
    pdf.table_rows(None, rows, widths=[pair * 0.7, pair * 0.3] * columns, size=7.0)


def quality_section(pdf: Any, a: PatientAnalysis) -> None:
    pdf.heading(N_("Data quality and assumptions"))
    shown = False
    assumptions = dict(a.assumptions or {})
    pairs: list[tuple[str, object]] = []
    if "gene_coverage" in assumptions:
        pairs.append((N_("Model gene coverage"), fraction_text(assumptions.pop("gene_coverage"))))
    if "scale" in assumptions:
        pairs.append((N_("Expression scale detected"), assumptions.pop("scale")))
    if "expression_mode" in assumptions:
        pairs.append((N_("Expression standardisation"), assumptions.pop("expression_mode")))
    if assumptions.get("record_corrections"):
        pairs.append((N_("Corrected by the clinician"), assumptions.pop("record_corrections")))
    if "filled" in assumptions:
        filled = assumptions.pop("filled") or []
        pairs.append((N_("Clinical fields filled with defaults"),
                      tr(", ").join(tr(field_label(str(f))) for f in filled) if filled else tr("none")))
    pairs += [(tr(ASSUMPTION_LABELS[str(k)]) if str(k) in ASSUMPTION_LABELS else str(k).replace("_", " ").capitalize(),
               v) for k, v in assumptions.items()]
    if (ood := finite_number((a.embedding or {}).get("ood_percentile"))) is not None:
        pairs.append((N_("Distance from the cohort (percentile)"), f"{ood:.0f}"))
    facts = (a.validation or {}).get("facts") or {}
    pairs += ([(tr("Input: {fact}", fact=fact_label(str(k).replace("_", " "))), v) for k, v in facts.items()]
              if isinstance(facts, dict) else [])
    if pairs:
        pdf.key_values(pairs, key_width=58)
        shown = True
    for key, title in (("errors", N_("Validation errors")), ("warnings", N_("Validation warnings"))):
        items = (a.validation or {}).get(key) or []
        if items:
            pdf.subheading(title)
            pdf.bullets([translate_error(i) for i in items], size=8)
            shown = True
    if a.warnings:
        pdf.subheading(N_("Warnings"))
        pdf.bullets([translate_error(w) for w in a.warnings], size=8)
        shown = True
    if not shown:
        pdf.unavailable(N_("Data quality and assumptions"))


def model_section(pdf: Any, a: PatientAnalysis) -> None:
    card = dict(a.model_card or {})
    if not card:
        pdf.heading(N_("Model card"), keep=8)
        pdf.unavailable(N_("Model card"))
        return
    pairs: list[tuple[str, object]] = []
    labels = [("model_id", N_("Model id")), ("model_kind", N_("Kind")), ("cohort_name", N_("Training cohort")),
              ("cohort_id", N_("Cohort id")), ("endpoint", N_("Endpoint")),
              ("endpoint_description", N_("Endpoint definition")), ("n_features", N_("Features")),
              ("feature_groups", N_("Feature groups")), ("device", N_("Trained on")), ("created", N_("Trained")),
              ("synthetic_cohort", N_("Synthetic cohort")), ("cohort_licence", N_("Cohort licence")),
              ("cohort_attribution", N_("Attribution"))]
    for key, label in labels:
        if key in card:
            pairs.append((label, card[key]))
    for n, events, label in (("n_train", "events_train", N_("Training patients")),
                             ("n_test", "events_test", N_("Held-back patients"))):
        if n in card:
            pairs.append((label, f"{any_text(card[n])}" + (tr(" ({count} events)", count=any_text(card[events]))
                                                              if card.get(events) is not None else "")))
    pdf.heading(N_("Model card"), keep=min(len(pairs), 12) * 4.5)
    pdf.key_values(pairs)
    metrics = card.get("metrics") or {}
    rows = [(tr(metric_label(str(k))), text) for k, v in metrics.items() if (text := metric_text(v)) is not None]
    if rows:
        pdf.subheading(N_("Held-back performance"))
        pdf.table_rows([tr("Metric"), tr("Value [interval]")], rows, widths=(100, 80), size=7.5)
    if card.get("intended_use"):
        pdf.para(tr("Intended use: {text}", text=printable(card["intended_use"])), size=8)
    limits = card.get("limits") or []
    if limits:
        pdf.subheading(N_("Limits"))
        pdf.bullets(limits, size=8)
