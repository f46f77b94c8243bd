"""FHIR out: a patient analysis as a FHIR R4 Bundle, validated and read back with fhir.resources (R4B models)."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from dashboard.patient.report.fhir_bundle import INTERVAL_EXTENSION, report_fhir
from genomics.demo.examples import example_path
from models.columns import LOWER, SURVIVAL, UPPER, column
from tests.test_report import empty_analysis, make_analysis

REPO = Path(__file__).resolve().parents[1]


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


def test_fhir_export_states_the_clinicians_corrections() -> None:
    text = "Corrected in the review step: Positive lymph nodes: read 2, corrected to 15."
    analysis = make_analysis(codes="current")
    analysis = dataclasses.replace(analysis, assumptions={**(analysis.assumptions or {}), "record_corrections": text})
    bundle = json.loads(report_fhir(analysis))
    risks = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment"]
    assert risks and all(text in [n["text"] for n in r["note"]] for r in risks)


@pytest.mark.slow
def test_cli_writes_a_valid_fhir_bundle_and_refuses_bad_input(tmp_path) -> None:
    """``python -m dashboard report --format fhir`` on the shipped RNA-seq example, without the data folder (demo
    cohort): a Bundle fhir.resources reads, a RiskAssessment per regimen, PAM50; a missing file is one line, exit 2."""
    env = {k: v for k, v in os.environ.items() if k != "ONCOTX_DATA"} | {
        "ONCOTX_HOME": str(tmp_path / "home"), "ONCOTX_CONFIG": "/nonexistent.toml"}
    out = tmp_path / "patient.fhir.json"
    done = subprocess.run([sys.executable, "-m", "dashboard", "report", "--expression", str(example_path("rnaseq")),
                           "--records", str(example_path("rnaseq_record")), "--format", "fhir", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    bundle = Bundle.model_validate_json(out.read_bytes())
    kinds = [e.resource.__resource_type__ for e in bundle.entry]
    assert kinds.count("RiskAssessment") == 8 and "research use" in done.stdout
    assert any(e.resource.id == "pam50" for e in bundle.entry)
    bad = subprocess.run([sys.executable, "-m", "dashboard", "report", "--expression", str(tmp_path / "none.tsv"),
                          "--format", "fhir", "--out", str(tmp_path / "x.json")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "Traceback" not in bad.stderr
