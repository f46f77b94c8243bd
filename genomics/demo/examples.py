"""Example input files shipped with OncoTx: SYNTHETIC patients, generated here (``python -m genomics.demo.examples``).

``python -m genomics.demo.examples --out DIR`` writes, deterministically (seed :data:`SEED`):

* ``example-rnaseq.tsv``: an RNA-seq profile, gene symbol and TPM-like value, for every gene of the demo
  generator (:data:`genomics.demo.ALL_GENES`, which holds the demo model's genes) and the METABRIC model genes the
  generator lacks (:data:`EXTRA_RNASEQ_GENES`: symbols only; their values are drawn from a fixed log-normal);
* ``example-array.tsv``: an Affymetrix HG-U133A-like profile, probe id and log2 value, one probe per gene
  (:data:`ARRAY_PROBES`: public HG-U133A probe ids of demo genes, as in the array annotation the VDX cohort ships);
* ``example-rnaseq-ensembl.tsv``: the same RNA-seq profile keyed by Ensembl gene ids (:func:`ensembl_profile`,
  through the shipped protein-coding gene id map of :mod:`genomics.reference_data`; the same record applies);
* ``example-rnaseq-record.json`` and ``example-array-record.json``: FHIR R4 Bundles (mCODE-style) with each
  example patient's clinical fields and treatments.

Every value comes from the demo generator (:func:`genomics.demo.make_demo_cohort`, seed :data:`SEED`, not the
demo cohort's seed, so the patients are in no cohort) or from the fixed draws above: no real patient, no cohort
data. The folder's README says so. :func:`example_path` finds the shipped files from the installed package.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from genomics.demo.cohort import make_demo_cohort
from genomics.demo.genes import ALL_GENES
from genomics.reference_data import GENE_IDS

SEED = 20240917
#: The shipped files, in the package (found from its installed path).
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
FILES = {"rnaseq": "example-rnaseq.tsv", "array": "example-array.tsv", "rnaseq_ensembl": "example-rnaseq-ensembl.tsv",
         "rnaseq_record": "example-rnaseq-record.json", "array_record": "example-array-record.json"}
#: METABRIC's model genes that the demo generator does not simulate (gene symbols, no values).
EXTRA_RNASEQ_GENES = tuple("""
    NFKB1 PTPRM CYP3A7 PDGFRA UBR5 RAB25 HSD17B3 NR2F1 MAML3 RPGR MMP1 VEGFB BIRC6 PIK3R1 TGFB3 OR6A2 CBFB
    MAGEA8 HDAC2 MAP2K2 MMP19 INHBC BCL2L1 FRMD3 BMF NR1I2 KDM3A PEG3 WFDC2 FBXW7 BCHE ACVRL1 RYR2 ARID1A TNK2
    PRR16 MAP2K5 RASSF1 CSF1R UTRN KLRG1 NUMBL ARID2 STAB2 AKT1S1 WWOX NCOR1 RUNX1 THSD7A MECOM SIK2 FOXP1 TAF1
    AKR1C4 RAF1 BMP4 BMP5 TBX3 MMP27 HSD17B14 PLAGL1 PTPRD NRARP NOTCH3 FAM20C HEYL STAT5A MMP14 CDK6 KDM5A
    FOLR1 RPS6KB2 KDM6A SIK1 PDE4DIP HDAC9 SF3B1 SERPINI1 INHA CDK2 DLL4 DLL1 BMP10 CYP17A1 PBRM1 PALB2 MAP3K5
    NCOA3 NCOA2 SMAD7 DLEC1 MLST8 MAP3K3 BCAS3 MMP21 SRC NFKB2 STMN2 MMP23B CLRN2 NRAS ZFP36L1 CXCR2 CACNA2D3
    NT5E GSK3B MAP2K1 EIF5A2 CXCR1 TUBB4A PTPN22 SYNE1 CYP11A1 SLC19A1 GH1 TBL1XR1 MAPK3 SETD2 CTNNA1 UGT2B15
    SHANK2 MMP25 ACVR1 STAT3 MAPK6 LIFR SPACA1 SRD5A1 SPRY2 HSD17B10 HSD17B2 FGF1 SDC4 BMP7 CYP2C8 STK11 TGFBR3
    CTNNA3 RBL1 TUBB4B HSD17B6 ADGRA2 MMP24 HSD17B4 ZFYVE9 HEY2 CHD1 SMAD6 ASXL2 GDF11 E2F6 KDR CTBP2 DNAH11
    GPR32 AFDN SMAD4 NOTCH1 ERBB3 PPP2CB MMP7 MAP2 H2BC4 ASXL1 MAP4 MTOR HSD17B1 MAPK8 BMPR1A CYP3A5 ABCB11 APC
    MMP17 PRKG1 CYP19A1 ABCC1 HSD17B13 ST7 MAPK4 EPCAM KMT2D MMP16 FOXO3 ARL11 RBL2 IGF1 AKR1C1 NF2 PSEN2 SMAD1
    RBPJ MMP3 HSD3B1 AKAP9 MMP12 TERT PIK3R3 THADA HERC2 NCSTN RASGEF1B TTYH1 SMARCD1 ABCC10 ADAM17 HEY1 FANCD2
    L1CAM RAD51 MYH9 DLL3 ACVR2B CLK3 SHBG CYP3A4 HES2 FLT3 TSC2 MAP2K4 CYP21A2 DPH1 HDAC1 MAML1 SPEN PRKCQ
    TUBB1 MMP13 SMAD2 MAPK9 USH2A ARID1B FOLR3 MEN1 MMP15
""".split())
#: HG-U133A probe ids of demo genes, ``probe=SYMBOL`` (one probe per gene, as the array annotation maps them).
ARRAY_PROBES: tuple[tuple[str, str], ...] = tuple(tuple(pair.split("=")) for pair in """
    203684_s_at=BCL2 202094_at=BIRC5 214710_s_at=CCNB1 213523_at=CCNE1 202870_s_at=CDC20 203967_at=CDC6
    203256_at=CDH3 207828_s_at=CENPF 218542_at=CEP55 201983_s_at=EGFR 210930_s_at=ERBB2 205225_at=ESR1
    204603_at=EXO1 204667_at=FOXA1 213260_at=FOXC1 210761_s_at=GRB7 209408_at=KIF2C 203928_x_at=MAPT
    204825_at=MELK 212020_s_at=MKI67 218211_s_at=MLPH 201710_at=MYBL2 214440_at=NAT1 201397_at=PHGDH
    203554_x_at=PTTG1 209773_s_at=RRM2 202035_s_at=SFRP1 202089_s_at=SLC39A6 202589_at=TYMS 202954_at=UBE2C
    204092_s_at=AURKA 219197_s_at=SCUBE2 209602_s_at=GATA3 200670_at=XBP1 205009_at=TFF1 204623_at=TFF3
    209173_at=AGR2 211110_s_at=AR 203963_at=CA12 213441_x_at=SPDEF 201596_x_at=KRT18 206794_at=ERBB4
    204798_at=MYB 212956_at=TBC1D9 202991_at=STARD3 206793_at=PNMT 205766_at=TCAP 201388_at=PSMD3
    209464_at=AURKB 201291_s_at=TOP2A 209642_at=BUB1 203755_at=BUB1B 202240_at=PLK1 203418_at=CCNA2
    202705_at=CCNB2 209714_s_at=CDKN3 218755_at=KIF20A 218355_at=KIF4A 210052_s_at=TPX2 202107_s_at=MCM2
    220651_s_at=MCM10 202580_x_at=FOXM1 2028_s_at=E2F1 204962_s_at=CENPA 204026_s_at=ZWINT 203362_s_at=MAD2L1
    204822_at=TTK 207165_at=HMMR 218039_at=NUSAP1 218009_s_at=PRC1 204444_at=KIF11 204709_s_at=KIF23
    221520_s_at=CDCA8 219918_s_at=ASPM 209800_at=KRT16 209842_at=SOX10 220559_at=EN1 205487_s_at=VGLL1
    201893_x_at=DCN 208711_s_at=CCND1 206527_at=ABAT 200965_s_at=ABLIM1 218115_at=ASF1B 204497_at=ADCY9
    201012_at=ANXA1 218782_s_at=ATAD2 201281_at=ADRM1 210085_s_at=ANXA9 202641_at=ARL3 207076_s_at=ASS1
    205355_at=ACADSB 204695_at=CDC25A 217767_at=C3 201853_s_at=CDC25B 204510_at=CDC7 221436_s_at=CDCA3
    205548_s_at=BTG3 204811_s_at=CACNA2D2 208683_at=CAPN2 205046_at=CENPE 218741_at=CENPM 203065_s_at=CAV1
    205393_s_at=CHEK1 209835_x_at=CD44 212067_s_at=C1R 201897_s_at=CKS1B 204170_s_at=CKS2 204539_s_at=CELSR1
    204029_at=CELSR2 201111_at=CSE1L 204345_at=COL16A1 221223_x_at=CISH 201754_at=COX6C 204244_s_at=DBF4
    203666_at=CXCL12 220295_x_at=DEPDC1 201697_s_at=DNMT1 210762_s_at=DLC1 221677_s_at=DONSON 218976_at=DNAJC12
    203270_at=DTYMK 203799_at=CD302 210517_s_at=AKAP12 204470_at=CXCL1 203693_s_at=E2F3 219990_at=E2F8
    213712_at=ELOVL2 204455_at=DST 204817_at=ESPL1 206101_at=ECM2 203358_s_at=EZH2 218875_s_at=FBXO5
    221521_s_at=GINS2 209189_at=FOS 218769_s_at=ANKRA2 201787_at=FBLN1 205696_s_at=GFRA1 206074_s_at=HMGA1
    208808_s_at=HMGB2 203744_at=HMGB3 202709_at=FMOD 202854_at=HPRT1 203687_at=CX3CL1 203627_at=IGF1R
    219306_at=KIF15 204472_at=GEM 204863_s_at=IL6ST 203126_at=IMPA2 201088_at=KPNA2 201795_at=LBR
    201185_at=HTRA1 202726_at=LIG1 220540_at=KCNK15 203276_at=LMNB1 201555_at=MCM3 212141_at=MCM4 201930_at=MCM6
    201761_at=MTHFD2 209443_at=SERPINA5 219648_at=MREG 204641_at=NEK2 212247_at=NUP205 200790_at=ODC1
    201013_s_at=PAICS 204934_s_at=HPN 219148_at=PBK 201202_at=PCNA 205380_at=PDZK1 204886_at=PLK4
    204441_s_at=POLA2 218931_at=RAB17 219510_at=POLQ 222077_s_at=RACGAP1 204146_at=RAD51AP1 201326_at=CCT6A
    209543_s_at=CD34 219340_s_at=CLN8 203073_at=COG2 203663_s_at=COX5A 221139_s_at=CSAD 207030_s_at=CSRP2
    201487_at=CTSC 201041_s_at=DUSP1 202735_at=EBP 204767_s_at=FEN1 202772_at=HMGCL 203574_at=NFIL3
""".split())

PROFILE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
LOINC, SNOMED, RXNORM, UCUM = ("http://loinc.org", "http://snomed.info/sct",
                               "http://www.nlm.nih.gov/research/umls/rxnorm", "http://unitsofmeasure.org")
RECEPTORS = {"er_status": ("85337-4", "Estrogen receptor Ag [Presence] in Breast cancer specimen by Immune stain"),
             "pr_status": ("85339-0", "Progesterone receptor Ag [Presence] in Breast cancer specimen by Immune stain"),
             "her2_status": ("85318-4", "ERBB2 gene duplication [Presence] in Breast cancer specimen by FISH")}
GRADES = {1: ("1155708003", "Low histologic grade"), 2: ("1286893008", "Intermediate histologic grade"),
          3: ("1155707008", "High histologic grade")}
CHEMO = (("3002", "cyclophosphamide"), ("72962", "docetaxel"))
HORMONE = ("10324", "tamoxifen")


def example_patients() -> pd.DataFrame:
    """The two synthetic example patients (demo generator, :data:`SEED`): an ER-positive, HER2-negative one for
    the RNA-seq example and another for the array example, with their log2 expression over every demo gene."""
    cohort = make_demo_cohort(n_patients=40, n_genes=len(ALL_GENES), seed=SEED)
    obs = cohort.obs
    er_pos = np.flatnonzero((obs["er_status"].astype(str) == "Positive").to_numpy()
                            & (obs["her2_status"].astype(str) == "Negative").to_numpy())
    other = np.flatnonzero((obs["lymph_nodes_positive"].astype(float) > 0).to_numpy())
    rows = [int(er_pos[0]), int(next(i for i in other if i != er_pos[0]))]
    expr = pd.DataFrame(np.asarray(cohort.X[rows], dtype=np.float64), columns=cohort.var_names)
    return pd.concat([obs.iloc[rows].reset_index(drop=True), expr], axis=1)


def rnaseq_profile(patient: pd.Series) -> pd.DataFrame:
    """Gene symbol and TPM-like value: the demo genes' log2 values as linear TPM, the extra METABRIC genes drawn
    from a fixed log-normal (log2 TPM ~ N(3, 2)), scaled to sum to one million, rounded to 3 decimals."""
    rng = np.random.default_rng(SEED)
    log2 = pd.concat([patient[list(ALL_GENES)].astype(float),
                      pd.Series(rng.normal(3.0, 2.0, len(EXTRA_RNASEQ_GENES)), index=list(EXTRA_RNASEQ_GENES))])
    tpm = np.exp2(log2) - 1.0
    tpm = (tpm.clip(lower=0) / tpm.clip(lower=0).sum() * 1e6).round(3)
    return pd.DataFrame({"gene_symbol": tpm.index, "tpm": tpm.to_numpy()})


def ensembl_profile(rnaseq: pd.DataFrame) -> pd.DataFrame:
    """The RNA-seq profile keyed by Ensembl gene id (first id per symbol in the shipped protein-coding map, sorted
    by id); symbols without an Ensembl id are left out."""
    ids = pd.read_csv(GENE_IDS.shipped_path, dtype=str, usecols=["ensgene", "symbol"]).dropna()
    first = ids.drop_duplicates("symbol").set_index("symbol")["ensgene"]
    out = rnaseq.assign(gene_id=rnaseq["gene_symbol"].map(first)).dropna(subset=["gene_id"])
    return out[["gene_id", "tpm"]].sort_values("gene_id", kind="stable").reset_index(drop=True)


def array_profile(patient: pd.Series) -> pd.DataFrame:
    """Probe id and log2 value (RMA-like, 2-14) for :data:`ARRAY_PROBES`, from the patient's demo gene values."""
    values = [float(np.clip(patient[symbol], 2.0, 14.0)) for _, symbol in ARRAY_PROBES]
    return pd.DataFrame({"probe_id": [probe for probe, _ in ARRAY_PROBES], "log2_expression": np.round(values, 4)})


def _coded(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _observation(oid: str, ref: str, code: tuple[str, str], value: dict, profile: str = "mcode-tumor-marker-test") -> dict:
    return {"fullUrl": f"urn:uuid:{oid}", "resource": {
        "resourceType": "Observation", "id": oid, "meta": {"profile": [PROFILE + profile]}, "status": "final",
        "code": _coded(LOINC, *code), "subject": {"reference": ref}, "effectiveDateTime": "2023-02-10", **value}}


def record_bundle(patient: pd.Series, name: str) -> dict:
    """A FHIR R4 Bundle (mCODE-style) with the patient's clinical fields and treatments (synthetic: no name,
    no identifier beyond the example's own id)."""
    pid = f"example-{name}"
    ref = f"Patient/{pid}"
    age = int(round(float(patient["age_at_diagnosis"])))
    entries = [{"fullUrl": f"urn:uuid:{pid}", "resource": {
        "resourceType": "Patient", "id": pid, "meta": {"profile": [PROFILE + "mcode-cancer-patient"]},
        "gender": "female", "birthDate": f"{2023 - age - 1}-06-15"}},
        {"fullUrl": f"urn:uuid:{pid}-condition", "resource": {
            "resourceType": "Condition", "id": f"{pid}-condition",
            "meta": {"profile": [PROFILE + "mcode-primary-cancer-condition"]},
            "code": _coded(SNOMED, "254837009", "Malignant neoplasm of breast (disorder)"),
            "subject": {"reference": ref}, "onsetDateTime": "2023-02-01"}}]
    for field, code in RECEPTORS.items():
        positive = str(patient[field]) == "Positive"
        value = ("10828004", "Positive (qualifier value)") if positive else ("260385009", "Negative (qualifier value)")
        entries.append(_observation(f"{pid}-{field.split('_')[0]}", ref, code, {"valueCodeableConcept":
                                                                                 _coded(SNOMED, *value)}))
    size_cm = round(float(patient["tumor_size_mm"]) / 10.0, 1)
    entries.append(_observation(f"{pid}-size", ref, ("21889-1", "Size Tumor"), {"component": [{
        "code": _coded(LOINC, "33728-7", "Size.maximum dimension in Tumor"),
        "valueQuantity": {"value": size_cm, "unit": "cm", "system": UCUM, "code": "cm"}}]}, "mcode-tumor-size"))
    grade = int(patient["grade"])
    entries.append(_observation(f"{pid}-grade", ref, ("33732-9", "Histology grade [Identifier] in Cancer specimen"),
                                {"valueCodeableConcept": _coded(SNOMED, *GRADES[grade])}, "mcode-cancer-patient"))
    entries.append(_observation(f"{pid}-nodes", ref, ("21893-3", "Regional lymph nodes positive [#] Specimen"),
                                {"valueInteger": int(patient["lymph_nodes_positive"])}, "mcode-cancer-patient"))
    meno = ("307429007", "After menopause") if str(patient["menopausal_state"]) == "Post" else (
        "309606002", "Before menopause")
    entries.append({"fullUrl": f"urn:uuid:{pid}-menopause", "resource": {
        "resourceType": "Observation", "id": f"{pid}-menopause", "status": "final",
        "code": _coded(SNOMED, "161712005", "Menopause, function (observable entity)"),
        "subject": {"reference": ref}, "effectiveDateTime": "2023-02-10",
        "valueCodeableConcept": _coded(SNOMED, *meno)}})
    drugs = [*(CHEMO if int(patient["chemotherapy"]) else ()), *((HORMONE,) if int(patient["hormone_therapy"]) else ())]
    for code, drug in drugs:
        entries.append({"fullUrl": f"urn:uuid:{pid}-{drug}", "resource": {
            "resourceType": "MedicationStatement", "id": f"{pid}-{drug}", "status": "completed",
            "medicationCodeableConcept": _coded(RXNORM, code, drug), "subject": {"reference": ref},
            "effectivePeriod": {"start": "2023-03-01"}}})
    if int(patient["radio_therapy"]):
        entries.append({"fullUrl": f"urn:uuid:{pid}-radiotherapy", "resource": {
            "resourceType": "Procedure", "id": f"{pid}-radiotherapy", "status": "completed",
            "code": _coded(SNOMED, "1217123003", "Radiotherapy course of treatment (regime/therapy)"),
            "subject": {"reference": ref}, "performedPeriod": {"start": "2023-04-01", "end": "2023-05-05"}}})
    return {"resourceType": "Bundle", "id": pid, "type": "collection", "entry": entries}


def generate() -> dict[str, bytes]:
    """Every example file's name and bytes (deterministic)."""
    rnaseq, array = (row for _, row in example_patients().iterrows())
    profile = rnaseq_profile(rnaseq)
    return {
        FILES["rnaseq"]: profile.to_csv(sep="\t", index=False, lineterminator="\n").encode(),
        FILES["rnaseq_ensembl"]: ensembl_profile(profile).to_csv(sep="\t", index=False, lineterminator="\n").encode(),
        FILES["array"]: array_profile(array).to_csv(sep="\t", index=False, lineterminator="\n").encode(),
        FILES["rnaseq_record"]: (json.dumps(record_bundle(rnaseq, "rnaseq"), indent=1) + "\n").encode(),
        FILES["array_record"]: (json.dumps(record_bundle(array, "array"), indent=1) + "\n").encode(),
    }


def example_path(kind: str) -> Path:
    """The shipped example file of ``kind`` (``rnaseq``, ``rnaseq_ensembl``, ``array``, ``rnaseq_record``,
    ``array_record``)."""
    return EXAMPLES_DIR / FILES[kind]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genomics.demo.examples",
                                     description="Write the synthetic example input files.")
    parser.add_argument("--out", type=Path, default=EXAMPLES_DIR, help="folder to write to (default: the package's)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in generate().items():
        (args.out / name).write_bytes(data)
        print(f"{args.out / name}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
