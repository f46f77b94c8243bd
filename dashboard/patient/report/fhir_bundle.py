"""One patient analysis as a FHIR R4 Bundle (type collection, validated with the ``fhir.resources`` R4B models):
a RiskAssessment per regimen (survival at each horizon with its 90% interval), Observations for the PAM50 subtype
and the recurrence-score approximation, and a DocumentReference to the PDF report (:func:`report_fhir`)."""
from __future__ import annotations

import base64
import json
import re
from typing import Any

from dashboard.patient.record import PatientAnalysis
from dashboard.patient.report.wording import finite_number
from genomics.regimens import regimen_label
from models.columns import LOWER, SURVIVAL, UPPER, column

INTERVAL_EXTENSION = "urn:oncotx:fhir:survival-interval-90"  # valueRange: the 90% interval of the survival
PSEUDONYM_SYSTEM = "urn:oncotx:patient-pseudonym"
RESEARCH_NOTE = "Research use only: options with evidence, not directives."


def _id(text: str) -> str:
    return (re.sub(r"[^A-Za-z0-9\-.]+", "-", str(text)).strip("-.") or "x")[:64]


def _prediction(row: dict[str, Any], horizon: float, endpoint: str) -> dict[str, Any] | None:
    point = finite_number(row.get(column(SURVIVAL, horizon)))
    if point is None:
        return None
    years = f"{horizon / 12:g}"
    out: dict[str, Any] = {
        "outcome": {"text": f"{endpoint} survival at {years} years"},
        "probabilityDecimal": round(point, 4),
        "whenRange": {"high": {"value": horizon, "unit": "mo", "system": "http://unitsofmeasure.org", "code": "mo"}},
    }
    lo, hi = finite_number(row.get(column(SURVIVAL, horizon, LOWER))), finite_number(row.get(column(SURVIVAL, horizon, UPPER)))
    if lo is not None and hi is not None:
        out["extension"] = [{"url": INTERVAL_EXTENSION, "valueRange": {"low": {"value": round(lo, 4)},
                                                                       "high": {"value": round(hi, 4)}}}]
        out["rationale"] = f"90% interval {lo:.1%} to {hi:.1%}"
    return out


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:oncotx:{resource['resourceType']}:{resource['id']}", "resource": resource}


def fhir_bundle(analysis: PatientAnalysis, *, pdf_name: str | None = None, pdf: bytes | None = None) -> dict[str, Any]:
    """The analysis as a FHIR R4 Bundle (a plain dict, validated): Patient (pseudonym only), RiskAssessment per
    regimen, Observations for PAM50 and the RS approximation, a DocumentReference to the PDF (by name; the PDF
    itself embedded when ``pdf`` is given)."""
    from fhir.resources.R4B.bundle import Bundle  # lazy: start-up cost (fhir.resources, pydantic models)

    pid = _id(analysis.patient_id)
    subject = {"reference": f"Patient/{pid}"}
    when = analysis.created or None
    resources: list[dict[str, Any]] = [{
        "resourceType": "Patient", "id": pid,
        "identifier": [{"system": PSEUDONYM_SYSTEM, "value": str(analysis.patient_id)}],
    }]
    corrected = str((analysis.assumptions or {}).get("record_corrections") or "")
    notes = [{"text": RESEARCH_NOTE + (f" {analysis.caveat}" if analysis.caveat else "")}]
    notes += [{"text": corrected}] if corrected else []
    method = {"text": f"OncoTx model {analysis.model_id} ({analysis.model_kind}), cohort {analysis.cohort_name}"}
    for row in analysis.options:
        regimen = str(row.get("regimen", ""))
        predictions = [p for h in analysis.horizons if (p := _prediction(row, h, analysis.endpoint)) is not None]
        if not predictions:
            continue
        resources.append({
            "resourceType": "RiskAssessment", "id": _id(f"risk-{regimen}"), "status": "final", "subject": subject,
            "method": method, "code": {"text": f"Survival under {regimen_label(regimen)}"},
            **({"occurrenceDateTime": when} if when else {}),
            "prediction": predictions,
            "note": notes,
        })
    pam50 = (analysis.molecular or {}).get("pam50") or {}
    if pam50.get("subtype"):
        obs = {"resourceType": "Observation", "id": "pam50", "status": "final", "subject": subject,
               "code": {"text": "PAM50 intrinsic subtype (centroid approximation from the uploaded profile)"},
               "valueString": str(pam50["subtype"])}
        confidence = finite_number(pam50.get("confidence"))
        if confidence is not None:
            obs["component"] = [{"code": {"text": "confidence"}, "valueQuantity": {"value": round(confidence, 4)}}]
        resources.append(obs)
    rs = (analysis.molecular or {}).get("rs") or {}
    if finite_number(rs.get("score")) is not None:
        resources.append({
            "resourceType": "Observation", "id": "rs-approximation", "status": "final", "subject": subject,
            "code": {"text": str(rs.get("label") or "Recurrence score approximation (not Oncotype DX)")},
            "valueQuantity": {"value": round(float(rs["score"]), 2)},
            **({"interpretation": [{"text": str(rs["group"])}]} if rs.get("group") else {}),
        })
    attachment: dict[str, Any] = {"contentType": "application/pdf", "title": "OncoTx patient report"}
    if pdf_name:
        attachment["url"] = pdf_name
    if pdf is not None:
        attachment["data"] = base64.b64encode(pdf).decode("ascii")
    resources.append({"resourceType": "DocumentReference", "id": "report-pdf", "status": "current",
                      "subject": subject, "description": RESEARCH_NOTE, "content": [{"attachment": attachment}],
                      **({"date": when} if when else {})})
    bundle = {"resourceType": "Bundle", "id": _id(f"oncotx-{pid}"), "type": "collection",
              **({"timestamp": when} if when else {}), "entry": [_entry(r) for r in resources]}
    Bundle.model_validate(bundle)  # raises on anything that is not valid FHIR R4
    return bundle


def report_fhir(analysis: PatientAnalysis, *, pdf_name: str | None = None, pdf: bytes | None = None) -> bytes:
    """The FHIR R4 Bundle of :func:`fhir_bundle` as pretty-printed UTF-8 JSON."""
    return (json.dumps(fhir_bundle(analysis, pdf_name=pdf_name, pdf=pdf), indent=2, ensure_ascii=False)
            + "\n").encode()
