"""Patient projection: reference transform, kNN neighbours, OOD score; platform-robust placement."""
from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from genomics.cohorts import load_cohort
from genomics.errors import InputError
from genomics.preprocess import PipelineOptions, preprocess_cohort
from genomics.reference import ReferenceModel
from genomics.validate import check_upload
from tests import inputs


def _held_out(cohort: ad.AnnData, n: int, seed: int = 0) -> tuple[ad.AnnData, ad.AnnData]:
    rng = np.random.default_rng(seed)
    out = np.zeros(cohort.n_obs, dtype=bool)
    out[rng.choice(cohort.n_obs, n, replace=False)] = True
    return cohort[~out].copy(), cohort[out].copy()


@pytest.fixture(scope="module")
def demo_reference():
    """Demo cohort minus 5 held-out patients (log2 scale, 1,000 genes)."""
    train, test = _held_out(load_cohort("demo"), 5)
    return ReferenceModel.from_preprocessed(preprocess_cohort(train, options=PipelineOptions(umap=False))), test


def _upload(values: pd.Series, name: str) -> ad.AnnData:
    frame = values.to_frame("value")
    frame.index.name = "gene"
    result = check_upload(frame.to_csv().encode(), name=name)
    assert result.report.ok, result.report.errors
    return result.adata


def test_counts_tpm_and_log2_give_the_same_projection(demo_reference):
    ref, test = demo_reference
    log2 = pd.Series(test.X[0], index=test.var_names).astype(float)
    linear = 2.0 ** log2
    tpm = linear / linear.sum() * 1e6
    counts = np.round(tpm * 30.0)  # ~30M reads
    placed = {
        name: ref.project(_upload(values, f"{name}.csv"))
        for name, values in {"log2": log2, "tpm": tpm, "counts": counts}.items()
    }
    assert placed["log2"].mode == "standardise"  # same platform as the reference
    assert placed["tpm"].mode == placed["counts"].mode == "quantile"
    scale = np.median(ref.cohort_knn_dist_)  # a typical neighbour distance in this cohort
    for name in ("tpm", "counts"):
        gap = np.linalg.norm(placed[name].pca - placed["log2"].pca)
        assert gap < 0.5 * scale, (name, gap, scale)
    np.testing.assert_allclose(placed["tpm"].pca, placed["counts"].pca, atol=0.05 * scale)
    same = set(placed["log2"].neighbours["patient_id"][:15]) & set(placed["counts"].neighbours["patient_id"][:15])
    assert len(same) >= 8


def test_in_cohort_patient_finds_itself_and_is_not_ood():
    cohort = load_cohort("demo")
    ref = ReferenceModel.from_preprocessed(preprocess_cohort(cohort, options=PipelineOptions(umap=False)))
    patient = cohort[[3]].copy()
    patient.uns["oncotx"] = {"scale": "log"}
    placed = ref.project(patient)
    assert placed.neighbours["patient_id"].iloc[0] == cohort.obs_names[3]
    assert placed.neighbours["distance"].iloc[0] < 1e-3
    assert placed.ood_percentile[0] < 95 and placed.ood_message() is None


def test_unlike_profile_is_flagged(demo_reference):
    ref, test = demo_reference
    rng = np.random.default_rng(1)
    noise = pd.Series(rng.normal(8, 3, test.n_vars), index=test.var_names)
    placed = ref.project(_upload(noise, "noise.csv"))
    assert placed.ood_percentile[0] >= 99
    assert "unlike every patient" in placed.ood_message()


def test_projection_refuses_low_coverage(demo_reference):
    ref, test = demo_reference
    few = pd.Series(test.X[0, :100], index=test.var_names[:100]).astype(float)
    with pytest.raises(InputError, match="Cannot place the profile"):
        ref.project(_upload(few, "few.csv"))


def test_missing_genes_are_left_out_not_filled(demo_reference):
    ref, test = demo_reference
    full = pd.Series(test.X[1], index=test.var_names).astype(float)
    partial = full.iloc[: int(0.8 * len(full))]
    a, b = ref.project(_upload(full, "full.csv")), ref.project(_upload(partial, "partial.csv"))
    assert b.coverage.fraction == pytest.approx(0.8, abs=0.01)
    assert any("left out, not filled" in w for w in b.warnings)
    assert np.linalg.norm(a.pca - b.pca) < 0.5 * np.median(ref.cohort_knn_dist_)


@pytest.mark.realdata
def test_vdx_sample_lands_among_vdx_like_neighbours(tmp_path):
    """Held-out VDX samples, uploaded as two-column probe files, land inside VDX with ER-concordant neighbours."""
    vdx = load_cohort("vdx")
    train, test = _held_out(vdx, 20, seed=2)
    ref = ReferenceModel.from_preprocessed(preprocess_cohort(train, options=PipelineOptions(umap=False)))
    raw = pd.read_csv(inputs.data_dir() / "vdx" / "vdxs_expr.csv.gz").set_index("sample_id")
    er = vdx.obs["er_status"]
    oods, agreements = [], []
    for sample in test.obs_names:
        data = raw.loc[[sample]].T.to_csv(sep="\t").encode()
        result = check_upload(data, name=f"{sample}.tsv")
        placed = ref.project(result.adata)
        assert placed.mode == "standardise"
        oods.append(placed.ood_percentile[0])
        neighbour_er = er.loc[placed.neighbours["patient_id"]].dropna()
        if pd.notna(er.loc[sample]):
            agreements.append(float((neighbour_er == er.loc[sample]).mean()))
    assert np.median(oods) < 90  # typical of the cohort, not at its edge
    assert np.mean(agreements) > 0.7  # ER status of the neighbours matches (chance ≈ 0.55)


@pytest.mark.realdata
def test_metabric_row_projects_with_standardise_mode(data_dir):
    cohort = load_cohort("metabric")
    ref = ReferenceModel.from_preprocessed(preprocess_cohort(cohort, options=PipelineOptions(umap=False)))
    placed = ref.project(check_upload(inputs.metabric_row_csv(11), name="row.csv").adata)
    assert placed.mode == "standardise"
    assert placed.neighbours["patient_id"].iloc[0] == cohort.obs_names[11]
