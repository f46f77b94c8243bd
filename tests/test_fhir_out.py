"""FHIR out: a patient analysis as a FHIR R4 Bundle, validated and read back with fhir.resources (R4B models)."""
from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle

from dashboard.patient.report.fhir_bundle import INTERVAL_EXTENSION, report_fhir
from models.columns import LOWER, SURVIVAL, UPPER, column
from tests.test_report import empty_analysis, make_analysis


def test_fhir_export_round_trips_through_fhir_resources() -> None:
    analysis = make_analysis(codes="current")
    raw = report_fhir(analysis, pdf_name="report.pdf", pdf=b"%PDF-1.4 test")
    bundle = Bundle.model_validate_json(raw)
    back = json.loads(bundle.model_dump_json(by_alias=True, exclude_none=True))
    kinds = [e["resource"]["resourceType"] for e in back["entry"]]
    assert kinds.count("RiskAssessment") == len(analysis.options)
    assert {"Patient", "Observation", "DocumentReference"} <= set(kinds)
    risks = [e["resource"] for e in back["entry"] if e["resource"]["resourceType"] == "RiskAssessment"]
    for row, risk in zip(analysis.options, risks, strict=True):
        for h, pred in zip(analysis.horizons, risk["prediction"], strict=True):
            assert float(pred["probabilityDecimal"]) == pytest.approx(row[column(SURVIVAL, h)], abs=1e-4)
            (ext,) = [x for x in pred["extension"] if x["url"] == INTERVAL_EXTENSION]
            assert float(ext["valueRange"]["low"]["value"]) == pytest.approx(row[column(SURVIVAL, h, LOWER)], abs=1e-4)
            assert float(ext["valueRange"]["high"]["value"]) == pytest.approx(row[column(SURVIVAL, h, UPPER)],
                                                                              abs=1e-4)
    obs = {e["resource"]["id"]: e["resource"] for e in back["entry"] if e["resource"]["resourceType"] == "Observation"}
    assert obs["pam50"]["valueString"] == "LumA"
    assert float(obs["rs-approximation"]["valueQuantity"]["value"]) == 18.0
    (doc,) = [e["resource"] for e in back["entry"] if e["resource"]["resourceType"] == "DocumentReference"]
    assert doc["content"][0]["attachment"]["contentType"] == "application/pdf"
    assert doc["content"][0]["attachment"]["url"] == "report.pdf"
    assert json.loads(raw) == json.loads(report_fhir(analysis, pdf_name="report.pdf", pdf=b"%PDF-1.4 test"))


def test_fhir_export_of_an_empty_analysis_is_still_valid() -> None:
    bundle = Bundle.model_validate_json(report_fhir(empty_analysis()))
    assert [e.resource.__resource_type__ for e in bundle.entry] == ["Patient", "DocumentReference"]
