"""One patient's clinical record in: CSV/TSV, JSON, or a FHIR R4 Bundle (HL7 mCODE where present).

Every format ends in the same :class:`ClinicalRecord`: canonical field names (those of the
cohort spec, ``BREAST_CLINICAL`` by default, plus the treatment columns and a few extra known
fields), what was present but not used (``unknown``), plain-words warnings and provenance facts.

FHIR resources are mapped **by code** (system + code), never by display text: a coding that has
only a display, or a code outside the tables below, is reported in ``unknown`` and not used.
FHIR JSON is validated with the ``fhir.resources`` R4B models (``fhir.resources`` 7+ ships no
separate R4 package; R4B is R4 plus a few non-clinical changes and reads R4 mCODE resources).

Identifying details (names, addresses, identifiers, dates) are never copied into ``values``,
``warnings`` or ``unknown``; messages name fields and codes only, never patient values. In CSV/TSV
and plain JSON records, direct identifiers are recognised by column/key name (``name``, ``mrn``,
``nhs_number``, ``address``, ``phone``, ``email``, ``date_of_birth``, ``diagnosis_date`` ...) and, in
columns that are not cohort fields, by value (e-mail addresses, phone numbers, exact dates, NHS- or
SSN-like numbers); they are dropped, and only their generic categories are kept
(``facts["identifiers_dropped"]``) with one plain warning. Age at diagnosis is derived from a date of
birth and a diagnosis date when not given; of the dates only the diagnosis year is kept
(``facts["diagnosis_year"]``). The record's own patient id column stays ``patient_ref``.

Reading is bounded in time: :func:`read_records` takes a ``deadline`` (see
:class:`genomics.sniff.Deadline`), checked per row, JSON object, item and FHIR entry.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from genomics.errors import InputError
from genomics.sniff import Deadline, open_text_payload, read_source
from genomics.spec import BREAST_CLINICAL, ClinicalField, CohortSpec

logger = logging.getLogger(__name__)

DEFAULT_TREATMENTS = ("chemotherapy", "hormone_therapy", "radio_therapy")

# Known fields beyond the cohort spec: mapped when present, checked by check_record.
EXTRA_FIELDS = (
    ClinicalField("tumor_stage", "ordinal", categories=("0", "1", "2", "3", "4"), min_value=0, max_value=4,
                  description="AJCC stage group as 0-4"),
    ClinicalField("tnm_t", "categorical", description="TNM primary tumour category, e.g. cT2, pT1c"),
    ClinicalField("tnm_n", "categorical", description="TNM regional nodes category, e.g. pN1a"),
    ClinicalField("tnm_m", "categorical", description="TNM distant metastases category, e.g. cM0"),
    ClinicalField("ki67", "numeric", "%", min_value=0, max_value=100, description="Ki-67 labelling index"),
)

MAX_FHIR_ENTRIES = 5000
_INTEGER_FIELDS = frozenset({"lymph_nodes_positive"})
_MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "unknown", "not available"})
_CATEGORY_SYNONYMS = {
    "positive": ("pos", "+", "positive"),
    "negative": ("neg", "-", "negative"),
    "pre": ("pre", "premenopausal", "pre-menopausal"),
    "post": ("post", "postmenopausal", "post-menopausal"),
}
_TRUE_TOKENS = frozenset({"1", "1.0", "yes", "y", "true", "t"})
_FALSE_TOKENS = frozenset({"0", "0.0", "no", "n", "false", "f"})
_LONG_HEADERS = frozenset({("field", "value"), ("name", "value"), ("key", "value"), ("variable", "value")})
_TNM_RE = re.compile(r"^(?:y|r|a|yr)?[cp]?[TNM](?:[0-4X]|is)[A-Za-z0-9()+\-]{0,12}$")
_STAGE_RE = re.compile(r"^(?:stage\s*)?(0|IV|III|II|I|[0-4])(?:[A-Da-d]\d?|is|a|\s*bulky)?$", re.IGNORECASE)
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_SAFE_CODE_RE = re.compile(r"^[A-Za-z0-9.\-_:+/()]{1,40}$")

# ---------------------------------------------------------------------------------------------
# Code systems
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
AJCC = "http://cancerstaging.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.6.73": ATC,
}
_SYSTEM_NAMES = {
    LOINC: "LOINC", SNOMED: "SNOMED", RXNORM: "RxNorm", ATC: "ATC", AJCC: "AJCC",
    ICD10CM: "ICD-10-CM", ICD10: "ICD-10", V3_INTERPRETATION: "HL7 interpretation", UCUM: "UCUM",
}
MCODE_PROFILE_PREFIX = "http://hl7.org/fhir/us/mcode/StructureDefinition/"

# ---------------------------------------------------------------------------------------------
# Code tables. Sources (checked with the project's reference search, not from memory):
#  [mCODE]  HL7 mCODE IG STU3 (3.0.0) and STU4 pages: TumorMarkerTest examples (ER 85337-4, PR
#           85339-0, HER2 48676-1, values LOINC LA6576-8/LA6577-6, SNOMED 10828004), TumorSize
#           (21889-1, component 33728-7), TNM staging-type value sets (LOINC 21905-5/21899-0,
#           21906-3/21900-6, 21907-1/21901-4, 21908-9/21902-2/21914-7; SNOMED 399504009,
#           384625004, 78873005, 399534004, 371494008, 277206009, 399387003, 371497001,
#           277208005, 399537006, 399588009, 399390009), example values SNOMED 1228938002 (cT3),
#           1229967007 (cN0), 1222806003 (stage IIIC), Histologic Grade (LOINC 33732-9; SNOMED
#           1155708003/1286893008/1155707008), RadiotherapyCourseSummary (SNOMED 1217123003),
#           medication examples (RxNorm 56946 paclitaxel), primary cancer example codes.
#  [BCIG]   HL7 Breast Cancer Data IG (2018) value sets: ER 16112-5/40556-3/85337-4, HER2 IHC
#           18474-7/85319-2.
#  [IPS]    HL7 IPS example: ER result 416053008 "Estrogen receptor positive tumor".
#  [ICHOM]  HL7 ICHOM Breast Cancer IG STU1: menopausal status (Observation SNOMED 161712005;
#           309606002 before / 307429007 after menopause), receptor-status SNOMED findings,
#           equivocal 280414007, AJCC TNM SNOMED values, grade 399415002/405986005/399611001,
#           radiotherapy 108290001, chemotherapy classes 108787006/418965003/768621002/386906001.
#  [MII]    Medizininformatik-Initiative IHC value set: Ki-67 29593-1/85330-9/33055-5, ER/PR %
#           14228-1/14230-7, HER2 ISH 85318-4.
#  [NZ]     NZ CanShare TNM stage group value set (SNOMED AJCC stage groups 0 ... IVC).
#  [CTS2]   CTS2OnFHIR NeoplasmCore breast-cancer drug RxNorm mappings (OMOP) and an mCODE
#           trial-matching RxNorm->SNOMED substance table (tamoxifen 10324, exemestane 258494,
#           methotrexate 6851, carboplatin 40048, ...); ATC codes and the L01/L02 groups from
#           the WHO ATC index as quoted in FDA substance records (L02BA01, L02BG03, L02BA03).
#  [misc]   LOINC 21893-3/21894-1 (regional nodes positive/examined), 85329-1/85325-9 (ER/PR
#           %), 31150-6 (ERBB2 FISH), LOINC HER2 IHC answers LA6111-4/LA11841-6/LA11842-4/
#           LA11843-2, v3 ObservationInterpretation POS/NEG/DET/ND/IND/E, SNOMED 76498008
#           postmenopausal state, radiotherapy 33195004/152198000/385798007: each seen in
#           several independent public FHIR implementations (mCODE/OnkoFHIR/CodeX tooling).

# Observation.code -> (kind, field, priority, note). Higher priority wins over lower.
_OBS: dict[tuple[str, str], tuple[str, str, int, str]] = {
    # oestrogen receptor
    (LOINC, "16112-5"): ("receptor", "er_status", 3, "ER interpretation"),
    (LOINC, "85337-4"): ("receptor", "er_status", 2, "ER by IHC (breast)"),
    (LOINC, "40556-3"): ("receptor", "er_status", 2, "ER by IHC"),
    (LOINC, "85329-1"): ("receptor_pct", "er_status", 1, "ER % cells (breast)"),
    (LOINC, "14228-1"): ("receptor_pct", "er_status", 1, "ER % cells"),
    # progesterone receptor
    (LOINC, "16113-3"): ("receptor", "pr_status", 3, "PR interpretation"),
    (LOINC, "85339-0"): ("receptor", "pr_status", 2, "PR by IHC (breast)"),
    (LOINC, "40557-1"): ("receptor", "pr_status", 2, "PR by IHC"),
    (LOINC, "85325-9"): ("receptor_pct", "pr_status", 1, "PR % cells (breast)"),
    (LOINC, "14230-7"): ("receptor_pct", "pr_status", 1, "PR % cells"),
    # HER2: overall interpretation > in situ hybridisation > immunohistochemistry
    (LOINC, "48676-1"): ("receptor", "her2_status", 3, "HER2 interpretation"),
    (LOINC, "85318-4"): ("receptor", "her2_status", 2, "HER2 by ISH (breast)"),
    (LOINC, "31150-6"): ("receptor", "her2_status", 2, "HER2 by ISH"),
    (LOINC, "85319-2"): ("her2_ihc", "her2_status", 1, "HER2 by IHC (breast)"),
    (LOINC, "18474-7"): ("her2_ihc", "her2_status", 1, "HER2 by IHC"),
    # Ki-67, size, grade, nodes
    (LOINC, "85330-9"): ("percent", "ki67", 1, "Ki-67 % cells (breast)"),
    (LOINC, "29593-1"): ("percent", "ki67", 1, "Ki-67 % cells"),
    (LOINC, "21889-1"): ("size", "tumor_size_mm", 1, "tumour size"),
    (LOINC, "33728-7"): ("size", "tumor_size_mm", 1, "tumour size, largest dimension"),
    (LOINC, "33732-9"): ("grade", "grade", 1, "histologic grade"),
    (LOINC, "21893-3"): ("count", "lymph_nodes_positive", 1, "regional lymph nodes positive"),
    # TNM categories and stage group: pathological (2) > clinical (1) > unspecified (0)
    (LOINC, "21899-0"): ("tnm", "tnm_t", 2, "pathological T"),
    (LOINC, "21905-5"): ("tnm", "tnm_t", 1, "clinical T"),
    (SNOMED, "384625004"): ("tnm", "tnm_t", 2, "pathological T"),
    (SNOMED, "399504009"): ("tnm", "tnm_t", 1, "clinical T"),
    (SNOMED, "78873005"): ("tnm", "tnm_t", 0, "T category"),
    (LOINC, "21900-6"): ("tnm", "tnm_n", 2, "pathological N"),
    (LOINC, "21906-3"): ("tnm", "tnm_n", 1, "clinical N"),
    (SNOMED, "371494008"): ("tnm", "tnm_n", 2, "pathological N"),
    (SNOMED, "399534004"): ("tnm", "tnm_n", 1, "clinical N"),
    (SNOMED, "277206009"): ("tnm", "tnm_n", 0, "N category"),
    (LOINC, "21901-4"): ("tnm", "tnm_m", 2, "pathological M"),
    (LOINC, "21907-1"): ("tnm", "tnm_m", 1, "clinical M"),
    (SNOMED, "371497001"): ("tnm", "tnm_m", 2, "pathological M"),
    (SNOMED, "399387003"): ("tnm", "tnm_m", 1, "clinical M"),
    (SNOMED, "277208005"): ("tnm", "tnm_m", 0, "M category"),
    (LOINC, "21902-2"): ("stage", "tumor_stage", 2, "pathological stage group"),
    (LOINC, "21908-9"): ("stage", "tumor_stage", 1, "clinical stage group"),
    (LOINC, "21914-7"): ("stage", "tumor_stage", 0, "stage group (other)"),
    (SNOMED, "399588009"): ("stage", "tumor_stage", 2, "pathological stage group"),
    (SNOMED, "399537006"): ("stage", "tumor_stage", 1, "clinical stage group"),
    (SNOMED, "399390009"): ("stage", "tumor_stage", 0, "stage group"),
    # menopausal status
    (SNOMED, "161712005"): ("menopause", "menopausal_state", 1, "menopausal status"),
}
# Known observation codes that carry nothing a cohort field needs.
_OBS_KNOWN_UNUSED = {
    (LOINC, "21894-1"): "regional lymph nodes examined",
    (LOINC, "33055-5"): "Ki-67 presence (no percentage)",
    (LOINC, "33729-5"): "tumour size, other dimension",
}

# Result codes shared by the receptor tests -> Positive / Negative / Equivocal / Indeterminate.
_RESULT = {
    (SNOMED, "10828004"): "Positive", (SNOMED, "260385009"): "Negative",
    (SNOMED, "52101004"): "Positive", (SNOMED, "2667000"): "Negative",     # present / absent
    (SNOMED, "260373001"): "Positive", (SNOMED, "260415000"): "Negative",  # detected / not detected
    (SNOMED, "280414007"): "Equivocal",
    (LOINC, "LA6576-8"): "Positive", (LOINC, "LA6577-6"): "Negative",
    (V3_INTERPRETATION, "POS"): "Positive", (V3_INTERPRETATION, "NEG"): "Negative",
    (V3_INTERPRETATION, "DET"): "Positive", (V3_INTERPRETATION, "ND"): "Negative",
    (V3_INTERPRETATION, "IND"): "Indeterminate", (V3_INTERPRETATION, "E"): "Equivocal",
}
# Receptor-specific SNOMED findings, valid only for their own field.
_FIELD_RESULT = {
    ("er_status", SNOMED, "416053008"): "Positive", ("er_status", SNOMED, "441117001"): "Negative",
    ("pr_status", SNOMED, "416561008"): "Positive", ("pr_status", SNOMED, "441118006"): "Negative",
    ("her2_status", SNOMED, "427685000"): "Positive", ("her2_status", SNOMED, "431396003"): "Negative",
    # LOINC answers for the HER2 IHC score (ASCO/CAP: 0 and 1+ negative, 2+ equivocal, 3+ positive)
    ("her2_status", LOINC, "LA6111-4"): "Negative", ("her2_status", LOINC, "LA11841-6"): "Negative",
    ("her2_status", LOINC, "LA11842-4"): "Equivocal", ("her2_status", LOINC, "LA11843-2"): "Positive",
}
_GRADE = {
    (SNOMED, "1155708003"): 1.0, (SNOMED, "1286893008"): 2.0, (SNOMED, "1155707008"): 3.0,  # mCODE
    (SNOMED, "1228848004"): 1.0, (SNOMED, "1228850007"): 2.0, (SNOMED, "1228851006"): 3.0,  # AJCC G1-3
    (SNOMED, "399415002"): 1.0, (SNOMED, "405986005"): 2.0, (SNOMED, "399611001"): 3.0,     # ICHOM
}
_MENOPAUSE = {
    (SNOMED, "309606002"): "Pre", (SNOMED, "307429007"): "Post", (SNOMED, "76498008"): "Post",
}
# AJCC TNM categories as SNOMED CT concepts (breast-relevant subset).
_TNM_SNOMED = {
    "tnm_t": {
        "1222604002": "cTX", "1228882005": "cT0", "1228884006": "cTis", "1228885007": "cTis(DCIS)",
        "1228888009": "cTis(Paget)", "1228889001": "cT1", "1228891009": "cT1mi", "1228892002": "cT1a",
        "1228895000": "cT1b", "1228899006": "cT1c", "1228929004": "cT2", "1228938002": "cT3",
        "1228944003": "cT4", "1228945002": "cT4a", "1228946001": "cT4b", "1228947005": "cT4c",
        "1228948000": "cT4d", "1228950008": "pTX", "1228951007": "pT0", "1228954004": "pTis(DCIS)",
        "1228956002": "pTis(Paget)", "1228957006": "pT1", "1229852009": "pT2", "1229859000": "pT3",
        "1229864001": "pT4",
    },
    "tnm_n": {
        "1229966003": "cNX", "1229967007": "cN0", "1229973008": "cN1", "1229978004": "cN2",
        "1229981009": "cN2a", "1229982002": "cN2b", "1229984001": "cN3", "1229985000": "cN3a",
        "1229986004": "cN3b", "1229987008": "cN3c", "1229945006": "pNX", "1229947003": "pN0",
        "1229951001": "pN1", "1229957002": "pN2", "1229962001": "pN3",
    },
    "tnm_m": {"1229901006": "cM0", "1229903009": "cM1", "1229916009": "pM1"},
}
_STAGE_SNOMED = {
    "1222605001": 0.0, "1222723001": 1.0, "1222724007": 1.0, "1222728005": 1.0,
    "1222765007": 2.0, "1222766008": 2.0, "1222769001": 2.0,
    "1222801008": 3.0, "1222802001": 3.0, "1222805004": 3.0, "1222806003": 3.0,
    "1222837003": 4.0,
}
_PRIMARY_CANCER = {
    (SNOMED, "254837009"),        # malignant neoplasm of breast
    (SNOMED, "372064008"),        # malignant neoplasm of female breast
    (SNOMED, "353431000119107"),  # primary malignant neoplasm of female left breast [mCODE]
    (SNOMED, "363346000"),        # malignant neoplastic disease [mCODE breast example]
}
_PRIMARY_CANCER_ICD_PREFIX = "C50"  # ICD-10 / ICD-10-CM malignant neoplasm of breast

# Medicines -> (treatment class, ingredient). Classes: chemotherapy, hormone_therapy, anti_her2.
_CHEMO, _HORMONE, _HER2 = "chemotherapy", "hormone_therapy", "anti_her2"
_DRUGS: dict[tuple[str, str], tuple[str, str]] = {}
for _name, _cls, _rx, _sct in (
    ("tamoxifen", _HORMONE, "10324", "373345002"), ("letrozole", _HORMONE, "72965", "386911004"),
    ("anastrozole", _HORMONE, "84857", "386910003"), ("exemestane", _HORMONE, "258494", "387017005"),
    ("fulvestrant", _HORMONE, "282357", "385519002"), ("goserelin", _HORMONE, "50610", "108771008"),
    ("leuprorelin", _HORMONE, "42375", "397198002"), ("toremifene", _HORMONE, "38409", "387588002"),
    ("doxorubicin", _CHEMO, "3639", "372817009"), ("epirubicin", _CHEMO, "3995", "417916005"),
    ("paclitaxel", _CHEMO, "56946", "387374002"), ("docetaxel", _CHEMO, "72962", "386918005"),
    ("cyclophosphamide", _CHEMO, "3002", "387420009"), ("fluorouracil", _CHEMO, "4492", "387172005"),
    ("capecitabine", _CHEMO, "194000", "386906001"), ("carboplatin", _CHEMO, "40048", "386905002"),
    ("cisplatin", _CHEMO, "2555", "387318005"), ("methotrexate", _CHEMO, "6851", "387381009"),
    ("gemcitabine", _CHEMO, "12574", "386920008"), ("vinorelbine", _CHEMO, "39541", "372541004"),
    ("eribulin", _CHEMO, "1045452", "448800004"),
    ("trastuzumab", _HER2, "224905", "387003001"), ("pertuzumab", _HER2, "1298944", "704226002"),
    ("trastuzumab emtansine", _HER2, "1371041", "702836004"),
):
    _DRUGS[(RXNORM, _rx)] = (_cls, _name)
    _DRUGS[(SNOMED, _sct)] = (_cls, _name)
_DRUGS.update({
    # product-level RxNorm codes from [CTS2]
    (RXNORM, "313195"): (_HORMONE, "tamoxifen"), (RXNORM, "310261"): (_HORMONE, "exemestane"),
    (RXNORM, "105585"): (_CHEMO, "methotrexate"), (RXNORM, "1791700"): (_CHEMO, "fluorouracil"),
    (RXNORM, "589511"): (_CHEMO, "paclitaxel (albumin-bound)"),
    # SNOMED product classes from [ICHOM]
    (SNOMED, "108787006"): (_CHEMO, "anthracycline"), (SNOMED, "418965003"): (_CHEMO, "taxane"),
    (SNOMED, "768621002"): (_CHEMO, "platinum compound"),
    # ATC codes
    (ATC, "L02BA01"): (_HORMONE, "tamoxifen"), (ATC, "L02BA03"): (_HORMONE, "fulvestrant"),
    (ATC, "L02BG03"): (_HORMONE, "anastrozole"), (ATC, "L02BG04"): (_HORMONE, "letrozole"),
    (ATC, "L02BG06"): (_HORMONE, "exemestane"), (ATC, "L02AE03"): (_HORMONE, "goserelin"),
})
# ATC groups (WHO ATC index): L01A alkylating agents, L01B antimetabolites, L01C plant alkaloids
# (taxanes, vinca), L01D cytotoxic antibiotics (anthracyclines), L01XA platinum compounds;
# L02 endocrine therapy; L01FD / L01XC03 / L01XC13 anti-HER2 antibodies.
_ATC_PREFIXES = (
    ("L01FD", _HER2), ("L01XC03", _HER2), ("L01XC13", _HER2),
    ("L01A", _CHEMO), ("L01B", _CHEMO), ("L01C", _CHEMO), ("L01D", _CHEMO), ("L01XA", _CHEMO),
    ("L02A", _HORMONE), ("L02B", _HORMONE),
)
# Procedure.code / Procedure.category -> treatment class.
_PROCEDURES = {
    (SNOMED, "1217123003"): "radio_therapy",  # radiotherapy course of treatment [mCODE]
    (SNOMED, "108290001"): "radio_therapy",   # radiation oncology and/or radiotherapy
    (SNOMED, "33195004"): "radio_therapy",    # teleradiotherapy
    (SNOMED, "152198000"): "radio_therapy",   # brachytherapy
    (SNOMED, "385798007"): "radio_therapy",   # radiation therapy care
    (SNOMED, "367336001"): _CHEMO,            # chemotherapy
    (SNOMED, "169413002"): _HORMONE,          # hormone therapy
}
_BUNDLE_TYPES = ("document", "message", "transaction", "transaction-response", "batch", "batch-response",
                 "history", "searchset", "collection")
_UNIT_TO_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "um": 0.001, "[in_i]": 25.4}

_GIVEN_STATUSES = frozenset({"active", "completed", "stopped", "on-hold", "in-progress"})
_NOT_GIVEN_STATUSES = frozenset({"not-taken", "not-done", "cancelled", "entered-in-error", "draft",
                                 "intended", "preparation", "unknown", "revoked"})


@dataclass(frozen=True)
class ClinicalRecord:
    """One patient's clinical fields, mapped to the cohort's canonical names.

    Attributes
    ----------
    values
        Canonical field name -> value: float for numeric fields, the canonical category string
        (``Positive``, ``Pre``, ...) for categorical ones, 0/1 for treatments, str for TNM.
    unknown
        Fields, columns or codes present in the input but not mapped (names and codes only).
    warnings
        Plain-words warnings (conflicts, derived values, skipped resources). No patient values.
    facts
        Provenance: ``format`` (csv, json or fhir), ``sha256`` of the input, mCODE ``profiles``
        seen, ``codes_mapped`` and format details. CSV/JSON records with direct identifiers add
        ``identifiers_dropped`` (their categories, from :data:`IDENTIFIER_CATEGORIES`; no names or
        values) and, when a diagnosis date was given, ``diagnosis_year`` (the only part of any date kept).
    patient_ref
        The record's own patient id as given; the caller pseudonymises it and never logs it.
    """

    values: dict[str, Any]
    unknown: tuple[str, ...]
    warnings: tuple[str, ...]
    facts: dict[str, Any]
    patient_ref: str | None


@dataclass(frozen=True)
class _Schema:
    fields: dict[str, ClinicalField]
    clinical: tuple[str, ...]
    treatments: tuple[str, ...]
    patient_id_col: str
    lookup: dict[str, str]  # normalised name (lower case, underscores) -> canonical field name

    def known(self, name: str) -> bool:
        return name in self.fields or name in self.treatments


def _schema(spec: CohortSpec | None) -> _Schema:
    clinical = tuple(spec.clinical) if spec is not None else BREAST_CLINICAL
    treatments = tuple(spec.treatments) if spec is not None else DEFAULT_TREATMENTS
    fields = {f.name: f for f in clinical}
    for extra in EXTRA_FIELDS:
        fields.setdefault(extra.name, extra)
    pid = spec.patient_id_col if spec is not None else "patient_id"
    lookup = {_norm_key(n): n for n in (*treatments, *fields)}
    return _Schema(fields, tuple(f.name for f in clinical), treatments, pid, lookup)


# ---------------------------------------------------------------------------------------------
# Public API


def read_records(
    source: Any, *, name: str | None = None, spec: CohortSpec | None = None, deadline: Deadline | float | None = None
) -> ClinicalRecord:
    """Read one patient's clinical record from CSV/TSV, JSON or a FHIR R4 Bundle.

    Parameters
    ----------
    source
        Path, bytes or file-like object (e.g. a Streamlit upload). Gzip, UTF-8 (BOM) and UTF-16
        are accepted; the content is sniffed, the file name is only a display hint.
    name
        Display name for messages (defaults to the path or upload name).
    spec
        Cohort spec whose clinical fields and treatment columns are the target names;
        ``None`` means the breast fields (``BREAST_CLINICAL``) and the METABRIC treatments.
    deadline
        Wall-clock budget: a :class:`~genomics.sniff.Deadline` (shared with the caller), seconds, or
        ``None`` for ``ONCOTX_PARSE_SECONDS`` (default 60 s).

    Returns
    -------
    ClinicalRecord

    Raises
    ------
    InputError
        For anything that cannot be read as one patient's record, or that takes longer than the
        deadline; the message names fields and codes, never patient values.
    """
    dl = Deadline.of(deadline)
    schema = _schema(spec)
    payload = read_source(source, name=name)
    dl.check()
    payload, text, encoding = open_text_payload(payload, deadline=dl)
    facts: dict[str, Any] = {"sha256": payload.sha256, "encoding": encoding, "compressed": payload.compressed}
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        data = _load_json(stripped, payload.name, dl)
        if isinstance(data, dict) and "resourceType" in data:
            record = _FhirReader(schema, payload.name, dl).read(data, facts)
        else:
            record = _read_json_record(data, schema, payload.name, facts, dl)
    else:
        record = _read_table(stripped, schema, payload.name, facts, dl)
    logger.info(
        "clinical record read: format=%s fields=%d unknown=%d warnings=%d identifier categories dropped=%d",
        record.facts.get("format"), len(record.values), len(record.unknown), len(record.warnings),
        len(record.facts.get("identifiers_dropped", ())),
    )
    return record


def check_record(record: ClinicalRecord, *, spec: CohortSpec | None = None) -> tuple[list[str], list[str]]:
    """Check a record's values against the cohort's fields.

    Parameters
    ----------
    record
        A record from :func:`read_records` (or built by hand).
    spec
        Cohort spec; ``None`` means the breast fields and METABRIC treatments.

    Returns
    -------
    (errors, warnings)
        One plain line per problem, naming the field and the allowed range or categories,
        never the value itself. Errors: out of range, not a number, unknown category, treatment
        not 0/1. Warnings: fields the cohort does not use, odd TNM strings, missing fields.
    """
    schema = _schema(spec)
    errors: list[str] = []
    warnings: list[str] = []
    for fname, value in record.values.items():
        if fname in schema.treatments:
            if isinstance(value, bool) or not _is_number(value) or value not in (0, 1):
                errors.append(f"{fname} must be 0 (not given) or 1 (given).")
            continue
        field = schema.fields.get(fname)
        if field is None:
            warnings.append(f"{_safe_name(fname)} is not a field of this cohort and will be ignored.")
            continue
        errors.extend(_check_value(field, value, warnings))
    missing = [f for f in schema.clinical if f not in record.values]
    if missing:
        warnings.append("Missing clinical fields: " + ", ".join(missing) + ".")
    return errors, warnings


# ---------------------------------------------------------------------------------------------
# Value normalisation and checks


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numeric_categories(field: ClinicalField) -> tuple[float, ...] | None:
    try:
        return tuple(float(c) for c in field.categories)
    except ValueError:
        return None


def _is_numeric_field(field: ClinicalField) -> bool:
    if field.kind == "numeric":
        return True
    return field.kind == "ordinal" and bool(field.categories) and _numeric_categories(field) is not None


def _check_value(field: ClinicalField, value: Any, warnings: list[str]) -> list[str]:
    name = field.name
    unit = f" {field.unit}" if field.unit and field.unit not in ("%",) else field.unit
    if _is_numeric_field(field):
        if not _is_number(value) or not math.isfinite(float(value)):
            return [f"{name} must be a number."]
        v = float(value)
        problems = []
        lo, hi = field.min_value, field.max_value
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            if lo is not None and hi is not None:
                problems.append(f"{name} must be between {lo:g} and {hi:g}{unit}.")
            elif lo is not None:
                problems.append(f"{name} must be at least {lo:g}{unit}.")
            else:
                problems.append(f"{name} must be at most {hi:g}{unit}.")
        if (name in _INTEGER_FIELDS or field.kind == "ordinal") and not float(v).is_integer():
            problems.append(f"{name} must be a whole number.")
        cats = _numeric_categories(field) if field.kind == "ordinal" else None
        if cats and not problems and v not in cats:
            problems.append(f"{name} must be one of {', '.join(field.categories)}.")
        return problems
    if field.kind == "binary":
        if isinstance(value, bool) or not _is_number(value) or value not in (0, 1):
            return [f"{name} must be 0 or 1."]
        return []
    if field.categories:
        if value not in field.categories:
            return [f"{name} is not one of {', '.join(field.categories)}."]
        return []
    if not isinstance(value, str) or not value.strip():
        return [f"{name} must be text."]
    if name.startswith("tnm_") and not _TNM_RE.match(value):
        warnings.append(f"{name} does not look like a TNM category (e.g. cT2, pN1a, cM0).")
    return []


class _BadValue(Exception):
    """A value that cannot be read for its field (the message names the field only)."""


def _is_missing(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    return isinstance(raw, str) and raw.strip().lower() in _MISSING_TOKENS


def _to_float(raw: Any, fname: str, *, percent: bool = False) -> float:
    if isinstance(raw, bool):
        raise _BadValue(f"{fname}: expected a number, got true/false.")
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if percent and text.endswith("%"):
            text = text[:-1].strip()
        if re.fullmatch(r"[+-]?\d+,\d+", text):
            raise _BadValue(f"{fname}: not a number (decimal commas are not accepted; use a point).")
        try:
            value = float(text)
        except ValueError:
            raise _BadValue(f"{fname}: not a number.") from None
    else:
        raise _BadValue(f"{fname}: expected a number.")
    if not math.isfinite(value):
        raise _BadValue(f"{fname}: not a finite number.")
    return value


def _parse_stage(raw: Any) -> float | None:
    if _is_number(raw):
        return float(raw)
    if not isinstance(raw, str):
        return None
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        return value if math.isfinite(value) else None
    m = _STAGE_RE.match(raw.strip())
    if not m:
        return None
    token = m.group(1).upper()
    return float({"0": 0, "I": 1, "II": 2, "III": 3, "IV": 4}.get(token, token))


def _normalise(schema: _Schema, fname: str, raw: Any) -> Any:
    """Canonical value for one field, or raise _BadValue; categorical misfits are kept as given."""
    if fname in schema.treatments:
        if isinstance(raw, bool):
            return int(raw)
        if _is_number(raw):
            return int(raw) if float(raw).is_integer() else float(raw)
        token = str(raw).strip().lower()
        if token in _TRUE_TOKENS:
            return 1
        if token in _FALSE_TOKENS:
            return 0
        raise _BadValue(f"{fname}: expected 0/1 (or yes/no).")
    field = schema.fields[fname]
    if fname == "tumor_stage":
        stage = _parse_stage(raw)
        if stage is None:
            raise _BadValue(f"{fname}: expected a stage 0-4 (or I-IV).")
        return stage
    if fname == "grade" and isinstance(raw, str) and re.fullmatch(r"(?i)\s*(?:g|grade\s*)[1-4]\s*", raw):
        return float(raw.strip()[-1])
    if _is_numeric_field(field):
        return _to_float(raw, fname, percent=field.unit == "%")
    if field.kind == "binary":
        if isinstance(raw, bool):
            return int(raw)
        token = str(raw).strip().lower()
        if token in _TRUE_TOKENS:
            return 1
        if token in _FALSE_TOKENS:
            return 0
        return raw
    if not isinstance(raw, str):
        return raw if _is_number(raw) else str(raw)
    text = raw.strip()
    if field.categories:
        lower = text.lower()
        for cat in field.categories:
            if lower == cat.lower() or lower in _CATEGORY_SYNONYMS.get(cat.lower(), ()):
                return cat
    return text


def _safe_name(text: Any, limit: int = 60) -> str:
    cleaned = "".join(ch for ch in str(text) if ch.isprintable() and ch not in "<>\"'`")
    cleaned = cleaned.strip() or "(unnamed)"
    return cleaned[:limit] + ("…" if len(cleaned) > limit else "")


def _norm_key(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def _from_items(
    items: list[tuple[str, Any]],
    schema: _Schema,
    where: str,
    source_name: str,
    *,
    scan: _IdentifierScan | None = None,
    deadline: Deadline | None = None,
) -> tuple[dict[str, Any], list[str], str | None, list[str], dict[str, Any]]:
    """Map (name, raw value) pairs onto canonical fields, dropping direct identifiers.

    Returns values, unknown, patient ref, warnings and facts (``identifiers_dropped``,
    ``diagnosis_year``); ``scan`` may already hold identifiers found elsewhere in the input.
    """
    scan = scan if scan is not None else _IdentifierScan()
    values: dict[str, Any] = {}
    unknown: list[str] = []
    problems: list[str] = []
    patient_ref: str | None = None
    pid = _norm_key(schema.patient_id_col)
    for raw_name, raw in items:
        if deadline is not None:
            deadline.tick()
        if _norm_key(raw_name) == pid:
            if not _is_missing(raw) and not isinstance(raw, (dict, list, bool)):
                patient_ref = str(raw).strip()
            continue
        key = schema.lookup.get(_norm_key(raw_name))
        if key is None:
            if not scan.take(raw_name, raw) and not _is_missing(raw):
                unknown.append(f"{where} {_safe_name(raw_name)} (not used)")
            continue
        if _is_missing(raw):
            continue
        if isinstance(raw, (dict, list)):
            problems.append(f"{key}: expected a single value, not an object or list.")
            continue
        try:
            value = _normalise(schema, key, raw)
        except _BadValue as exc:
            problems.append(str(exc))
            continue
        if scan.identifying_value(schema, key, value):
            continue
        values[key] = value
    if problems:
        raise InputError(
            f"{source_name}: {len(problems)} value(s) could not be read: " + "; ".join(problems),
            problems=problems,
        )
    warnings, facts = scan.resolve(values, schema)
    if not values:
        raise InputError(
            f"{source_name} has no clinical fields of this cohort ({len(items)} {where}(s) read, none of them "
            f"known). Use the cohort's field names, e.g. {', '.join(list(schema.fields)[:3])}."
        )
    return values, unknown, patient_ref, warnings, facts


# ---------------------------------------------------------------------------------------------
# Direct identifiers (CSV/TSV and plain JSON; the FHIR reader never reads Patient details)

ID_NAME = "name"
ID_RECORD = "record number"
ID_NATIONAL = "national id"
ID_ACCOUNT = "insurance or account number"
ID_ADDRESS = "address"
ID_PHONE = "phone number"
ID_EMAIL = "email"
ID_BIRTH = "date of birth"
ID_DATE = "exact date"
ID_OTHER = "other identifier"
IDENTIFIER_CATEGORIES = (ID_NAME, ID_RECORD, ID_NATIONAL, ID_ACCOUNT, ID_ADDRESS, ID_PHONE, ID_EMAIL, ID_BIRTH,
                         ID_DATE, ID_OTHER)

# Column/key names, compared without case or separators ("Date of Birth", "date-of-birth", "dateOfBirth").
_NAME_KEYS = frozenset({
    "name", "names", "firstname", "lastname", "givenname", "givennames", "familyname", "surname", "forename",
    "forenames", "middlename", "maidenname", "fullname", "patientname", "ptname", "nickname", "preferredname",
    "initials", "patientinitials",
})
_NAME_PREFIXES = (
    "first", "last", "given", "family", "patient", "pt", "full", "middle", "maiden", "legal", "preferred", "nick",
    "mother", "father", "parent", "spouse", "partner", "kin", "nextofkin", "contact", "emergency", "guardian",
    "carer", "doctor", "physician", "gp", "consultant", "clinician", "practitioner", "oncologist", "surgeon",
    "nurse", "referrer", "referring",
)
_RECORD_KEYS = frozenset({
    "mrn", "mrno", "medicalrecord", "medicalrecordnumber", "medicalrecordno", "medicalrecordid", "hospitalnumber",
    "hospitalno", "hospitalid", "hospitalrecordnumber", "patientnumber", "patientno", "casenumber", "caseno",
    "chartnumber", "chartno", "recordnumber", "recordno", "unitnumber", "encounterid", "encounternumber",
    "accessionnumber", "visitnumber", "admissionnumber", "episodenumber", "labnumber", "uhid",
})
_NATIONAL_KEYS = frozenset({
    "ssn", "sin", "nhs", "nhsid", "chi", "chinumber", "chino", "ninumber", "nino", "bsn", "personnummer", "taxid",
    "taxnumber", "healthcard", "healthcardnumber", "medicarenumber", "medicaidnumber", "medicare", "medicaid",
})
_NATIONAL_STEMS = ("socialsecurity", "nhsnumber", "nhsno", "nationalid", "nationalinsurance", "passport",
                   "license", "licence", "ssn")
_ACCOUNT_KEYS = frozenset({
    "memberid", "membernumber", "memberno", "subscriberid", "subscribernumber", "payerid", "policynumber",
    "policyno", "policyid", "accountnumber", "accountno", "accountid", "bankaccount", "iban", "creditcard",
    "cardnumber", "healthplanid", "beneficiaryid", "groupnumber",
})
_PHONE_KEYS = frozenset({
    "tel", "telno", "telnumber", "mobile", "mobileno", "mobilenumber", "cell", "cellno", "fax", "faxno",
    "faxnumber", "pager", "contactnumber", "contactno",
})
_ADDRESS_KEYS = frozenset({
    "zip", "zipcode", "city", "town", "village", "county", "residence", "housenumber", "houseno", "suburb",
    "district", "municipality", "locality", "placeofbirth", "birthplace",
})
_ADDRESS_STEMS = ("address", "street", "postcode", "postalcode", "zipcode")
_OTHER_KEYS = frozenset({
    "ip", "ipaddress", "url", "website", "webpage", "homepage", "photo", "photograph", "picture", "fingerprint",
    "biometric", "vehicle", "licenseplate", "numberplate", "serialnumber", "deviceserial", "username", "login",
    "userid", "twitter", "facebook", "socialmedia",
})
_DATE_TOKENS = frozenset({"date", "dates", "datetime", "dt", "dod", "timestamp", "dated"})
_DATE_KEY_RE = re.compile(
    r"(?:diagnosis|diagnosed|dx|surgery|operation|visit|death|died|admission|admit|discharge|onset|biopsy|"
    r"followup|lastcontact|contact|consent|collection|sample|specimen|treatment|recurrence|relapse|progression|"
    r"enrolment|enrollment|registration|referral|appointment|exam|report)(?:date|dt|on)$|^dateof"
)

# Values (columns that are not cohort fields, and free-text values of cohort fields).
_VALUE_SCAN_CHARS = 2000
_EMAIL_VALUE_RE = re.compile(r"(?<![\w.%+\-])[\w.%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,}")
_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                             "nov", "dec"))}
_MONTH_RE = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?"
_YMD_RE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_DMY_RE = re.compile(r"(?<![\d.])(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?![\d.])")
_D_MON_Y_RE = re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?[\s\-/]+{_MONTH_RE}[\s\-/,]+(\d{{4}})(?!\d)", re.I)
_MON_D_Y_RE = re.compile(rf"\b{_MONTH_RE}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", re.I)
_YYYYMMDD_RE = re.compile(r"(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")
_SSN_RE = re.compile(r"\d{3}-\d{2}-\d{4}")
_NHS_RE = re.compile(r"\d{3}[ \-]?\d{3}[ \-]?\d{4}")
_PHONE_RE = re.compile(r"\+?[\d\s().\-]{7,24}")
_SCAN_NODES = 200  # nested JSON nodes looked at per value


def _key_parts(name: Any) -> tuple[list[str], str]:
    """Lower-case tokens of a column/key name (camelCase split) and the tokens joined."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name)[:200])
    tokens = [t for t in re.split(r"[^a-z0-9]+", text.lower()) if t]
    return tokens, "".join(tokens)


def _identifier_by_name(name: Any) -> str | None:
    """The identifier category a column/key name announces, or None."""
    tokens, key = _key_parts(name)
    if not key:
        return None
    if "birth" in key or "born" in tokens or "dob" in tokens or key.endswith("dob"):
        if any(s in key for s in ("place", "city", "town")):
            return ID_ADDRESS
        if not any(s in key for s in ("weight", "country", "order", "rank", "control", "cohort")):
            return ID_BIRTH
    if "email" in key or key in ("mail", "eaddress"):
        return ID_EMAIL
    if "phone" in key or key in _PHONE_KEYS:
        return ID_PHONE
    if key in _NATIONAL_KEYS or any(s in key for s in _NATIONAL_STEMS):
        return ID_NATIONAL
    if key in _ACCOUNT_KEYS or "insurance" in key:
        return ID_ACCOUNT
    if key in _RECORD_KEYS or "mrn" in tokens or key.startswith("mrn") or "medicalrecord" in key:
        return ID_RECORD
    if (key in _NAME_KEYS or "surname" in key or "forename" in key or key.endswith("fullname")
            or (key.endswith("name") and key.startswith(_NAME_PREFIXES))):
        return ID_NAME
    if key in _OTHER_KEYS or key.endswith("ipaddress"):
        return ID_OTHER
    if key in _ADDRESS_KEYS or any(s in key for s in _ADDRESS_STEMS) or {"city", "town", "zip"} & set(tokens):
        return ID_ADDRESS
    if _DATE_TOKENS & set(tokens) or _DATE_KEY_RE.search(key):
        return ID_DATE
    return None


def _is_diagnosis_key(name: Any) -> bool:
    tokens, key = _key_parts(name)
    return "diagnos" in key or "dx" in tokens or key.startswith("dx") or "onset" in key


def _nhs_checksum(digits: str) -> bool:
    """NHS number modulus-11 check digit."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _plausible_day_month(first: int, second: int) -> bool:
    return 1 <= first <= 31 and 1 <= second <= 31 and min(first, second) <= 12


def _identifier_in_text(text: str) -> str | None:
    """The identifier category of one text value (e-mail, exact date, NHS/SSN-like number, phone), or None."""
    text = text.strip()[:_VALUE_SCAN_CHARS]
    if len(text) < 6:
        return None
    if "@" in text and _EMAIL_VALUE_RE.search(text):
        return ID_EMAIL
    if any(1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(3)) <= 31 for m in _YMD_RE.finditer(text)):
        return ID_DATE
    if any(_plausible_day_month(int(m.group(1)), int(m.group(2))) for m in _DMY_RE.finditer(text)):
        return ID_DATE
    if _D_MON_Y_RE.search(text) or _MON_D_Y_RE.search(text) or _YYYYMMDD_RE.fullmatch(text):
        return ID_DATE
    if _SSN_RE.fullmatch(text):
        return ID_NATIONAL
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.isdigit():
        if text[0] == "0" and 9 <= len(text) <= 12:
            return ID_PHONE
        return ID_NATIONAL if 9 <= len(text) <= 12 else None
    if _NHS_RE.fullmatch(text):
        return ID_NATIONAL if _nhs_checksum(digits) else ID_PHONE
    if _PHONE_RE.fullmatch(text) and 7 <= len(digits) <= 15:
        try:
            float(text)
        except ValueError:
            groups = len(re.findall(r"\d+", text))
            if groups >= 3 or (text[0] in "+(0" and len(digits) >= 9):
                return ID_PHONE
    return None


def _identifier_by_value(raw: Any) -> str | None:
    """The identifier category of a scalar value, or None (numbers other than whole ones are never identifiers)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return _identifier_in_text(str(raw)) if abs(raw) < 10**15 else None
    if isinstance(raw, str):
        return _identifier_in_text(raw)
    return None


def _parse_any_date(raw: Any) -> tuple[int, int | None, int | None] | None:
    """(year, month, day) of a date as written in a record: ISO (``1961-03-14``, ``1961-03``, ``1961``),
    ``14/03/1961`` (day/month, or month/day when the first number exceeds 12; year only when both could be
    the month), ``14 March 1961``, ``March 14, 1961``, ``19610314``. Two-digit years are not guessed."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    text = raw.strip()[:64]
    parts: tuple[int, int | None, int | None] | None = None
    if m := re.fullmatch(r"(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?(?:[T ][\d:.+\-Z ]*)?", text):
        parts = (int(m.group(1)), int(m.group(2)) if m.group(2) else None, int(m.group(3)) if m.group(3) else None)
    elif m := re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[T ][\d:.+\-Z ]*)?", text):
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if a > 12 >= b:
            parts = (year, b, a)
        elif b > 12 >= a:
            parts = (year, a, b)
        else:
            parts = (year, a, a) if a == b else (year, None, None)
    elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{4})", text):
        parts = (int(m.group(2)), int(m.group(1)), None)
    elif m := _D_MON_Y_RE.fullmatch(text):
        parts = (int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
    elif m := _MON_D_Y_RE.fullmatch(text):
        parts = (int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
    elif _YYYYMMDD_RE.fullmatch(text):
        parts = (int(text[:4]), int(text[4:6]), int(text[6:]))
    if parts is None or not 1850 <= parts[0] <= 2200:
        return None
    year, month, day = parts
    if month is not None and not 1 <= month <= 12:
        return None
    if day is not None:
        try:
            date(year, month or 1, day)
        except ValueError:
            return None
    return parts


class _IdentifierScan:
    """Collects the direct identifiers met while mapping a CSV/JSON record: their categories (never
    names or values), and the raw birth and diagnosis dates, kept only until age is derived."""

    def __init__(self) -> None:
        self.found: set[str] = set()
        self.births: list[Any] = []
        self.diagnoses: list[Any] = []
        self.fields: list[str] = []  # cohort fields whose value looked like an identifier

    def take(self, name: Any, raw: Any, *, _path: str = "", _depth: int = 0, _budget: list[int] | None = None) -> bool:
        """True when the unknown column/key ``name`` with value ``raw`` is a direct identifier (by name, or
        by value when the name says nothing); it is then remembered by category only and must be dropped.
        Objects and lists (JSON) are looked into, a bounded number of nodes deep."""
        budget = _budget if _budget is not None else [_SCAN_NODES]
        budget[0] -= 1
        path = f"{_path}_{name}" if _path else str(name)[:200]  # "diagnosis" + "date" is a diagnosis date
        category = _identifier_by_name(name)
        if category is not None:
            if _is_missing(raw) or raw == {} or raw == []:
                return True  # an empty identifier column: nothing to drop, nothing to list
            self.found.add(category)
            if category == ID_BIRTH:
                self.births.append(raw)
            elif category == ID_DATE and _is_diagnosis_key(path):
                self.diagnoses.append(raw)
            return True
        if isinstance(raw, (dict, list)):
            if _depth >= 6 or budget[0] <= 0:
                return False
            pairs = raw.items() if isinstance(raw, dict) else ((name, item) for item in raw)
            hit = False
            for key, value in pairs:
                if budget[0] <= 0:
                    break
                hit = self.take(key, value, _path=_path if isinstance(raw, list) else path, _depth=_depth + 1,
                                _budget=budget) or hit
            return hit
        category = None if _is_missing(raw) else _identifier_by_value(raw)
        if category is None:
            return False
        self.found.add(category)
        if category == ID_DATE and _is_diagnosis_key(path):
            self.diagnoses.append(raw)
        return True

    def identifying_value(self, schema: _Schema, key: str, value: Any) -> bool:
        """True when a cohort field's free-text value (not one of its categories) looks like an identifier."""
        if not isinstance(value, str):
            return False
        spec_field = schema.fields.get(key)
        if spec_field is not None and value in spec_field.categories:
            return False
        category = _identifier_in_text(value)
        if category is None:
            return False
        self.found.add(category)
        self.fields.append(key)
        return True

    def resolve(self, values: dict[str, Any], schema: _Schema) -> tuple[list[str], dict[str, Any]]:
        """Derive age at diagnosis where needed (into ``values``); returns the warnings and facts to add."""
        warnings: list[str] = []
        facts: dict[str, Any] = {}
        diagnoses = [d for d in (_parse_any_date(x) for x in self.diagnoses) if d is not None]
        births = {b for b in (_parse_any_date(x) for x in self.births) if b is not None}
        onset = min(diagnoses, key=lambda d: (d[0], d[1] or 0, d[2] or 0)) if diagnoses else None
        if onset is not None:
            facts["diagnosis_year"] = onset[0]
        derived_note = ""
        want_age = schema.known("age_at_diagnosis")
        if want_age and (self.births or self.diagnoses):
            age, precision, problem = self._age(births, onset)
            if not self.births:
                problem = "no date of birth was found."
            elif not births:
                problem = "the date of birth is not a date with a four-digit year."
            elif not self.diagnoses:
                problem = "no diagnosis date was found."
            elif onset is None:
                problem = "the diagnosis date is not a date with a four-digit year."
            given = values.get("age_at_diagnosis")
            if age is not None and given is None:
                values["age_at_diagnosis"] = age
                derived_note = (
                    " Age at diagnosis was derived from the date of birth and the diagnosis date; only the "
                    "diagnosis year was kept." if precision == "day" else
                    " Age at diagnosis was derived from the birth and diagnosis years only (accurate to ±1 year); "
                    "only the diagnosis year was kept."
                )
            elif age is not None and _is_number(given) and abs(float(given) - age) > 1.0:
                warnings.append("age_at_diagnosis differs by more than a year from the age given by the date of "
                                "birth and the diagnosis date; the given age was used.")
            elif age is None and given is None:
                warnings.append(f"Age at diagnosis could not be derived: {problem}")
        if self.found:
            shown = ", ".join(c for c in IDENTIFIER_CATEGORIES if c in self.found)
            warnings.insert(0, f"Direct identifiers were removed and not stored: {shown}.{derived_note}")
            facts["identifiers_dropped"] = [c for c in IDENTIFIER_CATEGORIES if c in self.found]
        if self.fields:
            warnings.append(f"{', '.join(dict.fromkeys(self.fields))}: the value looks like a direct identifier "
                            "(an e-mail address, phone number, date or ID number) and was not used.")
        return warnings, facts

    @staticmethod
    def _age(
        births: set[tuple[int, int | None, int | None]], onset: tuple[int, int | None, int | None] | None
    ) -> tuple[float | None, str, str]:
        """(age, "day" or "year" precision, why not) from one date of birth and the diagnosis date."""
        if not births or onset is None:
            return None, "", "it needs a date of birth and a diagnosis date."
        if len(births) > 1:
            return None, "", "the record holds different dates of birth."
        birth = next(iter(births))
        if all(part is not None for part in (*birth, *onset)):
            days = (date(*onset) - date(*birth)).days  # type: ignore[arg-type]
            age, precision = round(days / 365.25, 2), "day"
        else:
            age, precision = float(onset[0] - birth[0]), "year"
        if not 0 <= age <= 120:
            return None, "", "the date of birth and the diagnosis date give an impossible age."
        return age, precision, ""


# ---------------------------------------------------------------------------------------------
# CSV / TSV


def _read_table(
    text: str, schema: _Schema, source_name: str, facts: dict[str, Any], deadline: Deadline
) -> ClinicalRecord:
    first = next((line for line in text[: 1 << 20].splitlines() if line.strip()), None)
    if first is None:  # over a megabyte of blank lines first
        first = next((line for line in deadline.iterate(text.splitlines()) if line.strip()), "")
    counts = {d: first.count(d) for d in ("\t", ";", ",")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    try:
        rows = [[cell.strip() for cell in row]
                for row in deadline.iterate(csv.reader(io.StringIO(text), delimiter=delimiter))]
    except csv.Error:
        raise InputError(f"{source_name} is not a readable CSV/TSV table.") from None
    rows = [row for row in rows if any(row)]
    if not rows:
        raise InputError(f"{source_name} is empty.")
    names = {_norm_key(schema.patient_id_col)} | set(schema.lookup)

    def known_share(cells: list[str]) -> float:
        cells = [c for c in cells if c]
        return sum(_norm_key(c) in names for c in cells) / len(cells) if cells else 0.0

    long_header = tuple(_norm_key(c) for c in rows[0]) in _LONG_HEADERS
    is_long = False
    if all(len(row) == 2 for row in rows):
        body = rows[1:] if long_header else rows
        is_long = long_header or known_share([row[0] for row in body]) > known_share(rows[0])
    items: list[tuple[str, Any]] = []
    if is_long:
        seen: dict[str, str] = {}
        for row in rows[1:] if long_header else rows:
            fname, raw = row
            if not fname:
                if raw:
                    items.append(("(row without a field name)", raw))
                continue
            key = _norm_key(fname)
            if key in seen and seen[key] != raw:
                raise InputError(f"{source_name}: field {_safe_name(fname)} appears twice with different values.")
            seen[key] = raw
            items.append((fname, raw))
        layout = "long"
    else:
        if len(rows) == 1:
            raise InputError(f"{source_name} has a header row but no data row.")
        if len(rows) > 2:
            raise InputError(
                f"{source_name} holds {len(rows) - 1} data rows; a clinical record describes one patient "
                "(a header and one data row, or field,value pairs)."
            )
        header, data = rows
        if len(data) > len(header) and any(data[len(header):]):
            raise InputError(f"{source_name}: the data row has {len(data)} cells but the header has {len(header)}.")
        data = (data + [""] * (len(header) - len(data)))[: len(header)]
        dup = sorted(k for k, n in Counter(_norm_key(h) for h in header if h).items() if n > 1)
        if dup:
            raise InputError(f"{source_name}: column {_safe_name(dup[0])} appears more than once.")
        for i, (col, raw) in enumerate(zip(header, data, strict=True)):
            items.append((col or f"(unnamed column {i + 1})", raw))
        layout = "wide"
    values, unknown, patient_ref, warnings, id_facts = _from_items(
        items, schema, "column" if layout == "wide" else "field", source_name, deadline=deadline
    )
    facts.update(format="csv", layout=layout, delimiter={"\t": "tab", ";": "semicolon", ",": "comma"}[delimiter])
    facts.update(id_facts)
    return ClinicalRecord(values, tuple(unknown), tuple(warnings), facts, patient_ref)


# ---------------------------------------------------------------------------------------------
# JSON


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _load_json(text: str, source_name: str, deadline: Deadline | None = None) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if deadline is not None:
            deadline.tick()
        return _no_duplicates(pairs)

    try:
        return json.loads(text, object_pairs_hook=hook)
    except InputError:
        raise
    except _DuplicateKey as exc:
        raise InputError(f"{source_name}: key {_safe_name(exc.args[0])} appears twice in one JSON object.") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{source_name} is not valid JSON (line {exc.lineno}, column {exc.colno}).") from None
    except (ValueError, RecursionError):
        raise InputError(f"{source_name} is not valid JSON (too deeply nested or an oversized number).") from None


def _read_json_record(
    data: Any, schema: _Schema, source_name: str, facts: dict[str, Any], deadline: Deadline | None = None
) -> ClinicalRecord:
    if not isinstance(data, dict):
        kind = "list" if isinstance(data, list) else "single value"
        raise InputError(f"{source_name} is a JSON {kind}; expected one patient's record as a JSON object.")
    items: list[tuple[str, Any]] = []
    unknown_extra: list[str] = []
    scan = _IdentifierScan()
    clinical = data.get("clinical")
    if isinstance(clinical, dict):
        layout = "nested"
        for key, raw in data.items():
            if key in ("clinical", "treatments"):
                continue
            if _norm_key(key) == _norm_key(schema.patient_id_col):
                items.append((key, raw))
            elif not scan.take(key, raw) and not _is_missing(raw):
                unknown_extra.append(f"field {_safe_name(key)} (not used)")
        sections = [clinical]
        if isinstance(data.get("treatments"), dict):
            sections.append(data["treatments"])
        elif data.get("treatments") is not None:
            raise InputError(f"{source_name}: 'treatments' must be an object of 0/1 values.")
        for section in sections:
            items.extend(section.items())
    elif clinical is not None:
        raise InputError(f"{source_name}: 'clinical' must be an object of field names and values.")
    else:
        layout = "flat"
        items = list(data.items())
    values, unknown, patient_ref, warnings, id_facts = _from_items(
        items, schema, "field", source_name, scan=scan, deadline=deadline
    )
    facts.update(format="json", layout=layout)
    facts.update(id_facts)
    return ClinicalRecord(values, tuple(unknown_extra + unknown), tuple(warnings), facts, patient_ref)


# ---------------------------------------------------------------------------------------------
# FHIR


def _system(system: Any) -> str:
    text = str(system).strip().rstrip("/")
    return _SYSTEM_ALIASES.get(text, text)


def _codings(concept: Any) -> list[tuple[str, str]]:
    """(system, code) pairs of a CodeableConcept; codings without both are ignored (no display)."""
    out = []
    if isinstance(concept, dict):
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict) and coding.get("system") and coding.get("code"):
                out.append((_system(coding["system"]), str(coding["code"]).strip()))
    return out


def _label(system: str, code: str) -> str:
    shown = code if _SAFE_CODE_RE.match(code) else "(unreadable code)"
    name = _SYSTEM_NAMES.get(system)
    return f"{name} {shown}" if name else f"code {shown} (other code system)"


def _parse_date(text: Any) -> tuple[int, int | None, int | None] | None:
    if not isinstance(text, str):
        return None
    m = _DATE_RE.match(text.strip())
    if not m:
        return None
    year, month, day = (int(g) if g else None for g in m.groups())
    return (year, month, day)  # type: ignore[return-value]


def _quantity_value(q: Any) -> float | None:
    if isinstance(q, dict) and _is_number(q.get("value")) and math.isfinite(float(q["value"])):
        return float(q["value"])
    return None


def _ucum(q: dict[str, Any]) -> str | None:
    """The UCUM unit code of a Quantity (the human-readable unit only as a fallback)."""
    code, system = q.get("code"), q.get("system")
    if isinstance(code, str) and (system is None or _system(system) == UCUM):
        return code.strip()
    unit = q.get("unit")
    if isinstance(unit, str):
        return {"mm": "mm", "cm": "cm", "%": "%", "percent": "%"}.get(unit.strip().lower())
    return None


class _FhirReader:
    """Maps a FHIR R4 Bundle (mCODE or plain FHIR) onto canonical fields, by code."""

    def __init__(self, schema: _Schema, source_name: str, deadline: Deadline | None = None) -> None:
        self.schema = schema
        self.name = source_name
        self.deadline = deadline if deadline is not None else Deadline.unlimited()
        self.candidates: dict[str, list[tuple[int, Any, str]]] = {}
        self.unknown: Counter[str] = Counter()
        self.warnings: list[str] = []
        self.mapped: set[str] = set()
        self.profiles: set[str] = set()
        self.other_profiles = 0
        self.notes: Counter[str] = Counter()
        self.targeted: set[str] = set()
        self.index: dict[str, dict[str, Any]] = {}
        self.patient_refs: set[str] = set()
        self.birth: tuple[int, int | None, int | None] | None = None
        self.staging: dict[str, str] = {}

    # -- entry points ---------------------------------------------------------------------------
    def read(self, data: dict[str, Any], facts: dict[str, Any]) -> ClinicalRecord:
        rtype = data.get("resourceType")
        if rtype != "Bundle":
            shown = rtype if isinstance(rtype, str) and re.fullmatch(r"[A-Za-z]{1,40}", rtype) else "unknown"
            raise InputError(
                f"{self.name} is a FHIR {shown} resource, not a Bundle; upload a FHIR Bundle "
                "(type collection, document or searchset) holding the patient's resources."
            )
        resources = self._validated_entries(data)
        patients = [r for _, r in resources if r["resourceType"] == "Patient"]
        if len(patients) > 1:
            raise InputError(
                f"{self.name} holds {len(patients)} Patient resources; upload one patient's Bundle at a time."
            )
        patient = patients[0] if patients else None
        for full_url, res in resources:
            if full_url:
                self.index[full_url] = res
            if res.get("id"):
                self.index[f"{res['resourceType']}/{res['id']}"] = res
        self.patient_refs = self._patient_refs(patient, resources)
        conditions: list[dict[str, Any]] = []
        other_patient = 0
        for _, res in resources:
            self.deadline.tick()
            rtype = res["resourceType"]
            self._note_profiles(res)
            if rtype == "Patient":
                self._patient(res)
                continue
            if not self._same_patient(res):
                other_patient += 1
                continue
            handler = {
                "Observation": self._observation,
                "MedicationStatement": self._medication,
                "MedicationRequest": self._medication,
                "MedicationAdministration": self._medication,
                "Procedure": self._procedure,
            }.get(rtype)
            if rtype == "Condition":
                conditions.append(res)
            elif handler is not None:
                handler(res)
            elif rtype != "Medication":
                self.unknown[f"{rtype} resource (not used)"] += 1
        if other_patient:
            self.warnings.append(
                f"{other_patient} resource(s) refer to a different patient than the Bundle's Patient and were ignored."
            )
        self._conditions(conditions, patient)
        values = self._resolve()
        self._report_notes()
        if not values:
            raise InputError(
                f"{self.name}: the Bundle holds no clinical data that can be mapped by code "
                f"({len(resources)} resource(s) read).",
                problems=tuple(self._unknown_list()[:20]) or (f"{self.name}: nothing could be mapped.",),
            )
        facts.update(
            format="fhir",
            fhir_release="R4 (validated with fhir.resources R4B models)",
            profiles=sorted(self.profiles),
            other_profiles=self.other_profiles,
            codes_mapped=sorted(self.mapped),
            resources=dict(Counter(r["resourceType"] for _, r in resources)),
        )
        if self.staging:
            facts["staging_sources"] = dict(sorted(self.staging.items()))
        if self.targeted:
            facts["anti_her2_therapy"] = sorted(self.targeted)
        patient_ref = patient.get("id") if patient else None
        return ClinicalRecord(values, tuple(self._unknown_list()), tuple(self.warnings), facts, patient_ref)

    def _validated_entries(self, data: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
        from fhir.resources.R4B import get_fhir_model_class
        from fhir.resources.R4B.bundle import Bundle

        entries = data.get("entry")
        if entries is None:
            entries = []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise InputError(f"{self.name}: Bundle.entry must be a list of entries.")
        if not entries:
            raise InputError(f"{self.name} is a FHIR Bundle with no entries.")
        if len(entries) > MAX_FHIR_ENTRIES:
            raise InputError(
                f"{self.name} holds {len(entries)} entries; one patient's record is expected "
                f"(at most {MAX_FHIR_ENTRIES})."
            )
        shell = {k: v for k, v in data.items() if k != "entry"}
        if "type" not in shell:
            shell["type"] = "collection"
            self.warnings.append("The Bundle has no type; it was read as a collection.")
        shell["entry"] = [{k: v for k, v in e.items() if k != "resource"} for e in entries]
        try:
            Bundle.model_validate(shell)
        except (ValueError, TypeError, RecursionError) as exc:
            raise InputError(
                f"{self.name} is not a valid FHIR R4 Bundle.", problems=_validation_problems(exc, "Bundle")
            ) from None
        if shell["type"] not in _BUNDLE_TYPES:
            raise InputError(
                f"{self.name} is not a valid FHIR R4 Bundle: Bundle.type must be one of {', '.join(_BUNDLE_TYPES)}."
            )
        out: list[tuple[str | None, dict[str, Any]]] = []
        invalid: list[str] = []
        for i, entry in enumerate(entries):
            self.deadline.check()
            raw = entry.get("resource")
            if not isinstance(raw, dict):
                invalid.append(f"entry {i + 1}: no resource")
                continue
            rtype = raw.get("resourceType")
            if not (isinstance(rtype, str) and re.fullmatch(r"[A-Z][A-Za-z]{0,39}", rtype)):
                invalid.append(f"entry {i + 1}: no valid resourceType")
                continue
            try:
                model = get_fhir_model_class(rtype).model_validate(raw)
                resource = model.model_dump(mode="json", by_alias=True, exclude_none=True)
            except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
                detail = "; ".join(_validation_problems(exc, rtype)[:3])
                invalid.append(f"entry {i + 1} ({rtype}): {detail}")
                continue
            if resource.get("resourceType") != rtype:
                invalid.append(f"entry {i + 1} ({rtype}): not a FHIR R4 resource type")
                continue
            full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
            out.append((full_url, resource))
        if invalid:
            self.warnings.append(
                f"{len(invalid)} Bundle entr{'y is' if len(invalid) == 1 else 'ies are'} not valid FHIR R4 "
                "and were skipped: " + " | ".join(invalid[:5]) + (" | …" if len(invalid) > 5 else "")
            )
        if not out:
            raise InputError(
                f"{self.name}: none of the {len(entries)} Bundle entries is a valid FHIR R4 resource.",
                problems=invalid[:20],
            )
        return out

    # -- helpers --------------------------------------------------------------------------------
    def _add(self, fname: str, value: Any, priority: int, source: str) -> None:
        if not self.schema.known(fname):
            self.unknown[f"{source} → {fname} (not a field of this cohort)"] += 1
            return
        self.candidates.setdefault(fname, []).append((priority, value, source))
        self.mapped.add(f"{source} → {fname}")

    def _note_profiles(self, res: dict[str, Any]) -> None:
        for url in (res.get("meta") or {}).get("profile") or []:
            base = str(url).split("|", 1)[0]
            short = base[len(MCODE_PROFILE_PREFIX):] if base.startswith(MCODE_PROFILE_PREFIX) else ""
            if re.fullmatch(r"[a-z0-9\-]{1,80}", short):
                self.profiles.add(short)
            else:
                self.other_profiles += 1

    @staticmethod
    def _patient_refs(patient: dict[str, Any] | None, resources: list[tuple[str | None, dict[str, Any]]]) -> set[str]:
        if patient is None:
            return set()
        refs = set()
        if patient.get("id"):
            refs.add(f"Patient/{patient['id']}")
        for full_url, res in resources:
            if res is patient and full_url:
                refs.add(full_url)
        return refs

    def _same_patient(self, res: dict[str, Any]) -> bool:
        subject = res.get("subject") or res.get("patient")
        ref = subject.get("reference") if isinstance(subject, dict) else None
        if not ref or not self.patient_refs:
            return True
        return ref in self.patient_refs or any(
            ref.endswith("/" + r) for r in self.patient_refs if r.startswith("Patient/")
        )

    def _status_counts(self, res: dict[str, Any], kind: str) -> bool:
        status = res.get("status")
        if status in (None, *_GIVEN_STATUSES):
            return True
        self.notes[f"{kind} with status '{status}' not counted as given"] += 1
        return False

    def _report_notes(self) -> None:
        for note, n in self.notes.items():
            self.warnings.append(f"{n} {note}." if n > 1 else f"{note[0].upper()}{note[1:]}.")

    def _unknown_list(self) -> list[str]:
        return [f"{k} ×{n}" if n > 1 else k for k, n in self.unknown.items()]

    # -- Patient --------------------------------------------------------------------------------
    def _patient(self, res: dict[str, Any]) -> None:
        self.birth = _parse_date(res.get("birthDate"))
        identifying = [k for k in ("name", "address", "identifier", "telecom", "photo", "contact") if res.get(k)]
        if identifying:
            self.unknown["Patient identifying details: " + ", ".join(identifying) + " (not used)"] += 1
        other = [k for k in ("gender", "maritalStatus", "communication", "deceasedBoolean", "deceasedDateTime",
                             "extension") if res.get(k) is not None]
        if other:
            self.unknown["Patient " + ", ".join(other) + " (not used)"] += 1

    # -- Observation ----------------------------------------------------------------------------
    def _observation(self, res: dict[str, Any]) -> None:
        if res.get("status") in ("entered-in-error", "cancelled"):
            self.notes[f"Observation with status '{res['status']}' ignored"] += 1
            return
        codes = _codings(res.get("code"))
        hit = next(((sc, _OBS[sc]) for sc in codes if sc in _OBS), None)
        if hit is None:
            known = next((sc for sc in codes if sc in _OBS_KNOWN_UNUSED), None)
            if known:
                self.unknown[f"Observation {_label(*known)} ({_OBS_KNOWN_UNUSED[known]}; not used)"] += 1
            elif codes:
                self.unknown[f"Observation {_label(*codes[0])} (not used)"] += 1
            else:
                self.unknown["Observation without a coded code (display text is not mapped)"] += 1
            return
        (system, code), (kind, fname, priority, _note) = hit
        source = _label(system, code)
        getattr(self, f"_obs_{kind}")(res, fname, priority, source)

    def _coded(self, concept: Any, table: dict, fname: str | None = None) -> tuple[Any, list[tuple[str, str]]]:
        codes = _codings(concept)
        for system, code in codes:
            if fname is not None and (fname, system, code) in _FIELD_RESULT:
                return _FIELD_RESULT[(fname, system, code)], codes
            if (system, code) in table:
                return table[(system, code)], codes
        return None, codes

    def _no_value(self, res: dict[str, Any], source: str, what: str = "result") -> None:
        if res.get("valueString") is not None:
            self.unknown[f"Observation {source}: free-text {what} (not mapped; a code is required)"] += 1
        elif res.get("valueCodeableConcept") is not None:
            codes = _codings(res["valueCodeableConcept"])
            shown = _label(*codes[0]) if codes else "display text only"
            self.unknown[f"Observation {source}: {what} {shown} (not in the code table)"] += 1
        else:
            self.unknown[f"Observation {source}: no usable {what}"] += 1

    def _obs_receptor(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        result, _ = self._coded(res.get("valueCodeableConcept"), _RESULT, fname)
        if result is None:
            for concept in res.get("interpretation") or []:
                result, _ = self._coded(concept, _RESULT, fname)
                if result is not None:
                    break
        if result is None and fname == "her2_status":
            score = res.get("valueInteger", _quantity_value(res.get("valueQuantity")))
            result = self._her2_score(score) if priority == 1 else None
        self._receptor_result(res, fname, priority, source, result)

    def _obs_her2_ihc(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        self._obs_receptor(res, fname, priority, source)

    @staticmethod
    def _her2_score(score: Any) -> str | None:
        if _is_number(score) and float(score) in (0.0, 1.0, 2.0, 3.0):
            return ("Negative", "Negative", "Equivocal", "Positive")[int(score)]
        return None

    def _receptor_result(self, res: dict[str, Any], fname: str, priority: int, source: str, result: Any) -> None:
        if result is None:
            self._no_value(res, source)
        elif result in ("Equivocal", "Indeterminate"):
            self.candidates.setdefault(f"_{fname}_unresolved", []).append((priority, result.lower(), source))
            self.mapped.add(f"{source} → {fname} ({result.lower()})")
        else:
            self._add(fname, result, priority, source)

    def _obs_receptor_pct(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        q = res.get("valueQuantity")
        value = _quantity_value(q)
        unit = _ucum(q) if isinstance(q, dict) else None
        if value is None or unit not in (None, "%") or not 0 <= value <= 100:
            self._no_value(res, source, "percentage")
            return
        # ASCO/CAP: ER and PR are positive when at least 1 % of tumour nuclei stain.
        self._add(fname, "Positive" if value >= 1 else "Negative", priority, source)

    def _obs_percent(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        q = res.get("valueQuantity")
        value = _quantity_value(q)
        unit = _ucum(q) if isinstance(q, dict) else None
        if value is None and _is_number(res.get("valueInteger")):
            value, unit = float(res["valueInteger"]), "%"
        if value is None or unit not in (None, "%"):
            self._no_value(res, source, "percentage")
            return
        self._add(fname, value, priority, source)

    def _obs_size(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        q = res.get("valueQuantity")
        if not isinstance(q, dict):
            for comp in res.get("component") or []:
                if (LOINC, "33728-7") in _codings(comp.get("code")):
                    q = comp.get("valueQuantity")
                    break
        value = _quantity_value(q)
        if value is None:
            self._no_value(res, source, "size")
            return
        unit = _ucum(q)  # type: ignore[arg-type]
        factor = _UNIT_TO_MM.get(unit or "")
        if factor is None:
            self.warnings.append(f"Tumour size ({source}) has no recognised unit (mm or cm); it was not used.")
            return
        self._add(fname, round(value * factor, 3), priority, source)

    def _obs_count(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        value = res.get("valueInteger")
        if not _is_number(value):
            value = _quantity_value(res.get("valueQuantity"))
        if value is None:
            self._no_value(res, source, "count")
            return
        self._add(fname, float(value), priority, source)

    def _obs_grade(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        grade, _ = self._coded(res.get("valueCodeableConcept"), _GRADE)
        if grade is None:
            raw = res.get("valueInteger", _quantity_value(res.get("valueQuantity")))
            grade = float(raw) if _is_number(raw) else None
        if grade is None:
            self._no_value(res, source, "grade")
            return
        self._add(fname, grade, priority, source)

    def _tnm_value(self, concept: Any, fname: str) -> str | None:
        for system, code in _codings(concept):
            if system == AJCC and _TNM_RE.match(code) and code.lstrip("ycrpa")[:1] == fname[-1].upper():
                return code
            if system == SNOMED and code in _TNM_SNOMED[fname]:
                return _TNM_SNOMED[fname][code]
        return None

    def _obs_tnm(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        value = self._tnm_value(res.get("valueCodeableConcept"), fname)
        if value is None:
            self._no_value(res, source, "category")
            return
        self._add(fname, value, priority, source)

    @staticmethod
    def _stage_value(concept: Any) -> float | None:
        for system, code in _codings(concept):
            if system == SNOMED and code in _STAGE_SNOMED:
                return _STAGE_SNOMED[code]
            if system == AJCC:
                stage = _parse_stage(code)
                if stage is not None and 0 <= stage <= 4:
                    return stage
        return None

    def _obs_stage(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        stage = self._stage_value(res.get("valueCodeableConcept"))
        if stage is None:
            self._no_value(res, source, "stage group")
            return
        self._add(fname, stage, priority, source)

    def _obs_menopause(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        state, _ = self._coded(res.get("valueCodeableConcept"), _MENOPAUSE)
        if state is None:
            self._no_value(res, source, "status")
            return
        self._add(fname, state, priority, source)

    # -- Condition ------------------------------------------------------------------------------
    def _conditions(self, conditions: list[dict[str, Any]], patient: dict[str, Any] | None) -> None:
        primary = []
        for res in conditions:
            codes = _codings(res.get("code"))
            profiles = {str(p).split("|", 1)[0] for p in (res.get("meta") or {}).get("profile") or []}
            is_primary = (MCODE_PROFILE_PREFIX + "mcode-primary-cancer-condition") in profiles or any(
                sc in _PRIMARY_CANCER
                or (sc[0] in (ICD10, ICD10CM) and sc[1].upper().startswith(_PRIMARY_CANCER_ICD_PREFIX))
                for sc in codes
            )
            menopause = next((_MENOPAUSE[sc] for sc in codes if sc in _MENOPAUSE), None)
            if is_primary:
                primary.append(res)
                for stage in res.get("stage") or []:
                    value = self._stage_value(stage.get("summary"))
                    if value is not None:
                        self._add("tumor_stage", value, 0, "Condition.stage")
            elif menopause is not None:
                sc = next(sc for sc in codes if sc in _MENOPAUSE)
                self._add("menopausal_state", menopause, 1, _label(*sc))
            elif codes:
                self.unknown[f"Condition {_label(*codes[0])} (not used)"] += 1
            else:
                self.unknown["Condition without a coded code (display text is not mapped)"] += 1
        if not primary:
            return
        if len(primary) > 1:
            self.warnings.append(
                f"{len(primary)} primary cancer conditions found; the earliest diagnosis was used for age."
            )
        self._age_at_diagnosis(primary)

    def _age_at_diagnosis(self, primary: list[dict[str, Any]]) -> None:
        ages = [_quantity_value(r.get("onsetAge")) for r in primary if isinstance(r.get("onsetAge"), dict)]
        ages = [a for a in ages if a is not None]
        if ages:
            self._add("age_at_diagnosis", min(ages), 2, "Condition.onsetAge")
            return
        onsets = []
        for r in primary:
            onset = r.get("onsetDateTime") or (r.get("onsetPeriod") or {}).get("start")
            parsed = _parse_date(onset)
            if parsed is not None:
                onsets.append(parsed)
        birth = self.birth
        if not onsets or birth is None:
            self.warnings.append(
                "Age at diagnosis could not be derived: it needs the Patient's birth date and the "
                "primary cancer condition's onset date (or onsetAge)."
            )
            return
        onset = min(onsets, key=lambda d: (d[0], d[1] or 0, d[2] or 0))
        if all(part is not None for part in (*birth, *onset)):
            try:
                days = (date(*onset) - date(*birth)).days  # type: ignore[arg-type]
            except ValueError:
                self.warnings.append("Age at diagnosis could not be derived: a date is not a calendar date.")
                return
            self._add("age_at_diagnosis", round(days / 365.25, 2), 1, "Patient.birthDate + Condition.onset")
            self.warnings.append("Age at diagnosis was derived from the birth date and the diagnosis date.")
        else:
            self._add("age_at_diagnosis", float(onset[0] - birth[0]), 1, "Patient.birthDate + Condition.onset")
            self.warnings.append(
                "Age at diagnosis was derived from the birth and diagnosis years only (accurate to ±1 year)."
            )

    # -- treatments -----------------------------------------------------------------------------
    def _drug_class(self, codes: list[tuple[str, str]]) -> tuple[str, str, str] | None:
        for system, code in codes:
            if (system, code) in _DRUGS:
                cls, drug = _DRUGS[(system, code)]
                return cls, drug, _label(system, code)
        for system, code in codes:
            if system == ATC:
                for prefix, cls in _ATC_PREFIXES:
                    if code.upper().startswith(prefix):
                        return cls, f"ATC group {prefix}", _label(system, code)
        return None

    def _medication(self, res: dict[str, Any]) -> None:
        rtype = res["resourceType"]
        concept = res.get("medicationCodeableConcept")
        if concept is None and isinstance(res.get("medicationReference"), dict):
            target = self.index.get(str(res["medicationReference"].get("reference")))
            concept = target.get("code") if isinstance(target, dict) else None
        codes = _codings(concept)
        hit = self._drug_class(codes)
        if hit is None:
            shown = _label(*codes[0]) if codes else "without a coded medication (display text is not mapped)"
            self.unknown[f"{rtype} {shown} (not used)"] += 1
            return
        cls, drug, source = hit
        if not self._status_counts(res, rtype):
            return
        if cls == _HER2:
            self.targeted.add(drug)
            self.unknown[f"{rtype} {source} ({drug}: anti-HER2 therapy, known but not a cohort field)"] += 1
            return
        self._add(cls, 1, 1, f"{source} ({drug})")

    def _procedure(self, res: dict[str, Any]) -> None:
        codes = _codings(res.get("code")) + _codings(res.get("category"))
        hit = next(((sc, _PROCEDURES[sc]) for sc in codes if sc in _PROCEDURES), None)
        if hit is None:
            shown = _label(*codes[0]) if codes else "without a coded code (display text is not mapped)"
            self.unknown[f"Procedure {shown} (not used)"] += 1
            return
        sc, fname = hit
        if not self._status_counts(res, "Procedure"):
            return
        self._add(fname, 1, 1, _label(*sc))

    # -- resolution -----------------------------------------------------------------------------
    def _resolve(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for fname, cands in self.candidates.items():
            if fname.startswith("_"):
                continue
            top = max(p for p, _, _ in cands)
            best = {v for p, v, _ in cands if p == top}
            if len(best) > 1:
                self.warnings.append(
                    f"{fname}: {sum(p == top for p, _, _ in cands)} equally specific records disagree; "
                    "the field was left empty. Check the record."
                )
                continue
            value = best.pop()
            values[fname] = value
            if fname.startswith("tnm_") or fname == "tumor_stage":
                # clinical and pathological staging may differ legitimately: the most specific is used
                self.staging[fname] = next(s for p, v, s in cands if p == top)
                continue
            lower = sorted({s for p, v, s in cands if p < top and v != value})
            if lower:
                chosen = next(s for p, v, s in cands if p == top)
                self.warnings.append(
                    f"{fname}: {', '.join(lower)} disagree(s) with {chosen}; the more specific {chosen} was used."
                )
        for fname in ("er_status", "pr_status", "her2_status"):
            unresolved = self.candidates.get(f"_{fname}_unresolved")
            if unresolved and fname not in values:
                kinds = sorted({v for _, v, _ in unresolved})
                extra = " and no in situ hybridisation result" if fname == "her2_status" else ""
                self.warnings.append(f"{fname}: the result is {' / '.join(kinds)}{extra}; the field was left empty.")
        return values


def _validation_problems(exc: BaseException, what: str) -> list[str]:
    """Field paths and error types of a validation error, without the offending input values."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        out = []
        for item in errors()[:10]:
            loc = ".".join(str(part) for part in item.get("loc", ()) if str(part) != "__root__")
            out.append(f"{_safe_name(loc or what, 80)}: {_safe_name(item.get('type', 'invalid'), 60)}")
        if out:
            return out
    if isinstance(exc, ValueError) and "is not a valid FHIR Model" in str(exc):
        return [f"{what}: not a FHIR R4 resource type"]
    return [f"{what}: invalid ({type(exc).__name__})"]


__all__ = ["DEFAULT_TREATMENTS", "EXTRA_FIELDS", "IDENTIFIER_CATEGORIES", "ClinicalRecord", "check_record",
           "read_records"]
