"""Direct identifiers in CSV/TSV and JSON clinical records: recognised by name or value, dropped, never
stored, shown or logged; age at diagnosis derived from the dates, of which only the diagnosis year stays."""
from __future__ import annotations

import json
import logging

import pytest

from genomics.errors import InputError
from genomics.records import IDENTIFIER_CATEGORIES, ClinicalRecord, check_record, read_records

# One patient's identifying details as they appear in the test records (none may survive reading).
SECRETS = {
    "name": "Jane Quincy Testperson",
    "first_name": "Jane",
    "surname": "Testperson",
    "mrn": "MRN-0073154",
    "nhs_number": "943 476 5919",
    "address": "42 Example Street",
    "city": "Springfield",
    "postcode": "SW1A 1AA",
    "phone": "+44 20 7946 0958",
    "email": "jane.testperson@example.org",
    "date_of_birth": "1961-03-14",
    "diagnosis_date": "2014-09-02",
}
# Pieces of the values above that would betray them if found anywhere (e.g. a year-month of a date).
FRAGMENTS = ("Jane", "Quincy", "Testperson", "0073154", "476 5919", "4765919", "Example Street", "Springfield",
             "SW1A", "7946", "example.org", "1961-03", "03-14", "2014-09", "09-02", "14/03")
CLINICAL = {"tumor_size_mm": "22", "grade": "3", "er_status": "Positive", "her2_status": "Negative",
            "chemotherapy": "1"}


def _exact_age() -> float:
    from datetime import date

    return round((date(2014, 9, 2) - date(1961, 3, 14)).days / 365.25, 2)


AGE = _exact_age()  # 53.47
CATEGORIES = ["name", "record number", "national id", "address", "phone number", "email", "date of birth",
              "exact date"]


def _wide_csv(cells: dict[str, str]) -> bytes:
    header = ",".join(cells)
    row = ",".join(f'"{v}"' for v in cells.values())
    return f"{header}\n{row}\n".encode()


def _long_csv(cells: dict[str, str]) -> bytes:
    return ("field,value\n" + "".join(f'{k},"{v}"\n' for k, v in cells.items())).encode()


def _blob(record: ClinicalRecord) -> str:
    return repr(record) + json.dumps(record.facts, default=str)


def _assert_no_identifying_values(text: str) -> None:
    for value in (*SECRETS.values(), *FRAGMENTS):
        assert value not in text, value


def _assert_private(record: ClinicalRecord, caplog: pytest.LogCaptureFixture) -> None:
    _assert_no_identifying_values(_blob(record))
    _assert_no_identifying_values(caplog.text)
    assert record.values["age_at_diagnosis"] == pytest.approx(AGE)
    assert record.facts["identifiers_dropped"] == CATEGORIES
    assert record.facts["diagnosis_year"] == 2014
    assert not any(k in u for u in record.unknown for k in SECRETS), record.unknown  # names not listed either
    assert record.warnings[0] == (
        "Direct identifiers were removed and not stored: name, record number, national id, address, phone number, "
        "email, date of birth, exact date. Age at diagnosis was derived from the date of birth and the diagnosis "
        "date; only the diagnosis year was kept."
    )
    assert check_record(record)[0] == []


@pytest.mark.parametrize("layout", ["wide", "long", "wide_tsv", "json_flat", "json_nested"])
def test_identifiers_dropped_and_age_derived(layout: str, caplog: pytest.LogCaptureFixture) -> None:
    cells = {"patient_id": "P-17", **SECRETS, **CLINICAL, "smoker": "no"}
    if layout == "wide":
        data = _wide_csv(cells)
    elif layout == "long":
        data = _long_csv(cells)
    elif layout == "wide_tsv":
        data = ("\t".join(cells) + "\n" + "\t".join(cells.values()) + "\n").encode()
    elif layout == "json_flat":
        data = json.dumps(cells).encode()
    else:
        clinical = {k: v for k, v in CLINICAL.items() if k != "chemotherapy"}
        data = json.dumps({"patient_id": "P-17", **SECRETS, "clinical": clinical, "treatments": {"chemotherapy": 1},
                           "smoker": "no"}).encode()
    with caplog.at_level(logging.DEBUG):
        record = read_records(data, name="record")
    _assert_private(record, caplog)
    assert record.patient_ref == "P-17"  # the record's own id stays (the caller pseudonymises it)
    assert record.values["grade"] == 3.0 and record.values["chemotherapy"] == 1
    assert any("smoker" in u for u in record.unknown)  # ordinary unknown columns are still listed


def test_given_age_is_kept_and_a_contradicting_date_pair_is_reported() -> None:
    record = read_records(_wide_csv({"age_at_diagnosis": "40", "dob": "14/03/1961", "date_of_diagnosis": "02/09/2014",
                                     "grade": "2"}), name="r.csv")
    assert record.values["age_at_diagnosis"] == 40.0
    assert record.facts["identifiers_dropped"] == ["date of birth", "exact date"]
    assert record.facts["diagnosis_year"] == 2014
    assert record.warnings[0] == "Direct identifiers were removed and not stored: date of birth, exact date."
    assert any("differs by more than a year" in w for w in record.warnings)
    _assert_no_identifying_values(_blob(record))


@pytest.mark.parametrize(("birth", "diagnosis", "age", "note"), [
    ("1961-03-14", "2014-09-02", _exact_age(), "date of birth and the diagnosis date"),
    ("14 March 1961", "Sept 2, 2014", _exact_age(), "date of birth and the diagnosis date"),
    ("19610314", "2014-09-02T10:30:00Z", _exact_age(), "date of birth and the diagnosis date"),
    ("1961", "2014-09-02", 53.0, "years only"),
    ("03/04/1961", "2014-09-02", 53.0, "years only"),  # day and month could be swapped: year precision
])
def test_age_from_date_formats(birth: str, diagnosis: str, age: float, note: str) -> None:
    record = read_records(_long_csv({"birthDate": birth, "Diagnosis Date": diagnosis, "grade": "2"}), name="r.csv")
    assert record.values["age_at_diagnosis"] == pytest.approx(age)
    assert note in record.warnings[0]
    assert record.facts["diagnosis_year"] == 2014
    assert birth not in _blob(record) and diagnosis not in _blob(record)


def test_age_not_derivable_says_why() -> None:
    record = read_records(_wide_csv({"dob": "14/03/61", "diagnosis_date": "2014-09-02", "grade": "2"}), name="r.csv")
    assert "age_at_diagnosis" not in record.values
    assert "Age at diagnosis could not be derived: the date of birth is not a date with a four-digit year." in (
        record.warnings)
    impossible = read_records(_wide_csv({"dob": "2016-01-01", "diagnosis_date": "2014-09-02", "grade": "2"}),
                              name="r.csv")
    assert "age_at_diagnosis" not in impossible.values
    assert any("impossible age" in w for w in impossible.warnings)
    no_birth = read_records(json.dumps({"clinical": {"grade": 2}, "diagnosis": {"date": "2014-09-02"}}).encode())
    assert no_birth.facts["diagnosis_year"] == 2014  # a nested diagnosis date is found by its path
    assert "Age at diagnosis could not be derived: no date of birth was found." in no_birth.warnings


@pytest.mark.parametrize(("column", "value", "category"), [
    ("contact", "jane.testperson@example.org", "email"),
    ("seen", "2019-03-14", "exact date"),
    ("note", "first seen 14/03/2019 at clinic", "exact date"),
    ("ref", "943 476 5919", "national id"),  # valid NHS check digit
    ("ref", "9434765919", "national id"),
    ("ref", "123-45-6789", "national id"),
    ("other", "+44 20 7946 0958", "phone number"),
    ("other", "(555) 123-4567", "phone number"),
])
def test_unknown_column_with_an_identifying_value_is_dropped(column: str, value: str, category: str) -> None:
    for data in (_wide_csv({"grade": "2", column: value}), json.dumps({"grade": 2, column: value}).encode(),
                 json.dumps({"clinical": {"grade": 2}, column: {"nested": [value]}}).encode()):
        record = read_records(data, name="r")
        assert record.values == {"grade": 2.0}
        assert record.unknown == ()
        assert record.facts["identifiers_dropped"] == [category]
        assert record.warnings == (f"Direct identifiers were removed and not stored: {category}.",)
        assert value not in _blob(record)


def test_cohort_field_with_an_identifying_value_is_not_kept() -> None:
    record = read_records(_wide_csv({"grade": "2", "er_status": "jane.testperson@example.org"}), name="r.csv")
    assert "er_status" not in record.values
    assert record.facts["identifiers_dropped"] == ["email"]
    assert any(w.startswith("er_status: the value looks like a direct identifier") for w in record.warnings)
    assert "example.org" not in _blob(record)


def test_ordinary_record_is_unchanged() -> None:
    data = _wide_csv({"patient_id": "MB-9001", "age_at_diagnosis": "61.5", "grade": "3", "er_status": "pos",
                      "tnm_t": "pT2", "smoker": "yes", "bmi": "24.5", "pack_years": "10-20", "notes": "clinic export"})
    record = read_records(data, name="r.csv")
    assert record.values == {"age_at_diagnosis": 61.5, "grade": 3.0, "er_status": "Positive", "tnm_t": "pT2"}
    assert record.warnings == ()
    assert "identifiers_dropped" not in record.facts and "diagnosis_year" not in record.facts
    assert record.unknown == ("column smoker (not used)", "column bmi (not used)", "column pack_years (not used)",
                              "column notes (not used)")


def test_empty_identifier_columns_are_silent_and_identifiers_alone_are_not_a_record() -> None:
    record = read_records(_wide_csv({"name": "", "email": "NA", "grade": "2"}), name="r.csv")
    assert record.warnings == () and record.unknown == ()
    with pytest.raises(InputError) as info:
        read_records(_wide_csv({"name": SECRETS["name"], "mrn": SECRETS["mrn"]}), name="r.csv")
    assert "no clinical fields" in info.value.message
    _assert_no_identifying_values(info.value.message + " ".join(info.value.problems))


def test_category_order_is_public() -> None:
    assert set(CATEGORIES) <= set(IDENTIFIER_CATEGORIES)
    assert list(IDENTIFIER_CATEGORIES[:3]) == ["name", "record number", "national id"]


@pytest.mark.realdata
def test_check_upload_end_to_end(caplog: pytest.LogCaptureFixture) -> None:
    from genomics.validate import check_upload
    from tests.hostile.make_corpus import _rows_table

    cells = {"patient_id": "P-17", **SECRETS, **CLINICAL}
    with caplog.at_level(logging.DEBUG):
        result = check_upload(_rows_table().encode(), name="p.csv", records=_wide_csv(cells), records_name="r.csv")
    assert result.report.ok, result.report.errors
    assert result.record is not None and result.record.values["age_at_diagnosis"] == pytest.approx(AGE)
    assert float(result.adata.obs["age_at_diagnosis"].iloc[0]) == pytest.approx(AGE)
    assert any(w.startswith("Direct identifiers were removed and not stored: name,") for w in result.report.warnings)
    lines = "\n".join(result.report.lines()) + json.dumps(result.report.to_dict(), default=str)
    _assert_no_identifying_values(lines)
    _assert_no_identifying_values(caplog.text)
    _assert_no_identifying_values(repr(result.adata.obs) + repr(result.adata.uns))
