"""PREDICT v2.1 judged on a cohort: Harrell's C against each endpoint and calibration at a horizon."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from genomics.spec import spec_of
from models.errors import ModelError
from models.metrics import calibration, harrell_c
from models.predict_breast.equations import check_years, not_computed_reasons, predict_table
from models.predict_breast.inputs import cohort_inputs

MORTALITY_TARGETS = {"OS": "os", "DSS": "bcss", "BCSS": "bcss"}


@dataclass(frozen=True, eq=False)
class PredictCalibration:
    """PREDICT v2.1 judged on one cohort endpoint: Harrell C and (for OS/DSS) calibration at the horizon."""

    cohort: str
    endpoint: str
    target: str  # "os" or "bcss": which PREDICT survival is compared
    n: int  # patients with a prediction and an outcome
    n_not_computed: int
    events: int
    c_index: float
    horizon_years: int
    calibration: Any = field(default=None, repr=False)  # models.metrics.CalibrationResult or None
    notes: tuple[str, ...] = ()

    @property
    def gap(self) -> float:
        """Mean predicted minus Kaplan-Meier observed survival at the horizon (positive = over-estimated)."""
        return float("nan") if self.calibration is None else float(self.calibration.calibration_in_the_large)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "calibration"}
        out["notes"] = list(self.notes)
        out["calibration"] = None if self.calibration is None else self.calibration.to_dict()
        out["gap"] = self.gap
        return out


def predict_calibration(
    adata: ad.AnnData,
    *,
    endpoint: str,
    horizon_years: int = 10,
    n_groups: int = 10,
    chemo_generation: int = 2,
    table: pd.DataFrame | None = None,
) -> PredictCalibration:
    """Harrell C of PREDICT v2.1 against a cohort endpoint, and its calibration at ``horizon_years``.

    Risk for the C-index is ``1 - OS(horizon)`` for OS and ``1 - BCSS(horizon)`` for every other endpoint.
    Calibration (:func:`models.metrics.calibration`, patients in ``n_groups`` groups by predicted survival,
    Kaplan-Meier observed) is computed for OS (against PREDICT's OS) and DSS (against BCSS) only: PREDICT
    predicts death, not relapse or metastasis. Patients without a prediction (see ``note``) or an outcome are
    left out and counted. ``table``: a precomputed :func:`predict_table` of :func:`cohort_inputs`.
    """
    spec = spec_of(adata)
    ep = spec.endpoint(endpoint)
    y = check_years([horizon_years])[0]
    if table is None:
        table = predict_table(cohort_inputs(adata, chemo_generation=chemo_generation), years=(y,))
    target = MORTALITY_TARGETS.get(ep.name.upper(), "bcss")
    survival = table[f"{target}_{y}y"].to_numpy(np.float64)
    for col in (ep.time_col, ep.event_col):
        if col not in adata.obs.columns:
            raise ModelError(f"Cohort {spec.id!r} has no column {col!r} for endpoint {ep.name}.")
    time = pd.to_numeric(adata.obs[ep.time_col], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    event = pd.to_numeric(adata.obs[ep.event_col], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    computed = np.isfinite(survival)
    keep = computed & np.isfinite(time) & np.isfinite(event)
    notes = []
    if not computed.any():
        raise ModelError(f"PREDICT v2.1 cannot be computed on {spec.display_name}: " + ", ".join(
            not_computed_reasons(table) or ["no patient has the fields it needs"]) + ".")
    if (~computed).any():
        notes.append(f"{int((~computed).sum())} patient(s) without a PREDICT estimate (see the note column).")
    if (computed & ~keep).any():
        notes.append(f"{int((computed & ~keep).sum())} patient(s) without a {ep.name} outcome left out.")
    t, e, s = time[keep], event[keep] == 1, survival[keep]
    try:
        c = harrell_c(t, e, 1.0 - s)
    except ValueError as exc:
        raise ModelError(f"No C-index for PREDICT on {spec.display_name} · {ep.name}: {exc}") from None
    cal = None
    if target == "os" or ep.name.upper() in ("DSS", "BCSS"):
        horizon = 12.0 * y if ep.unit in ("days", "months") else float(y)  # loaded cohorts keep times in months
        try:
            cal = calibration(t, e, s, horizon=horizon, n_groups=min(n_groups, len(t)))
        except ValueError as exc:
            notes.append(f"No calibration at {y} years: {exc}")
    else:
        notes.append(f"{ep.name} is not a mortality endpoint: PREDICT predicts death, so only the ranking "
                     f"(C-index, risk = 1 - BCSS at {y} years) is comparable, not the calibration.")
    return PredictCalibration(cohort=spec.id, endpoint=ep.name, target=target, n=int(keep.sum()),
                              n_not_computed=int((~computed).sum()), events=int(e.sum()), c_index=float(c),
                              horizon_years=y, calibration=cal, notes=tuple(notes))


def predict_evaluation(
    adata: ad.AnnData, *, horizon_years: int = 10, chemo_generation: int = 2
) -> dict[str, PredictCalibration]:
    """:func:`predict_calibration` for every endpoint of a cohort, keyed by endpoint name (PREDICT computed once).

    Raises :class:`ModelError` when PREDICT cannot be computed for any patient (e.g. no tumour size).
    """
    table = predict_table(cohort_inputs(adata, chemo_generation=chemo_generation), years=(horizon_years,))
    return {ep.name: predict_calibration(adata, endpoint=ep.name, horizon_years=horizon_years, table=table)
            for ep in spec_of(adata).endpoints}


def summary_frame(results: dict[str, PredictCalibration]) -> pd.DataFrame:
    """One row per endpoint: endpoint, compared (OS or BCSS), n, events, harrell_c, predicted, observed, gap,
    slope (calibration columns NaN where not comparable), note."""
    rows = []
    for name, res in results.items():
        cal = res.calibration
        rows.append({"endpoint": name, "compared": res.target.upper(), "n": res.n, "events": res.events,
                     "harrell_c": res.c_index, "predicted": np.nan if cal is None else cal.predicted,
                     "observed": np.nan if cal is None else cal.observed, "gap": res.gap,
                     "slope": np.nan if cal is None else cal.slope, "note": " ".join(res.notes)})
    return pd.DataFrame(rows)


def predict_summary(adata: ad.AnnData, *, horizon_years: int = 10, chemo_generation: int = 2) -> pd.DataFrame:
    """:func:`summary_frame` of :func:`predict_evaluation`: PREDICT v2.1 against every endpoint of a cohort."""
    return summary_frame(predict_evaluation(adata, horizon_years=horizon_years, chemo_generation=chemo_generation))
