"""The breast-cancer diagnosis in a FHIR record, in any coding: ICD-10 of any national variant (ICD-10-CM, -GM, WHO,
...), ICD-O-3 topography and morphology, SNOMED CT; and the age at diagnosis (``onsetAge``, onset date minus birth
date, the earliest breast-cancer Condition)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from genomics.records.codes import MCODE_PROFILE_PREFIX, PRIMARY_CANCER_CODES, SNOMED
from genomics.records.fhir_types import codings, parse_fhir_date, quantity_value

ICD10_RE = re.compile(r"icd-?10(?!-?pcs)", re.IGNORECASE)  # any ICD-10 variant (not the US procedure coding)
ICDO3_RE = re.compile(r"icd-?o(-?3)?", re.IGNORECASE)
BREAST_ICD_RE = re.compile(r"^C50(\.?\d{0,3})?$", re.IGNORECASE)
MORPHOLOGY_RE = re.compile(r"^\d{4}/([0-9])$")  # ICD-O-3 morphology with its behaviour code (/3: malignant)
BREAST_SITES = {(SNOMED, "76752008"), (SNOMED, "80248007"), (SNOMED, "73056007")}  # breast; left; right breast
PRIMARY_PROFILE = MCODE_PROFILE_PREFIX + "mcode-primary-cancer-condition"


def is_icd10(system: str) -> bool:
    return bool(ICD10_RE.search(system)) and not ICDO3_RE.search(system)


def is_icdo3(system: str) -> bool:
    return bool(ICDO3_RE.search(system)) and "icd-10" not in system.lower()


def breast_primary_coding(res: dict[str, Any]) -> str | None:
    """How a Condition says it is a primary breast cancer ('ICD-10 C50.9', 'ICD-O-3 C50.4', 'SNOMED', 'mCODE
    profile'), or None."""
    codes = codings(res.get("code"))
    for system, code in codes:
        if (system, code) in PRIMARY_CANCER_CODES:
            return f"SNOMED {code}"
        if is_icd10(system) and BREAST_ICD_RE.match(code):
            return f"ICD-10 {code}"
        if is_icdo3(system) and BREAST_ICD_RE.match(code):
            return f"ICD-O-3 topography {code}"
    sites = [sc for concept in res.get("bodySite") or [] for sc in codings(concept)]
    breast_site = any(sc in BREAST_SITES or (is_icdo3(sc[0]) and BREAST_ICD_RE.match(sc[1])) for sc in sites)
    for system, code in codes:
        m = MORPHOLOGY_RE.match(code)
        if is_icdo3(system) and m and m.group(1) == "3" and breast_site:
            return f"ICD-O-3 morphology {code} at a breast site"
    profiles = {str(p).split("|", 1)[0] for p in (res.get("meta") or {}).get("profile") or []}
    if PRIMARY_PROFILE in profiles:
        return "mCODE primary cancer profile"
    return None


@dataclass(frozen=True)
class Age:
    """The age at diagnosis found (or None) with its source, priority and the note or reason in words."""

    value: float | None
    source: str
    priority: int
    note: str


def _days(birth: tuple, onset: tuple) -> int | None:
    try:
        return (date(*onset) - date(*birth)).days
    except (TypeError, ValueError):
        return None


def age_at_diagnosis(primary: list[dict[str, Any]], birth: Any) -> Age:
    """The age at the earliest breast-cancer diagnosis: ``onsetAge`` if given, else onset date minus birth date
    (to the day, or to the year when a date is only a year), else why not."""
    ages = [quantity_value(r.get("onsetAge")) for r in primary if isinstance(r.get("onsetAge"), dict)]
    ages = [a for a in ages if a is not None]
    if ages:
        return Age(min(ages), "Condition.onsetAge", 2, "")
    onsets, bad = [], 0
    for r in primary:
        raw = r.get("onsetDateTime") or (r.get("onsetPeriod") or {}).get("start")
        parsed = parse_fhir_date(raw)
        if parsed is not None:
            onsets.append(parsed)
        elif raw is not None:
            bad += 1
    if birth is None or not isinstance(birth, tuple):
        reason = ("the Patient's birth date is not a valid date" if birth == "invalid"
                  else "the Patient has no birth date")
        return Age(None, "", 0, f"Age at diagnosis not found: {reason} and no Condition gives onsetAge.")
    if not onsets:
        what = "is not a valid date" if bad else "has no onset date"
        return Age(None, "", 0, f"Age at diagnosis not found: the breast-cancer Condition {what} and no onsetAge.")
    onset = min(onsets, key=lambda d: (d[0], d[1] or 0, d[2] or 0))
    source = "Patient.birthDate + Condition.onset"
    if all(part is not None for part in (*birth, *onset)):
        days = _days(birth, onset)
        if days is None:
            return Age(None, "", 0, "Age at diagnosis not found: a date is not a calendar date.")
        return Age(round(days / 365.25, 2), source, 1, "Age at diagnosis was derived from the birth date and the "
                   "diagnosis date.")
    return Age(float(onset[0] - birth[0]), source, 1,
               "Age at diagnosis was derived from the birth and diagnosis years only (accurate to ±1 year).")
