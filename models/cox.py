"""A ridge-penalised Cox proportional-hazards fit in numpy (Newton-Raphson, Breslow ties, case weights).

Small and exact, so that the treatment-effect engine can refit it many times (penalty chosen by
cross-validated partial likelihood, then dozens of bootstrap refits) in seconds. Case weights make a
bootstrap a reweighting (multinomial counts) rather than a copy of the data.

The Hessian never materialises an n × p × p array: with risk sets ordered by descending time,
``sum_i d_i S2_i / S0_i = X' diag(r ∘ c) X`` where ``c_j`` sums ``d_i / S0_i`` over the events whose
risk set contains j, so a fit costs O(n p²) per iteration.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.base import training_target
from models.errors import ModelError


@dataclass(frozen=True)
class RiskSets:
    """Rows in (stratum, descending time) order and each row's risk set, for sums over risk sets by cumulative sums.

    Row i's risk set runs from its stratum's first row (``segments``) to ``last[i]`` (its stratum's rows with
    time >= t_i, ties included); the events at or before t_i in its stratum run from ``first[i]`` to the stratum's
    last row. Without strata there is one stratum.
    A stratified Cox model (one baseline hazard per stratum, shared coefficients) only changes these bounds.
    """

    order: np.ndarray  # sorted position -> original row
    last: np.ndarray
    first: np.ndarray
    segments: tuple[tuple[int, int], ...]  # (begin, stop) of each stratum's rows in sorted order

    @classmethod
    def of(cls, time: np.ndarray, keep: np.ndarray, strata: np.ndarray | None = None) -> RiskSets:
        """Risk sets of the rows ``keep`` (indices) by ``time``, within ``strata`` (integer labels) if given."""
        time = np.asarray(time, dtype=np.float64)
        if strata is None:
            order = keep[np.argsort(-time[keep], kind="stable")]
            labels = np.zeros(len(order), dtype=np.int64)
        else:
            strata = np.asarray(strata, dtype=np.int64)
            order = keep[np.lexsort((-time[keep], strata[keep]))]
            labels = strata[order]
        bounds = np.flatnonzero(np.diff(labels)) + 1
        begins, stops = np.r_[0, bounds], np.r_[bounds, len(order)]
        neg = -time[order]
        last, first = np.empty(len(order), dtype=np.int64), np.empty(len(order), dtype=np.int64)
        for lo, hi in zip(begins, stops, strict=True):
            seg = neg[lo:hi]
            last[lo:hi] = lo + np.searchsorted(seg, seg, side="right") - 1
            first[lo:hi] = lo + np.searchsorted(seg, seg, side="left")
        return cls(order, last, first, tuple((int(lo), int(hi)) for lo, hi in zip(begins, stops, strict=True)))

    def at_risk(self, x: np.ndarray) -> np.ndarray:
        """Per row, the sum of ``x`` (sorted rows, any trailing shape) over the row's risk set."""
        out = np.empty_like(x)
        for lo, hi in self.segments:  # cumulative sums restart per stratum (no cancellation across strata)
            out[lo:hi] = np.cumsum(x[lo:hi], axis=0)[self.last[lo:hi] - lo]
        return out

    def events_before(self, x: np.ndarray) -> np.ndarray:
        """Per row j, the sum of ``x`` over the rows i of j's stratum with t_i <= t_j (whose risk set holds j)."""
        out = np.empty_like(x)
        for lo, hi in self.segments:
            out[lo:hi] = np.cumsum(x[lo:hi][::-1], axis=0)[::-1][self.first[lo:hi] - lo]
        return out


@dataclass(frozen=True)
class _Sorted:
    """Data in risk-set order (see :class:`RiskSets`)."""

    X: np.ndarray
    time: np.ndarray
    event: np.ndarray
    weight: np.ndarray
    sets: RiskSets


def _sorted(X: np.ndarray, time: np.ndarray, event: np.ndarray, weight: np.ndarray,
            strata: np.ndarray | None = None) -> _Sorted:
    keep = np.flatnonzero(weight > 0)  # a bootstrap's unsampled patients carry no information
    sets = RiskSets.of(time, keep, strata)
    o = sets.order
    return _Sorted(X[o], time[o], event[o].astype(np.float64), weight[o].astype(np.float64), sets)


def _terms(d: _Sorted, beta: np.ndarray, *, hessian: bool = True):
    eta = d.X @ beta
    shift = eta.max() if len(eta) else 0.0
    r = d.weight * np.exp(eta - shift)
    S0 = d.sets.at_risk(r)
    S1 = d.sets.at_risk(r[:, None] * d.X)
    wd = d.weight * d.event
    loglik = float(np.sum(wd * (eta - shift - np.log(S0))))
    M = S1 / S0[:, None]
    grad = ((d.X - M) * wd[:, None]).sum(axis=0)
    if not hessian:
        return loglik, grad, None
    c = d.sets.events_before(wd / S0)  # sum of d_i/S0_i over the events whose risk set holds j
    H = (d.X * (r * c)[:, None]).T @ d.X - (M * wd[:, None]).T @ M
    return loglik, grad, H


def partial_loglik(X: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray,
                   weight: np.ndarray | None = None, strata: np.ndarray | None = None) -> float:
    """Breslow partial log-likelihood of ``beta`` on the data (summed over strata if given)."""
    w = np.ones(len(time)) if weight is None else np.asarray(weight, dtype=np.float64)
    return _terms(_sorted(np.asarray(X, np.float64), np.asarray(time, np.float64), np.asarray(event), w, strata),
                  np.asarray(beta, np.float64), hessian=False)[0]


def fit_cox(
    X: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    penalty: np.ndarray | float,
    weight: np.ndarray | None = None,
    strata: np.ndarray | None = None,
    start: np.ndarray | None = None,
    max_iter: int = 60,
    tol: float = 1e-8,
) -> np.ndarray:
    """Coefficients maximising ``loglik(beta) - 0.5 * sum(penalty * beta**2)`` (penalty per column, >= 0).

    ``strata`` (integer label per row): a stratified model, one baseline hazard per stratum (risk sets never
    mix strata), the coefficients shared."""
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    time, event = training_target(time, event, n)
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    lam = np.broadcast_to(np.asarray(penalty, dtype=np.float64), (p,))
    if np.any(lam < 0):
        raise ModelError("Cox penalties must be non-negative.")
    d = _sorted(X, time, event, w, strata)
    if float((d.event * d.weight).sum()) <= 0:
        raise ModelError("A Cox model needs at least one event.")
    beta = np.zeros(p) if start is None else np.asarray(start, dtype=np.float64).copy()

    def objective(b: np.ndarray) -> float:
        return _terms(d, b, hessian=False)[0] - 0.5 * float(np.sum(lam * b * b))

    current = objective(beta)
    for _ in range(max_iter):
        _, grad, H = _terms(d, beta)
        g = grad - lam * beta
        A = H + np.diag(lam) + 1e-9 * np.eye(p)
        try:
            step = np.linalg.solve(A, g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(A, g, rcond=None)[0]
        scale = 1.0
        while True:
            candidate = beta + scale * step
            value = objective(candidate)
            if np.isfinite(value) and value >= current - 1e-12:
                break
            scale /= 2.0
            if scale < 1e-6:
                return beta
        improvement = value - current
        beta, current = candidate, value
        if improvement < tol * (1.0 + abs(current)):
            break
    return beta


def breslow(X: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray, grid: np.ndarray,
            weight: np.ndarray | None = None, strata: np.ndarray | None = None, n_strata: int = 1) -> np.ndarray:
    """Breslow cumulative baseline hazard H0 on ``grid`` (at linear predictor 0), one row per stratum
    (``n_strata`` x grid; labels 0..n_strata-1, a stratum without patients stays at 0)."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(time)) if weight is None else np.asarray(weight, dtype=np.float64)
    d = _sorted(X, np.asarray(time, np.float64), np.asarray(event), w, strata)
    r = d.weight * np.exp(d.X @ beta)
    jumps = d.weight * d.event / d.sets.at_risk(r)
    labels = np.zeros(len(r), dtype=np.int64) if strata is None else np.asarray(strata, dtype=np.int64)[d.sets.order]
    grid = np.asarray(grid, dtype=np.float64)
    out = np.zeros((n_strata, len(grid)))
    for lo, hi in d.sets.segments:
        t_asc, cum = d.time[lo:hi][::-1], np.cumsum(jumps[lo:hi][::-1])  # ascending time within the stratum
        idx = np.searchsorted(t_asc, grid, side="right") - 1
        out[labels[lo]] = np.where(idx >= 0, cum[np.clip(idx, 0, None)], 0.0)
    return out


def cv_penalty(
    X: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    penalties: list[np.ndarray],
    folds: int = 5,
    seed: int = 0,
    strata: np.ndarray | None = None,
) -> tuple[int, np.ndarray]:
    """Index of the best penalty vector by cross-validated partial likelihood (Verweij & van Houwelingen 1993).

    Each fold scores ``l(beta_-k) - l_-k(beta_-k)``: the held-out patients' contribution to the full-data
    partial likelihood, which stays well defined for small folds. Returns (best index, score per penalty).
    """
    n = len(time)
    rng = np.random.default_rng(seed)
    fold_of = np.empty(n, dtype=int)
    events = np.flatnonzero(event > 0)
    others = np.flatnonzero(event <= 0)
    for group in (events, others):  # stratified by event
        perm = rng.permutation(group)
        fold_of[perm] = np.arange(len(perm)) % folds
    scores = np.zeros(len(penalties))
    for k in range(folds):
        train = fold_of != k
        s_tr = None if strata is None else strata[train]
        start = None
        for j, lam in enumerate(penalties):
            beta = fit_cox(X[train], time[train], event[train], penalty=lam, strata=s_tr, start=start)
            start = beta
            scores[j] += (partial_loglik(X, time, event, beta, strata=strata)
                          - partial_loglik(X[train], time[train], event[train], beta, strata=s_tr))
    return int(np.argmax(scores)), scores
