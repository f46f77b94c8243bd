"""Cohort loaders reproduce the published counts; specs round-trip; any researcher's cohort loads."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from genomics.cohorts import DAYS_PER_MONTH, list_cohorts, load_cohort
from genomics.errors import InputError
from genomics.regimens import regimen_labels
from genomics.settings import get_settings
from genomics.spec import BREAST_CLINICAL, CohortSpec, spec_of
from genomics.summary import summarise_cohort

realdata = pytest.mark.realdata


@realdata
def test_metabric_published_counts():
    adata = load_cohort("metabric")
    spec = spec_of(adata)
    assert adata.n_obs == 1904 and adata.n_vars == 300
    assert adata.X.dtype == np.float32
    assert int(adata.obs["os_event"].sum()) == 1103
    assert int(adata.obs["rfs_event"].sum()) == 771
    assert int(adata.obs["dss_event"].sum()) == 622
    assert {t: int(adata.obs[t].sum()) for t in spec.treatments} == {
        "chemotherapy": 396, "hormone_therapy": 1174, "radio_therapy": 1137}
    assert [ep.name for ep in spec.endpoints] == ["OS", "DSS", "RFS"]
    assert spec.batch_col == "cohort"


@realdata
def test_metabric_regimens_all_eight():
    adata = load_cohort("metabric")
    counts = regimen_labels(adata.obs, spec_of(adata).treatments).value_counts()
    assert len(counts) == 8
    assert counts["chemotherapy"] == 45 and counts["chemotherapy+hormone_therapy"] == 28


@realdata
def test_vdx_and_gse7390_published_counts(data_dir):
    vdx = load_cohort("vdx")
    assert vdx.n_obs == 150 and int(vdx.obs["dmfs_event"].sum()) == 47
    assert "ESR1" in vdx.var_names and vdx.var_names.is_unique
    gse = load_cohort("gse7390")
    assert gse.n_obs == 198 and int(gse.obs["dmfs_event"].sum()) == 51
    raw = pd.read_csv(data_dir / "gse7390" / "gse7390_198.csv.gz")
    # days converted to months consistently
    np.testing.assert_allclose(gse.obs["dmfs_months"].to_numpy(), raw["t.tdm"].to_numpy() / DAYS_PER_MONTH)
    assert spec_of(gse).endpoint("DMFS").unit == "days"


@realdata
def test_scanb_published_counts(data_dir):
    adata = load_cohort("scanb")
    spec = spec_of(adata)
    raw = pd.read_csv(data_dir / "scanb" / "scanb_dev_expr_log2fpkm_196x10000.csv.gz", nrows=1)
    assert raw.shape[1] - 1 == 10_000  # 10,000 genes in the file ...
    # ... of which 21 symbols retired after the Ensembl 109 gene map (ARNTL, KIAA1109, ...) cannot be named
    assert adata.n_vars == 10_000 - len(adata.uns["oncotx"]["unmapped_ids"]) and adata.n_vars >= 9_950
    assert adata.n_obs == 196 and adata.X.dtype == np.float32 and adata.var_names.is_unique
    assert int(adata.obs["os_event"].sum()) == 22
    assert adata.obs["pam50_subtype"].value_counts().to_dict() == {
        "LumA": 105, "LumB": 32, "Basal": 31, "Her2": 20, "Normal": 8}
    assert spec.subtype_col == "pam50_subtype" and spec.scale == "log"
    assert spec.treatments == ("chemotherapy", "hormone_therapy")  # METABRIC's names; radiotherapy not recorded
    assert {t: int(adata.obs[t].sum()) for t in spec.treatments} == {"chemotherapy": 41, "hormone_therapy": 151}
    assert [ep.name for ep in spec.endpoints] == ["OS"] and spec.endpoint("OS").unit == "days"
    samples = pd.read_csv(data_dir / "scanb" / "scanb_dev_samples_196.tsv", sep="\t").set_index("title")
    days = samples.loc[adata.obs_names, "overall_survival_days"].to_numpy()
    np.testing.assert_allclose(adata.obs["os_months"].to_numpy(), days / DAYS_PER_MONTH)
    assert adata.obs["er_status"].value_counts().to_dict() == {"Positive": 148, "Negative": 48}
    assert set(adata.obs["grade"].dropna()) == {1.0, 2.0, 3.0} and adata.obs["grade"].isna().sum() == 1
    assert set(adata.obs["her2_status"].dropna()) == {"Positive", "Negative"}
    assert {f.name for f in spec.clinical} <= {f.name for f in BREAST_CLINICAL}
    assert "GSE96058" in spec.attribution and "cosinet" in spec.attribution
    assert {"NUF2", "ORC6", "ESR1"} <= set(adata.var_names) and "MKI67" not in adata.var_names
    assert not any(c in adata.obs.columns for c in adata.uns["oncotx"]["unmapped_ids"])


@realdata
def test_list_cohorts_with_and_without_data(monkeypatch):
    assert [s.id for s in list_cohorts()] == ["demo", "metabric", "vdx", "gse7390", "scanb"]
    monkeypatch.delenv("ONCOTX_DATA")
    monkeypatch.setenv("ONCOTX_CONFIG", "/nonexistent.toml")
    assert [s.id for s in list_cohorts()] == ["demo"]
    with pytest.raises(InputError, match="not installed on this server") as err:
        load_cohort("metabric")
    assert "ONCOTX_DATA" in err.value.detail


def test_demo_cohort_always_available(monkeypatch):
    monkeypatch.delenv("ONCOTX_DATA", raising=False)
    adata = load_cohort("demo")
    spec = spec_of(adata)
    assert spec.synthetic and "SYNTHETIC" in spec.display_name
    summary = summarise_cohort(adata)
    assert summary.n_patients == adata.n_obs and len(summary.regimens) == 8


def test_spec_json_round_trip_and_errors():
    from genomics.cohorts import METABRIC_SPEC

    assert CohortSpec.from_dict(json.loads(METABRIC_SPEC.to_json())) == METABRIC_SPEC
    with pytest.raises(InputError, match="missing: licence"):
        CohortSpec.from_dict({"id": "x", "name": "x", "attribution": "a", "platform": "p"})
    with pytest.raises(InputError, match="unknown keys: colour"):
        CohortSpec.from_dict({**json.loads(METABRIC_SPEC.to_json()), "colour": "red"})


@realdata
def test_researcher_table_with_sidecar(tmp_path, data_dir):
    table = pd.read_parquet(data_dir / "metabric" / "metabric_1904_clinical_treatment_expr300.parquet").iloc[:200]
    table = table.rename(columns={"os_months": "time_d", "os_event": "died"})
    table["time_d"] = table["time_d"] * DAYS_PER_MONTH
    path = tmp_path / "my cohort.csv.gz"
    table.to_csv(path, index=False, compression="gzip")
    spec = {
        "id": "mine", "name": "My cohort", "licence": "CC-BY 4.0", "attribution": "Me", "platform": "Illumina",
        "scale": "zscore", "endpoints": [{"name": "OS", "time_col": "time_d", "event_col": "died", "unit": "days"}],
        "treatments": ["chemotherapy"],
        "clinical": [{"name": "age_at_diagnosis", "kind": "numeric", "unit": "years"}],
    }
    with pytest.raises(InputError, match="spec.json"):
        load_cohort(str(path))
    (tmp_path / "my cohort.csv.gz.spec.json").write_text(json.dumps(spec))
    adata = load_cohort(str(path))
    assert adata.shape == (200, 300) and spec_of(adata).id == "mine"
    assert int(adata.obs["died"].sum()) == int(table["died"].sum())
    out = tmp_path / "mine.h5ad"
    adata.write_h5ad(out)
    again = load_cohort(str(out))
    assert spec_of(again) == spec_of(adata) and again.shape == adata.shape


@realdata
def test_cbioportal_study_folder(tmp_path, data_dir):
    """The real clinical files plus a data_mrna file written in cBioPortal's format from METABRIC z-scores."""
    study = tmp_path / "study"
    shutil.copytree(data_dir / "metabric" / "cbioportal_brca_metabric_2019", study)
    for path in study.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    table = pd.read_parquet(data_dir / "metabric" / "metabric_1904_clinical_treatment_expr300.parquet")
    genes = ["ESR1", "ERBB2", "GATA3", "FOXA1", "MYC", "CCND2", "BCL2L1", "AKT1"]
    genes = [g for g in genes if g in table.columns]
    matrix = table.set_index("patient_id")[genes].T
    matrix.insert(0, "Entrez_Gene_Id", range(len(genes)))
    matrix.index.name = "Hugo_Symbol"
    (study / "data_mrna_illumina_microarray_zscores_ref_diploid_samples.txt").write_text(matrix.to_csv(sep="\t"))
    adata = load_cohort(str(study))
    spec = spec_of(adata)
    assert adata.n_obs == 1904 and list(adata.var_names) == genes
    assert "OS" in [ep.name for ep in spec.endpoints]
    assert set(spec.treatments) == {"chemotherapy", "hormone_therapy", "radio_therapy"}
    assert int(adata.obs["os_event"].sum()) == 1103
    assert int(adata.obs["chemotherapy"].sum()) == 396
    clinical_only = load_cohort(str(data_dir / "metabric" / "cbioportal_brca_metabric_2019"))
    assert clinical_only.n_obs == 2509 and clinical_only.n_vars == 0


def test_settings_from_config_file(tmp_path, monkeypatch):
    config = tmp_path / "oncotx.toml"
    config.write_text(f'data = "{tmp_path}"\nhome = "{tmp_path / "state"}"\n')
    monkeypatch.delenv("ONCOTX_DATA", raising=False)
    monkeypatch.delenv("ONCOTX_HOME", raising=False)
    monkeypatch.setenv("ONCOTX_CONFIG", str(config))
    settings = get_settings()
    assert settings.data_dir == tmp_path and settings.home == tmp_path / "state"
    settings.ensure_home()
    assert settings.models_dir.is_dir() and settings.database_url.startswith("sqlite:///")
