"""PREDICT inputs from a cohort or an upload: the mapping of OncoTx's clinical fields onto PREDICT's.

The rules are in :func:`cohort_inputs` (and docs/predict.md).
"""
from __future__ import annotations

import math

import anndata as ad
import numpy as np
import pandas as pd

from genomics.errors import InputError
from models.predict_breast.equations import (
    CAVEAT,
    DEFAULT_YEARS,
    PredictInputs,
    number_column,
    predict_table,
)

KI67_POSITIVE_ABOVE = 10.0  # % of tumour cells (Wishart et al. BMC Cancer 2014;14:908)
# Representative sizes (mm) for VDX's size classes: medians of METABRIC tumours in each range.
SIZE_CLASS_MM = {"1": 16.0, "2": 29.0, "3": 62.0, "4": 62.0}
ER_TEXT = {"positive": 1.0, "positve": 1.0, "pos": 1.0, "+": 1.0, "1": 1.0, "1.0": 1.0, "true": 1.0, "yes": 1.0,
           "negative": 0.0, "neg": 0.0, "-": 0.0, "0": 0.0, "0.0": 0.0, "false": 0.0, "no": 0.0}


def _text(series: pd.Series) -> pd.Series:
    return series.astype(object).map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                                     else str(v).strip().lower())


def _status(series: pd.Series) -> np.ndarray:
    """Positive/Negative (any case, METABRIC's 'Positve' too, 1/0) -> 1/0, anything else NaN."""
    return _text(series).map(lambda v: ER_TEXT.get(v, np.nan) if v is not None else np.nan).to_numpy(np.float64)


def _given(series: pd.Series) -> np.ndarray:
    """A 0/1 treatment column -> 1/0, missing NaN."""
    text = _text(series)
    mapped = text.map(lambda v: ER_TEXT.get(v, np.nan) if v is not None else np.nan).to_numpy(np.float64)
    numeric = pd.to_numeric(series, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    return np.where(np.isnan(numeric), mapped, (numeric != 0).astype(np.float64))


def cohort_inputs(adata: ad.AnnData, *, chemo_generation: int = 2) -> pd.DataFrame:
    """PREDICT v2.1 inputs for every patient of a cohort or upload, under the treatments recorded in ``obs``.

    Rules (docs/predict.md): ER from ``er_ihc`` where present, else ``er_status``; size from ``tumor_size_mm``,
    else VDX's ``tumor_size_class`` (representative sizes), missing sizes as the cohort median (flagged); grade
    1-3, else unknown; HER2 from ``her2_status``, else unknown; Ki-67 from ``ki67`` (% > 10 = positive), else
    unknown; screen detection from ``screen_detected``, else unknown; chemotherapy ``chemo_generation`` (2nd by
    default) where ``chemotherapy`` = 1; endocrine = 5 years where ``hormone_therapy`` = 1; radiotherapy
    extension from ``radio_therapy`` (absent column: unknown, standard model); ``trastuzumab`` and
    ``bisphosphonates`` columns if present, else not given. Missing age, ER or nodes are never filled: the row
    is not computed and ``note`` says why (TRANSBIG GSE7390 is node-negative by design: its loader records 0 nodes).
    Returns a frame indexed by ``obs_names`` with the :class:`PredictInputs` columns and ``note``.
    """
    obs = adata.obs
    n = adata.n_obs
    notes: list[list[str]] = [[] for _ in range(n)]

    def flag(mask: np.ndarray, text: str) -> None:
        for i in np.flatnonzero(mask):
            notes[i].append(text)

    age = number_column(obs, "age_at_diagnosis")
    if "tumor_size_mm" in obs.columns:
        size = number_column(obs, "tumor_size_mm")
    elif "tumor_size_class" in obs.columns:
        size = _text(obs["tumor_size_class"]).map(
            lambda v: SIZE_CLASS_MM.get(v.removesuffix(".0")) if v is not None else None
        ).to_numpy(np.float64, na_value=np.nan)
        flag(np.isfinite(size), "size from size class")
    else:
        size = np.full(n, np.nan)
    missing_size = ~np.isfinite(size) | (size <= 0)
    if missing_size.any() and (~missing_size).any():
        median = float(np.median(size[~missing_size]))
        size = np.where(missing_size, median, size)
        flag(missing_size, f"size missing: cohort median {median:g} mm")
    elif missing_size.all():
        flag(missing_size, "tumour size not recorded")

    if "lymph_nodes_positive" in obs.columns:
        nodes = number_column(obs, "lymph_nodes_positive")
    else:
        nodes = np.full(n, np.nan)

    er = np.full(n, np.nan)
    if "er_ihc" in obs.columns:
        er = _status(obs["er_ihc"])
    if "er_status" in obs.columns:
        fallback = _status(obs["er_status"])
        if "er_ihc" in obs.columns:
            flag(np.isnan(er) & ~np.isnan(fallback), "ER from er_status (no IHC)")
        er = np.where(np.isnan(er), fallback, er)

    grade = number_column(obs, "grade")
    grade = np.where(np.isin(grade, (1.0, 2.0, 3.0)), grade, np.nan)
    her2 = _status(obs["her2_status"]) if "her2_status" in obs.columns else np.full(n, np.nan)
    ki67 = number_column(obs, "ki67")
    ki67 = np.where(np.isnan(ki67), np.nan, (ki67 > KI67_POSITIVE_ABOVE).astype(np.float64))
    screen = _given(obs["screen_detected"]) if "screen_detected" in obs.columns else np.full(n, np.nan)

    def treatment(column: str) -> np.ndarray:
        if column not in obs.columns:
            return np.zeros(n)
        given = _given(obs[column])
        flag(np.isnan(given), f"{column} missing: not given")
        return np.nan_to_num(given)

    chemo = treatment("chemotherapy")
    radio = _given(obs["radio_therapy"]) if "radio_therapy" in obs.columns else np.full(n, np.nan)
    frame = pd.DataFrame({
        "age": age, "size_mm": size, "nodes": nodes, "grade": grade, "er": er, "her2": her2, "ki67": ki67,
        "screen": screen, "chemo_generation": np.where(chemo == 1, float(chemo_generation), 0.0),
        "endocrine": treatment("hormone_therapy"), "radiotherapy": radio,
        "trastuzumab": treatment("trastuzumab"), "bisphosphonates": treatment("bisphosphonates"),
    }, index=obs.index.copy())
    frame["note"] = ["; ".join(parts) for parts in notes]
    return frame


def patient_inputs(adata: ad.AnnData, *, chemo_generation: int = 2) -> PredictInputs:
    """The PREDICT inputs of one uploaded patient (a 1-row AnnData, clinical fields in ``obs``).

    Same mapping as :func:`cohort_inputs` (recorded treatments included); raises :class:`InputError` naming the
    missing fields when age, tumour size, positive nodes or ER status is missing.
    """
    if adata.n_obs != 1:
        raise InputError(f"patient_inputs takes one patient; this upload has {adata.n_obs}.")
    frame = cohort_inputs(adata, chemo_generation=chemo_generation)
    return PredictInputs.from_row(frame.iloc[0].to_dict())


REFERENCE_COLUMNS = ("patient_id", "os_5y", "os_10y", "os_15y", "bcss_5y", "bcss_10y", "bcss_15y", "note")


def _patient_ids(adata: ad.AnnData) -> list[str]:
    if "patient_id" in adata.obs.columns:
        return adata.obs["patient_id"].astype(str).tolist()
    return [str(i) for i in adata.obs_names]


def clinical_reference_table(adata: ad.AnnData, *, chemo_generation: int = 2) -> pd.DataFrame:
    """One row per patient: ``patient_id, os_5y, os_10y, os_15y, bcss_5y, bcss_10y, bcss_15y, note``.

    PREDICT v2.1 under the treatments recorded (:func:`cohort_inputs`); NaN where it cannot be computed, with
    the reason in ``note``. ``attrs["caveat"]`` says research use only.
    """
    table = predict_table(cohort_inputs(adata, chemo_generation=chemo_generation), years=DEFAULT_YEARS)
    table.insert(0, "patient_id", _patient_ids(adata))
    table = table[list(REFERENCE_COLUMNS)].reset_index(drop=True)
    table.attrs["caveat"] = CAVEAT
    return table
