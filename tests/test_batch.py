"""The batch path gives every patient the rows the single-patient path gives them.

50 patients are scored together by :func:`models.dask.score_partitions` (in several partitions, one process) and
then one at a time through :func:`models.treatment.treatment_options` + :func:`recommend_table`, as the dashboard
scores an upload. Every column must agree (to float tolerance) except the batch's own account of itself: the gene
coverage and the answering-model columns are the batch's (its minimum), by the CLI contract.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from models.columns import ANSWER_COLUMNS
from models.dask import score_partitions
from models.evidence import RegimenEvidence
from models.treatment import recommend_table, treatment_options
from tests.test_dask import cohort, ensemble_bundle  # noqa: F401  (the module fixtures: demo cohort, 3-member ensemble)

N = 50


def test_batch_rows_equal_single_patient_rows(ensemble_bundle, cohort, tmp_path):  # noqa: F811
    patients = cohort[500: 500 + N].copy()
    evidence = RegimenEvidence().fit(ensemble_bundle.features, cohort[:500].copy())
    out = tmp_path / "options.parquet"
    result = score_partitions(ensemble_bundle, patients, out, client=None, reference=evidence, rows_per_partition=17,
                              baseline="current")
    assert result.n_patients == N and result.n_partitions == 3
    batch = pd.read_parquet(out)
    mode = ensemble_bundle.features.standardiser_.choose_mode(
        patients, ensemble_bundle.features.standardiser_.aligned(patients))
    one_by_one = pd.concat([recommend_table(treatment_options(ensemble_bundle, patients[[i]], cohort=evidence,
                                                              baseline="current", expression_mode=mode))
                            for i in range(N)], ignore_index=True)
    assert list(batch.columns) == [*one_by_one.columns, *ANSWER_COLUMNS]  # the batch adds who answered
    assert list(batch["patient_id"]) == list(patients.obs_names)
    left, right = batch.drop(columns=[*ANSWER_COLUMNS, "gene_coverage"]), one_by_one.drop(columns="gene_coverage")
    numeric = [c for c in left.columns if pd.api.types.is_float_dtype(left[c])]
    assert len(numeric) > 20  # survival, benefit and bounds per regimen and horizon, the risk
    np.testing.assert_allclose(left[numeric].to_numpy(float), right[numeric].to_numpy(float), rtol=1e-9, atol=1e-12)
    others = [c for c in left.columns if c not in numeric]
    assert (left[others].astype(str).to_numpy() == right[others].astype(str).to_numpy()).all()
    assert batch["recommended"].nunique() >= 1 and batch["evidence_none"].notna().all()
