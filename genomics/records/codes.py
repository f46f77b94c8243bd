"""Code systems and code tables of the FHIR reader: LOINC, SNOMED CT, RxNorm, ATC, UCUM, AJCC and ICD-10 codes
mapped onto canonical fields, results, treatment classes and units (sources listed below)."""
from __future__ import annotations

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
AJCC = "http://cancerstaging.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.6.73": ATC,
}
SYSTEM_NAMES = {
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
OBSERVATION_CODES: dict[tuple[str, str], tuple[str, str, int, str]] = {
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
OBSERVATION_CODES_UNUSED = {
    (LOINC, "21894-1"): "regional lymph nodes examined",
    (LOINC, "33055-5"): "Ki-67 presence (no percentage)",
    (LOINC, "33729-5"): "tumour size, other dimension",
}

# Result codes shared by the receptor tests -> Positive / Negative / Equivocal / Indeterminate.
RESULT_CODES = {
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
FIELD_RESULT_CODES = {
    ("er_status", SNOMED, "416053008"): "Positive", ("er_status", SNOMED, "441117001"): "Negative",
    ("pr_status", SNOMED, "416561008"): "Positive", ("pr_status", SNOMED, "441118006"): "Negative",
    ("her2_status", SNOMED, "427685000"): "Positive", ("her2_status", SNOMED, "431396003"): "Negative",
    # LOINC answers for the HER2 IHC score (ASCO/CAP: 0 and 1+ negative, 2+ equivocal, 3+ positive)
    ("her2_status", LOINC, "LA6111-4"): "Negative", ("her2_status", LOINC, "LA11841-6"): "Negative",
    ("her2_status", LOINC, "LA11842-4"): "Equivocal", ("her2_status", LOINC, "LA11843-2"): "Positive",
}
GRADE_CODES = {
    (SNOMED, "1155708003"): 1.0, (SNOMED, "1286893008"): 2.0, (SNOMED, "1155707008"): 3.0,  # mCODE
    (SNOMED, "1228848004"): 1.0, (SNOMED, "1228850007"): 2.0, (SNOMED, "1228851006"): 3.0,  # AJCC G1-3
    (SNOMED, "399415002"): 1.0, (SNOMED, "405986005"): 2.0, (SNOMED, "399611001"): 3.0,     # ICHOM
}
MENOPAUSE_CODES = {
    (SNOMED, "309606002"): "Pre", (SNOMED, "307429007"): "Post", (SNOMED, "76498008"): "Post",
}
# AJCC TNM categories as SNOMED CT concepts (breast-relevant subset).
TNM_SNOMED = {
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
STAGE_SNOMED = {
    "1222605001": 0.0, "1222723001": 1.0, "1222724007": 1.0, "1222728005": 1.0,
    "1222765007": 2.0, "1222766008": 2.0, "1222769001": 2.0,
    "1222801008": 3.0, "1222802001": 3.0, "1222805004": 3.0, "1222806003": 3.0,
    "1222837003": 4.0,
}
PRIMARY_CANCER_CODES = {
    (SNOMED, "254837009"),        # malignant neoplasm of breast
    (SNOMED, "372064008"),        # malignant neoplasm of female breast
    (SNOMED, "353431000119107"),  # primary malignant neoplasm of female left breast [mCODE]
    (SNOMED, "363346000"),        # malignant neoplastic disease [mCODE breast example]
    (SNOMED, "188151006"),        # malignant neoplasm of central part of female breast [Synthea]
    (SNOMED, "408643008"),        # infiltrating duct carcinoma of breast
}

# Medicines: genomics/records/drugs.csv (genomics.records.drugs).
CHEMOTHERAPY, HORMONE_THERAPY = "chemotherapy", "hormone_therapy"
# Procedure.code / Procedure.category -> treatment class.
PROCEDURE_CODES = {
    (SNOMED, "1217123003"): "radio_therapy",  # radiotherapy course of treatment [mCODE]
    (SNOMED, "108290001"): "radio_therapy",   # radiation oncology and/or radiotherapy
    (SNOMED, "33195004"): "radio_therapy",    # teleradiotherapy
    (SNOMED, "152198000"): "radio_therapy",   # brachytherapy
    (SNOMED, "385798007"): "radio_therapy",   # radiation therapy care
    (SNOMED, "447759004"): "radio_therapy",   # brachytherapy of breast [Synthea]
    (SNOMED, "384692006"): "radio_therapy",   # intracavitary brachytherapy [Synthea]
    (SNOMED, "113120007"): "radio_therapy",   # interstitial brachytherapy [Synthea]
    (SNOMED, "1287742003"): "radio_therapy",  # radiotherapy
    (SNOMED, "392021009"): "breast_surgery",  # lumpectomy of breast [Synthea]
    (SNOMED, "69031006"): "breast_surgery",   # excision of breast tissue [Synthea]
    (SNOMED, "367336001"): CHEMOTHERAPY,            # chemotherapy
    (SNOMED, "169413002"): HORMONE_THERAPY,          # hormone therapy
}
BUNDLE_TYPES = ("document", "message", "transaction", "transaction-response", "batch", "batch-response",
                 "history", "searchset", "collection")
UNIT_TO_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "um": 0.001, "[in_i]": 25.4}

GIVEN_STATUSES = frozenset({"active", "completed", "stopped", "on-hold", "in-progress"})
NOT_GIVEN_STATUSES = frozenset({"not-taken", "not-done", "cancelled", "entered-in-error", "draft",
                                 "intended", "preparation", "unknown", "revoked"})
