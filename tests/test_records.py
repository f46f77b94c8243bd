"""Clinical records: CSV/TSV, JSON and FHIR R4 (mCODE) in; canonical values, unknowns and checks out."""
from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genomics.errors import InputError
from genomics.records import ClinicalRecord, check_record, read_records
from genomics.spec import BREAST_CLINICAL, CohortSpec

DATA = Path(__file__).parent / "data" / "records"
BUNDLE = DATA / "mcode_bundle.json"
LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
# Identifying details in the fixture Bundle (Patient, Condition text, subject displays, Practitioner).
IDENTIFYING = (
    "Testperson", "Jane", "Quincy", "42 Example Street", "Springfield", "MRN-0073154", "555 0100",
    "1965-01-01", "Owen", "Oncologist", "Left breast cancer of",
)
EXPECTED_BUNDLE_VALUES = {
    "age_at_diagnosis": 53.2,
    "tumor_size_mm": 25.0,
    "grade": 2.0,
    "lymph_nodes_positive": 3.0,
    "er_status": "Positive",
    "pr_status": "Negative",
    "her2_status": "Negative",
    "menopausal_state": "Post",
    "ki67": 20.0,
    "tnm_t": "pT2",
    "tnm_n": "pN1",
    "tnm_m": "cM0",
    "tumor_stage": 2.0,
    "hormone_therapy": 1,
    "radio_therapy": 1,
}


def _bundle() -> dict[str, Any]:
    return json.loads(BUNDLE.read_text())


def _read(obj: Any, **kwargs: Any) -> ClinicalRecord:
    return read_records(json.dumps(obj).encode(), name="record.json", **kwargs)


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle["entry"]]


def _drop(bundle: dict[str, Any], *ids: str) -> dict[str, Any]:
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"].get("id") not in ids]
    return bundle


def _add(bundle: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    url = f"http://example.org/fhir/{resource['resourceType']}/{resource.get('id', 'x')}"
    bundle["entry"].append({"fullUrl": url, "resource": resource})
    return bundle


def _obs(code: tuple[str, str], **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": code[0], "code": code[1]}]},
        "subject": {"reference": "Patient/pat-7f3c"},
        **value,
    }


def _concept(system: str, code: str, display: str = "") -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _values_close(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(actual) == set(expected)
    for key, value in expected.items():
        if isinstance(value, float):
            assert actual[key] == pytest.approx(value, abs=0.01), key
        else:
            assert actual[key] == value, key


# --------------------------------------------------------------------------------------------- FHIR


def test_mcode_bundle_maps_every_field() -> None:
    record = read_records(BUNDLE)
    _values_close(record.values, EXPECTED_BUNDLE_VALUES)
    assert isinstance(record.values["hormone_therapy"], int)
    assert record.patient_ref == "pat-7f3c"
    assert "Observation LOINC 8302-6 (not used)" in record.unknown
    assert "Practitioner resource (not used)" in record.unknown
    assert any("derived from the birth date" in w for w in record.warnings)
    facts = record.facts
    assert facts["format"] == "fhir"
    assert facts["sha256"] == hashlib.sha256(BUNDLE.read_bytes()).hexdigest()
    assert {"mcode-cancer-patient", "mcode-tumor-marker-test", "mcode-tumor-size",
            "mcode-primary-cancer-condition", "mcode-radiotherapy-course-summary"} <= set(facts["profiles"])
    assert "LOINC 85337-4 → er_status" in facts["codes_mapped"]
    assert "RxNorm 10324 (tamoxifen) → hormone_therapy" in facts["codes_mapped"]
    assert facts["staging_sources"]["tnm_t"] == "SNOMED 384625004"  # pathological beats clinical cT2
    assert check_record(record) == ([], [])


def test_identifying_details_never_leak() -> None:
    record = read_records(BUNDLE)
    facts = {k: v for k, v in record.facts.items() if k != "sha256"}
    blob = repr((record.values, record.unknown, record.warnings)) + json.dumps(facts)
    for text in IDENTIFYING:
        assert text not in blob, text
    assert any("identifying details" in u for u in record.unknown)  # reported by field name only


def test_plain_fhir_without_profiles_maps_the_same() -> None:
    bundle = _bundle()
    for resource in _resources(bundle):
        resource.pop("meta", None)
    record = _read(bundle)
    _values_close(record.values, EXPECTED_BUNDLE_VALUES)
    assert record.facts["profiles"] == []


def test_display_text_is_never_mapped_code_wins() -> None:
    bundle = _drop(_bundle(), "er", "pr")
    # display and text only, no system/code
    _add(bundle, {**_obs((LOINC, "x")), "id": "er-text",
                  "code": {"coding": [{"display": "Estrogen receptor Ag [Presence] in Breast cancer specimen"}],
                           "text": "ER status"},
                  "valueCodeableConcept": _concept(LOINC, "LA6576-8", "Positive")})
    # a right-sounding display on a different code
    _add(bundle, {**_obs((LOINC, "8310-5")), "id": "er-wrong-code",
                  "code": _concept(LOINC, "8310-5", "Estrogen receptor [Interpretation] in Tissue"),
                  "valueCodeableConcept": _concept(SCT, "10828004", "Positive")})
    # the right test code, but a result whose display says Negative under an unknown code
    _add(bundle, {**_obs((LOINC, "16113-3")), "id": "pr-odd-value",
                  "valueCodeableConcept": {"coding": [{"system": SCT, "code": "123456", "display": "Negative"}],
                                           "text": "Negative"}})
    record = _read(bundle)
    assert "er_status" not in record.values
    assert "pr_status" not in record.values
    assert "Observation without a coded code (display text is not mapped)" in record.unknown
    assert "Observation LOINC 8310-5 (not used)" in record.unknown
    assert any("LOINC 16113-3: result SNOMED 123456 (not in the code table)" in u for u in record.unknown)


def test_her2_equivocal_ihc_without_ish_is_left_empty() -> None:
    record = _read(_drop(_bundle(), "her2-ish"))
    assert "her2_status" not in record.values
    assert any("her2_status" in w and "equivocal" in w for w in record.warnings)


def test_equally_specific_records_that_disagree_leave_the_field_empty() -> None:
    bundle = _add(_bundle(), {**_obs((LOINC, "85337-4")), "id": "er-2",
                              "valueCodeableConcept": _concept(SCT, "260385009")})
    record = _read(bundle)
    assert "er_status" not in record.values
    assert any(w.startswith("er_status:") and "disagree" in w for w in record.warnings)


def test_interpretation_code_and_percentage_results() -> None:
    bundle = _drop(_bundle(), "er", "pr")
    _add(bundle, {**_obs((LOINC, "85337-4")), "id": "er-interp",
                  "interpretation": [_concept("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                              "NEG")]})
    _add(bundle, {**_obs((LOINC, "85325-9")), "id": "pr-pct",
                  "valueQuantity": {"value": 15, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}})
    record = _read(bundle)
    assert record.values["er_status"] == "Negative"
    assert record.values["pr_status"] == "Positive"  # >= 1 % stained nuclei


@pytest.mark.parametrize(("quantity", "expected"), [
    ({"value": 18, "unit": "mm", "system": "http://unitsofmeasure.org", "code": "mm"}, 18.0),
    ({"value": 1.2, "unit": "cm"}, 12.0),
    ({"value": 3, "unit": "furlong", "system": "http://unitsofmeasure.org", "code": "[fur_us]"}, None),
])
def test_tumour_size_units(quantity: dict[str, Any], expected: float | None) -> None:
    bundle = _add(_drop(_bundle(), "size"), {**_obs((LOINC, "21889-1")), "id": "size-2", "valueQuantity": quantity})
    record = _read(bundle)
    if expected is None:
        assert "tumor_size_mm" not in record.values
        assert any("Tumour size" in w for w in record.warnings)
    else:
        assert record.values["tumor_size_mm"] == pytest.approx(expected)


def test_medications_classified_by_code_and_status() -> None:
    bundle = _drop(_bundle(), "tam")
    subject = {"reference": "Patient/pat-7f3c"}
    _add(bundle, {"resourceType": "MedicationRequest", "id": "let", "status": "active", "intent": "order",
                  "medicationCodeableConcept": _concept(ATC, "L02BG04", "letrozole"), "subject": subject})
    _add(bundle, {"resourceType": "Medication", "id": "pac", "code": _concept(ATC, "L01CD01")})
    _add(bundle, {"resourceType": "MedicationAdministration", "id": "pac-adm", "status": "completed",
                  "medicationReference": {"reference": "Medication/pac"}, "subject": subject,
                  "effectiveDateTime": "2018-04-22"})
    _add(bundle, {"resourceType": "MedicationStatement", "id": "her", "status": "completed",
                  "medicationCodeableConcept": _concept(RXNORM, "224905"), "subject": subject})
    _add(bundle, {"resourceType": "MedicationStatement", "id": "cyc", "status": "not-taken",
                  "medicationCodeableConcept": _concept(RXNORM, "3002"), "subject": subject})
    _add(bundle, {"resourceType": "MedicationStatement", "id": "asp", "status": "active",
                  "medicationCodeableConcept": _concept(RXNORM, "1191", "aspirin"), "subject": subject})
    record = _read(bundle)
    assert record.values["hormone_therapy"] == 1  # ATC code only
    assert record.values["chemotherapy"] == 1  # ATC group L01C through a Medication reference
    assert record.facts["anti_her2_therapy"] == ["trastuzumab"]
    assert record.values["trastuzumab"] == 1  # HER2-targeted therapy is a record field (PREDICT's input)
    rows = {r["field"]: r for r in record.facts["provenance"]}
    assert rows["trastuzumab"]["source"] == "code" and "RxNorm 224905" in rows["trastuzumab"]["detail"]
    assert "MedicationStatement RxNorm 1191 (not used)" in record.unknown
    assert any("not-taken" in w for w in record.warnings)


def test_chemotherapy_not_taken_is_not_counted() -> None:
    bundle = _add(_bundle(), {"resourceType": "MedicationStatement", "id": "cyc", "status": "not-taken",
                              "medicationCodeableConcept": _concept(RXNORM, "3002"),
                              "subject": {"reference": "Patient/pat-7f3c"}})
    assert "chemotherapy" not in _read(bundle).values


def test_resources_of_another_patient_are_ignored() -> None:
    other = {**_obs((LOINC, "33732-9")), "id": "grade-other", "subject": {"reference": "Patient/someone-else"},
             "valueCodeableConcept": _concept(SCT, "1155707008")}
    record = _read(_add(_bundle(), other))
    assert record.values["grade"] == 2.0
    assert any("different patient" in w for w in record.warnings)


def test_two_patients_are_refused() -> None:
    bundle = _add(_bundle(), {"resourceType": "Patient", "id": "pat-2", "birthDate": "1970-05-05"})
    with pytest.raises(InputError, match="2 Patient resources"):
        _read(bundle)


def test_invalid_entries_are_skipped_with_a_warning() -> None:
    bundle = _bundle()
    bundle["entry"].append({"resource": {"resourceType": "Foo", "id": "f"}})
    bundle["entry"].append({"resource": {**_obs((LOINC, "21893-3")), "valueQuantity": "Jane Testperson"}})
    record = _read(bundle)
    _values_close(record.values, EXPECTED_BUNDLE_VALUES)
    warning = next(w for w in record.warnings if "not valid FHIR R4" in w)
    assert "2 Bundle entries" in warning
    assert "Testperson" not in warning


def test_age_from_year_precision_dates_and_from_onset_age() -> None:
    bundle = _bundle()
    patient, condition = _resources(bundle)[:2]
    patient["birthDate"] = "1965"
    condition["onsetDateTime"] = "2018-03"
    record = _read(bundle)
    assert record.values["age_at_diagnosis"] == 53.0
    assert any("±1 year" in w for w in record.warnings)

    condition.pop("onsetDateTime")
    condition["onsetAge"] = {"value": 47, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}
    assert _read(bundle).values["age_at_diagnosis"] == 47.0


def test_fields_outside_the_cohort_spec_are_reported_not_used() -> None:
    spec = CohortSpec(
        id="mini", name="Mini", licence="CC0", attribution="test", platform="none",
        treatments=("hormone_therapy",),
        clinical=tuple(f for f in BREAST_CLINICAL if f.name != "menopausal_state"),
    )
    record = read_records(BUNDLE, spec=spec)
    assert "menopausal_state" not in record.values
    assert "radio_therapy" not in record.values
    assert "SNOMED 161712005 → menopausal_state (not a field of this cohort)" in record.unknown
    assert record.values["hormone_therapy"] == 1


# ----------------------------------------------------------------------------------------- CSV / JSON

WIDE_EXPECTED = {
    "age_at_diagnosis": 61.5, "tumor_size_mm": 22.0, "grade": 3.0, "lymph_nodes_positive": 2.0,
    "er_status": "Positive", "pr_status": "Negative", "her2_status": "Negative", "menopausal_state": "Post",
    "tumor_stage": 2.0, "ki67": 35.0, "chemotherapy": 0, "hormone_therapy": 1, "radio_therapy": 1,
}


def test_csv_wide() -> None:
    record = read_records(DATA / "patient_wide.csv")
    assert record.values == WIDE_EXPECTED
    assert record.unknown == ("column smoker (not used)",)
    assert record.patient_ref == "MB-9001"
    assert record.facts["format"] == "csv" and record.facts["layout"] == "wide"
    assert check_record(record) == ([], [])


def test_tsv_long_with_header() -> None:
    record = read_records(DATA / "patient_long.tsv")
    assert record.values == {
        "age_at_diagnosis": 48.0, "tumor_size_mm": 15.5, "grade": 2.0, "er_status": "Positive",
        "pr_status": "Positive", "her2_status": "Negative", "menopausal_state": "Pre", "chemotherapy": 1,
    }
    assert record.unknown == ("field bmi (not used)",)
    assert record.patient_ref == "MB-9002"
    assert (record.facts["layout"], record.facts["delimiter"]) == ("long", "tab")
    errors, warnings = check_record(record)
    assert errors == [] and warnings == ["Missing clinical fields: Positive lymph nodes."]


def test_csv_long_without_header_semicolons() -> None:
    record = read_records(b"age_at_diagnosis;55\ner_status;Negative\nradio_therapy;no\n", name="r.csv")
    assert record.values == {"age_at_diagnosis": 55.0, "er_status": "Negative", "radio_therapy": 0}
    assert (record.facts["layout"], record.facts["delimiter"]) == ("long", "semicolon")


def test_csv_wide_tolerates_trailing_empty_cells_and_a_single_column() -> None:
    assert read_records(b"age_at_diagnosis\n55,\n", name="r.csv").values == {"age_at_diagnosis": 55.0}
    assert read_records(b"grade,er_status,\n2,pos\n", name="r.csv").values == {"grade": 2.0, "er_status": "Positive"}


def test_json_nested_and_flat() -> None:
    nested = read_records(DATA / "patient_nested.json")
    assert nested.values == {
        "age_at_diagnosis": 70.0, "tumor_size_mm": 30.0, "grade": 2.0, "lymph_nodes_positive": 0.0,
        "er_status": "Positive", "pr_status": "Positive", "her2_status": "Positive", "menopausal_state": "Post",
        "tnm_t": "pT2", "chemotherapy": 1, "hormone_therapy": 1, "radio_therapy": 0,
    }
    assert nested.patient_ref == "MB-9003"
    assert nested.unknown == ("field source (not used)",)
    assert nested.facts["layout"] == "nested"
    flat = _read({"patient_id": 17, "age_at_diagnosis": "44", "her2_status": "POS", "notes": {"x": 1}})
    assert flat.values == {"age_at_diagnosis": 44.0, "her2_status": "Positive"}
    assert flat.patient_ref == "17"
    assert flat.unknown == ("field notes (not used)",)
    assert flat.facts["format"] == "json" and flat.facts["layout"] == "flat"


def test_gzip_utf16_path_and_file_like_inputs() -> None:
    raw = (DATA / "patient_wide.csv").read_bytes()
    zipped = read_records(gzip.compress(raw), name="record.csv.gz")
    assert zipped.values == WIDE_EXPECTED
    assert zipped.facts["compressed"] is True
    utf16 = read_records(raw.decode().encode("utf-16"), name="record.csv")
    assert utf16.values == WIDE_EXPECTED
    assert utf16.facts["encoding"] == "utf-16"
    bom = read_records(b"\xef\xbb\xbf" + raw, name="record.csv")
    assert bom.values == WIDE_EXPECTED
    upload = io.BytesIO(BUNDLE.read_bytes())
    upload.name = "upload.json"
    assert read_records(upload).values["er_status"] == "Positive"


# ------------------------------------------------------------------------------------------ bad input

def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("record.csv", "age_at_diagnosis\n55\n")
    return buf.getvalue()


_NOT_BUNDLE_ENTRIES = json.dumps({"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": {"resourceType": "Observation", "bogus": 1}}]}).encode()


@pytest.mark.parametrize(("data", "fragment"), [
    (b"", "empty"),
    (b"  \n\n\t", "empty"),
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "png"),
    (b"age\x00\x01\x02\x03", "binary"),
    (_zip_bytes(), "zip"),
    (b'{"age_at_diagnosis": 55,', "not valid JSON"),
    (b'[{"age_at_diagnosis": 55}]', "JSON list"),
    (b'{"age_at_diagnosis": 55, "age_at_diagnosis": 60}', "appears twice"),
    (b'{"resourceType": "Patient", "id": "p1"}', "not a Bundle"),
    (b'{"resourceType": "Bundle", "type": "collection", "entry": []}', "no entries"),
    (b'{"resourceType": "Bundle", "type": "not-a-type", "entry": [{"resource": {"resourceType": "Patient"}}]}',
     "not a valid FHIR R4 Bundle"),
    (b'{"resourceType": "Bundle", "type": "collection", "total": "many", "entry": [{}]}',
     "not a valid FHIR R4 Bundle"),
    (_NOT_BUNDLE_ENTRIES, "none of the 1 Bundle entries"),
    (b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient"}}]}',
     "no clinical data"),
    (b"age_at_diagnosis,grade\n", "no data row"),
    (b"age_at_diagnosis\n55\n60\n", "2 data rows"),
    (b"smoker,bmi\nyes,24\n", "no clinical fields"),
    (b"age_at_diagnosis,age_at_diagnosis\n1,2\n", "appears more than once"),
    (b"field,value\ngrade,2\ngrade,3\n", "appears twice"),
])
def test_bad_inputs_raise_input_error(data: bytes, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        read_records(data, name="upload.csv")
    assert fragment.lower() in str(info.value).lower()


def test_unreadable_values_name_the_field_never_the_value() -> None:
    data = b"age_at_diagnosis\ttumor_size_mm\tchemotherapy\nJaneSecret\t2,5\tmaybe\n"
    with pytest.raises(InputError) as info:
        read_records(data, name="r.tsv")
    message = str(info.value)
    assert "JaneSecret" not in message and "maybe" not in message
    assert {p.split(":")[0] for p in info.value.problems} == {"Age at diagnosis", "Tumour size", "Chemotherapy"}
    assert "decimal commas" in message


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_records(tmp_path / "nope.csv")


# ------------------------------------------------------------------------------------------- checks


def test_check_record_flags_out_of_range_and_unknown_categories() -> None:
    record = ClinicalRecord(
        values={
            "age_at_diagnosis": 130.0, "tumor_size_mm": -1.0, "grade": 4.0, "lymph_nodes_positive": 2.5,
            "er_status": "Maybe-Smith", "menopausal_state": "Peri", "chemotherapy": 2, "ki67": 150.0,
            "tnm_t": "big", "tumor_stage": 2.5, "shoe_size": 7,
        },
        unknown=(), warnings=(), facts={}, patient_ref=None,
    )
    errors, warnings = check_record(record)
    named = {e.split(" must ")[0].split(" is not ")[0] for e in errors}  # fields in words (what a page shows)
    assert named == {"Age at diagnosis", "Tumour size", "Grade", "Positive lymph nodes", "ER status",
                     "Menopausal state", "Chemotherapy", "KI67", "Stage"}
    assert "Age at diagnosis must be between 0 and 120 years." in errors
    assert "Positive lymph nodes must be a whole number." in errors
    assert "ER status is not one of Positive, Negative." in errors
    assert not any("Smith" in e or "130" in e or "Peri" in e for e in errors)
    assert any(w.startswith("TNM t does not look like") for w in warnings), warnings
    assert any(w.startswith("Shoe size is not a field") for w in warnings), warnings
    assert any(w.startswith("Missing clinical fields: PR status, HER2 status") for w in warnings)


def test_out_of_range_values_read_fine_and_fail_the_check() -> None:
    record = read_records(b"age_at_diagnosis,tumor_size_mm,er_status\n130,-4,Perhaps\n", name="r.csv")
    assert record.values["er_status"] == "Perhaps"  # kept as given so the check can name the field
    errors, _ = check_record(record)
    assert [e.split(" must ")[0].split(" is not ")[0] for e in errors] == ["Age at diagnosis", "Tumour size",
                                                                           "ER status"]


@pytest.mark.realdata
def test_metabric_patients_read_back_and_pass_the_check(data_dir: Path) -> None:
    import pandas as pd

    columns = ["patient_id", *(f.name for f in BREAST_CLINICAL), "tumor_stage",
               "chemotherapy", "hormone_therapy", "radio_therapy"]
    frame = pd.read_parquet(data_dir / "metabric" / "metabric_1904_clinical_treatment_expr300.parquet",
                            columns=columns).iloc[::8]
    for row in frame.itertuples(index=False):
        raw = pd.DataFrame([row], columns=columns).to_csv(index=False).encode()
        record = read_records(raw, name="metabric_row.csv")
        assert record.patient_ref == row.patient_id
        errors, _ = check_record(record)
        assert errors == [], (row.patient_id, errors)
        for column in columns[1:]:
            expected = getattr(row, column)
            if pd.isna(expected):
                assert column not in record.values
            elif isinstance(expected, str):
                assert record.values[column] == expected
            else:
                assert record.values[column] == pytest.approx(float(expected))


# -------------------------------------------------------------------------------------- properties

_FHIR_KEYS = ("resourceType", "entry", "resource", "fullUrl", "type", "status", "code", "coding", "system",
              "value", "valueQuantity", "valueCodeableConcept", "valueInteger", "subject", "reference",
              "component", "birthDate", "onsetDateTime", "medicationCodeableConcept", "id", "meta", "profile")
_FHIR_STRINGS = st.sampled_from((
    "Bundle", "Patient", "Observation", "Condition", "Procedure", "MedicationStatement", "collection",
    "final", "active", LOINC, SCT, RXNORM, "85337-4", "21889-1", "LA6576-8", "10324", "Patient/p1", "1965",
    "2018-03-16", "cm", "%",
)) | st.text(max_size=8)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _FHIR_STRINGS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(_FHIR_KEYS), inner, max_size=5),
    max_leaves=25,
)


def _read_or_input_error(data: bytes) -> None:
    try:
        record = read_records(data, name="fuzz")
    except InputError:
        return
    assert isinstance(record, ClinicalRecord)
    check_record(record)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1024))
def test_arbitrary_bytes_raise_only_input_error(data: bytes) -> None:
    _read_or_input_error(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(("age_at_diagnosis", "er_status", "grade", "field", "value", "Positive", "2,5",
                                 "55", "G2", "III", "yes", ",", ";", "\t", "\n", '"', "{", "}", "[", "]", ":")),
                max_size=30))
def test_arbitrary_tables_raise_only_input_error(tokens: list[str]) -> None:
    _read_or_input_error("".join(tokens).encode())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_JSON, max_size=4), st.sampled_from(("Bundle", "Observation", None)))
def test_arbitrary_json_and_bundles_raise_only_input_error(entries: list[Any], rtype: str | None) -> None:
    doc: dict[str, Any] = {"entry": [{"resource": e} if isinstance(e, dict) else e for e in entries]}
    if rtype:
        doc["resourceType"] = rtype
    _read_or_input_error(json.dumps(doc).encode())
    _read_or_input_error(json.dumps(entries[0] if entries else {}).encode())


def test_fixture_bundle_is_not_modified_by_reading() -> None:
    before = copy.deepcopy(_bundle())
    bundle = _bundle()
    _read(bundle)
    assert bundle == before
