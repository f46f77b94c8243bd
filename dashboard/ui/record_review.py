"""The review step of the Patient page: the fields read from the clinical record in an editable table, each with
where it came from (by code, read from text, a recorded field, not found and why), so the clinician confirms or
corrects them before the analysis; the corrected values feed the analysis and the report states what was corrected.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.i18n import N_, tr
from dashboard.patient.report.wording import corrections_text
from dashboard.text import field_label, plain
from genomics.records.schema import record_schema
from genomics.records.values import is_number

FORM_VALUES = "patient_form_values"  # session: the form's widget values as last set (record, review, Analyse)
ROW_PX = 35  # the table's row height (Streamlit's default)
SOURCE_WORDS = {"code": N_("by code"), "read from text": N_("read from text (check)"),
                "recorded field": N_("from the file"), "not found": N_("not found")}


def review_frame(record: Any) -> pd.DataFrame:
    """One row per field of the record's provenance: field (hidden key), Field, Value (text), Source, Why."""
    rows = []
    for row in (getattr(record, "facts", None) or {}).get("provenance") or []:
        value = row.get("value")
        shown = "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
        rows.append({"field": row["field"], "Field": field_label(row["field"]), "Value": shown,
                     "Source": tr(SOURCE_WORDS.get(row["source"], row["source"])),
                     "Why": plain(row.get("detail") or row.get("reason") or "")})
    return pd.DataFrame(rows, columns=["field", "Field", "Value", "Source", "Why"])


def parse_value(spec: Any, name: str, text: str) -> tuple[Any, str | None]:
    """The typed value of an edited cell (None when blank), or an error line naming the field."""
    text = str(text or "").strip()
    if not text:
        return None, None
    schema = record_schema(spec)
    if name in schema.treatments:
        low = text.lower()
        if low in ("1", "yes", "given", "true"):
            return 1, None
        if low in ("0", "no", "not given", "false"):
            return 0, None
        return None, f"{field_label(name)}: enter 1 (given) or 0 (not given)."
    field = schema.fields.get(name)
    if field is not None and field.kind in ("numeric", "ordinal"):
        number = _number(text)
        if number is None:
            return None, f"{field_label(name)}: enter a number."
        low, high = field.min_value, field.max_value
        if (low is not None and number < low) or (high is not None and number > high):
            return None, f"{field_label(name)}: enter a number from {low:g} to {high:g}."
        return number, None
    if field is not None and field.categories:
        match = next((c for c in field.categories if c.lower() == text.lower()), None)
        if match is None:
            return None, f"{field_label(name)}: enter one of {', '.join(field.categories)}."
        return match, None
    return text, None


def _number(text: str) -> float | None:
    try:
        number = float(text.replace(",", "."))  # a decimal comma too
    except ValueError:
        return None
    return number if is_number(number) and number == number and abs(number) != float("inf") else None


def record_review(spec: Any, record: Any, *, key: str) -> list[dict[str, Any]]:
    """Draw the review table (when the upload has a record) and return the corrections: one dict per changed field
    (``field``, ``read``, ``entered``, ``value``). Corrected cohort fields and treatments are put into the form below
    (its widget state), so that Analyse uses them."""
    frame = review_frame(record)
    if frame.empty:
        return []
    box = st.container(key="record_review")  # a stable element for the page's tests
    box.subheader(tr("Review the clinical record"), anchor=False)
    box.caption(tr("What was read from the record and where it came from. Correct a value in the Value column "
                   "before pressing Analyse; the report lists what you corrected."))
    edited = box.data_editor(
        frame, key=f"record_review_{key}", hide_index=True, width="stretch", num_rows="fixed",
        height=ROW_PX * (len(frame) + 1) + 3,  # every field on screen, no scrolling inside the table
        column_order=["Field", "Value", "Source", "Why"], disabled=["field", "Field", "Source", "Why"],
        column_config={"Field": st.column_config.TextColumn(tr("Field")), "Source": st.column_config.TextColumn(tr("Source")),
                       "Why": st.column_config.TextColumn(tr("Why")),
                       "Value": st.column_config.TextColumn(tr("Value"), help=tr("Edit to correct the record"))},
    )
    corrections, errors = [], []
    for (_, before), (_, after) in zip(frame.iterrows(), edited.iterrows(), strict=True):
        if str(after["Value"] or "").strip() == str(before["Value"] or "").strip():
            continue
        value, error = parse_value(spec, before["field"], after["Value"])
        if error:
            errors.append(error)
            continue
        corrections.append({"field": before["field"], "read": before["Value"] or "not found",
                            "entered": str(after["Value"] or "").strip() or "blank", "value": value})
    for error in errors:
        st.warning(plain(error))
    _apply_to_form(spec, corrections, key)
    return corrections


def _apply_to_form(spec: Any, corrections: list[dict[str, Any]], key: str) -> None:
    """Put newly corrected cohort fields and treatments into the form's values (once per change, so the clinician
    can still change the form afterwards); :func:`hold_form_values` keeps them on screen."""
    applied = st.session_state.setdefault(f"record_review_applied_{key}", {})
    updates = {}
    for c in corrections:
        name, value = c["field"], c["value"]
        if applied.get(name) == c["entered"]:
            continue
        applied[name] = c["entered"]
        updates.update(form_update(spec, name, value))
    if updates:
        st.session_state.setdefault(FORM_VALUES, {}).update(updates)


def form_update(spec: Any, name: str, value: Any) -> dict[str, Any]:
    """The form widget value (``clin_<field>`` / ``regimen_<treatment>``) for a corrected field; {} for a field
    the form does not show."""
    field = next((f for f in spec.clinical if f.name == name), None)
    if field is not None and field.kind == "numeric":
        return {f"clin_{name}": value}
    if field is not None:
        text = "unknown" if value is None else str(value).removesuffix(".0")
        return {f"clin_{name}": text if text in field.categories else "unknown"}
    if name in spec.treatments:
        return {f"regimen_{name}": bool(value)}
    return {}


def start_form(values: dict[str, Any]) -> None:
    """A new patient: the form's values from their file and record."""
    st.session_state[FORM_VALUES] = dict(values)


def hold_form_values() -> None:
    """Put the form's values back into its widgets before they are drawn. A rerun from outside the form (the
    review table) gets no values from a form that was never submitted, so its widgets would go blank."""
    st.session_state.update(st.session_state.get(FORM_VALUES) or {})


def keep_submitted(keys: list[str]) -> None:
    """After Analyse: what was submitted becomes the form's values."""
    st.session_state.setdefault(FORM_VALUES, {}).update({k: st.session_state[k] for k in keys if k in st.session_state})


def corrected_inputs(spec: Any, corrections: list[dict[str, Any]], clinical: dict[str, Any]) -> dict[str, Any]:
    """The clinical values for the analysis with the corrected fields beyond the form (HER2-targeted therapy,
    Ki-67, screen detection, chemotherapy generation ...) added."""
    shown = {f.name for f in spec.clinical} | set(spec.treatments)
    return {**clinical, **{c["field"]: c["value"] for c in corrections if c["field"] not in shown}}


def note_corrections(state_key: str, corrections: list[dict[str, Any]]) -> None:
    """Record the corrections in the analysis just stored under ``state_key`` (the report and PDF state them)."""
    analysis = st.session_state.get(state_key)
    if analysis is None or not corrections:
        return
    assumptions = {**(analysis.assumptions or {}), "record_corrections": corrections_text(corrections)}
    st.session_state[state_key] = dataclasses.replace(analysis, assumptions=assumptions)
