"""Reference cohorts: specs, discovery under ONCOTX_DATA, and loaders into AnnData.

Every loader returns an AnnData with ``X`` = expression (patients × HGNC symbols, float32),
``obs`` = clinical, treatment and outcome columns (endpoint times in **months**), and
``uns["oncotx"]`` = provenance including the cohort's spec (see :func:`genomics.spec.spec_of`).
"""
from __future__ import annotations

import functools
import io
from dataclasses import asdict
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from genomics.cohort_table import cohort_from_table
from genomics.demo import demo_spec, make_demo_cohort
from genomics.errors import InputError
from genomics.genes import harmonise
from genomics.settings import Settings, get_settings
from genomics.sniff import file_sha256, open_text_payload, read_source
from genomics.spec import BREAST_CLINICAL, BREAST_TREATMENTS, PROVENANCE_KEY, ClinicalField, CohortSpec, Endpoint

DAYS_PER_MONTH = 365.25 / 12

METABRIC_SPEC = CohortSpec(
    id="metabric",
    name="METABRIC",
    licence="ODbL 1.0",
    attribution=(
        "METABRIC (Curtis et al. Nature 2012; Pereira et al. Nat Commun 2016), via the cBioPortal datahub "
        "brca_metabric study."
    ),
    platform="Illumina HT-12 v3 microarray (per-gene z-scores)",
    scale="zscore",
    endpoints=(
        Endpoint("OS", "os_months", "os_event", "months", "Overall survival (death from any cause)"),
        Endpoint("DSS", "os_months", "dss_event", "months", "Disease-specific survival (death from breast cancer)"),
        Endpoint("RFS", "rfs_months", "rfs_event", "months", "Relapse-free survival"),
    ),
    treatments=BREAST_TREATMENTS,
    clinical=BREAST_CLINICAL + (ClinicalField("tumor_stage", "ordinal", categories=("0", "1", "2", "3", "4")),),
    batch_col="cohort",
    subtype_col="pam50_claudin_low",
    notes="Treatment was not randomised: it is confounded by indication.",
)

VDX_SPEC = CohortSpec(
    id="vdx",
    name="VDX (GSE2034/GSE5327)",
    licence="Artistic-2.0 (Bioconductor genefu)",
    attribution="VDX breast cancer data (Wang et al. Lancet 2005; Minn et al. PNAS 2007) from Bioconductor genefu.",
    platform="Affymetrix HG-U133A (log2)",
    scale="log",
    endpoints=(
        Endpoint("DMFS", "dmfs_months", "dmfs_event", "days", "Distant-metastasis-free survival"),
        Endpoint("RFS", "rfs_months", "rfs_event", "days", "Relapse-free survival"),
    ),
    treatments=(),
    clinical=(
        ClinicalField("age_at_diagnosis", "numeric", "years", min_value=0, max_value=120),
        ClinicalField("grade", "ordinal", categories=("1", "2", "3"), min_value=1, max_value=3),
        ClinicalField("er_status", "categorical", categories=("Positive", "Negative")),
        ClinicalField("tumor_size_class", "categorical", categories=("1", "2"), description="genefu size class"),
        ClinicalField("lymph_nodes_positive", "numeric", "nodes", min_value=0, max_value=100),
    ),
    notes="Node-negative patients who received no adjuvant systemic treatment.",
)

GSE7390_SPEC = CohortSpec(
    id="gse7390",
    name="TRANSBIG GSE7390",
    licence="GPL-3 (as shipped in scikit-survival)",
    attribution="TRANSBIG (Desmedt et al. Clin Cancer Res 2007), GEO GSE7390, as shipped in scikit-survival.",
    platform="Affymetrix HG-U133A (log2), 76-gene subset",
    scale="log",
    endpoints=(Endpoint("DMFS", "dmfs_months", "dmfs_event", "days", "Time to distant metastasis"),),
    treatments=(),
    clinical=(
        ClinicalField("age_at_diagnosis", "numeric", "years", min_value=0, max_value=120),
        ClinicalField("tumor_size_mm", "numeric", "mm", min_value=0, max_value=500),
        ClinicalField("grade", "ordinal", categories=("1", "2", "3"), min_value=1, max_value=3),
        ClinicalField("er_status", "categorical", categories=("Positive", "Negative")),
        ClinicalField("lymph_nodes_positive", "numeric", "nodes", min_value=0, max_value=100,
                      description="0 for every patient: the cohort is node-negative by design"),
    ),
    notes="Untreated node-negative patients.",
)

SCANB_SPEC = CohortSpec(
    id="scanb",
    name="SCAN-B RNA-seq development set (GSE96058, 196 patients)",
    licence="GEO public data; subset as shipped in the LGPL-3 R package cosinet",
    attribution="GEO GSE96058 (Brueffer et al. 2018; Saal et al. 2015), subset as shipped in the LGPL-3 R package cosinet",
    platform="RNA-seq (Illumina HiSeq), log2(FPKM+0.1)",
    scale="log",
    endpoints=(Endpoint("OS", "os_months", "os_event", "days", "Overall survival (death from any cause)"),),
    treatments=("chemotherapy", "hormone_therapy"),
    clinical=(
        ClinicalField("age_at_diagnosis", "numeric", "years", min_value=0, max_value=120),
        ClinicalField("grade", "ordinal", categories=("1", "2", "3"), min_value=1, max_value=3,
                      description="Nottingham histological grade (NHG)"),
        ClinicalField("er_status", "categorical", categories=("Positive", "Negative")),
        ClinicalField("pr_status", "categorical", categories=("Positive", "Negative")),
        ClinicalField("her2_status", "categorical", categories=("Positive", "Negative")),
    ),
    subtype_col="pam50_subtype",
    notes=("Radiotherapy is not recorded. 22 deaths over a median follow-up of about 4 years: a platform reference "
           "and subtype benchmark, too small to train survival models on. Treatment was not randomised."),
)

BUILTIN_FILES = {
    "metabric": ("metabric", "metabric_1904_clinical_treatment_expr300.parquet"),
    "vdx": ("vdx", "vdxs_expr.csv.gz"),
    "gse7390": ("gse7390", "gse7390_198.csv.gz"),
    "scanb": ("scanb", "scanb_dev_expr_log2fpkm_196x10000.csv.gz"),
}
BUILTIN_SPECS = {"metabric": METABRIC_SPEC, "vdx": VDX_SPEC, "gse7390": GSE7390_SPEC, "scanb": SCANB_SPEC}
SCANB_SAMPLES = "scanb_dev_samples_196.tsv"


def list_cohorts(settings: Settings | None = None) -> list[CohortSpec]:
    """Cohorts available now: the demo cohort always, the real ones found under the data folder."""
    settings = settings or get_settings()
    specs = [demo_spec()]
    if settings.data_dir is not None:
        for cid, (folder, fname) in BUILTIN_FILES.items():
            if (settings.data_dir / folder / fname).is_file():
                specs.append(BUILTIN_SPECS[cid])
    return specs


def load_cohort(ref: str | Path, *, settings: Settings | None = None) -> ad.AnnData:
    """Load a cohort by id (``demo``, ``metabric``, ``vdx``, ``gse7390``, ``scanb``) or by PATH.

    A PATH is a ``.h5ad``, a ``.parquet``/``.csv(.gz)`` patient table with a ``<file>.spec.json``
    sidecar, or a cBioPortal study folder.
    """
    settings = settings or get_settings()
    text = str(ref)
    if text == "demo":
        return _cached_demo().copy()
    if text in BUILTIN_FILES:
        if settings.data_dir is None:
            raise InputError(f"The {text} cohort is not available: the reference data are not installed on this "
                             "server (ask the administrator).", detail="set ONCOTX_DATA to the reference data folder")
        folder, fname = BUILTIN_FILES[text]
        path = settings.data_dir / folder / fname
        if not path.is_file():
            raise InputError(f"Cohort {text!r} not found under the data folder ({folder}/{fname}).")
        loaders = {"metabric": _load_metabric, "vdx": _load_vdx, "gse7390": _load_gse7390, "scanb": _load_scanb}
        return loaders[text](path)
    path = Path(text)
    if path.is_dir():
        return load_cbioportal(path)
    if path.is_file():
        return load_cohort_file(path)
    known = ", ".join(s.id for s in list_cohorts(settings))
    raise InputError(f"No cohort {text!r}: give one of {known}, or a path to a cohort file or study folder.")


@functools.lru_cache(maxsize=1)
def _cached_demo() -> ad.AnnData:
    return make_demo_cohort()


def _load_metabric(path: Path) -> ad.AnnData:
    table = pd.read_parquet(path)
    for col in (*BREAST_TREATMENTS, "os_event", "rfs_event", "dss_event"):
        table[col] = table[col].astype("Int64")
    return cohort_from_table(table, METABRIC_SPEC, source=path.name, sha256=file_sha256(path))


def _load_vdx(path: Path) -> ad.AnnData:
    expr = pd.read_csv(path)
    clinical = pd.read_csv(path.parent / "vdxs_clinical.tsv", sep="\t")
    clinical = pd.DataFrame(
        {
            "patient_id": clinical["sample_id"].astype(str),
            "age_at_diagnosis": clinical["age"].astype(float),
            "grade": clinical["grade"].astype(float),
            "er_status": clinical["er"].map({1: "Positive", 0: "Negative"}),
            "tumor_size_class": clinical["size"].astype("Int64").astype(str).replace("<NA>", np.nan),
            "lymph_nodes_positive": clinical["node"].astype(float),
            "dmfs_months": clinical["t.dmfs"] / DAYS_PER_MONTH,
            "dmfs_event": clinical["e.dmfs"].astype("Int64"),
            "rfs_months": clinical["t.rfs"] / DAYS_PER_MONTH,
            "rfs_event": clinical["e.rfs"].astype("Int64"),
        }
    )
    table = clinical.merge(expr.rename(columns={"sample_id": "patient_id"}), on="patient_id", how="inner")
    return cohort_from_table(table, VDX_SPEC, source=path.name, sha256=file_sha256(path))


GSE7390_GRADES = {"well differentiated": 1.0, "intermediate": 2.0, "poorly differentiated": 3.0}


def _load_gse7390(path: Path) -> ad.AnnData:
    raw = pd.read_csv(path)
    genes = raw.drop(columns=["age", "size", "grade", "er", "t.tdm", "e.tdm"])
    clinical = pd.DataFrame(
        {
            "patient_id": [f"GSE7390-{i + 1:03d}" for i in range(len(raw))],
            "age_at_diagnosis": raw["age"].astype(float),
            "tumor_size_mm": raw["size"].astype(float) * 10.0,
            "grade": raw["grade"].map(GSE7390_GRADES),
            "er_status": raw["er"].map({"positive": "Positive", "negative": "Negative"}),
            "lymph_nodes_positive": 0.0,  # node-negative by design (Desmedt 2007): a cohort fact, not a fill
            "dmfs_months": raw["t.tdm"] / DAYS_PER_MONTH,
            "dmfs_event": raw["e.tdm"].astype("Int64"),
        }
    )
    table = pd.concat([clinical, genes], axis=1)
    return cohort_from_table(table, GSE7390_SPEC, source=path.name, sha256=file_sha256(path))


STATUS_01 = {1: "Positive", 0: "Negative"}
NHG_GRADES = {"G1": 1.0, "G2": 2.0, "G3": 3.0}


def _load_scanb(path: Path) -> ad.AnnData:
    expr = pd.read_csv(path)
    samples_file = path.parent / SCANB_SAMPLES
    if not samples_file.is_file():
        raise InputError(f"Cohort 'scanb': the clinical file scanb/{SCANB_SAMPLES} is missing.")
    raw = pd.read_csv(samples_file, sep="\t")
    clinical = pd.DataFrame(
        {
            "patient_id": raw["title"].astype(str),
            "geo_accession": raw["geo_accession"].astype(str),
            "age_at_diagnosis": raw["age_at_diagnosis"].astype(float),
            "grade": raw["nhg"].map(NHG_GRADES),
            "er_status": raw["er_status"].map(STATUS_01),
            "pr_status": raw["pgr_status"].map(STATUS_01),
            "her2_status": raw["her2_status"].map(STATUS_01),
            "chemotherapy": raw["chemo_treated"].astype("Int64"),
            "hormone_therapy": raw["endocrine_treated"].astype("Int64"),
            "pam50_subtype": raw["pam50_subtype"].astype(str),
            "os_months": raw["overall_survival_days"] / DAYS_PER_MONTH,
            "os_event": raw["overall_survival_event"].astype("Int64"),
        }
    )
    expr = expr.rename(columns={"title": "patient_id"})
    gene_cols = [c for c in expr.columns if c != "patient_id"]
    mapped = harmonise(gene_cols)
    # symbols retired after the Ensembl 109 gene map (e.g. ARNTL, KIAA1109) cannot be named: left out, listed
    unmapped = [c for c, s in zip(gene_cols, mapped.symbols, strict=True) if s is None]
    table = clinical.merge(expr.drop(columns=unmapped), on="patient_id", how="inner")
    adata = cohort_from_table(table, SCANB_SPEC, source=path.name, sha256=file_sha256(path))
    adata.uns[PROVENANCE_KEY]["unmapped_ids"] = unmapped
    adata.uns[PROVENANCE_KEY]["n_input_ids"] = len(gene_cols)
    return adata


def load_cohort_file(path: Path) -> ad.AnnData:
    """A researcher's cohort file: ``.h5ad``, or a patient table with a ``<file>.spec.json`` sidecar."""
    sidecar = path.with_name(path.name + ".spec.json")
    payload = read_source(path)
    if payload.kind == "hdf5":
        adata = ad.read_h5ad(path)
        prov = dict(adata.uns.get(PROVENANCE_KEY, {}))
        if sidecar.is_file():
            prov["spec"] = CohortSpec.from_json_file(sidecar).to_json()
        if "spec" not in prov:
            raise InputError(f"{path.name}: no cohort spec inside the .h5ad and no {sidecar.name} beside it.")
        prov.setdefault("source_sha256", payload.sha256)
        adata.uns[PROVENANCE_KEY] = prov
        return adata
    if not sidecar.is_file():
        raise InputError(
            f"{path.name}: a cohort table needs its spec beside it as {sidecar.name} (see README, 'Your own cohort')."
        )
    spec = CohortSpec.from_json_file(sidecar)
    if payload.kind == "parquet":
        table = pd.read_parquet(io.BytesIO(payload.data))
    else:
        _, text, _ = open_text_payload(payload)
        sep = "\t" if text.split("\n", 1)[0].count("\t") > text.split("\n", 1)[0].count(",") else ","
        table = pd.read_csv(io.StringIO(text), sep=sep)
    return cohort_from_table(table, spec, source=payload.name, sha256=payload.sha256)


# --- cBioPortal study folders -------------------------------------------------------------------

CBIO_CLINICAL = {
    "age_at_diagnosis": "age_at_diagnosis",
    "tumor_size": "tumor_size_mm",
    "grade": "grade",
    "lymph_nodes_examined_positive": "lymph_nodes_positive",
    "er_status": "er_status",
    "pr_status": "pr_status",
    "her2_status": "her2_status",
    "inferred_menopausal_state": "menopausal_state",
    "tumor_stage": "tumor_stage",
}
CBIO_VALUES = {
    "positive": "Positive", "pos": "Positive", "+": "Positive",
    "negative": "Negative", "neg": "Negative", "-": "Negative",
    "pre": "Pre", "post": "Post",
}


def _read_cbio_table(path: Path) -> pd.DataFrame:
    _, text, _ = open_text_payload(read_source(path))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [ln for ln in text.split("\n") if not ln.startswith("#")]
    return pd.read_csv(io.StringIO("\n".join(lines)), sep="\t", dtype=str, na_values=["NA", "null", ""])


def _event(status: pd.Series) -> pd.Series:
    """cBioPortal status ('1:DECEASED', 'DECEASED', '0:LIVING', 'Recurred') → 1/0."""
    text = status.str.upper()
    event = text.str.startswith("1:") | text.isin(["DECEASED", "RECURRED", "PROGRESSED", "RECURRED/PROGRESSED"])
    known = text.notna()
    return event.astype("Int64").where(known)


def load_cbioportal(folder: Path) -> ad.AnnData:
    """Read a cBioPortal study folder (clinical patient/sample files + a ``data_mrna_*`` matrix if present)."""
    patient_file = folder / "data_clinical_patient.txt"
    if not patient_file.is_file():
        raise InputError(f"{folder.name} is not a cBioPortal study folder (no data_clinical_patient.txt).")
    patients = _read_cbio_table(patient_file)
    patients.columns = [c.lower() for c in patients.columns]
    sample_file = folder / "data_clinical_sample.txt"
    if sample_file.is_file():
        samples = _read_cbio_table(sample_file)
        samples.columns = [c.lower() for c in samples.columns]
        samples = samples.drop_duplicates("patient_id")
        patients = patients.merge(samples, on="patient_id", how="left", suffixes=("", "_sample"))
    endpoints = []
    for col in list(patients.columns):
        if col.endswith("_months") and col.replace("_months", "_status") in patients.columns:
            prefix = col[: -len("_months")]
            patients[f"{prefix}_event"] = _event(patients[f"{prefix}_status"])
            patients[col] = pd.to_numeric(patients[col], errors="coerce")
            endpoints.append(Endpoint(prefix.upper(), col, f"{prefix}_event", "months"))
    treatments = tuple(t for t in BREAST_TREATMENTS if t in patients.columns)
    for t in treatments:
        patients[t] = patients[t].str.upper().map({"YES": 1, "NO": 0}).astype("Int64")
    for src, dst in CBIO_CLINICAL.items():
        if src in patients.columns:
            values = patients[src]
            numeric = pd.to_numeric(values, errors="coerce")
            patients[dst] = numeric if numeric.notna().sum() >= values.notna().sum() * 0.9 else values.str.lower().map(CBIO_VALUES)
    meta = _read_meta(folder / "meta_study.txt")
    spec_file = folder / "oncotx.spec.json"
    spec = CohortSpec.from_json_file(spec_file) if spec_file.is_file() else CohortSpec(
        id=meta.get("cancer_study_identifier", folder.name),
        name=meta.get("name", folder.name),
        licence=_licence(folder),
        attribution=f"cBioPortal study {meta.get('cancer_study_identifier', folder.name)}; {meta.get('citation', '')}".strip("; "),
        platform="cBioPortal mRNA profile",
        scale="zscore",
        endpoints=tuple(endpoints),
        treatments=treatments,
        clinical=tuple(f for f in BREAST_CLINICAL if f.name in patients.columns),
    )
    expr_files = sorted(folder.glob("data_mrna*.txt")) + sorted(folder.glob("data_expression*.txt"))
    if expr_files:
        table = _cbio_expression(expr_files[0], patients)
        adata = cohort_from_table(table, spec, source=expr_files[0].name, sha256=file_sha256(expr_files[0]))
    else:
        adata = cohort_from_table(patients, spec, source=patient_file.name, sha256=file_sha256(patient_file))
        adata.uns[PROVENANCE_KEY]["note"] = "clinical only: the study folder has no data_mrna_* expression file"
    return adata


def _cbio_expression(path: Path, patients: pd.DataFrame) -> pd.DataFrame:
    matrix = _read_cbio_table(path)
    id_col = "Hugo_Symbol" if "Hugo_Symbol" in matrix.columns else matrix.columns[0]
    matrix = matrix.drop(columns=[c for c in ("Entrez_Gene_Id",) if c in matrix.columns and c != id_col])
    matrix = matrix.dropna(subset=[id_col]).drop_duplicates(id_col).set_index(id_col)
    expr = matrix.apply(pd.to_numeric, errors="coerce").T
    expr.index.name = "patient_id"
    keep = [c for c in expr.columns if c not in patients.columns]
    return patients.merge(expr[keep].reset_index(), on="patient_id", how="inner")


def _read_meta(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            out[key.strip()] = value.strip()
    return out


def _licence(folder: Path) -> str:
    return "see the study's LICENSE file" if (folder / "LICENSE").is_file() else "unknown: check the study's terms"


def spec_dict(spec: CohortSpec) -> dict:
    """The spec as plain data (for JSON, model cards and the README example)."""
    return asdict(spec)
