"""The files of one patient analysis besides the PDF: the options table as CSV, the analysis as JSON, the analysis
as a FHIR R4 Bundle, and a safe download name for each.

The CSV is the options table (one row per regimen: reading code per horizon ``reading<h>``, the worthwhile
threshold ``min_benefit``, the evidence phrase ``evidence_words``) with formula-like cells neutralised
(:func:`genomics.export.to_safe_csv`); the JSON is the analysis itself, pretty-printed.
"""
from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime

import pandas as pd

from dashboard.patient.presentation import evidence_text, reading_at
from dashboard.patient.record import PatientAnalysis
from dashboard.patient.report.fhir_bundle import report_fhir
from dashboard.patient.report.wording import created_time
from genomics.export import to_safe_csv
from models.columns import READING, column

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def _with_readings(analysis: PatientAnalysis, row: dict) -> dict:
    """An option row with its reading code at every horizon (reading<h>; for an analysis saved before readings
    per horizon, the last horizon's only), its worthwhile threshold (min_benefit, empty where it was not saved)
    and the evidence phrase shown on screen and in the PDF."""
    out = dict(row)
    last = analysis.horizons[-1] if analysis.horizons else None
    for h in analysis.horizons:
        key = column(READING, h)
        if not out.get(key) and (h == last or bool(out.get("is_baseline"))):
            out[key] = reading_at(row, h)
        out.setdefault(key, None)
    out.setdefault("min_benefit", None)
    out["evidence_words"] = evidence_text(row)
    return out


def export_table(analysis: PatientAnalysis) -> pd.DataFrame:
    """The options table, one row per regimen, led by patient_id, model_id, created; warnings and caveat last."""
    rows = [_with_readings(analysis, row) for row in analysis.options]
    columns = list(dict.fromkeys(k for row in rows for k in row)) or ["regimen"]
    frame = pd.DataFrame(rows, columns=columns)
    lead = {"patient_id": analysis.patient_id, "model_id": analysis.model_id, "created": analysis.created}
    for position, (name, value) in enumerate(lead.items()):
        if name in frame.columns:
            frame = frame.drop(columns=name)
        frame.insert(position, name, [value] * len(frame))
    frame["warnings"] = ["; ".join(map(str, analysis.warnings))] * len(frame)
    frame["caveat"] = [analysis.caveat] * len(frame)
    return frame


def report_csv(analysis: PatientAnalysis) -> bytes:
    """The options table as CSV bytes (UTF-8), formula-like cells neutralised."""
    return to_safe_csv(export_table(analysis))


def report_json(analysis: PatientAnalysis) -> bytes:
    """The analysis as pretty-printed UTF-8 JSON (reads back with :meth:`PatientAnalysis.from_json`)."""
    return (json.dumps(json.loads(analysis.to_json()), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def report_fhir_export(analysis: PatientAnalysis) -> bytes:
    """The analysis as a FHIR R4 Bundle (JSON), its DocumentReference naming the PDF download."""
    return report_fhir(analysis, pdf_name=report_filename(analysis, "pdf"))


def report_filename(analysis: PatientAnalysis, ext: str) -> str:
    """A safe download name: ``oncotx-<patient_id>-<yyyymmdd-HHMM>.<ext>`` (ASCII letters, digits, _ and - only)."""
    decomposed = unicodedata.normalize("NFKD", str(analysis.patient_id))
    ascii_id = "".join(c for c in decomposed if not unicodedata.combining(c))
    patient = _UNSAFE_NAME.sub("_", ascii_id).strip("._-")[:64] or "patient"
    when = created_time(analysis) or datetime.now(UTC)
    suffix = re.sub(r"[^a-z0-9]", "", str(ext).lower().lstrip(".")) or "bin"
    return f"oncotx-{patient}-{when:%Y%m%d-%H%M}.{suffix}"
