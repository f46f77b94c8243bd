"""The reference tables shipped in genomics/reference_data: golden against a fresh derivation from the data folder,
found without the data folder, the data folder first where it holds a table, and each one's licence in NOTICE."""
from __future__ import annotations

import gzip

import pandas as pd
import pytest

from genomics import reference_data as rd
from genomics.reference_data.derive import derive_all


@pytest.fixture()
def no_data(monkeypatch):
    monkeypatch.delenv("ONCOTX_DATA", raising=False)
    monkeypatch.setenv("ONCOTX_CONFIG", "/nonexistent.toml")


def _content(path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


@pytest.mark.realdata
def test_shipped_tables_equal_a_fresh_derivation(data_dir, tmp_path):
    written = derive_all(data_dir, tmp_path)
    assert sorted(p.name for p in written) == sorted(t.shipped_file for t in rd.TABLES.values())
    for path in written:
        shipped = rd.SHIPPED_DIR / path.name
        assert _content(shipped) == _content(path), f"{path.name}: run python -m genomics.reference_data"
    total = sum((rd.SHIPPED_DIR / p.name).stat().st_size for p in written)
    assert total < 1_000_000, total  # measured ~284 kB


def test_shipped_tables_are_found_without_the_data_folder(no_data):
    from genomics.genes import harmonise, load_gene_map
    from genomics.signatures import load_hallmark_sets, load_pam50_centroids

    for table in rd.TABLES.values():
        assert rd.table_path(table) == table.shipped_path and table.shipped_path.is_file()
    cent = load_pam50_centroids()
    assert cent.shape == (50, 5) and {"NUF2", "NDC80", "ORC6"} <= set(cent.index)
    assert len(load_hallmark_sets()) == 50
    gmap = load_gene_map()
    assert gmap.available and gmap.source == rd.GENE_IDS.shipped_file
    mapping = harmonise(["ENSG00000091831", "2064", "esr1"], gene_map=gmap)
    assert mapping.symbols == ("ESR1", "ERBB2", "ESR1")
    table = pd.read_csv(rd.GENE_IDS.shipped_path, dtype=str)
    assert list(table.columns) == ["ensgene", "entrez", "symbol", "biotype"]
    assert (table["biotype"] == "protein_coding").all() and len(table) > 20_000


@pytest.mark.realdata
def test_the_data_folder_comes_first(data_dir, tmp_path):
    assert rd.table_path(rd.PAM50).resolve() == (data_dir / rd.PAM50.data_path).resolve()  # ../shared may be a link
    assert rd.table_path(rd.GENE_IDS, tmp_path) == rd.GENE_IDS.shipped_path  # a folder without the table


def test_notice_names_every_table_and_its_licence():
    notice = (rd.SHIPPED_DIR / "NOTICE").read_text(encoding="utf-8")
    readme = (rd.SHIPPED_DIR / "README.md").read_text(encoding="utf-8")
    for table in rd.TABLES.values():
        assert table.shipped_file in notice and table.shipped_file in readme
    for licence in ("Artistic License 2.0", "CC BY 4.0", "Ensembl", "Paik"):
        assert licence in notice
    assert "genefu (Artistic-2.0)" in rd.attribution(rd.PAM50)


def test_recurrence_formula_matches_the_shipped_gene_table():
    """The formula in genomics.signatures.recurrence equals genefu's per-gene weights (group coefficient × weight)."""
    from genomics.genes import ALIASES
    from genomics.signatures.recurrence import RS_GROUPS

    coefficients = {"her2": 0.47, "estrogen": -0.34, "proliferation": 1.04, "invasion": 0.10}
    table = pd.read_csv(rd.ONCOTYPE.shipped_path, sep="\t")
    weights = {ALIASES.get(s, s): w for s, g, w in zip(table["symbol"], table["group"], table["weight"], strict=True)
               if g in coefficients}
    ours = {gene: coefficients[group] * w / (sum(genes.values()) if group != "her2" else 1.0)
            for group, genes in RS_GROUPS.items() for gene, w in genes.items()}
    assert set(ours) == set(weights)
    for gene, w in weights.items():
        assert ours[gene] == pytest.approx(w, abs=0.002), gene
