"""FHIR bundles as they really arrive (tests/data/fhir_corpus, of our own making): mCODE-profiled, plain
Synthea-style with RxNorm clinical-drug codes, a German ICD-10-GM record with German text-only chemotherapy, a Chinese
text-only one; every field right, every miss reported with a reason, each bad input one clear line. Plus the drug
table, one test per code system."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from genomics.errors import InputError
from genomics.records import read_records
from genomics.records.codes import ATC, RXNORM, SNOMED
from genomics.records.drugs import chemo_generation, drug_codes, drug_names, drug_of, ingredients
from genomics.records.free_text import drugs_in_text

CORPUS = Path(__file__).parent / "data" / "fhir_corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED["bundles"]))
def test_every_field_right_and_every_miss_has_a_reason(name: str) -> None:
    want = EXPECTED["bundles"][name]
    record = read_records(CORPUS / name)
    rows = {r["field"]: r for r in record.facts["provenance"]}
    for field, value in want["values"].items():
        assert record.values.get(field) == pytest.approx(value) if isinstance(value, float) else \
            record.values.get(field) == value, field
        expected_source = "read from text" if field in want["text"] else "code"
        assert rows[field]["source"] == expected_source, field
    assert set(record.values) == set(want["values"]), "no field beyond the expected ones is read"
    for field, fragment in want["missing"].items():
        assert rows[field]["source"] == "not found" and fragment.lower() in rows[field]["reason"].lower(), field
    for row in rows.values():  # every miss has a reason, every hit a source
        assert (row["value"] is None) == (row["source"] == "not found")
        assert row["reason"] if row["value"] is None else row["detail"]
    for field in want["text"]:  # never silently
        assert any(w.startswith(("Chemotherapy", "Endocrine", "HER2", "Radiotherapy")) and "read from text" in w
                   for w in record.warnings), field
    assert record.facts.get("other_cancer_drugs", []) == want.get("other_cancer_drugs", [])


@pytest.mark.parametrize("name", sorted(EXPECTED["bad"]))
def test_bad_inputs_get_one_clear_line(name: str) -> None:
    with pytest.raises(InputError) as err:
        read_records(CORPUS / name)
    message = str(err.value.message)
    assert EXPECTED["bad"][name].lower() in message.lower()
    assert "\n" not in message and "Traceback" not in message and len(message) < 300


@pytest.mark.parametrize(("system", "code", "kind", "ingredient", "drug_class"), [
    (RXNORM, "10324", "IN", "tamoxifen", "hormone_therapy"),
    (RXNORM, "198240", "SCD", "tamoxifen", "hormone_therapy"),
    (RXNORM, "199224", "SCD", "anastrozole", "hormone_therapy"),
    (RXNORM, "151124", "SBD", "anastrozole", "hormone_therapy"),
    (RXNORM, "1098617", "GPCK", "anastrozole", "hormone_therapy"),
    (RXNORM, "2119714", "SCD", "trastuzumab", "her2_targeted"),
    (ATC, "L02BG04", "substance", "letrozole", "hormone_therapy"),
    (ATC, "L01FD04", "substance", "trastuzumab deruxtecan", "her2_targeted"),
    (SNOMED, "387374002", "substance", "paclitaxel", "chemotherapy"),
    (SNOMED, "108774000", "product", "anastrozole", "hormone_therapy"),
])
def test_drug_table_per_code_system(system: str, code: str, kind: str, ingredient: str, drug_class: str) -> None:
    drug = drug_of([(system, code)])
    assert drug is not None and (drug.kind, drug.ingredient, drug.drug_class) == (kind, ingredient, drug_class)


def test_atc_groups_and_table_consistency() -> None:
    assert drug_of([(ATC, "L01EF99")]).drug_class == "cdk46_inhibitor"  # by ATC group when not in the table
    assert drug_of([(ATC, "L01DB99")]).group == "anthracycline"
    assert drug_of([(ATC, "N02BE01")]) is None and drug_of([(RXNORM, "1191")]) is None
    per_ingredient: dict[str, set[tuple[str, str]]] = {}
    for drug in drug_codes().values():
        per_ingredient.setdefault(drug.ingredient, set()).add((drug.drug_class, drug.group))
    assert all(len(v) == 1 for v in per_ingredient.values()), "an ingredient has one class and group"
    assert set(drug_names().values()) <= set(ingredients())
    assert chemo_generation({"anthracycline", "taxane"}) == 3 and chemo_generation({"alkylating agent"}) == 2
    assert chemo_generation(set()) is None


@pytest.mark.parametrize(("text", "found"), [
    ("Carboplatin/Paclitaxel, gefolgt von Epirubicin/Cyclophosphamid",
     {"carboplatin", "paclitaxel", "epirubicin", "cyclophosphamide"}),
    ("他莫昔芬, 未用来曲唑", {"tamoxifen"}),
    ("恩美曲妥珠单抗", {"trastuzumab emtansine"}),
    ("4 x EC, then weekly Taxol; no tamoxifen", {"epirubicin", "cyclophosphamide", "paclitaxel"}),
    ("Kein Letrozol", set()),
    ("paracetamol", set()),
])
def test_drug_names_in_free_text(text: str, found: set[str]) -> None:
    assert {d.ingredient for d in drugs_in_text(text)} == found
