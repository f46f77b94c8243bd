"""Gene coverage of an upload for a given use (a model, a signature, the reference cohort), and the stated
coverage floor (:func:`coverage_floor`)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import anndata as ad
import numpy as np

from genomics.errors import InputError

#: Fewer recognised genes than this cannot place a profile: the upload is refused (a partial panel of 12-21 genes
#: is a real upload).
MIN_RECOGNISED_GENES = 10
#: Below this share of the reference cohort's genes an upload has "low coverage": it is analysed only after an
#: explicit confirmation (the estimates rest on a companion model on few shared genes, or on the clinical fields).
LOW_COVERAGE_FRACTION = 0.5
#: The floor in words, as the validation facts show it.
COVERAGE_FLOOR = (f"below {LOW_COVERAGE_FRACTION:.0%} of the reference cohort's genes: analysed only after an "
                  f"explicit confirmation; fewer than {MIN_RECOGNISED_GENES} recognised genes: refused")


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


@dataclass(frozen=True)
class CoverageFloor:
    """Where an upload stands against the coverage floor: ``ok``, ``low`` (needs confirmation) or ``refused``."""

    level: str
    sentence: str  # plain words for the page ("" when ok)

    @property
    def needs_confirmation(self) -> bool:
        return self.level == "low"


def coverage_floor(coverage: Coverage | None, *, recognised: int) -> CoverageFloor:
    """The floor rule (:data:`COVERAGE_FLOOR`): refused below :data:`MIN_RECOGNISED_GENES` recognised genes,
    ``low`` below :data:`LOW_COVERAGE_FRACTION` of the reference's genes (``coverage``; None: not judged)."""
    if recognised < MIN_RECOGNISED_GENES:
        return CoverageFloor("refused", f"Only {recognised} gene(s) were recognised; at least "
                                        f"{MIN_RECOGNISED_GENES} are needed to place a profile.")
    if coverage is None or coverage.needed == 0 or coverage.fraction >= LOW_COVERAGE_FRACTION:
        return CoverageFloor("ok", "")
    return CoverageFloor("low", (
        f"Low gene coverage: this profile has {coverage.present:,} of the {coverage.needed:,} {coverage.use} "
        f"({coverage.fraction:.0%}), below the floor of {LOW_COVERAGE_FRACTION:.0%}. The estimates would rest on "
        "the few shared genes or on the clinical fields alone; confirm to analyse it anyway."))
