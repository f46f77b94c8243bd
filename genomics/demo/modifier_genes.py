"""The gene-modifier scenario family of the treatment benchmark: a few single genes, drawn at random per seed
from all the cohort's genes, change each treatment's benefit.

For every treatment, 1 to 5 genes are drawn (without replacement, from every gene of the simulated cohort, so
most are anonymous filler genes no module or guideline knows); each adds ``coef * g`` to that treatment's log
hazard ratio, where ``g`` is the gene's expression standardised over the cohort (clipped at +-3) and
``coef = sign * strength * U(0.75, 1.25)``. Endocrine therapy's gene terms act in ER-positive disease only.
The draws are stored in ``uns["oncotx"]["ground_truth"]["modifier_genes"]`` (per treatment, genes and coefficients), so a benchmark can list the
modifiers it found beside the true ones.
"""
from __future__ import annotations

import numpy as np

from genomics.spec import BREAST_TREATMENTS

#: Scenario name -> log hazard ratio per standard deviation of a modifier gene (before the U(0.75, 1.25) jitter).
GENE_MODIFIER_SCENARIOS: dict[str, float] = {"gene_modifiers_weak": 0.15, "gene_modifiers_strong": 0.35}
MAX_MODIFIERS = 5


def draw_modifier_genes(rng: np.random.Generator, genes: list[str], strength: float) -> dict[str, dict[str, list]]:
    """Per treatment, {"genes": [...], "coefficients": [...]} with 1 to :data:`MAX_MODIFIERS` genes (a layout
    AnnData's h5ad writer accepts)."""
    out: dict[str, dict[str, list]] = {}
    for treatment in BREAST_TREATMENTS:
        m = int(rng.integers(1, MAX_MODIFIERS + 1))
        picked = rng.choice(len(genes), size=m, replace=False)
        signs = rng.choice([-1.0, 1.0], size=m)
        sizes = strength * rng.uniform(0.75, 1.25, size=m)
        out[treatment] = {"genes": [genes[int(j)] for j in picked],
                          "coefficients": [float(s * v) for s, v in zip(signs, sizes, strict=True)]}
    return out


def standardised(x: np.ndarray) -> np.ndarray:
    """Genes standardised over the cohort, clipped at +-3 SD (float64)."""
    x = np.asarray(x, dtype=np.float64)
    sd = x.std(axis=0)
    return np.clip((x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0), -3.0, 3.0)


def add_modifier_terms(effects: dict[str, np.ndarray], draws: dict[str, dict[str, list]], x_std: np.ndarray,
                       genes: list[str], er_positive: np.ndarray) -> dict[str, np.ndarray]:
    """The scenario's log hazard ratios: the default effects plus the drawn genes' terms."""
    column = {g: j for j, g in enumerate(genes)}
    out = {}
    for treatment, base in effects.items():
        drawn = draws.get(treatment, {"genes": [], "coefficients": []})
        extra = np.zeros(len(x_std))
        for gene, coef in zip(drawn["genes"], drawn["coefficients"], strict=True):
            extra += coef * x_std[:, column[gene]]
        if treatment == "hormone_therapy":
            extra = extra * er_positive
        out[treatment] = np.asarray(base, dtype=np.float64) + extra
    return out
