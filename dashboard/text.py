"""The dashboard's words: the research-use notice, clinical field labels, and user-supplied text shown as text
(never as markup). No Streamlit here."""
from __future__ import annotations

import re

from dashboard.i18n import N_, tr

RESEARCH_NOTICE = (
    "Research use only: OncoTx is not a medical device. It shows options with their evidence, "
    "never treatment directives; decisions rest with the clinical team."
)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """Escape markdown/HTML so that file names, gene ids or record fields render literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


FIELD_LABELS = {
    "age_at_diagnosis": "Age at diagnosis",
    "tumor_size_mm": "Tumour size",
    "grade": "Grade",
    "lymph_nodes_positive": "Positive lymph nodes",
    "er_status": "ER status",
    "pr_status": "PR status",
    "her2_status": "HER2 status",
    "menopausal_state": "Menopausal state",
    "tumor_stage": "Stage",
    "tumor_size_class": "Tumour size class",
    "ki67": "Ki-67 (%)",
    "trastuzumab": "HER2-targeted therapy",
    "screen_detected": "Screen detected",
    "chemo_generation": "Chemotherapy generation (2 or 3)",
    "breast_surgery": "Breast surgery",
    "radio_therapy": "Radiotherapy",
}


def gene_set_label(name: str) -> str:
    """Readable name of a gene set: 'HALLMARK_TNFA_SIGNALING_VIA_NFKB' → 'TNFA signaling via NFKB' (MSigDB's words;
    gene and pathway symbols, which hold a digit or are short, stay upper case)."""
    words = str(name).removeprefix("HALLMARK_").split("_")
    if len(words) == 1:
        return words[0]
    shown = [w if any(c.isdigit() for c in w) or len(w) <= 4 and w.isupper() and w not in SET_WORDS else w.lower()
             for w in words]
    return shown[0][:1].upper() + shown[0][1:] + "".join(" " + w for w in shown[1:])


SET_WORDS = frozenset({"UP", "DN", "VIA", "AND", "LATE", "EARLY", "BILE", "ACID", "HEME", "BETA", "ALPHA"})


def field_label(name: str) -> str:
    """Readable name of a clinical field (falls back to the column name with spaces)."""
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())




#: The validation facts (genomics.validate) as the Patient page and the PDF label them.
FACT_LABELS = {
    "samples": N_("samples"), "genes recognised": N_("genes recognised"), "identifiers in file": N_("identifiers in file"),
    "identifier type": N_("identifier type"), "orientation": N_("orientation"), "scale": N_("scale"),
    "format": N_("format"), "source sha256": N_("source sha256"), "clinical fields in file": N_("clinical fields in file"),
    "reference gene coverage": N_("reference gene coverage"), "coverage floor": N_("coverage floor"),
    "clinical record format": N_("clinical record format"), "clinical fields mapped": N_("clinical fields mapped"),
}


#: Category values of the clinical fields (genomics.spec) as the form shows them; other values are shown as they are.
CATEGORY_WORDS = {"Positive": N_("Positive"), "Negative": N_("Negative"), "Pre": N_("Pre"), "Post": N_("Post"),
                  "unknown": N_("unknown")}


#: The recurrence score's groups (genomics.signatures.recurrence: Paik 2004) for the catalogue.
RS_GROUP_WORDS = {"low": N_("low"), "intermediate": N_("intermediate"), "high": N_("high")}
#: Units of the clinical fields as the form shows them.
UNIT_WORDS = {"years": N_("years"), "nodes": N_("nodes")}


def category_label(value: str) -> str:
    """A clinical category value in the chosen language ('Positive' → '阳性'); unknown values unchanged."""
    return tr(CATEGORY_WORDS[value]) if value in CATEGORY_WORDS else value


def fact_label(name: str) -> str:
    """A validation fact's label in the chosen language (in English: the key itself)."""
    return tr(FACT_LABELS[name]) if name in FACT_LABELS else name
