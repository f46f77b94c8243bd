"""Cox hazard ratios of groups against a reference group: lifelines' CoxPHFitter, or the same Efron likelihood
on per-group counts (:func:`grouped_cox`, fast at any cohort size).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

LIFELINES_COX_MAX = 10_000  # larger cohorts get the (identical) grouped Cox fit: lifelines loops over event times


class _NoFit(Exception):
    """The Cox fit did not converge (e.g. a group whose hazard ratio runs to 0 or infinity)."""


def cox_by_group(
    t: np.ndarray, e: np.ndarray, labels: np.ndarray, order: list[str], reference: str, events: dict[str, int],
    alpha: float, notes: list[str], engine: str = "auto",
) -> dict[str, dict]:
    """Hazard ratio (with CI and Wald p) of each group against ``reference`` from one Cox model.

    A group whose indicator makes the fit singular (typically one or two patients) is dropped, smallest first,
    and the model refitted without it; it then says why it has no hazard ratio. ``engine``: ``lifelines``
    (CoxPHFitter), ``grouped`` (:func:`grouped_cox`, the same Efron likelihood on per-group counts: fast at any
    cohort size) or ``auto`` (lifelines up to :data:`LIFELINES_COX_MAX` patients).
    """
    from scipy.stats import norm  # lazy: start-up cost (scipy.stats)

    out: dict[str, dict] = {reference: {"hr": 1.0, "hr_lo": float("nan"), "hr_hi": float("nan"),
                                        "hr_p": float("nan"), "note": "reference"}}
    if events.get(reference, 0) == 0:
        notes.append(f"The reference group {reference!r} has no events: hazard ratios are not estimable.")
        out[reference]["note"] = "reference (no events: no hazard ratios)"
        return out
    others = [g for g in order if g != reference]
    for g in others:
        if events[g] == 0:
            out[g] = {"note": "no events: hazard ratio not estimable"}
    fitted = [g for g in others if events[g] > 0]
    sizes = {g: int((labels == g).sum()) for g in fitted}
    if engine == "auto":
        engine = "lifelines" if len(t) <= LIFELINES_COX_MAX else "grouped"
    fit = _cox_lifelines if engine == "lifelines" else grouped_cox
    while fitted:
        try:
            beta, se = fit(t, e, labels, reference, fitted)
            break
        except _NoFit:
            smallest = min(fitted, key=lambda g: (sizes[g], events[g]))  # a tiny group can make the fit singular
            fitted.remove(smallest)
            out[smallest] = {"note": "too few patients or events for a hazard ratio (Cox fit did not converge)"}
    else:
        if others:
            notes.append("No hazard ratio could be estimated (Cox fits did not converge).")
        return out
    z = float(norm.ppf(1 - alpha / 2))
    for g, b, s in zip(fitted, beta, se, strict=True):
        out[g] = {"hr": float(np.exp(b)), "hr_lo": float(np.exp(b - z * s)), "hr_hi": float(np.exp(b + z * s)),
                  "hr_p": float(2 * norm.sf(abs(b / s))), "note": ""}
    if engine == "grouped":
        notes.append(f"Hazard ratios from the Efron Cox likelihood on per-group counts (identical to lifelines' "
                     f"CoxPHFitter, which is used up to {LIFELINES_COX_MAX:,} patients; faster on large cohorts).")
    return out


def _cox_lifelines(t, e, labels, reference: str, fitted: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from lifelines import CoxPHFitter  # lazy: start-up cost (lifelines)
    from lifelines.exceptions import ConvergenceError  # lazy: start-up cost (lifelines)

    keep = np.isin(labels, [reference, *fitted])
    columns = {f"g{i}": (labels[keep] == g).astype(float) for i, g in enumerate(fitted)}
    frame = pd.DataFrame({"T": t[keep], "E": e[keep], **columns})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph = CoxPHFitter().fit(frame, duration_col="T", event_col="E")
    except (ConvergenceError, np.linalg.LinAlgError, ValueError) as err:
        raise _NoFit(str(err)) from None
    names = list(columns)
    return cph.params_[names].to_numpy(float), cph.standard_errors_[names].to_numpy(float)


def grouped_cox(t, e, labels, reference: str, fitted: list[str], *, max_iter: int = 60,
                tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Log hazard ratios (and standard errors) of group indicators against ``reference``, Efron ties.

    With group indicators as the only covariates, the Cox partial likelihood depends on the data only through
    the number at risk and the deaths of each group at each event time, so Newton-Raphson runs on a table of
    (event times x groups) instead of looping over patients: the same estimates as lifelines' CoxPHFitter,
    in milliseconds at 100,000 patients. Raises :class:`_NoFit` when the estimates diverge.
    """
    keep = np.isin(labels, [reference, *fitted])
    t, e, lab = np.asarray(t, float)[keep], np.asarray(e, float)[keep] == 1, labels[keep]
    names = [reference, *fitted]
    code = np.zeros(len(t), dtype=int)
    for i, g in enumerate(fitted, start=1):
        code[lab == g] = i
    event_times, j_of_event = np.unique(t[e], return_inverse=True)
    k = len(names)
    deaths = np.zeros((len(event_times), k))
    np.add.at(deaths, (j_of_event, code[e]), 1.0)
    at_risk = np.stack([len(tg) - np.searchsorted(tg, event_times, side="left")
                        for tg in (np.sort(t[code == i]) for i in range(k))], axis=1).astype(float)
    d = deaths.sum(axis=1).astype(int)
    jj = np.repeat(np.arange(len(event_times)), d)
    frac = (np.arange(len(jj)) - np.repeat(np.cumsum(d) - d, d)) / d[jj]  # l / d_j for l = 0 .. d_j - 1
    c = at_risk[jj] - frac[:, None] * deaths[jj]  # Efron: the tied deaths leave the risk set a fraction at a time
    total_deaths = deaths.sum(axis=0)[1:]

    def loglik(beta: np.ndarray) -> float:
        w = np.exp(np.concatenate([[0.0], beta]))
        return float(total_deaths @ beta - np.log(c @ w).sum())

    beta = np.zeros(k - 1)
    current = loglik(beta)
    for _ in range(max_iter):
        w = np.exp(np.concatenate([[0.0], beta]))
        den = c @ w
        share = (c * w)[:, 1:] / den[:, None]
        grad = total_deaths - share.sum(axis=0)
        info = np.diag(share.sum(axis=0)) - share.T @ share  # minus the Hessian
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            raise _NoFit("singular information matrix") from None
        for _halving in range(30):
            new = loglik(beta + step)
            if np.isfinite(new) and new >= current - 1e-12:
                break
            step /= 2
        beta, previous, current = beta + step, current, new
        if np.abs(beta).max() > 25:
            raise _NoFit("a hazard ratio runs to 0 or infinity")
        if np.abs(step).max() < tol or abs(current - previous) < tol * max(1.0, abs(current)):
            break
    else:
        raise _NoFit("no convergence")
    w = np.exp(np.concatenate([[0.0], beta]))
    share = (c * w)[:, 1:] / (c @ w)[:, None]
    info = np.diag(share.sum(axis=0)) - share.T @ share
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        raise _NoFit("singular information matrix") from None
    se = np.sqrt(np.diag(cov))
    if not np.isfinite(se).all():
        raise _NoFit("undefined standard errors")
    return beta, se
