"""Gene identifier harmonisation: id types, aliases, Excel damage, mouse symbols, no map."""
from __future__ import annotations

import pytest

from genomics.genes import classify_id, harmonise, likely_gene_for_excel, load_gene_map


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("raw", "symbol"),
    [
        ("ESR1", "ESR1"),
        ("esr1", "ESR1"),
        ("Esr1", "ESR1"),
        ("ENSG00000091831", "ESR1"),
        ("ENSG00000091831.24", "ESR1"),
        ("ensg00000091831.1", "ESR1"),
        ("2099", "ESR1"),
        ("2099.0", "ESR1"),
        ("CDCA1", "NUF2"),
        ("KNTC2", "NDC80"),
        ("ORC6L", "ORC6"),
        ("CTSL2", "CTSV"),
        ("SEPT9", "SEPTIN9"),
        ("MARCH1", "MARCHF1"),
        ("SEPT7", "SEPTIN7"),
        ("c1orf112", "C1orf112"),
        ("205225_at", "ESR1"),
        ("X205225_at", "ESR1"),
    ],
)
def test_identifiers_map_to_current_symbols(raw, symbol):
    assert harmonise([raw]).symbols == (symbol,)


@pytest.mark.realdata
def test_mixed_and_unmapped_reported():
    mapping = harmonise(["ESR1", "ENSG00000141736", "7157", "NOT_A_GENE", "ENSG99999999999"])
    assert mapping.id_type == "mixed"
    assert mapping.unmapped == ("NOT_A_GENE", "ENSG99999999999")
    assert mapping.n_mapped == 3


@pytest.mark.parametrize(
    ("raw", "likely"),
    [("9-Sep", "SEPTIN9"), ("Sep-09", "SEPTIN9"), ("1-Mar", "MARCHF1"), ("MAR-1", "MARCHF1"), ("1-Dec", "DELEC1"),
     ("2-Oct", "POU2F1")],
)
def test_excel_dates_named(raw, likely):
    assert classify_id(raw) == "excel"
    assert likely_gene_for_excel(raw) == likely
    mapping = harmonise([raw])
    assert mapping.symbols == (None,) and mapping.excel_mangled == {raw: likely}
    assert raw not in mapping.unmapped  # reported as Excel damage, not as an unknown id


def test_iso_dates_are_excel_damage():
    assert classify_id("2006-09-09") == "excel"


@pytest.mark.realdata
def test_mouse_symbols_counted():
    mapping = harmonise(["Esr1", "Gapdh", "Actb", "ESR1"])
    assert mapping.mouse_like == 3


def test_without_map_symbols_kept_with_note(monkeypatch):
    monkeypatch.delenv("ONCOTX_DATA", raising=False)
    monkeypatch.setenv("ONCOTX_CONFIG", "/nonexistent.toml")
    monkeypatch.setattr("genomics.genes.gene_map_path", lambda data_dir=None: None)  # not even the shipped map
    gmap = load_gene_map()
    assert not gmap.available
    mapping = harmonise(["esr1", "CDCA1", "ENSG00000091831"], gene_map=gmap)
    assert mapping.symbols == ("ESR1", "NUF2", None)
    assert not mapping.map_available
