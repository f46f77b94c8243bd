"""Breast-cancer drug knowledge as data: medication codes (RxNorm IN/SCD/SBD/GPCK, ATC, SNOMED CT) mapped to their
ingredient, treatment class and drug group (``drugs.csv``), the drugs' names in English, German and Chinese
(``drug_names.csv``), and the chemotherapy generation PREDICT uses. Sources: ``drugs.md``."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from genomics.records.codes import ATC, RXNORM, SNOMED

HERE = Path(__file__).parent
SYSTEMS = {"rxnorm": RXNORM, "atc": ATC, "snomed": SNOMED}
CLASSES = ("hormone_therapy", "chemotherapy", "her2_targeted", "cdk46_inhibitor", "parp_inhibitor",
           "immunotherapy", "bone_agent")
# ATC groups (WHO ATC index) for codes not in the table, most specific first.
ATC_GROUPS = (
    ("L01FD", "her2_targeted", "anti-HER2 antibody"), ("L01XC03", "her2_targeted", "anti-HER2 antibody"),
    ("L01XC13", "her2_targeted", "anti-HER2 antibody"), ("L01EH", "her2_targeted", "HER2 kinase inhibitor"),
    ("L01EF", "cdk46_inhibitor", "CDK4/6 inhibitor"), ("L01XK", "parp_inhibitor", "PARP inhibitor"),
    ("L01FF", "immunotherapy", "PD-1/PD-L1 antibody"),
    ("L01AA", "chemotherapy", "alkylating agent"), ("L01A", "chemotherapy", "alkylating agent"),
    ("L01B", "chemotherapy", "antimetabolite"), ("L01CD", "chemotherapy", "taxane"),
    ("L01CA", "chemotherapy", "vinca alkaloid"), ("L01C", "chemotherapy", "plant alkaloid"),
    ("L01DB", "chemotherapy", "anthracycline"), ("L01D", "chemotherapy", "cytotoxic antibiotic"),
    ("L01XA", "chemotherapy", "platinum"), ("L02A", "hormone_therapy", "hormone"),
    ("L02B", "hormone_therapy", "hormone antagonist"), ("M05BA", "bone_agent", "bisphosphonate"),
)


@dataclass(frozen=True)
class Drug:
    """One drug as a record names it: its ingredient (or group), class, group and the code kind that named it."""

    ingredient: str
    drug_class: str
    group: str
    kind: str = "IN"


def _rows(name: str) -> list[dict[str, str]]:
    with open(HERE / name, encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines))


@cache
def drug_codes() -> dict[tuple[str, str], Drug]:
    """(system URL, code) -> Drug, from ``drugs.csv``."""
    out: dict[tuple[str, str], Drug] = {}
    for row in _rows("drugs.csv"):
        out[(SYSTEMS[row["system"]], row["code"])] = Drug(row["ingredient"], row["class"], row["group"], row["kind"])
    return out


@cache
def ingredients() -> dict[str, Drug]:
    """Ingredient -> Drug (class and group), one per ingredient of the table."""
    out: dict[str, Drug] = {}
    for drug in drug_codes().values():
        out.setdefault(drug.ingredient, Drug(drug.ingredient, drug.drug_class, drug.group))
    return out


@cache
def drug_names() -> dict[str, str]:
    """A drug's name (lower case; English, German or Chinese) -> its ingredient."""
    return {row["name"].lower(): row["ingredient"] for row in _rows("drug_names.csv")}


def drug_of(codes: list[tuple[str, str]]) -> Drug | None:
    """The drug a medication's codings name: a table code first, then an ATC group; None when none is known."""
    table = drug_codes()
    for sc in codes:
        if sc in table:
            return table[sc]
    for system, code in codes:
        if system == ATC:
            for prefix, cls, group in ATC_GROUPS:
                if code.upper().startswith(prefix):
                    return Drug(f"ATC group {prefix}", cls, group, "ATC group")
    return None


def chemo_generation(groups: set[str]) -> int | None:
    """PREDICT's chemotherapy generation from the chemotherapy drug groups given: 3 with a taxane (third
    generation), 2 for any other chemotherapy (anthracycline or CMF-like), None without chemotherapy."""
    if not groups:
        return None
    return 3 if "taxane" in groups else 2
