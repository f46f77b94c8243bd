"""The shape of a clinical record: :class:`ClinicalRecord` and the cohort schema that records are mapped onto
(canonical clinical fields of the spec, treatment columns, the extra known fields)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from genomics.spec import BREAST_CLINICAL, BREAST_TREATMENTS, ClinicalField, CohortSpec

# Known fields beyond the cohort spec: mapped when present, checked by check_record.
EXTRA_FIELDS = (
    ClinicalField("tumor_stage", "ordinal", categories=("0", "1", "2", "3", "4"), min_value=0, max_value=4,
                  description="AJCC stage group as 0-4"),
    ClinicalField("tnm_t", "categorical", description="TNM primary tumour category, e.g. cT2, pT1c"),
    ClinicalField("tnm_n", "categorical", description="TNM regional nodes category, e.g. pN1a"),
    ClinicalField("tnm_m", "categorical", description="TNM distant metastases category, e.g. cM0"),
    ClinicalField("ki67", "numeric", "%", min_value=0, max_value=100, description="Ki-67 labelling index"),
    # PREDICT v2.1 inputs (models/predict_breast/inputs.py reads these obs columns by name)
    ClinicalField("trastuzumab", "numeric", min_value=0, max_value=1,
                  description="HER2-targeted therapy given (trastuzumab, pertuzumab, T-DM1, T-DXd, lapatinib, ...)"),
    ClinicalField("screen_detected", "numeric", min_value=0, max_value=1, description="tumour found by screening"),
    ClinicalField("chemo_generation", "numeric", min_value=2, max_value=3,
                  description="chemotherapy generation: 2 anthracycline/CMF, 3 taxane-containing"),
    ClinicalField("breast_surgery", "numeric", min_value=0, max_value=1, description="breast surgery done"),
)


@dataclass(frozen=True)
class ClinicalRecord:
    """One patient's clinical fields, mapped to the cohort's canonical names.

    Attributes
    ----------
    values
        Canonical field name -> value: float for numeric fields, the canonical category string
        (``Positive``, ``Pre``, ...) for categorical ones, 0/1 for treatments, str for TNM.
    unknown
        Fields, columns or codes present in the input but not mapped (names and codes only).
    warnings
        Plain-words warnings (conflicts, derived values, skipped resources). No patient values.
    facts
        Provenance: ``format`` (csv, json or fhir), ``sha256`` of the input, mCODE ``profiles``
        seen, ``codes_mapped`` and format details. CSV/JSON records with direct identifiers add
        ``identifiers_dropped`` (their categories, from :data:`IDENTIFIER_CATEGORIES`; no names or
        values) and, when a diagnosis date was given, ``diagnosis_year`` (the only part of any date kept).
    patient_ref
        The record's own patient id as given; the caller pseudonymises it and never logs it.
    """

    values: dict[str, Any]
    unknown: tuple[str, ...]
    warnings: tuple[str, ...]
    facts: dict[str, Any]
    patient_ref: str | None


@dataclass(frozen=True)
class RecordSchema:
    fields: dict[str, ClinicalField]
    clinical: tuple[str, ...]
    treatments: tuple[str, ...]
    patient_id_col: str
    lookup: dict[str, str]  # normalised name (lower case, underscores) -> canonical field name

    def known(self, name: str) -> bool:
        return name in self.fields or name in self.treatments


def record_schema(spec: CohortSpec | None) -> RecordSchema:
    clinical = tuple(spec.clinical) if spec is not None else BREAST_CLINICAL
    treatments = tuple(spec.treatments) if spec is not None else BREAST_TREATMENTS
    fields = {f.name: f for f in clinical}
    for extra in EXTRA_FIELDS:
        fields.setdefault(extra.name, extra)
    pid = spec.patient_id_col if spec is not None else "patient_id"
    lookup = {norm_key(n): n for n in (*treatments, *fields)}
    return RecordSchema(fields, tuple(f.name for f in clinical), treatments, pid, lookup)


def norm_key(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())
