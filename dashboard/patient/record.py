"""One patient's analysis as plain data: what the Patient page shows, the database stores and the report prints.

The page renders from a :class:`PatientAnalysis`, so reopening a saved analysis shows exactly what was
shown when it was saved (no model is re-run). Everything in it is JSON-serialisable: numbers, strings,
lists and dicts; tables are lists of row dicts.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from genomics.jsonsafe import json_safe

ANALYSIS_FORMAT = 1


def parse_created(text: str) -> datetime | None:
    """An ISO-8601 time (as in :attr:`PatientAnalysis.created`) as aware UTC (naive means UTC), or None when it
    is not one."""
    try:
        value = datetime.fromisoformat(str(text).strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class PatientAnalysis:
    """Everything one patient's dashboard shows (see the field comments for each shape)."""

    patient_id: str  # pseudonymised id shown on screen (never a name or MRN)
    created: str  # ISO-8601 UTC
    user: str
    cohort_id: str
    cohort_name: str
    synthetic_cohort: bool
    model_id: str
    model_kind: str
    bundle_sha256: str
    endpoint: str
    horizons: list[float]  # months, e.g. [60.0, 120.0]
    baseline: str  # regimen name the benefits are measured against
    inputs_sha256: dict[str, str]  # {"expression": hex, "records": hex}
    caveat: str  # the research-use / observational-data caveat, printed everywhere
    # data quality and assumptions
    validation: dict[str, Any] = field(default_factory=dict)  # {"errors": [...], "warnings": [...], "facts": {...}}
    assumptions: dict[str, Any] = field(default_factory=dict)  # {"scale", "gene_coverage", "expression_mode", "filled": [...]}
    warnings: list[str] = field(default_factory=list)  # low coverage, out of distribution, thin evidence ...
    # molecular profile
    molecular: dict[str, Any] = field(default_factory=dict)
    # {"pam50": {"subtype", "confidence"}, "rs": {"score", "group", "label"}, "modules": {name: z},
    #  "percentiles": {gene: pct 0-100}, "pathways": {name: score}}
    embedding: dict[str, Any] = field(default_factory=dict)
    # {"cohort": [{"x", "y", "label"}], "patient": {"x", "y"}, "neighbours": [{"x", "y", "id"}], "ood_percentile"}
    # risk under the current / planned regimen
    risk: dict[str, Any] = field(default_factory=dict)
    # {"regimen", "S60", "S60_lo", "S60_hi", "S120", ..., "percentile", "cohort_risks": [...], "risk": float}
    # options: rows of models.treatment.TreatmentOptions.table for this patient
    options: list[dict[str, Any]] = field(default_factory=list)
    # columns: regimen, S<h>, S<h>_lo, S<h>_hi, CSS<h>(_lo/_hi), B<h>, B<h>_lo, B<h>_hi, nnt<h>, evidence_n,
    #          propensity, evidence ("ok"/"thin"/"none"), is_baseline, reading
    curves: list[dict[str, Any]] = field(default_factory=list)  # rows: regimen, month, S, S_lo, S_hi
    explanations: dict[str, Any] = field(default_factory=dict)
    # {"risk": [{"feature", "group", "value"}], "risk_base": float,
    #  "benefit": {regimen: [{"feature", "group", "value"}]}, "benefit_base": {regimen: float},
    #  "pathways": {regimen: [{"pathway", "value"}]},
    #  "similar": {regimen: {"n": int, "ids": [...], "km": [{"time", "survival", "lower", "upper", "at_risk"}]}}}
    model_card: dict[str, Any] = field(default_factory=dict)  # summary of models.registry.ModelCard
    # which model variant answered (models.variants.Answer.to_dict): variant, label, genes used/missing, C, summary
    variant: dict[str, Any] = field(default_factory=dict)
    # PREDICT v2.1 beside the learned model (models.predict_breast): {"ladder": [rows], "inputs": {...}, "note": str}
    predict: dict[str, Any] = field(default_factory=dict)
    format: int = ANALYSIS_FORMAT

    def to_json(self) -> str:
        # json_safe copies as it goes (the fields hold plain containers): no dataclasses.asdict deep copy first
        return json.dumps(json_safe({f.name: getattr(self, f.name) for f in fields(self)}), allow_nan=False,
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PatientAnalysis:
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

