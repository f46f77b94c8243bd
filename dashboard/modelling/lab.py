"""The model lab's comparisons: models scored on the same held-back patients, side by side and by subgroup.

Only composition here: predictions come from each bundle, every metric from :mod:`models.evaluate`
(Harrell and Uno C, time-dependent AUC, integrated Brier score, calibration, bootstrap intervals). A model
is judged on its own cohort's held-back patients (those listed in its card, never its training patients);
on another cohort, on every patient. No Streamlit here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from genomics.spec import CohortSpec, spec_of
from models import predict_breast
from models.features import survival_target
from models.metrics import DEFAULT_TIMES, bootstrap_ci, calibration, evaluate_predictions, harrell_c
from models.registry import Bundle
from models.variants import answer

AGE_BANDS = (50.0, 70.0)  # <50, 50-69, >=70 years
METRIC_NAMES = {
    "harrell_c": "Harrell C",
    "uno_c": "Uno C",
    "td_auc_60": "AUC at 5 years",
    "td_auc_120": "AUC at 10 years",
    "ibs": "Integrated Brier score",
}


@dataclass(frozen=True, eq=False)
class HeldBack:
    """One model's predictions on the patients it is judged on."""

    label: str
    model_id: str
    obs: pd.DataFrame
    time: np.ndarray
    event: np.ndarray
    risk: np.ndarray
    survival: np.ndarray  # patients x times
    times: np.ndarray
    time_train: np.ndarray  # for the censoring distribution of the IPCW metrics
    event_train: np.ndarray
    scope: str

    @property
    def n(self) -> int:
        return len(self.time)

    @property
    def events(self) -> int:
        return int(self.event.sum())

    def survival_at(self, horizon: float) -> np.ndarray:
        return self.survival[:, int(np.searchsorted(self.times, horizon))]


def held_back(bundle: Bundle, cohort: ad.AnnData, *, horizons: tuple[float, ...] = (60.0, 120.0)) -> HeldBack:
    """Predictions of ``bundle`` on its held-back patients of ``cohort`` (every patient if another cohort).

    On another cohort (external validation) the model answers as it answers an upload from that platform
    (:func:`models.variants.answer`: the full model, or its companion on the shared genes, or clinical
    fields only), and the scope says which.
    """
    spec = spec_of(cohort)
    card = bundle.card
    t, e, usable = survival_target(cohort, endpoint=card.endpoint, spec=spec)
    variant = ""
    if spec.id != card.cohort_id:
        chosen = answer(bundle, cohort)
        bundle, cohort, variant = chosen.bundle, chosen.patients, f"; answered by the {chosen.label}" + (
            f" on {len(chosen.genes_used)} shared genes" if chosen.genes_used else "")
    ids = cohort.obs_names.astype(str).to_numpy()
    held = np.zeros(len(ids), dtype=bool)
    if spec.id == card.cohort_id:
        held = np.isin(ids, np.asarray(card.test_patient_ids, dtype=str))
    if spec.id == card.cohort_id and (held & usable).sum() >= 10:
        test, train = held & usable, ~held & usable
        scope = f"{int(test.sum())} held-back patients of {card.n_train + card.n_test} (the rest trained it)"
    else:
        test = train = usable
        scope = f"all {int(usable.sum())} patients (the model was trained on {card.cohort_name}{variant})"
    data = cohort[test]
    frame = bundle.features.transform(data)
    grid = np.union1d(DEFAULT_TIMES, np.asarray(horizons, dtype=float))
    risk = np.asarray(bundle.model.predict_risk(frame.X), dtype=float)
    survival = np.asarray(bundle.model.predict_survival(frame.X, grid), dtype=float)
    return HeldBack(label=f"{card.model_kind} · {card.model_id}", model_id=card.model_id, obs=data.obs.copy(),
                    time=t[test], event=e[test].astype(int), risk=risk, survival=survival, times=grid,
                    time_train=t[train], event_train=e[train].astype(int), scope=scope)


def compare_models(
    models: Mapping[str, HeldBack], *, horizon: float = 120.0, n_boot: int = 200, seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, tuple[str, ...]]]:
    """Metrics with bootstrap intervals per model, calibration tables at ``horizon``, notes per model.

    Returns (metrics: model, metric, label, value, lo, hi; calibration tables by model; notes by model).
    Calibration-in-the-large, slope and intercept at the horizon are rows without intervals.
    """
    rows, tables, notes = [], {}, {}
    for label, h in models.items():
        report = evaluate_predictions(time_train=h.time_train, event_train=h.event_train, time_test=h.time,
                                      event_test=h.event, risk=h.risk, survival=h.survival, times=h.times,
                                      horizon=horizon, n_boot=n_boot, seed=seed)
        out = report.to_dict()
        for key, name in METRIC_NAMES.items():
            value = out.get(key)
            if isinstance(value, dict):
                rows.append({"model": label, "metric": key, "label": name, "value": value["value"],
                             "lo": value["lo"], "hi": value["hi"]})
        if report.calibration is not None:
            cal = report.calibration
            for key, name, value in (("calibration_in_the_large", f"Predicted − observed S({horizon:g})",
                                      cal.calibration_in_the_large),
                                     ("calibration_slope", f"Calibration slope at {horizon:g}", cal.slope),
                                     ("calibration_intercept", f"Calibration intercept at {horizon:g}", cal.intercept)):
                rows.append({"model": label, "metric": key, "label": name, "value": value, "lo": np.nan, "hi": np.nan})
            tables[label] = cal.table
        notes[label] = report.notes
    frame = pd.DataFrame(rows, columns=["model", "metric", "label", "value", "lo", "hi"])
    return frame, tables, notes


def subgroupings(obs: pd.DataFrame, spec: CohortSpec) -> dict[str, pd.Series]:
    """Default subgroups: age bands, ER status and subtype where the cohort has them (labels per patient)."""
    out: dict[str, pd.Series] = {}
    if "age_at_diagnosis" in obs.columns:
        age = pd.to_numeric(obs["age_at_diagnosis"], errors="coerce")
        lo, hi = AGE_BANDS
        bands = pd.Series(np.where(age < lo, f"age <{lo:g}", np.where(age < hi, f"age {lo:g}–{hi - 1:g}",
                                                                        f"age ≥{hi:g}")), index=obs.index)
        out["Age band"] = pd.Series(pd.Categorical(bands.where(age.notna()),
                                                   categories=[f"age <{lo:g}", f"age {lo:g}–{hi - 1:g}",
                                                               f"age ≥{hi:g}"]), index=obs.index)
    if "er_status" in obs.columns:
        out["ER status"] = obs["er_status"].astype(object).where(obs["er_status"].notna())
    if spec.subtype_col and spec.subtype_col in obs.columns:
        out["Subtype"] = obs[spec.subtype_col].astype(object).where(obs[spec.subtype_col].notna())
    return out


def subgroup_metrics(
    h: HeldBack, groupings: Mapping[str, pd.Series], *, horizon: float = 120.0, n_boot: int = 200, seed: int = 0,
    min_events: int = 10,
) -> pd.DataFrame:
    """Per subgroup: n, events, Harrell C and predicted − observed S(horizon), each with a bootstrap interval.

    Groups with fewer than ``min_events`` events get no C (and say so); calibration needs someone followed
    beyond the horizon. Columns: subgrouping, group, n, events, c, c_lo, c_hi, predicted, observed,
    difference, difference_lo, difference_hi, note.
    """
    s_h = h.survival_at(horizon)
    rows = []
    for name, labels in groupings.items():
        values = pd.Series(labels).reindex(h.obs.index)
        text = values.astype(object).where(values.notna(), None).to_numpy()
        order = ([str(c) for c in values.cat.categories] if isinstance(values.dtype, pd.CategoricalDtype)
                 else sorted({str(v) for v in text if v is not None}))
        for group in order:
            mask = np.array([v is not None and str(v) == group for v in text])
            if not mask.any():
                continue
            t, e, r, s = h.time[mask], h.event[mask], h.risk[mask], s_h[mask]
            row = {"subgrouping": name, "group": group, "n": int(mask.sum()), "events": int(e.sum()), "note": ""}
            if e.sum() >= min_events:
                ci = bootstrap_ci(harrell_c, t, e, r, n_boot=n_boot, seed=seed)
                row.update(c=ci.point, c_lo=ci.lo, c_hi=ci.hi)
            else:
                row["note"] = f"fewer than {min_events} events: no C"
            try:
                cal = calibration(t, e, s, horizon=horizon, n_groups=1)
                diff = bootstrap_ci(lambda t_, e_, s_: calibration(t_, e_, s_, horizon=horizon,
                                                                   n_groups=1).calibration_in_the_large,
                                    t, e, s, n_boot=n_boot, seed=seed)
                row.update(predicted=cal.predicted, observed=cal.observed, difference=diff.point,
                           difference_lo=diff.lo, difference_hi=diff.hi)
            except ValueError as err:
                row["note"] = "; ".join(filter(None, [row["note"], f"no calibration ({err})"]))
            rows.append(row)
    columns = ["subgrouping", "group", "n", "events", "c", "c_lo", "c_hi", "predicted", "observed", "difference",
               "difference_lo", "difference_hi", "note"]
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True, eq=False)
class Comparison:
    """Everything the Model lab's Compare tab shows for the chosen models (see :func:`compare_on_cohort`)."""

    held: dict[str, HeldBack]
    metrics: pd.DataFrame
    calibration: dict[str, pd.DataFrame]
    notes: dict[str, tuple[str, ...]]
    subgroups: pd.DataFrame


def compare_on_cohort(held: Mapping[str, HeldBack], spec: CohortSpec, *, horizon: float = 120.0,
                      n_boot: int = 200) -> Comparison:
    """:func:`compare_models` and, per model, :func:`subgroup_metrics` over the cohort's :func:`subgroupings`."""
    metrics, tables, notes = compare_models(held, horizon=horizon, n_boot=n_boot)
    subgroups = [subgroup_metrics(h, subgroupings(h.obs, spec), horizon=horizon, n_boot=n_boot).assign(model=label)
                 for label, h in held.items()]
    return Comparison(held=dict(held), metrics=metrics, calibration=tables, notes=notes,
                      subgroups=pd.concat(subgroups, ignore_index=True))


def predict_reference(cohort: ad.AnnData) -> tuple[dict, pd.DataFrame]:
    """PREDICT v2.1 against each endpoint of the cohort, and its per-patient estimates (models.predict_breast)."""
    return predict_breast.predict_evaluation(cohort), predict_breast.clinical_reference_table(cohort)
