"""Single-gene effect modifiers: a score-test screen of every treatment x gene interaction.

The treatment-effect model's own modifiers (clinical fields, gene modules, leading expression components) cannot
represent a benefit driven by one anonymous gene. This screen tests, for every treatment ``k`` and every gene
``j`` of the feature block, the interaction ``a_k * g_j`` against the fitted model (its linear predictor is the
null), adjusting for the gene's own prognostic effect by one Newton step (Neyman's C(alpha) projection):

    U* = U_int - (I_int,main / I_main) U_main,   Z = U* / sqrt(sum_i W*_i^2)

where ``W*_i`` are the patients' score residuals of ``U*`` (Lin & Wei 1989): the robust variance keeps the
statistic calibrated when the null model misses part of the truth. Scores, residuals and informations for all
genes come from cumulative sums over the risk sets (Breslow ties), so all ``k x genes`` tests cost a few
matrix sweeps. Two-sided p-values are adjusted by Benjamini-Hochberg over
all tests; the genes whose interaction passes the stated false-discovery rate enter the model as modifiers (with
their main effect: strong hierarchy) and are shrunk like gene modules there.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from models.cox import RiskSets

#: False-discovery rate of the screen (Benjamini-Hochberg over all treatment x gene tests).
SCREEN_FDR = 0.05
#: At most this many genes enter the model per treatment (the smallest q-values).
MAX_GENES_PER_TREATMENT = 8


@dataclass(frozen=True)
class ScreenHit:
    treatment: str
    gene: str  # the feature column, "gene:<symbol>"
    z: float  # standardised score: > 0 means the treatment's hazard ratio rises with the gene (less benefit)
    p: float
    q: float

    def as_dict(self) -> dict:
        return {"treatment": self.treatment, "gene": self.gene, "z": self.z, "p": self.p, "q": self.q}


def interaction_z(eta: np.ndarray, time: np.ndarray, event: np.ndarray, a: np.ndarray, G: np.ndarray,
                  weight: np.ndarray | None = None, strata: np.ndarray | None = None) -> np.ndarray:
    """Adjusted score statistics (treatments x genes) of the interactions ``a[:, k] * G[:, j]`` at the null
    linear predictor ``eta``, standardised by the robust (Lin-Wei) variance: a null model that misses some of
    the truth (it always does) inflates the model-based variance's statistics, the robust one stays calibrated.
    ``strata``: the null model's strata (one baseline hazard each; risk sets within a stratum)."""
    time = np.asarray(time, dtype=np.float64)
    w = np.ones(len(time)) if weight is None else np.asarray(weight, dtype=np.float64)
    sets = RiskSets.of(time, np.flatnonzero(w > 0), strata)
    order = sets.order
    eta = np.asarray(eta, dtype=np.float64)[order]
    w = w[order]
    r = w * np.exp(eta - eta.max())
    wd = w * (np.asarray(event)[order] > 0)
    Gc = np.asarray(G, dtype=np.float64)[order]
    Gc = Gc - np.average(Gc, axis=0, weights=w)
    a = np.asarray(a, dtype=np.float64)[order]
    S0 = sets.at_risk(r)
    jump = wd / S0  # d_j / S0_j (0 where no event)
    c0 = sets.events_before(jump)

    def residuals(x: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score residuals W (n x genes; they sum to the score), the risk-set mean and the model-based
        information of column block ``x`` (``x2`` its products with the gene block, for the cross terms)."""
        mean = sets.at_risk(r[:, None] * x) / S0[:, None]
        c1 = sets.events_before(jump[:, None] * mean)
        W = wd[:, None] * (x - mean) - r[:, None] * (x * c0[:, None] - c1)
        return W, mean, sets.at_risk(r[:, None] * x2) / S0[:, None]

    W_main, m1, m2 = residuals(Gc, Gc ** 2)
    I_main = (wd[:, None] * (m2 - m1 ** 2)).sum(axis=0)
    out = np.zeros((a.shape[1], G.shape[1]))
    for k in range(a.shape[1]):
        x = a[:, [k]] * Gc
        W_int, i1, i2 = residuals(x, x * Gc)  # a_k is 0/1: (a_k g) g = a_k g^2 = (a_k g)^2
        I_cross = (wd[:, None] * (i2 - i1 * m1)).sum(axis=0)
        ratio = np.divide(I_cross, I_main, out=np.zeros_like(I_main), where=I_main > 1e-12)
        W = W_int - ratio * W_main  # the one-step projection on the gene's own (prognostic) effect
        U, V = W.sum(axis=0), (W ** 2 / w[:, None]).sum(axis=0)
        out[k] = np.divide(U, np.sqrt(np.clip(V, 1e-12, None)), out=np.zeros_like(U), where=V > 1e-9)
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH-adjusted q-values (same shape as ``p``)."""
    flat = np.asarray(p, dtype=np.float64).ravel()
    m = len(flat)
    order = np.argsort(flat)
    ranked = flat[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.clip(q, 0.0, 1.0)
    return out.reshape(np.shape(p))


def screen_genes(eta: np.ndarray, time: np.ndarray, event: np.ndarray, a: np.ndarray, G: np.ndarray, *,
                 treatments: Sequence[str], genes: Sequence[str], fdr: float = SCREEN_FDR,
                 max_per_treatment: int = MAX_GENES_PER_TREATMENT, weight: np.ndarray | None = None,
                 strata: np.ndarray | None = None) -> list[ScreenHit]:
    """The treatment x gene interactions that pass the false-discovery rate, strongest first."""
    if G.shape[1] == 0 or a.shape[1] == 0:
        return []
    z = interaction_z(eta, time, event, a, G, weight=weight, strata=strata)
    p = 2.0 * norm.sf(np.abs(z))
    q = benjamini_hochberg(p)
    hits = []
    for k, treatment in enumerate(treatments):
        passed = np.flatnonzero(q[k] <= fdr)
        passed = passed[np.argsort(q[k, passed], kind="stable")][:max_per_treatment]
        hits += [ScreenHit(treatment, genes[j], float(z[k, j]), float(p[k, j]), float(q[k, j])) for j in passed]
    return sorted(hits, key=lambda h: h.q)
