"""Small published reference tables shipped inside the package, and where each table is read from.

Each table is looked up in the data folder first (``ONCOTX_DATA``, where it holds the table), else in this
package's shipped copy, so a fresh machine without the data folder still gets PAM50 calls, the Hallmark sets and
Ensembl/Entrez id mapping. Licences and attributions: ``NOTICE`` beside the files; how each file was derived:
``README.md``; rebuild them with ``python -m genomics.reference_data`` (:mod:`genomics.reference_data.derive`).
Cohorts never ship.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genomics.settings import get_settings

SHIPPED_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ReferenceTable:
    """One shipped table: its place in the data folder, its shipped file, and the attribution shown where used."""

    name: str
    data_path: Path  # relative to the data folder
    shipped_file: str  # in SHIPPED_DIR
    attribution: str  # short, shown where the table is used (page, PDF, CLI)
    licence: str

    @property
    def shipped_path(self) -> Path:
        return SHIPPED_DIR / self.shipped_file


PAM50 = ReferenceTable(
    "pam50", Path("signatures") / "pam50_centroids.tsv", "pam50_centroids.tsv",
    "PAM50 centroids: genefu (Artistic-2.0), Parker et al. 2009", "Artistic-2.0")
ONCOTYPE = ReferenceTable(
    "oncotype", Path("signatures") / "sig_oncotypedx_genefu.tsv", "sig_oncotypedx_genefu.tsv",
    "Recurrence-score genes and formula: Paik et al. 2004 (published facts; gene table from genefu, Artistic-2.0)",
    "Artistic-2.0 (table); facts")
ONCOTYPE_FACTS = ReferenceTable(
    "oncotype_facts", Path("signatures") / "oncotype_dx_facts.md", "oncotype_dx_facts.md",
    "Oncotype DX formula: Paik et al., N Engl J Med 2004 (published facts)", "facts")
HALLMARK = ReferenceTable(
    "hallmark", Path("genesets") / "h.all.v7.5.1.symbols.gmt", "h.all.v7.5.1.symbols.gmt",
    "Hallmark gene sets: MSigDB v7.5.1 (CC BY 4.0), Liberzon et al. 2015", "CC BY 4.0")
GENE_IDS = ReferenceTable(
    "gene_ids", Path("gene_ids") / "grch38_ensembl109_all_genes.csv.gz", "grch38_ensembl109_protein_coding.csv.gz",
    "Gene identifiers: Ensembl 109 (GRCh38)", "Ensembl data: no restrictions")
TABLES: dict[str, ReferenceTable] = {t.name: t for t in (PAM50, ONCOTYPE, ONCOTYPE_FACTS, HALLMARK, GENE_IDS)}


def table_path(table: ReferenceTable, data_dir: Path | str | None = None) -> Path:
    """The data folder's copy of ``table`` where the folder (``data_dir``, else the configured one) holds it, else
    the shipped copy."""
    folder = Path(data_dir) if data_dir is not None else get_settings().data_dir
    if folder is not None and (folder / table.data_path).is_file():
        return folder / table.data_path
    return table.shipped_path


def attribution(table: ReferenceTable, path: Path | None = None) -> str:
    """The attribution line for ``table``; says "(shipped copy)" when ``path`` is the package's own file."""
    return f"{table.attribution}{' (shipped copy)' if path == table.shipped_path else ''}"
