"""Why this risk, why this benefit: per-patient contributions and similar cohort patients.

* Risk contributions: for the treatment-effect model the cancer log hazard is linear in the features, so
  the decomposition is exact (value at the training mean + one contribution per feature column). For an
  xgboost model it is TreeSHAP (``pred_contribs``), also exact for the tree model's margin.
* Benefit contributions: the log hazard ratio of cancer death between a regimen and the baseline,
  decomposed the same way (the difference of the two regimens' contributions).
* Aggregation: feature columns → clinical fields (one-hot levels and missing flags join their field),
  genes, and gene sets (Hallmark where the data folder has them, else the model's own gene modules). A gene
  set's contribution is the sum over its member genes; sets overlap, so set contributions do not add up
  to the total (the gene and clinical contributions do).
* Similar patients: the cohort patients nearest to this one (in the evidence space: clinical features and
  leading expression components) who received a given regimen, with their Kaplan-Meier curve.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from genomics.errors import InputError
from genomics.signatures import load_hallmark_sets
from models.errors import ModelError
from models.features import MISSING
from models.modifiers import EFFECT_MODULES

TREATMENT_GROUP = "treatment"


def column_group(column: str, treatments: Sequence[str] = ()) -> tuple[str, str]:
    """(group, name) of a feature column: ('gene', 'ESR1'), ('clinical', 'er_status'), ('treatment', ...)."""
    if column in treatments:
        return TREATMENT_GROUP, column
    if column.startswith("gene:"):
        return "gene", column[5:]
    return "clinical", column.split("=", 1)[0].removesuffix(MISSING)


@dataclass(frozen=True)
class Contributions:
    """An additive explanation: ``base + values.sum() == output`` (within floating-point error)."""

    base: float
    values: pd.Series  # feature column → contribution
    output: float
    unit: str  # what is explained, in words
    method: str  # "exact (linear)" or "TreeSHAP"

    def table(self, treatments: Sequence[str] = ()) -> pd.DataFrame:
        """Per-column contributions with their group, largest magnitude first."""
        rows = [(col, *column_group(col, treatments), float(v)) for col, v in self.values.items()]
        frame = pd.DataFrame(rows, columns=["feature", "group", "name", "value"])
        return frame.reindex(frame["value"].abs().sort_values(ascending=False).index).reset_index(drop=True)

    def by_name(self, treatments: Sequence[str] = ()) -> pd.DataFrame:
        """Contributions summed per clinical field and per gene (these add up to ``output - base``)."""
        frame = self.table(treatments)
        grouped = frame.groupby(["group", "name"], as_index=False, sort=False)["value"].sum()
        return grouped.reindex(grouped["value"].abs().sort_values(ascending=False).index).reset_index(drop=True)

    def by_gene_set(self, gene_sets: Mapping[str, Sequence[str]], *, min_genes: int = 3) -> pd.DataFrame:
        """Sum of gene contributions per gene set (sets overlap: not additive across sets)."""
        genes = {column_group(c)[1]: float(v) for c, v in self.values.items() if c.startswith("gene:")}
        rows = []
        for name, members in gene_sets.items():
            present = [g for g in members if g in genes]
            if len(present) >= min_genes:
                rows.append((name, sum(genes[g] for g in present), len(present)))
        frame = pd.DataFrame(rows, columns=["gene_set", "value", "n_genes"])
        return frame.reindex(frame["value"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def risk_contributions(model, x: np.ndarray, feature_names: Sequence[str]) -> Contributions:
    """Why this patient's risk is what it is, under the treatments in ``x``."""
    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    if hasattr(model, "log_hazard_contributions"):
        k = len(model.treatments_)
        base, values = model.log_hazard_contributions(x[0], regimen=x[0, :k])
        return Contributions(base=base, values=pd.Series(values, index=list(feature_names)[k:]),
                             output=base + float(values.sum()), unit="log hazard of death from the cancer "
                             "(relative to the baseline hazard)", method="exact (linear model)")
    if hasattr(model, "contributions"):
        c = model.contributions(x)[0]
        return Contributions(base=float(c[-1]), values=pd.Series(c[:-1], index=list(feature_names)),
                             output=float(c.sum()), unit="log hazard (model margin)", method="TreeSHAP")
    if hasattr(model, "members_") and all(hasattr(m, "contributions") for m in model.members_):
        c = np.mean([m.contributions(x)[0] for m in model.members_], axis=0)
        return Contributions(base=float(c[-1]), values=pd.Series(c[:-1], index=list(feature_names)),
                             output=float(c.sum()), unit="log hazard (mean of the members' margins)",
                             method="TreeSHAP (mean over ensemble members)")
    raise ModelError(f"No explanation method for a {getattr(model, 'name', type(model).__name__)} model.")


def benefit_contributions(model, x: np.ndarray, feature_names: Sequence[str], *, regimen: np.ndarray,
                          baseline: np.ndarray) -> Contributions:
    """Why a regimen's effect differs from the baseline's for this patient: its log hazard ratio of cancer
    death (negative = the regimen lowers the hazard), decomposed per feature."""
    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    if hasattr(model, "log_hazard_contributions"):
        k = len(model.treatments_)
        base, values = model.log_hazard_contributions(x[0], regimen=regimen, baseline=baseline)
        return Contributions(base=base, values=pd.Series(values, index=list(feature_names)[k:]),
                             output=base + float(values.sum()),
                             unit="log hazard ratio of death from the cancer, regimen vs baseline",
                             method="exact (linear model)")
    on = x.copy()
    off = x.copy()
    k = len(regimen)
    on[0, :k], off[0, :k] = regimen, baseline
    a, b = risk_contributions(model, on, feature_names), risk_contributions(model, off, feature_names)
    return Contributions(base=a.base - b.base, values=a.values - b.values, output=a.output - b.output,
                         unit="difference in log hazard, regimen vs baseline", method=a.method + " difference")


def gene_sets_for(genes: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Hallmark gene sets when the data folder has them, else the model's literature gene modules."""
    try:
        sets = load_hallmark_sets()
        return {name.removeprefix("HALLMARK_"): members for name, members in sets.items()}
    except (InputError, OSError):
        return {f"{name} module": members for name, members in EFFECT_MODULES.items()}


def similar_patients(evidence, x: np.ndarray, *, regimen: str, k: int = 30, endpoint: str | None = None) -> pd.DataFrame:
    """The ``k`` cohort patients nearest to ``x`` who received ``regimen``: id, distance, time, event."""
    return evidence.similar(np.asarray(x).reshape(1, -1), regimen=regimen, k=k, endpoint=endpoint)


def single_gene_modifiers(model, x: np.ndarray, columns: Sequence[str]) -> list[dict]:
    """The single genes the treatment-effect model's screen found (models.gene_screen), each with this patient's
    value of the gene (the model's feature scale: cohort-standardised) and what it does to the treatment's
    benefit: ``z > 0`` means the treatment's hazard ratio rises with the gene, so its benefit falls. Empty for
    a model without a screen or where nothing passed it."""
    hits = list(getattr(model, "screen_", None) or [])
    position = {c: j for j, c in enumerate(columns)}
    rows = []
    for hit in hits:
        j = position.get(hit["gene"])
        value = float(np.asarray(x, dtype=np.float64).ravel()[j]) if j is not None else float("nan")
        rows.append({"treatment": hit["treatment"], "gene": hit["gene"].removeprefix("gene:"), "z": float(hit["z"]),
                     "q": float(hit["q"]), "stability": float(hit.get("stability", float("nan"))),
                     "benefit_falls_with_gene": bool(hit["z"] > 0), "patient_value": value})
    return rows
