"""Where each field of a clinical record came from: by code, read from text, a recorded field (CSV/JSON), or not
found with the reason in words (:func:`field_provenance`), the table the review step shows."""
from __future__ import annotations

from typing import Any

CODE, TEXT, RECORDED, NOT_FOUND = "code", "read from text", "recorded field", "not found"
# Fields beyond the cohort's that the review step shows (PREDICT inputs and the treatments a record names).
REVIEW_FIELDS = ("ki67", "trastuzumab", "chemo_generation", "screen_detected", "breast_surgery")
# Why a field is usually missing from a FHIR record, when the reader has no more specific reason.
DEFAULT_REASONS = {
    "age_at_diagnosis": "no breast-cancer Condition with an onset age or date (with the Patient's birth date)",
    "tumor_size_mm": "no tumour size Observation (LOINC 21889-1 or 33728-7)",
    "grade": "no histologic grade Observation (LOINC 33732-9) with a coded grade",
    "lymph_nodes_positive": "no positive regional lymph nodes Observation (LOINC 21893-3)",
    "er_status": "no oestrogen receptor Observation with a coded result",
    "pr_status": "no progesterone receptor Observation with a coded result",
    "her2_status": "no HER2 Observation with a coded result",
    "menopausal_state": "no menopausal status Observation or Condition (SNOMED 161712005, 309606002, 307429007)",
    "ki67": "no Ki-67 Observation (LOINC 85330-9 or 29593-1) with a percentage",
    "chemotherapy": "no medication or procedure names a chemotherapy drug (by code or in text)",
    "hormone_therapy": "no medication or procedure names an endocrine drug (by code or in text)",
    "radio_therapy": "no radiotherapy Procedure (by code or in text)",
    "trastuzumab": "no medication names a HER2-targeted drug (by code or in text)",
    "chemo_generation": "no chemotherapy drug named, so no generation",
    "screen_detected": "FHIR has no standard code for screen detection; enter it if known",
    "breast_surgery": "no breast surgery Procedure (by code or in text)",
}


def field_provenance(fields: tuple[str, ...], values: dict[str, Any], sources: dict[str, str],
                     text_sources: set[str], reasons: dict[str, str]) -> list[dict[str, Any]]:
    """One row per field: ``field``, ``value`` (None when not found), ``source`` (code / read from text / recorded
    field / not found), ``detail`` (the code or text that gave it) and ``reason`` (why it was not found)."""
    rows = []
    for name in fields:
        if name in values:
            detail = sources.get(name, "")
            kind = TEXT if detail in text_sources else (CODE if detail else RECORDED)
            rows.append({"field": name, "value": values[name], "source": kind, "detail": detail, "reason": ""})
        else:
            reason = reasons.get(name) or DEFAULT_REASONS.get(name, "not in the record")
            rows.append({"field": name, "value": None, "source": NOT_FOUND, "detail": "", "reason": reason})
    return rows
