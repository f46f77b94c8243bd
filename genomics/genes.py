"""Gene identifiers to HGNC symbols.

Accepts Ensembl gene ids (with or without version), Entrez ids and symbols in any case; maps known
renames through a small alias table; detects identifiers mangled by Excel (``9-Sep``, ``1-Mar``)
and names the likely gene instead of guessing. Works without the id map (symbols kept as given,
with a note) so that the demo runs on a fresh machine.
"""
from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from genomics.reference_data import GENE_IDS, table_path
from genomics.settings import get_settings

log = logging.getLogger(__name__)

ALIASES: dict[str, str] = {
    "CDCA1": "NUF2",
    "KNTC2": "NDC80",
    "ORC6L": "ORC6",
    "CTSL2": "CTSV",
    "SEPT9": "SEPTIN9",
    "MARCH1": "MARCHF1",
    "GPR30": "GPER1",
    "C10ORF116": "PLPP3",
    "HER2": "ERBB2",
    "KI67": "MKI67",
    "KI-67": "MKI67",
    "BCL2L": "BCL2L1",
    "STK15": "AURKA",
    "SURVIVIN": "BIRC5",
    "CTSL1": "CTSL",
    "C20ORF1": "TPX2",
    "KIAA0101": "PCLAF",
    "H2AFZ": "H2AZ1",
    "HIST1H2BC": "H2BC4",
    "HIST1H4C": "H4C3",
    "HIST1H1C": "H1-2",
}
# Excel turns SEPTINn/MARCHFn/DELEC1 into dates; old symbols SEPTn/MARCHn/DEC1 are what it saw.
_MONTH_GENES = {"SEP": "SEPTIN{n}", "MAR": "MARCHF{n}", "DEC": "DELEC{n}", "OCT": "POU{n}F1", "APR": "APR-{n}"}
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_EXCEL_DAY_MONTH = re.compile(rf"^(\d{{1,2}})[-/ ]({_MONTHS})[A-Z]*$", re.IGNORECASE)
_EXCEL_MONTH_DAY = re.compile(rf"^({_MONTHS})[A-Z]*[-/ ](\d{{1,2}})$", re.IGNORECASE)
_EXCEL_ISO_DATE = re.compile(r"^(19|20)\d\d-\d\d-\d\d( 00:00:00)?$")
_ENSEMBL = re.compile(r"^ENSG\d{11}(\.\d+)?$", re.IGNORECASE)
_AFFY_PROBE = re.compile(r"^X?(\d{4,7}(_[a-z])?_(s_|x_|i_|f_|r_|g_)?at|AFFX-[A-Za-z0-9_-]+)$")
_ENTREZ = re.compile(r"^\d{1,9}(\.0)?$")
_SYMBOL = re.compile(r"^[A-Za-z][A-Za-z0-9\-\.@_/]*$")
_HGNC_SHAPE = re.compile(r"^[A-Z][A-Z0-9-]*(ORF[0-9]+)?[A-Z0-9-]*$")
# Column names of clinical tables that are shaped like symbols but are never genes.
NON_GENE_NAMES = frozenset({
    "age", "grade", "size", "stage", "node", "nodes", "er", "pr", "her2", "sex", "cohort", "npi", "id", "sample",
    "patient", "time", "event", "status", "os", "dss", "rfs", "dmfs", "chemo", "radio", "hormone", "value",
})
_MOUSE_LIKE = re.compile(r"^[A-Z][a-z0-9]*[a-z][a-z0-9]*$")


@dataclass(frozen=True)
class GeneMap:
    """Lookup tables from the Ensembl/Entrez/HGNC map (empty when the map is absent)."""

    by_upper_symbol: dict[str, str]
    by_ensembl: dict[str, str]
    by_entrez: dict[str, str]
    entrez_of: dict[str, str]
    ensembl_of: dict[str, str]
    source: str | None
    by_probe: dict[str, tuple[str, str]] = field(default_factory=dict)  # probe -> (symbol, entrez)

    @property
    def available(self) -> bool:
        return bool(self.by_upper_symbol)


@dataclass(frozen=True)
class GeneMapping:
    """Result of harmonising a list of identifiers (same order as the input)."""

    symbols: tuple[str | None, ...]  # None = not mapped
    id_type: str  # symbol, ensembl, entrez, mixed, unknown
    id_type_counts: dict[str, int]
    unmapped: tuple[str, ...]
    renamed: dict[str, str] = field(default_factory=dict)  # alias/old symbol -> current symbol
    excel_mangled: dict[str, str] = field(default_factory=dict)  # mangled id -> likely gene
    mouse_like: int = 0
    map_available: bool = True

    @property
    def n_mapped(self) -> int:
        return sum(s is not None for s in self.symbols)


def gene_map_path(data_dir: Path | None = None) -> Path | None:
    """The data folder's id map (all biotypes) where it holds one, else the shipped protein-coding map
    (:mod:`genomics.reference_data`); None only when neither exists."""
    path = table_path(GENE_IDS, data_dir)
    return path if path.is_file() else None


def load_gene_map(path: Path | None = None) -> GeneMap:
    """The id map for the configured data folder, loaded once per process and path (read-only)."""
    return _load_gene_map(path or gene_map_path(), get_settings().data_dir)


@functools.lru_cache(maxsize=4)
def _load_gene_map(path: Path | None, data_dir: Path | None) -> GeneMap:
    if path is None:
        log.info("gene id map not found; symbols are used as given")
        return GeneMap({}, {}, {}, {}, {}, None, load_probe_map(data_dir))
    table = pd.read_csv(path, dtype=str, usecols=["ensgene", "entrez", "symbol", "biotype"])
    table = table.dropna(subset=["symbol"])
    table = table[table["symbol"].str.len() > 0]
    # protein-coding rows first so that a symbol/entrez shared with a pseudogene resolves to the gene
    table = table.assign(_pc=table["biotype"] != "protein_coding").sort_values("_pc", kind="stable")
    by_upper: dict[str, str] = {}
    entrez_of: dict[str, str] = {}
    ensembl_of: dict[str, str] = {}
    for sym, ens, ent in zip(table["symbol"], table["ensgene"], table["entrez"], strict=True):
        by_upper.setdefault(sym.upper(), sym)
        if isinstance(ens, str):
            ensembl_of.setdefault(sym, ens)
        if isinstance(ent, str):
            entrez_of.setdefault(sym, ent.split(".")[0])
    by_ensembl = {e: s for e, s in zip(table["ensgene"], table["symbol"], strict=True) if isinstance(e, str)}
    by_entrez: dict[str, str] = {}
    for ent, sym in zip(table["entrez"], table["symbol"], strict=True):
        if isinstance(ent, str):
            by_entrez.setdefault(ent.split(".")[0], sym)
    return GeneMap(by_upper, by_ensembl, by_entrez, entrez_of, ensembl_of, str(path.name), load_probe_map(data_dir))


def load_probe_map(data_dir: Path | None = None) -> dict[str, tuple[str, str]]:
    """Affymetrix probe id → (symbol, Entrez id) from the array annotation tables under the data folder."""
    data_dir = data_dir or get_settings().data_dir
    probes: dict[str, tuple[str, str]] = {}
    if data_dir is None:
        return probes
    vdx = data_dir / "vdx" / "vdxs_annot.tsv"
    if vdx.is_file():
        table = pd.read_csv(vdx, sep="\t", dtype=str, usecols=["probe", "EntrezGene.ID", "HUGO.gene.symbol"])
        for probe, entrez, symbol in table.fillna("").itertuples(index=False):
            probes.setdefault(_strip_probe(probe), (symbol, entrez))
    gse = data_dir / "gse7390" / "probe_to_symbol.tsv"
    if gse.is_file():
        table = pd.read_csv(gse, sep="\t", dtype=str).fillna("")
        for probe, symbol in zip(table["column"], table["symbol"], strict=True):
            probes.setdefault(_strip_probe(probe), (symbol, ""))
    return probes


def _strip_probe(probe: str) -> str:
    """R's make.names prefixes probe ids with 'X' (``X219340_s_at``)."""
    return probe[1:] if probe.startswith("X") and probe[1:2].isdigit() else probe


def classify_id(raw: str) -> str:
    """One identifier's type: ensembl, probe, entrez, excel, symbol or unknown."""
    text = raw.strip()
    if _ENSEMBL.match(text):
        return "ensembl"
    if _AFFY_PROBE.match(text):
        return "probe"
    if _EXCEL_DAY_MONTH.match(text) or _EXCEL_MONTH_DAY.match(text) or _EXCEL_ISO_DATE.match(text):
        return "excel"
    if _ENTREZ.match(text):
        return "entrez"
    if _SYMBOL.match(text):
        return "symbol"
    return "unknown"


def likely_gene_for_excel(raw: str) -> str:
    """Name the gene an Excel date most likely was (``9-Sep`` → SEPTIN9)."""
    text = raw.strip()
    m = _EXCEL_DAY_MONTH.match(text)
    day, month = (m.group(1), m.group(2)) if m else (None, None)
    if m is None and (m2 := _EXCEL_MONTH_DAY.match(text)):
        day, month = m2.group(2), m2.group(1)
    if day is None or month is None:
        return "unknown (an Excel date)"
    template = _MONTH_GENES.get(month[:3].upper())
    return template.format(n=int(day)) if template else f"unknown ({month[:3].title()}-{int(day)})"


def harmonise(ids: list[str] | pd.Index, *, gene_map: GeneMap | None = None) -> GeneMapping:
    """Map identifiers to HGNC symbols.

    Parameters
    ----------
    ids
        Gene identifiers as given in the file.
    gene_map
        Lookup tables; default: the map under the data folder (or none).
    """
    gmap = gene_map if gene_map is not None else load_gene_map()
    symbols: list[str | None] = []
    kinds: Counter[str] = Counter()
    unmapped: list[str] = []
    renamed: dict[str, str] = {}
    mangled: dict[str, str] = {}
    mouse_like = 0
    for raw in ids:
        text = str(raw).strip()
        kind = classify_id(text)
        kinds[kind] += 1
        symbol: str | None = None
        if kind == "excel":
            mangled[text] = likely_gene_for_excel(text)
        elif kind == "ensembl":
            symbol = gmap.by_ensembl.get(text.split(".")[0].upper())
        elif kind == "probe":
            probe_symbol, probe_entrez = gmap.by_probe.get(_strip_probe(text), ("", ""))
            symbol = _map_symbol(probe_symbol, gmap)[0] if probe_symbol else None
            symbol = symbol or gmap.by_entrez.get(probe_entrez)
        elif kind == "entrez":
            symbol = gmap.by_entrez.get(text.split(".")[0])
        elif kind == "symbol":
            symbol, note = _map_symbol(text, gmap)
            if note:
                renamed[text] = symbol or ""
            if _MOUSE_LIKE.match(text) and (symbol is None or symbol != text):
                mouse_like += 1
        if symbol is None and kind != "excel":
            unmapped.append(text)
        symbols.append(symbol)
    present = {k: v for k, v in kinds.items() if k in ("symbol", "ensembl", "entrez", "probe") and v}
    if not present:
        id_type = "unknown"
    elif len(present) == 1:
        id_type = next(iter(present))
    else:
        top, top_n = max(present.items(), key=lambda kv: kv[1])
        id_type = top if top_n >= 0.95 * sum(present.values()) else "mixed"
    return GeneMapping(
        symbols=tuple(symbols),
        id_type=id_type,
        id_type_counts=dict(kinds),
        unmapped=tuple(unmapped),
        renamed={k: v for k, v in renamed.items() if v},
        excel_mangled=mangled,
        mouse_like=mouse_like,
        map_available=gmap.available,
    )


def _map_symbol(text: str, gmap: GeneMap) -> tuple[str | None, bool]:
    """Return (symbol, renamed?) for a symbol-like id."""
    upper = text.upper()
    alias = ALIASES.get(upper)
    if not gmap.available:
        if alias:
            return alias, alias != upper
        # without the map only HGNC-shaped names count (symbols never hold '_' or '.')
        return (upper if _HGNC_SHAPE.match(upper) and upper.lower() not in NON_GENE_NAMES else None), False
    if alias and alias != upper and alias.upper() in gmap.by_upper_symbol:
        return gmap.by_upper_symbol[alias.upper()], True
    if upper in gmap.by_upper_symbol:
        return gmap.by_upper_symbol[upper], False
    for old, new in (("SEPT", "SEPTIN"), ("MARCH", "MARCHF")):
        if upper.startswith(old) and upper[len(old):].isdigit():
            candidate = new + upper[len(old):]
            if candidate in gmap.by_upper_symbol:
                return gmap.by_upper_symbol[candidate], True
    return None, False
