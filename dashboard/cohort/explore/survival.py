"""Survival by group: Kaplan-Meier per group, the log-rank test and Cox hazard ratios (lifelines does the maths),
and the hazard ratio per SD of an unsplit continuous variable.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard.cohort.explore.cox import cox_by_group
from dashboard.cohort.explore.variables import as_text, category_order, number_text
from genomics.errors import InputError
from genomics.survival import kaplan_meier, landmark, number_at_risk


@dataclass(frozen=True, eq=False)
class GroupSurvival:
    """Kaplan-Meier per group, log-rank test and Cox hazard ratios against a reference group.

    ``curves``: group, time, survival, lower, upper, at_risk (times on the cohort's scale: with a landmark
    they start at the landmark). ``summary``: one row per group: n, events, median survival (NaN when not
    reached), hr, hr_lo, hr_hi, hr_p (Wald), note. ``at_risk``: groups x times, patients at risk.
    """

    curves: pd.DataFrame
    summary: pd.DataFrame
    at_risk: pd.DataFrame
    logrank_statistic: float
    logrank_df: int
    logrank_p: float
    reference: str | None
    n: int
    events: int
    excluded: int  # patients left out: missing group, time or event (or before the landmark)
    landmark: float
    alpha: float
    notes: tuple[str, ...] = field(default=())

    @property
    def groups(self) -> list[str]:
        return list(self.summary["group"])


def _clean_outcome(time, event) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = pd.to_numeric(pd.Series(np.asarray(time, dtype=object)), errors="coerce").to_numpy(dtype=float)
    e = pd.to_numeric(pd.Series(np.asarray(event, dtype=object)), errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(t) & np.isfinite(e) & (t >= 0) & np.isin(e, (0.0, 1.0))
    return t, e, ok


def risk_table_times(max_time: float, *, start: float = 0.0, columns: int = 6) -> np.ndarray:
    """Round times for the number-at-risk table: a 'nice' step (months) giving about ``columns`` columns."""
    span = max(max_time - start, 1.0)
    step = next((s for s in (3, 6, 12, 24, 36, 48, 60, 120, 240) if span / s <= columns), 12 * math.ceil(span / 60))
    return start + np.arange(0.0, span + 1e-9, step)


def compare_groups(
    time, event, groups: pd.Series, *, reference: str | None = None, landmark_at: float = 0.0,
    risk_times: Sequence[float] | None = None, alpha: float = 0.05, cox_engine: str = "auto",
) -> GroupSurvival:
    """Kaplan-Meier by group with log-rank p and Cox hazard ratios (lifelines does the maths).

    Parameters
    ----------
    time, event
        Follow-up time and 0/1 event per patient (aligned with ``groups``).
    groups
        Group label per patient (missing = left out), e.g. from :func:`split_groups`.
    reference
        Group the hazard ratios are against (default: the largest group with an event).
    landmark_at
        Keep only patients event-free and followed beyond this time; times then count from it.
    risk_times
        Times of the number-at-risk table (default: round steps over the follow-up).
    alpha
        1 - confidence level of the Kaplan-Meier bands and hazard-ratio intervals.
    cox_engine
        ``auto``, ``lifelines`` or ``grouped`` (see :func:`grouped_cox`; both give the same numbers).

    The log-rank test is ``lifelines.statistics.multivariate_logrank_test`` over every group; the hazard
    ratios come from one Cox model (Efron ties) with one indicator per non-reference group: lifelines'
    ``CoxPHFitter`` up to :data:`LIFELINES_COX_MAX` patients, :func:`grouped_cox` above (same likelihood).
    A group without events has no estimable hazard ratio: it is left out of the Cox fit (its coefficient
    would run to minus infinity) and says so.
    """
    from lifelines.statistics import multivariate_logrank_test  # lazy: start-up cost (lifelines)

    groups = pd.Series(groups).reset_index(drop=True)
    labels = as_text(groups)
    t, e, ok = _clean_outcome(time, event)
    if len(labels) != len(t):
        raise InputError(f"{len(labels)} group labels for {len(t)} patients.")
    ok &= labels.notna().to_numpy()
    notes: list[str] = []
    total = len(t)
    t_kept, e_kept, kept = landmark(t[ok], e[ok], landmark_at)
    labels = labels[ok].to_numpy(dtype=object)[kept]
    if landmark_at > 0:
        notes.append(f"Landmark at {landmark_at:g}: {int(kept.sum())} patients event-free and followed beyond it; "
                     "times count from diagnosis, curves start at the landmark.")
    if len(t_kept) == 0:
        raise InputError("No patient has a group, a known time and event" +
                         (" and follow-up beyond the landmark." if landmark_at > 0 else "."))
    order = _group_order(groups, labels)
    sizes = {g: int((labels == g).sum()) for g in order}
    events = {g: int(e_kept[labels == g].sum()) for g in order}
    if reference is None or reference not in order:
        if reference is not None:
            notes.append(f"Reference group {reference!r} has no patients here; using the largest group.")
        with_events = [g for g in order if events[g] > 0] or order
        reference = max(with_events, key=lambda g: sizes[g])

    curves = []
    for g in order:
        mask = labels == g
        km = kaplan_meier(t_kept[mask], e_kept[mask], alpha=alpha)
        km["time"] = km["time"] + max(landmark_at, 0.0)
        km.insert(0, "group", g)
        curves.append(km)
    curve_table = pd.concat(curves, ignore_index=True)

    if risk_times is None:
        risk_times = risk_table_times(float(t_kept.max()) + max(landmark_at, 0.0), start=max(landmark_at, 0.0))
    risk_times = np.asarray(risk_times, dtype=float)
    at_risk = pd.DataFrame(
        [number_at_risk(t_kept[labels == g], risk_times - max(landmark_at, 0.0)) for g in order],
        index=pd.Index(order, name="group"), columns=[number_text(x) for x in risk_times],
    )

    stat, df, p = float("nan"), 0, float("nan")
    if len(order) >= 2:
        result = multivariate_logrank_test(t_kept, labels, e_kept)
        stat, df, p = float(result.test_statistic), int(result.degrees_of_freedom), float(result.p_value)
    else:
        notes.append("Only one group: nothing to compare (no log-rank test or hazard ratio).")

    hr = cox_by_group(t_kept, e_kept, labels, order, reference, events, alpha, notes, cox_engine)
    rows = []
    for g in order:
        mask = labels == g
        median = _median_survival(curve_table[curve_table["group"] == g])
        rows.append({"group": g, "n": sizes[g], "events": events[g], "median": median, **hr.get(g, {})})
    summary = pd.DataFrame(rows, columns=["group", "n", "events", "median", "hr", "hr_lo", "hr_hi", "hr_p", "note"])
    summary["note"] = summary["note"].fillna("")
    small = [g for g in order if sizes[g] < 10]
    if small:
        notes.append(f"Small group(s) (fewer than 10 patients): {', '.join(small)}; their curves and ratios are "
                     "very uncertain.")
    return GroupSurvival(
        curves=curve_table, summary=summary, at_risk=at_risk, logrank_statistic=stat, logrank_df=df, logrank_p=p,
        reference=reference, n=int(len(t_kept)), events=int(e_kept.sum()), excluded=int(total - len(t_kept)),
        landmark=float(max(landmark_at, 0.0)), alpha=alpha, notes=tuple(notes),
    )


def _group_order(groups: pd.Series, labels: np.ndarray) -> list[str]:
    present = set(labels)
    order = [g for g in category_order(groups) if g in present]
    return order + sorted(present - set(order))


def _median_survival(curve: pd.DataFrame) -> float:
    below = curve.loc[curve["survival"] <= 0.5, "time"]
    return float(below.iloc[0]) if len(below) else float("nan")


def hazard_ratio_per_sd(time, event, values, *, alpha: float = 0.05) -> dict[str, float]:
    """Cox hazard ratio per standard deviation of a continuous variable (unsplit), with CI and Wald p."""
    from lifelines import CoxPHFitter  # lazy: start-up cost (lifelines)

    t, e, ok = _clean_outcome(time, event)
    x = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce").to_numpy(dtype=float)
    ok &= np.isfinite(x)
    sd = float(np.std(x[ok], ddof=1)) if ok.sum() > 2 else 0.0
    if ok.sum() < 3 or sd == 0 or e[ok].sum() == 0:
        return {"hr": float("nan"), "hr_lo": float("nan"), "hr_hi": float("nan"), "p": float("nan"), "n": int(ok.sum())}
    frame = pd.DataFrame({"T": t[ok], "E": e[ok], "x": (x[ok] - x[ok].mean()) / sd})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter(alpha=alpha).fit(frame, duration_col="T", event_col="E")
    lo, hi = cph.confidence_intervals_.loc["x"]
    return {"hr": float(np.exp(cph.params_["x"])), "hr_lo": float(np.exp(lo)), "hr_hi": float(np.exp(hi)),
            "p": float(cph.summary.loc["x", "p"]), "n": int(ok.sum())}


def survival_table(result: GroupSurvival) -> pd.DataFrame:
    """The per-group table with the at-risk counts, ready for display and CSV."""
    table = result.summary.copy()
    at_risk = result.at_risk.add_prefix("at risk @").reset_index()
    return table.merge(at_risk, on="group", how="left")
