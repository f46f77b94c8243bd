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
class _Sorted:
    """Data in descending time order, with each row's tie-group bounds (risk set = rows 0..last)."""

    X: np.ndarray
    time: np.ndarray
    event: np.ndarray
    weight: np.ndarray
    last: np.ndarray  # last index of each row's tie group (rows with time >= t_i are 0..last)
    first: np.ndarray  # first index of the tie group


def _sorted(X: np.ndarray, time: np.ndarray, event: np.ndarray, weight: np.ndarray) -> _Sorted:
    keep = np.flatnonzero(weight > 0)  # a bootstrap's unsampled patients carry no information
    order = keep[np.argsort(-time[keep], kind="stable")]
    t = time[order]
    neg = -t
    last = np.searchsorted(neg, neg, side="right") - 1
    first = np.searchsorted(neg, neg, side="left")
    return _Sorted(X[order], t, event[order].astype(np.float64), weight[order].astype(np.float64), last, first)


def _terms(d: _Sorted, beta: np.ndarray, *, hessian: bool = True):
    eta = d.X @ beta
    shift = eta.max() if len(eta) else 0.0
    r = d.weight * np.exp(eta - shift)
    S0 = np.cumsum(r)[d.last]
    S1 = np.cumsum(r[:, None] * d.X, axis=0)[d.last]
    wd = d.weight * d.event
    loglik = float(np.sum(wd * (eta - shift - np.log(S0))))
    M = S1 / S0[:, None]
    grad = ((d.X - M) * wd[:, None]).sum(axis=0)
    if not hessian:
        return loglik, grad, None
    ratio = wd / S0
    c = np.cumsum(ratio[::-1])[::-1][d.first]  # sum of d_i/S0_i over events with t_i <= t_j
    H = (d.X * (r * c)[:, None]).T @ d.X - (M * wd[:, None]).T @ M
    return loglik, grad, H


def partial_loglik(X: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray,
                   weight: np.ndarray | None = None) -> float:
    """Breslow partial log-likelihood of ``beta`` on the data."""
    w = np.ones(len(time)) if weight is None else np.asarray(weight, dtype=np.float64)
    return _terms(_sorted(np.asarray(X, np.float64), np.asarray(time, np.float64), np.asarray(event), w),
                  np.asarray(beta, np.float64), hessian=False)[0]


def fit_cox(
    X: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    penalty: np.ndarray | float,
    weight: np.ndarray | None = None,
    start: np.ndarray | None = None,
    max_iter: int = 60,
    tol: float = 1e-8,
) -> np.ndarray:
    """Coefficients maximising ``loglik(beta) - 0.5 * sum(penalty * beta**2)`` (penalty per column, >= 0)."""
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    time, event = training_target(time, event, n)
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    lam = np.broadcast_to(np.asarray(penalty, dtype=np.float64), (p,))
    if np.any(lam < 0):
        raise ModelError("Cox penalties must be non-negative.")
    d = _sorted(X, time, event, w)
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
            weight: np.ndarray | None = None) -> np.ndarray:
    """Breslow cumulative baseline hazard H0 on ``grid`` (at linear predictor 0)."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(time)) if weight is None else np.asarray(weight, dtype=np.float64)
    d = _sorted(X, np.asarray(time, np.float64), np.asarray(event), w)
    r = d.weight * np.exp(d.X @ beta)
    S0 = np.cumsum(r)[d.last]
    jumps = d.weight * d.event / S0
    asc = np.argsort(d.time, kind="stable")
    t_asc, cum = d.time[asc], np.cumsum(jumps[asc])
    idx = np.searchsorted(t_asc, np.asarray(grid, dtype=np.float64), side="right") - 1
    return np.where(idx >= 0, cum[np.clip(idx, 0, None)], 0.0)


def cv_penalty(
    X: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    penalties: list[np.ndarray],
    folds: int = 5,
    seed: int = 0,
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
        start = None
        for j, lam in enumerate(penalties):
            beta = fit_cox(X[train], time[train], event[train], penalty=lam, start=start)
            start = beta
            scores[j] += partial_loglik(X, time, event, beta) - partial_loglik(X[train], time[train], event[train], beta)
    return int(np.argmax(scores)), scores
