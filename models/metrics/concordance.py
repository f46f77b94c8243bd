"""Discrimination: Harrell's and Uno's concordance, the time-dependent AUC, and Harrell's C per subgroup.

The one C-index of the project is :func:`harrell_c` (Harrell's estimator). Tie rule, shared by every
concordance here: a pair (i, j) is comparable when i has an event and j is followed longer (a later time),
or j is censored at i's event time; two events at the same time are not comparable. A comparable pair is
concordant when i has the higher risk, and tied risks (exactly equal) count one half.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.metrics.inputs import risk_scores, survival_data, time_grid
from models.metrics.ipcw import SAFE_QUANTILE, Censoring, ipcw_horizon

PAIR_BLOCK = 4_000_000  # comparisons held in memory at once by the concordance count


def concordance_counts(
    time: np.ndarray, event: np.ndarray, risk: np.ndarray, weight: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Weighted concordance for each row of ``counts`` (m × n multiplicities, e.g. bootstrap resamples).

    Pairs (i event, j later, or j censored at i's time) are comparable; concordant when risk_i > risk_j, tied
    risks count 1/2; pair weight weight_i · counts_i · counts_j. NaN where a row has no comparable pair.
    A resample as multiplicities gives the same C as the resampled arrays (copies of one patient never
    form a comparable pair), so all resamples share one pass over the pairs.
    """
    rows = np.flatnonzero(event & (weight > 0))
    step = max(1, PAIR_BLOCK // len(time))
    num = np.zeros(counts.shape[0])
    den = np.zeros(counts.shape[0])
    for start in range(0, len(rows), step):
        i = rows[start:start + step]
        ti, ri = time[i, None], risk[i, None]
        comparable = (time[None, :] > ti) | ((time[None, :] == ti) & ~event[None, :])
        score = (comparable & (risk[None, :] < ri)) + 0.5 * (comparable & (risk[None, :] == ri))
        left = counts[:, i] * weight[i]
        num += ((left @ score) * counts).sum(axis=1)
        den += ((left @ comparable) * counts).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_concordance(time: np.ndarray, event: np.ndarray, risk: np.ndarray, weight: np.ndarray) -> float:
    """The concordance of checked arrays, each comparable pair weighted by ``weight`` of its event patient
    (1 for Harrell's C, 1/G(t_i)^2 for Uno's); ``ValueError`` when no pair is comparable."""
    c = float(concordance_counts(time, event, risk, weight, np.ones((1, len(time))))[0])
    if not np.isfinite(c):
        raise ValueError("No comparable pairs: no event is followed by a longer survival time.")
    return c


def harrell_c(time: Any, event: Any, risk: Any) -> float:
    """Harrell's concordance index: the one C-index of the project (model tuning and evaluation alike).

    Tie rule: a pair (i, j) is comparable when i has an event and j's time is later, or j is censored at
    i's event time (tied times: event before censoring; two events at the same time are not comparable);
    a comparable pair is concordant when i has the higher risk, and exactly tied risks count one half.
    Equals ``lifelines.utils.concordance_index(time, -risk, event)`` (and scikit-survival's
    ``concordance_index_censored``, which also counts risks within 1e-8 as tied). A ``ValueError`` when it
    is undefined: bad input (:func:`models.metrics.inputs.survival_data`), no events or no comparable pair.
    """
    t, e = survival_data(time, event)
    r = risk_scores(risk, len(t))
    return weighted_concordance(t, e, r, np.ones(len(t)))


def uno_c(
    time_train: Any, event_train: Any, time_test: Any, event_test: Any, risk: Any, *, tau: float | None = None
) -> float:
    """Uno's IPCW concordance index up to ``tau``.

    As :func:`sksurv.metrics.concordance_index_ipcw` (each comparable pair weighted by 1/G(t_i)^2, G the
    training censoring survival), but ``tau`` is always truncated at :func:`ipcw_horizon` so test times
    beyond the training follow-up never raise.
    """
    tt, et = survival_data(time_train, event_train, what="training ")
    t, e = survival_data(time_test, event_test, what="test ")
    r = risk_scores(risk, len(t))
    return weighted_concordance(t, e, r, uno_weights(tt, et, t, e, tau=tau))


def uno_weights(tt: np.ndarray, et: np.ndarray, t: np.ndarray, e: np.ndarray, *, tau: float | None) -> np.ndarray:
    """1/G(t_i)^2 for test events before tau (tau capped at :func:`ipcw_horizon`), else 0."""
    limit = ipcw_horizon(tt, t)
    tau = limit if tau is None else min(float(tau), limit)
    use = e & (t < tau)
    if not use.any():
        raise ValueError(f"No test events before tau = {tau:g}: Uno's C is undefined.")
    weight = np.zeros(len(t))
    weight[use] = Censoring.fit(tt, et).at(t[use]) ** -2.0
    return weight


def td_auc(
    time_train: Any, event_train: Any, time_test: Any, event_test: Any, risk: Any, *, times: Any
) -> np.ndarray:
    """Cumulative/dynamic AUC at each of ``times`` (Uno 2007; as :func:`sksurv.metrics.cumulative_dynamic_auc`).

    Cases: events by t, weighted by 1/G(t_i); controls: still event-free after t; tied risks count 1/2.
    ``times`` must lie within the test follow-up and below :func:`ipcw_horizon`.
    """
    tt, et = survival_data(time_train, event_train, what="training ")
    t, e = survival_data(time_test, event_test, what="test ")
    r = risk_scores(risk, len(t))
    grid = time_grid(times)
    limit = ipcw_horizon(tt, t)
    if grid[0] < t.min() or grid[-1] >= limit:
        raise ValueError(f"td-AUC times must lie within [{t.min():g}, {limit:g}) (test follow-up, "
                         f"capped at the {SAFE_QUANTILE:.0%} quantile of training times); got {grid.tolist()}.")
    g = Censoring.fit(tt, et).at(t)
    return np.array([auc_at(t, e, r, g, at) for at in grid])


def auc_at(t: np.ndarray, e: np.ndarray, r: np.ndarray, g: np.ndarray, at: float) -> float:
    """IPCW cumulative/dynamic AUC at one time; ``g`` = G(t_i) per patient. NaN without cases or controls."""
    case = e & (t <= at)
    controls = np.sort(r[t > at])
    if not case.any() or len(controls) == 0:
        return float("nan")
    below = np.searchsorted(controls, r[case], side="left")
    tied = np.searchsorted(controls, r[case], side="right") - below
    w = 1.0 / g[case]
    return float(np.sum(w * (below + 0.5 * tied)) / (np.sum(w) * len(controls)))


def metrics_by_subgroup(
    time: Any, event: Any, risk: Any, groups: pd.Series | Sequence, *, min_events: int = 10
) -> pd.DataFrame:
    """Harrell's C per subgroup: columns group, n, events, harrell_c, note.

    Rows follow the categories' order (sorted labels otherwise); missing labels form ``"(missing)"``.
    Groups with fewer than ``min_events`` events get NaN and say so in ``note``.
    """
    t, e = survival_data(time, event)
    r = risk_scores(risk, len(t))
    g = groups if isinstance(groups, pd.Series) else pd.Series(list(groups))
    if len(g) != len(t):
        raise ValueError(f"groups has {len(g)} labels for {len(t)} patients.")
    missing = g.isna().to_numpy()
    if isinstance(g.dtype, pd.CategoricalDtype):
        order = [c for c in g.cat.categories if (g == c).any()]
    else:
        order = sorted(g.dropna().unique(), key=str)
    labels = g.to_numpy(dtype=object)
    masks = [(label, (labels == label) & ~missing) for label in order]
    if missing.any():
        masks.append(("(missing)", missing))
    rows = []
    for label, mask in masks:
        n_events = int(e[mask].sum())
        c, note = float("nan"), ""
        if n_events < min_events:
            note = f"fewer than {min_events} events ({n_events}): not estimated"
        else:
            try:
                c = weighted_concordance(t[mask], e[mask], r[mask], np.ones(int(mask.sum())))
            except ValueError as err:
                note = str(err)
        rows.append({"group": label, "n": int(mask.sum()), "events": n_events, "harrell_c": c, "note": note})
    return pd.DataFrame(rows, columns=["group", "n", "events", "harrell_c", "note"])
