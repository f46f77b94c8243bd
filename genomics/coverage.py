"""Gene coverage of an upload for a given use (a model, a signature, the reference cohort)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import anndata as ad
import numpy as np

from genomics.errors import InputError


@dataclass(frozen=True)
class Coverage:
    """How many of the genes a use needs are present (and measured) in the sample(s)."""

    use: str
    needed: int
    present: int
    missing: tuple[str, ...]
    min_fraction: float

    @property
    def fraction(self) -> float:
        return self.present / self.needed if self.needed else 1.0

    @property
    def sufficient(self) -> bool:
        return self.fraction >= self.min_fraction

    def describe(self) -> str:
        return f"{self.use}: {self.present} of {self.needed} genes ({self.fraction:.0%}; needs {self.min_fraction:.0%})"


def gene_coverage(adata: ad.AnnData, genes: Iterable[str], *, use: str, min_fraction: float = 0.8) -> Coverage:
    """Count the needed genes present with at least one finite value; never fills missing genes."""
    needed = list(dict.fromkeys(genes))
    index = {g: i for i, g in enumerate(adata.var_names)}
    X = np.asarray(adata.X, dtype=float)
    present = [g for g in needed if g in index and np.isfinite(X[:, index[g]]).any()]
    missing = tuple(g for g in needed if g not in set(present))
    return Coverage(use=use, needed=len(needed), present=len(present), missing=missing, min_fraction=min_fraction)


def require_coverage(coverage: Coverage) -> Coverage:
    """Raise InputError below the threshold, naming the use and the count."""
    if not coverage.sufficient:
        shown = ", ".join(coverage.missing[:8])
        raise InputError(f"Not enough genes for {coverage.describe()}. Missing e.g. {shown}.")
    return coverage
