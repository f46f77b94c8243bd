"""Treatments read from free text, the last resort when a record has no code: English, German and Chinese drug and
regimen names (``drug_names.csv``, regimen abbreviations such as AC, EC, FEC, CMF, TC) and radiotherapy / surgery
words. Every hit is flagged "read from text" by the caller; negated mentions ("no tamoxifen", "kein", "未") are
skipped."""
from __future__ import annotations

import re

from genomics.records.drugs import Drug, drug_names, ingredients

# Regimen abbreviations -> ingredients (standard breast-cancer usage).
REGIMENS = {
    "ac": ("doxorubicin", "cyclophosphamide"), "ec": ("epirubicin", "cyclophosphamide"),
    "fec": ("fluorouracil", "epirubicin", "cyclophosphamide"), "fac": ("fluorouracil", "doxorubicin", "cyclophosphamide"),
    "cmf": ("cyclophosphamide", "methotrexate", "fluorouracil"), "tc": ("docetaxel", "cyclophosphamide"),
    "tac": ("docetaxel", "doxorubicin", "cyclophosphamide"), "tch": ("docetaxel", "carboplatin", "trastuzumab"),
    "tchp": ("docetaxel", "carboplatin", "trastuzumab", "pertuzumab"), "ac-t": ("doxorubicin", "cyclophosphamide",
                                                                                 "paclitaxel"),
    "ec-t": ("epirubicin", "cyclophosphamide", "paclitaxel"),
}
RADIOTHERAPY_WORDS = ("radiotherapy", "radiation therapy", "irradiation", "strahlentherapie", "bestrahlung",
                      "radiatio", "放疗", "放射治疗")
SURGERY_WORDS = ("mastectomy", "lumpectomy", "breast-conserving", "breast conserving", "quadrantectomy",
                 "mastektomie", "brusterhaltend", "segmentresektion", "乳房切除", "保乳手术", "乳腺癌改良根治")
NEGATIONS = re.compile(r"(?:\bno\b|\bnot\b|\bwithout\b|\bkein\w*|\bohne\b|\bnicht\b|未|无|没有|不)\s*\S{0,3}\s*$",
                       re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")


def _pattern(name: str) -> re.Pattern[str]:
    if _CJK.search(name):
        return re.compile(re.escape(name))
    return re.compile(r"(?<![\w\-])" + re.escape(name) + r"(?![\w])", re.IGNORECASE)


def _negated(text: str, start: int) -> bool:
    return bool(NEGATIONS.search(text[max(0, start - 12):start]))


def drugs_in_text(text: str) -> list[Drug]:
    """The drugs named in a free text (longest names first, each span used once; negated mentions skipped)."""
    table = ingredients()
    names = {**drug_names(), **{k: "+".join(v) for k, v in REGIMENS.items()}}
    used = [False] * len(text)
    found: dict[str, Drug] = {}
    for name in sorted(names, key=len, reverse=True):
        for m in _pattern(name).finditer(text):
            if any(used[m.start():m.end()]):
                continue
            used[m.start():m.end()] = [True] * (m.end() - m.start())
            if _negated(text, m.start()):
                continue
            for ingredient in names[name].split("+"):
                if ingredient in table:
                    found.setdefault(ingredient, Drug(ingredient, table[ingredient].drug_class,
                                                      table[ingredient].group, "text"))
    return list(found.values())


def words_in_text(text: str, words: tuple[str, ...]) -> bool:
    """Whether the text names one of the words (not negated)."""
    low = text.lower()
    for word in words:
        for m in _pattern(word).finditer(low):
            if not _negated(low, m.start()):
                return True
    return False
