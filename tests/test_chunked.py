"""Chunked reference statistics and PCA (genomics.chunked) against the in-memory pipeline on the same cohort."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import genomics.preprocess
from genomics.chunked import reference_from_file
from genomics.demo import make_demo_cohort
from genomics.errors import InputError
from genomics.preprocess import PipelineOptions, preprocess_cohort
from genomics.reference import ReferenceModel
from genomics.spec import spec_of

OPTIONS = PipelineOptions(n_top_genes=100, n_pcs=10, umap=False)


@pytest.fixture(scope="module")
def cohort():
    adata = make_demo_cohort(n_patients=600, n_genes=300, seed=2)
    X = np.asarray(adata.X).copy()
    X[3, 5] = X[10, 7] = np.nan  # missing cells are filled with the gene mean, as in memory
    adata.X = X
    return adata


@pytest.fixture(scope="module")
def in_memory(cohort):
    """The in-memory pipeline; its graph steps (neighbours, Leiden) do not enter the reference and are skipped."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(genomics.preprocess, "_graph_steps_cpu", lambda adata, options: None)
        return preprocess_cohort(cohort, options=OPTIONS, device="cpu")


def _parquet(adata, path: Path) -> Path:
    table = pd.concat([adata.obs.reset_index(drop=True),
                       pd.DataFrame(np.asarray(adata.X), columns=list(adata.var_names))], axis=1)
    table.to_parquet(path, row_group_size=128)
    path.with_name(path.name + ".spec.json").write_text(spec_of(adata).to_json())
    return path


@pytest.mark.parametrize("kind", ["parquet", "h5ad"])
def test_chunked_reference_matches_the_in_memory_pipeline(cohort, in_memory, tmp_path, kind):
    if kind == "parquet":
        path = _parquet(cohort, tmp_path / "cohort.parquet")
    else:
        path = tmp_path / "cohort.h5ad"
        cohort.write_h5ad(path)
    chunked = reference_from_file(path, options=OPTIONS, chunk_rows=97)
    var = in_memory.var
    assert list(chunked.var.index) == list(var.index) and chunked.n_missing == 2
    np.testing.assert_allclose(chunked.var["ref_mean"], var["ref_mean"], atol=1e-6)
    np.testing.assert_allclose(chunked.var["ref_sd"], var["ref_sd"], atol=1e-6)
    np.testing.assert_allclose(chunked.qn_target, in_memory.uns["oncotx"]["qn_target"], atol=1e-5)
    # fewer patients than the quantile sample: the quantiles are exact here
    np.testing.assert_allclose(chunked.var["ref_q50"], var["ref_q50"], atol=1e-5)
    assert (chunked.var["highly_variable"].to_numpy() == var["highly_variable"].to_numpy()).all()
    assert chunked.var["highly_variable"].sum() == 100
    hv = var["highly_variable"].to_numpy()
    np.testing.assert_allclose(chunked.var["pca_sd"][hv], var["pca_sd"][hv], rtol=1e-6)
    # same principal axes (up to sign) and coordinates
    L_mem, L_chunk = np.asarray(in_memory.varm["PCs"], dtype=np.float64), chunked.loadings
    cosine = np.abs((L_mem * L_chunk).sum(axis=0)) / np.linalg.norm(L_mem, axis=0) / np.linalg.norm(L_chunk, axis=0)
    assert (cosine > 0.9999).all(), cosine
    sign = np.sign((L_mem * L_chunk).sum(axis=0))
    np.testing.assert_allclose(chunked.X_pca * sign, in_memory.obsm["X_pca"], atol=1e-3)
    np.testing.assert_allclose(chunked.variance_ratio, in_memory.uns["pca"]["variance_ratio"], atol=1e-5)
    # a patient lands in the same place with the same neighbours
    patient = make_demo_cohort(n_patients=3, n_genes=300, seed=2)[:2].copy()
    here = chunked.reference_model(max_patients=None).project(patient)
    there = ReferenceModel.from_preprocessed(in_memory).project(patient)
    np.testing.assert_allclose(np.abs(here.pca), np.abs(there.pca), atol=1e-3)
    assert list(here.neighbours["patient_id"]) == list(there.neighbours["patient_id"])
    np.testing.assert_array_equal(here.ood_percentile, there.ood_percentile)


def test_subsampled_neighbour_index_and_refusals(cohort, tmp_path):
    path = _parquet(cohort, tmp_path / "cohort.parquet")
    chunked = reference_from_file(path, options=OPTIONS, chunk_rows=200)
    small = chunked.to_anndata(max_patients=100)
    assert small.n_obs == 100 and small.obsm["X_pca"].shape == (100, 10) and small.X is None
    assert small.uns["oncotx"]["pipeline"]["patients"] == 600
    ReferenceModel.from_preprocessed(small)  # usable for projection
    with pytest.raises(InputError, match="ComBat"):
        reference_from_file(path, options=PipelineOptions(batch_correct=True))
    (tmp_path / "bare.parquet").write_bytes(path.read_bytes())
    with pytest.raises(InputError, match="spec"):
        reference_from_file(tmp_path / "bare.parquet")
