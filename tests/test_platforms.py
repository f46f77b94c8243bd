"""Platform references: each real platform is recognised from an uploaded file, samples are standardised against
their platform's reference exactly as the reference standardises its own samples, a log-scale sample is never
compared with z-scores, and leave-one-out references leave the sample out."""
from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from genomics import platforms as pf
from genomics.errors import InputError
from genomics.validate import check_upload
from tests.inputs import load_real_cohort

realdata = pytest.mark.realdata
SCANB_FILE = Path("scanb") / "scanb_dev_expr_log2fpkm_196x10000.csv.gz"
GSE7390_CLINICAL = ["age", "size", "grade", "er", "t.tdm", "e.tdm"]


def _upload(values: pd.Series, path: Path) -> ad.AnnData:
    """A two-column gene,value TSV as a clinician would upload it, read through validation."""
    values.rename("value").rename_axis("gene").reset_index().to_csv(path, sep="\t", index=False)
    result = check_upload(str(path))
    assert result.report.ok, result.report.errors
    return result.adata


@pytest.fixture(scope="module")
def scanb_table(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / SCANB_FILE).set_index("title")


def _counts(log2fpkm: pd.Series) -> pd.Series:
    """Integer counts from log2(FPKM + 0.1): undo the log, scale to a library of roughly 20 million reads."""
    fpkm = (2.0 ** log2fpkm - 0.1).clip(lower=0)
    return np.round(fpkm / fpkm.sum() * 2e7).astype(int)


def test_interface():
    assert pf.PLATFORMS == ("rnaseq", "affymetrix", "illumina")
    assert [f.name for f in dataclasses.fields(pf.PlatformCall)] == ["platform", "reference_id", "reason"]
    names = [f.name for f in dataclasses.fields(pf.PlatformReference)]
    assert names[:5] == ["id", "name", "platform", "attribution", "values"]
    for func in (pf.detect_platform, pf.reference_for, pf.standardise_to_platform, pf.platform_reference):
        params = list(inspect.signature(func).parameters.values())
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1 + (func is pf.standardise_to_platform):])


def test_reference_needs_the_data_folder(monkeypatch):
    monkeypatch.delenv("ONCOTX_DATA", raising=False)
    monkeypatch.setenv("ONCOTX_CONFIG", "/nonexistent.toml")
    with pytest.raises(InputError, match="SCAN-B RNA-seq reference cohort is not available") as err:
        pf.platform_reference("scanb")
    assert "ONCOTX" not in str(err.value) and "ONCOTX_DATA" in err.value.detail
    with pytest.raises(InputError, match="No platform reference 'tcga'"):
        pf.platform_reference("tcga")


@realdata
def test_references_load_with_attribution():
    scanb = pf.platform_reference("scanb")
    assert scanb is pf.platform_reference("scanb")  # cached per process
    assert scanb.values.shape[0] == 196 and scanb.values.shape[1] >= 9_950 and scanb.platform == "rnaseq"
    assert scanb.values.dtypes.eq(np.float32).all() and "GSE96058" in scanb.attribution
    vdx = pf.platform_reference("vdx")
    assert vdx.values.shape == (150, 655) and vdx.platform == "affymetrix" and "genefu" in vdx.attribution
    metabric = pf.platform_reference("metabric")
    assert metabric.scale == "zscore" and metabric.values.shape == (1904, 300)


@realdata
def test_detects_each_platform_from_real_files(tmp_path, data_dir, scanb_table):
    sample = scanb_table.iloc[7]
    call = pf.detect_platform(_upload(sample, tmp_path / "scanb.tsv"))
    assert (call.platform, call.reference_id) == ("rnaseq", "scanb") and "SCAN-B" in call.reason

    counts = _counts(sample)
    call = pf.detect_platform(_upload(counts, tmp_path / "counts.tsv"))
    assert (call.platform, call.reference_id) == ("rnaseq", "scanb") and "counts" in call.reason

    cpm = np.log1p(counts / counts.sum() * 1e6)  # natural-log CPM: log scale, another convention
    upload = _upload(cpm, tmp_path / "lncpm.tsv")
    assert upload.uns["oncotx"]["scale"] == "log"
    call = pf.detect_platform(upload)
    assert (call.platform, call.reference_id) == ("rnaseq", "scanb") and "rank correlation" in call.reason

    vdx = pd.read_csv(data_dir / "vdx" / "vdxs_expr.csv.gz").set_index("sample_id")
    call = pf.detect_platform(_upload(vdx.iloc[3], tmp_path / "vdx.tsv"))
    assert (call.platform, call.reference_id) == ("affymetrix", "vdx") and "probe" in call.reason

    gse = pd.read_csv(data_dir / "gse7390" / "gse7390_198.csv.gz").drop(columns=GSE7390_CLINICAL)
    call = pf.detect_platform(_upload(gse.iloc[4], tmp_path / "gse.tsv"))
    assert (call.platform, call.reference_id) == ("affymetrix", "vdx")

    metabric = load_real_cohort("metabric", data_dir)
    rows = pd.DataFrame(metabric.X[:3].T, index=metabric.var_names, columns=list(metabric.obs_names[:3]))
    rows.rename_axis("gene").to_csv(tmp_path / "z.tsv", sep="\t")
    z_upload = check_upload(str(tmp_path / "z.tsv")).adata
    reference, call = pf.reference_for(z_upload)
    assert (call.platform, call.reference_id, reference) == ("illumina", None, None)
    assert "used as they are" in call.reason


@realdata
def test_log_scale_symbols_pick_the_platform_by_evidence(data_dir):
    vdx = load_real_cohort("vdx", data_dir)
    one = vdx[3:4].copy()
    one.uns["oncotx"] = {"scale": "log"}  # symbols, no cohort id: judged by gene levels alone
    call = pf.detect_platform(one)
    assert (call.platform, call.reference_id) == ("affymetrix", "vdx")
    assert "VDX Affymetrix r = 0.8" in call.reason or "VDX Affymetrix r = 0.9" in call.reason


@realdata
def test_standardise_matches_the_reference_cohorts_own_z(tmp_path, scanb_table):
    reference = pf.platform_reference("scanb")
    sample_id = reference.values.index[11]
    upload = _upload(scanb_table.loc[sample_id], tmp_path / "one.tsv")
    genes = ["ESR1", "ERBB2", "FOXC1", "NOT_A_GENE", "MKI67"]  # MKI67: not measured in SCAN-B
    z, mode = pf.standardise_to_platform(upload, genes, reference=reference)
    assert mode == "standardise" and z.shape == (1, 5)
    values = reference.values[["ESR1", "ERBB2", "FOXC1"]].astype(float)
    own = ((values - values.mean()) / values.std(ddof=1)).loc[sample_id].to_numpy()
    np.testing.assert_allclose(z[0, :3], own, atol=1e-5)
    assert np.isnan(z[0, 3:]).all()


@realdata
def test_other_conventions_are_quantile_mapped_never_logged_twice(tmp_path, scanb_table):
    reference = pf.platform_reference("scanb")
    sample = scanb_table.iloc[20]
    genes = ["ESR1", "ERBB2", "FOXC1", "KRT5", "CCNB1", "MYBL2", "BCL2", "GRB7"]
    z_log, _ = pf.standardise_to_platform(_upload(sample, tmp_path / "log.tsv"), genes, reference=reference)
    counts = _upload(_counts(sample), tmp_path / "counts.tsv")
    z_counts, mode = pf.standardise_to_platform(counts, genes, reference=reference)
    assert mode == "quantile" and counts.uns["oncotx"]["scale"] == "counts"
    assert "transformations" not in counts.uns["oncotx"] or not counts.uns["oncotx"]["transformations"]
    cpm = _counts(sample) / _counts(sample).sum() * 1e6
    z_cpm, mode_cpm = pf.standardise_to_platform(_upload(np.log1p(cpm), tmp_path / "cpm.tsv"), genes,
                                                 reference=reference)
    assert mode_cpm == "quantile"
    # ranks do not change under counts -> log CPM, so both land on the same per-gene z, close to the original's
    np.testing.assert_allclose(z_counts, z_cpm, atol=0.05)
    assert np.corrcoef(z_counts[0], z_log[0])[0, 1] > 0.95
    assert np.max(np.abs(z_counts - z_log)) < 0.6


@realdata
def test_log_sample_is_never_compared_with_z_scores(tmp_path, scanb_table):
    upload = _upload(scanb_table.iloc[0], tmp_path / "one.tsv")
    with pytest.raises(InputError, match="cannot be compared with the METABRIC"):
        pf.standardise_to_platform(upload, ["ESR1"], reference=pf.platform_reference("metabric"))


@realdata
def test_leave_one_out_reference(tmp_path, scanb_table):
    reference = pf.platform_reference("scanb")
    sample_id = reference.values.index[5]
    loo = reference.without([sample_id])
    assert loo.n_samples == 195 and sample_id not in loo.values.index and sample_id not in loo.obs.index
    assert reference.n_samples == 196 and loo.id == "scanb" and "without 1" in loo.name
    genes = ["ESR1", "ERBB2"]
    expected = reference.values.drop(index=sample_id)[genes].median()
    pd.testing.assert_series_equal(loo.medians(genes), expected.astype(float))
    std = loo.standardiser(genes)
    assert std is loo.standardiser(("ESR1", "ERBB2"))  # cached per gene tuple
    np.testing.assert_allclose(std.ref_mean, reference.values.drop(index=sample_id)[genes].mean(), rtol=1e-5)
    assert len(std.qn_target) == 2 and not np.allclose(std.ref_mean, reference.standardiser(genes).ref_mean)
    upload = _upload(scanb_table.loc[sample_id], tmp_path / "one.tsv")
    z_in, _ = pf.standardise_to_platform(upload, genes, reference=reference)
    z_out, _ = pf.standardise_to_platform(upload, genes, reference=loo)
    assert not np.allclose(z_in, z_out)


@realdata
def test_synthetic_profile_matches_no_platform():
    from genomics.cohorts import load_cohort

    demo = load_cohort("demo")[:1].copy()
    demo.uns["oncotx"] = {"scale": "log"}
    reference, call = pf.reference_for(demo)
    assert reference is None and call.platform == "unknown" and "match no platform reference" in call.reason
