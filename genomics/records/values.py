"""Field values of a clinical record: missing tokens, numbers, units, stages and categories parsed into canonical
values (:func:`normalise_value`), and the range and category checks of :func:`check_record`."""
from __future__ import annotations

import math
import re
from typing import Any

from genomics.records.schema import ClinicalRecord, RecordSchema, record_schema
from genomics.sniff import safe_text
from genomics.spec import ClinicalField, CohortSpec

_INTEGER_FIELDS = frozenset({"lymph_nodes_positive"})
#: What people call the breast cohorts' clinical fields and treatments (any other column reads as its words).
FIELD_WORDS = {
    "age_at_diagnosis": "Age at diagnosis", "tumor_size_mm": "Tumour size", "grade": "Grade",
    "lymph_nodes_positive": "Positive lymph nodes", "er_status": "ER status", "pr_status": "PR status",
    "her2_status": "HER2 status", "menopausal_state": "Menopausal state", "tumor_stage": "Stage",
    "tumor_size_class": "Tumour size class", "chemotherapy": "Chemotherapy", "hormone_therapy": "Endocrine therapy",
    "radio_therapy": "Radiotherapy", "trastuzumab": "HER2-targeted therapy",
    "screen_detected": "Screen-detected", "chemo_generation": "Chemotherapy generation",
    "breast_surgery": "Breast surgery",
}


def field_words(name: str) -> str:
    """A clinical field's or treatment's column name in words ('age_at_diagnosis' → 'Age at diagnosis', an unknown
    'er_ihc' → 'ER ihc'), for every message that can reach a page."""
    name = str(name)
    if name in FIELD_WORDS:
        return FIELD_WORDS[name]
    upper = {"er", "pr", "her2", "npi", "tnm", "ki67"}
    words = " ".join(t.upper() if t in upper else t for t in name.split("_"))
    return words[:1].upper() + words[1:]
_MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "unknown", "not available"})
_CATEGORY_SYNONYMS = {
    "positive": ("pos", "+", "positive"),
    "negative": ("neg", "-", "negative"),
    "pre": ("pre", "premenopausal", "pre-menopausal"),
    "post": ("post", "postmenopausal", "post-menopausal"),
}
_TRUE_TOKENS = frozenset({"1", "1.0", "yes", "y", "true", "t"})
_FALSE_TOKENS = frozenset({"0", "0.0", "no", "n", "false", "f"})
TNM_RE = re.compile(r"^(?:y|r|a|yr)?[cp]?[TNM](?:[0-4X]|is)[A-Za-z0-9()+\-]{0,12}$")
_STAGE_RE = re.compile(r"^(?:stage\s*)?(0|IV|III|II|I|[0-4])(?:[A-Da-d]\d?|is|a|\s*bulky)?$", re.IGNORECASE)


def check_record(record: ClinicalRecord, *, spec: CohortSpec | None = None) -> tuple[list[str], list[str]]:
    """Check a record's values against the cohort's fields.

    Parameters
    ----------
    record
        A record from :func:`read_records` (or built by hand).
    spec
        Cohort spec; ``None`` means the breast fields and METABRIC treatments.

    Returns
    -------
    (errors, warnings)
        One plain line per problem, naming the field and the allowed range or categories,
        never the value itself. Errors: out of range, not a number, unknown category, treatment
        not 0/1. Warnings: fields the cohort does not use, odd TNM strings, missing fields.
    """
    schema = record_schema(spec)
    errors: list[str] = []
    warnings: list[str] = []
    for fname, value in record.values.items():
        if fname in schema.treatments:
            if isinstance(value, bool) or not is_number(value) or value not in (0, 1):
                errors.append(f"{field_words(fname)} must be 0 (not given) or 1 (given).")
            continue
        field = schema.fields.get(fname)
        if field is None:
            warnings.append(f"{safe_text(field_words(fname))} is not a field of this cohort and will be ignored.")
            continue
        errors.extend(check_value(field, value, warnings))
    missing = [f for f in schema.clinical if f not in record.values]
    if missing:
        warnings.append("Missing clinical fields: " + ", ".join(map(field_words, missing)) + ".")
    return errors, warnings



def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numeric_categories(field: ClinicalField) -> tuple[float, ...] | None:
    try:
        return tuple(float(c) for c in field.categories)
    except ValueError:
        return None


def _is_numeric_field(field: ClinicalField) -> bool:
    if field.kind == "numeric":
        return True
    return field.kind == "ordinal" and bool(field.categories) and _numeric_categories(field) is not None


def check_value(field: ClinicalField, value: Any, warnings: list[str]) -> list[str]:
    name = field_words(field.name)
    unit = f" {field.unit}" if field.unit and field.unit not in ("%",) else field.unit
    if _is_numeric_field(field):
        if not is_number(value) or not math.isfinite(float(value)):
            return [f"{name} must be a number."]
        v = float(value)
        problems = []
        lo, hi = field.min_value, field.max_value
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            if lo is not None and hi is not None:
                problems.append(f"{name} must be between {lo:g} and {hi:g}{unit}.")
            elif lo is not None:
                problems.append(f"{name} must be at least {lo:g}{unit}.")
            else:
                problems.append(f"{name} must be at most {hi:g}{unit}.")
        if (field.name in _INTEGER_FIELDS or field.kind == "ordinal") and not float(v).is_integer():
            problems.append(f"{name} must be a whole number.")
        cats = _numeric_categories(field) if field.kind == "ordinal" else None
        if cats and not problems and v not in cats:
            problems.append(f"{name} must be one of {', '.join(field.categories)}.")
        return problems
    if field.kind == "binary":
        if isinstance(value, bool) or not is_number(value) or value not in (0, 1):
            return [f"{name} must be 0 or 1."]
        return []
    if field.categories:
        if value not in field.categories:
            return [f"{name} is not one of {', '.join(field.categories)}."]
        return []
    if not isinstance(value, str) or not value.strip():
        return [f"{name} must be text."]
    if field.name.startswith("tnm_") and not TNM_RE.match(value):
        warnings.append(f"{name} does not look like a TNM category (e.g. cT2, pN1a, cM0).")
    return []


class BadValue(Exception):
    """A value that cannot be read for its field (the message names the field only)."""


def is_missing(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    return isinstance(raw, str) and raw.strip().lower() in _MISSING_TOKENS


def _to_float(raw: Any, fname: str, *, percent: bool = False) -> float:
    if isinstance(raw, bool):
        raise BadValue(f"{field_words(fname)}: expected a number, got true/false.")
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if percent and text.endswith("%"):
            text = text[:-1].strip()
        if re.fullmatch(r"[+-]?\d+,\d+", text):
            raise BadValue(f"{field_words(fname)}: not a number (decimal commas are not accepted; use a point).")
        try:
            value = float(text)
        except ValueError:
            raise BadValue(f"{field_words(fname)}: not a number.") from None
    else:
        raise BadValue(f"{field_words(fname)}: expected a number.")
    if not math.isfinite(value):
        raise BadValue(f"{field_words(fname)}: not a finite number.")
    return value


def parse_stage(raw: Any) -> float | None:
    if is_number(raw):
        return float(raw)
    if not isinstance(raw, str):
        return None
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        return value if math.isfinite(value) else None
    m = _STAGE_RE.match(raw.strip())
    if not m:
        return None
    token = m.group(1).upper()
    return float({"0": 0, "I": 1, "II": 2, "III": 3, "IV": 4}.get(token, token))


def normalise_value(schema: RecordSchema, fname: str, raw: Any) -> Any:
    """Canonical value for one field, or raise BadValue; categorical misfits are kept as given."""
    if fname in schema.treatments:
        if isinstance(raw, bool):
            return int(raw)
        if is_number(raw):
            return int(raw) if float(raw).is_integer() else float(raw)
        token = str(raw).strip().lower()
        if token in _TRUE_TOKENS:
            return 1
        if token in _FALSE_TOKENS:
            return 0
        raise BadValue(f"{field_words(fname)}: expected 0/1 (or yes/no).")
    field = schema.fields[fname]
    if fname == "tumor_stage":
        stage = parse_stage(raw)
        if stage is None:
            raise BadValue(f"{field_words(fname)}: expected a stage 0-4 (or I-IV).")
        return stage
    if fname == "grade" and isinstance(raw, str) and re.fullmatch(r"(?i)\s*(?:g|grade\s*)[1-4]\s*", raw):
        return float(raw.strip()[-1])
    if _is_numeric_field(field):
        return _to_float(raw, fname, percent=field.unit == "%")
    if field.kind == "binary":
        if isinstance(raw, bool):
            return int(raw)
        token = str(raw).strip().lower()
        if token in _TRUE_TOKENS:
            return 1
        if token in _FALSE_TOKENS:
            return 0
        return raw
    if not isinstance(raw, str):
        return raw if is_number(raw) else str(raw)
    text = raw.strip()
    if field.categories:
        lower = text.lower()
        for cat in field.categories:
            if lower == cat.lower() or lower in _CATEGORY_SYNONYMS.get(cat.lower(), ()):
                return cat
    return text
