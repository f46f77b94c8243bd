"""Features for the survival models, from a cohort or patient AnnData and the cohort's spec.

One code path for training, one uploaded patient and a batch: :class:`FeatureBuilder` learns its
state from the training cohort (``fit``), then ``transform`` turns any AnnData into the same
columns. Expression features are per-gene z-scores in the training cohort's reference space
(:class:`genomics.reference.GeneStandardiser`, so an upload from another platform is quantile-mapped
first); numeric clinical fields are median-filled with a ``<field>__missing`` flag (never silently
zero); categorical fields are one-hot with a missing flag; treatments are 0/1 columns. With
``expression="scores"`` the expression block is the gene sets' within-sample rank scores
(:mod:`genomics.setscores`) over the genes instead of the genes themselves (the platform-robust variant).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from genomics.reference import GeneStandardiser
from genomics.setscores import rank_scores, robust_sets, sets_on
from genomics.spec import CohortSpec, spec_of
from models.errors import ModelError

MISSING = "__missing"
MIN_GENE_COVERAGE = 0.8  # below this share of the model's genes, predictions would rest on imputation


@dataclass(frozen=True)
class FeatureFrame:
    """Model inputs: ``X`` (samples × columns, float32), with what had to be filled per sample."""

    X: np.ndarray
    columns: tuple[str, ...]
    sample_ids: tuple[str, ...]
    filled: dict[str, tuple[str, ...]]  # sample id → fields that were missing and filled
    gene_coverage: float
    expression_mode: str

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.X, index=list(self.sample_ids), columns=list(self.columns))


@dataclass
class FeatureBuilder:
    """Learns feature columns from a training cohort; see the module docstring.

    Parameters
    ----------
    genes
        ``"all"`` (default) for every gene of the cohort, an int for the most variable genes, or a list.
    clinical
        Clinical field names to use (default: all fields declared by the spec that the cohort has).
    use_treatments
        Add the spec's treatment columns (needed by the treatment engine).
    expression
        ``"genes"`` (default): one column per gene; ``"scores"``: one rank score per gene set measured on
        at least 3 of the genes (:func:`genomics.setscores.rank_scores`).
    """

    genes: Any = "all"
    clinical: list[str] | None = None
    use_treatments: bool = True
    expression: str = "genes"
    # learned state
    spec_id_: str = ""
    genes_: list[str] = field(default_factory=list)
    numeric_: dict[str, float] = field(default_factory=dict)  # field → fill value (training median)
    categorical_: dict[str, list[str]] = field(default_factory=dict)
    treatments_: list[str] = field(default_factory=list)
    standardiser_: GeneStandardiser | None = None
    columns_: list[str] = field(default_factory=list)
    sets_: dict[str, tuple[str, ...]] = field(default_factory=dict)  # expression="scores": set -> its genes

    def fit(self, adata: ad.AnnData, *, spec: CohortSpec | None = None) -> FeatureBuilder:
        spec = spec or spec_of(adata)
        self.spec_id_ = spec.id
        obs = adata.obs
        wanted = self.clinical if self.clinical is not None else [f.name for f in spec.clinical]
        self.numeric_, self.categorical_ = {}, {}
        for name in wanted:
            f = spec.clinical_field(name)
            if f is None or name not in obs.columns:
                continue
            if f.kind in ("numeric", "ordinal"):
                values = pd.to_numeric(obs[name], errors="coerce")
                if values.notna().sum() == 0:
                    continue
                self.numeric_[name] = float(values.median())
            else:
                levels = sorted(obs[name].dropna().astype(str).unique())
                if levels:
                    self.categorical_[name] = levels
        self.treatments_ = list(spec.treatments) if self.use_treatments else []
        self.genes_ = self._choose_genes(adata)
        self.standardiser_ = GeneStandardiser.fit(adata[:, self.genes_]) if self.genes_ else None
        if self.expression == "scores":
            self.sets_ = sets_on(self.genes_, robust_sets())
            if not self.sets_:
                raise ModelError("No gene set has 3 or more of these genes: rank scores cannot be computed.")
        elif self.expression != "genes":
            raise ModelError(f"Unknown expression features {self.expression!r} (genes or scores).")
        self.columns_ = self._column_names()
        return self

    def _choose_genes(self, adata: ad.AnnData) -> list[str]:
        if self.genes is None or adata.n_vars == 0:
            return []
        if isinstance(self.genes, str) and self.genes == "all":
            return list(adata.var_names)
        if isinstance(self.genes, int):
            variances = np.nanvar(np.asarray(adata.X, dtype=np.float64), axis=0)
            order = np.argsort(-variances, kind="stable")[: self.genes]
            return [adata.var_names[i] for i in sorted(order)]
        return [g for g in self.genes if g in adata.var_names]

    def _column_names(self) -> list[str]:
        cols = [*self.treatments_]
        for name in self.numeric_:
            cols += [name, name + MISSING]
        for name, levels in self.categorical_.items():
            cols += [f"{name}={level}" for level in levels] + [name + MISSING]
        if self.sets_:
            cols += [f"score:{name}" for name in self.sets_]
        else:
            cols += [f"gene:{g}" for g in self.genes_]
        return cols

    @property
    def treatment_index(self) -> list[int]:
        """Positions of the treatment columns (the torch model's regimen-aware head uses them)."""
        return list(range(len(self.treatments_)))

    def transform(self, adata: ad.AnnData, *, require_coverage: bool = True,
                  expression_mode: str = "auto") -> FeatureFrame:
        """The model's columns for any cohort, batch or single patient.

        ``expression_mode``: ``auto`` (the standardiser decides for the batch), ``standardise`` or ``quantile``
        (e.g. the mode a whole file was given, applied to each of its partitions).
        """
        if not self.columns_:
            raise ModelError("FeatureBuilder is not fitted.")
        obs = adata.obs
        n = adata.n_obs
        parts: list[np.ndarray] = []
        filled: dict[str, list[str]] = {str(s): [] for s in adata.obs_names}
        for t in self.treatments_:
            values = pd.to_numeric(obs[t], errors="coerce") if t in obs.columns else pd.Series(np.nan, index=obs.index)
            for sid in obs.index[values.isna()]:
                filled[str(sid)].append(t)
            parts.append(values.fillna(0).to_numpy(dtype=np.float64)[:, None])
        for name, fill in self.numeric_.items():
            values = pd.to_numeric(obs[name], errors="coerce") if name in obs.columns else pd.Series(np.nan, index=obs.index)
            missing = values.isna().to_numpy()
            for sid in obs.index[missing]:
                filled[str(sid)].append(name)
            parts.append(np.column_stack([values.fillna(fill).to_numpy(dtype=np.float64), missing.astype(float)]))
        for name, levels in self.categorical_.items():
            values = obs[name].astype("string") if name in obs.columns else pd.Series(pd.NA, index=obs.index, dtype="string")
            onehot = np.column_stack([(values == level).fillna(False).to_numpy(dtype=float) for level in levels])
            missing = (onehot.sum(axis=1) == 0).astype(float)
            for sid in obs.index[missing.astype(bool)]:
                filled[str(sid)].append(name)
            parts.append(np.column_stack([onehot, missing]))
        coverage, mode = 1.0, "none"
        if self.genes_:
            z, mode = self.standardiser_.transform(adata, mode=expression_mode)  # type: ignore[union-attr]
            present = np.isfinite(z)
            coverage = float(present.mean(axis=1).min()) if n else 0.0
            if require_coverage and coverage < MIN_GENE_COVERAGE:
                raise ModelError(
                    f"The model needs its {len(self.genes_)} genes; the profile has {coverage:.0%} of them "
                    f"(at least {MIN_GENE_COVERAGE:.0%} needed). Missing genes are never filled silently."
                )
            if self.sets_:
                parts.append(np.nan_to_num(rank_scores(z, self.genes_, self.sets_), nan=0.0))
            else:
                parts.append(np.where(present, z, 0.0))  # absent genes sit at the cohort mean (reported as coverage)
        X = np.hstack(parts) if parts else np.zeros((n, 0))
        return FeatureFrame(
            X=X.astype(np.float32),
            columns=tuple(self.columns_),
            sample_ids=tuple(map(str, adata.obs_names)),
            filled={k: tuple(v) for k, v in filled.items() if v},
            gene_coverage=coverage,
            expression_mode=mode,
        )

    def to_dict(self) -> dict:
        return {
            "spec_id": self.spec_id_, "genes": self.genes_, "numeric": self.numeric_, "categorical": self.categorical_,
            "treatments": self.treatments_, "columns": self.columns_,
            "standardiser": self.standardiser_.to_dict() if self.standardiser_ else None,
            "expression": self.expression, "sets": {k: list(v) for k, v in self.sets_.items()},
        }

    @classmethod
    def from_dict(cls, raw: dict) -> FeatureBuilder:
        builder = cls(genes=raw["genes"], clinical=list(raw["numeric"]) + list(raw["categorical"]),
                      use_treatments=bool(raw["treatments"]), expression=str(raw.get("expression", "genes")))
        builder.sets_ = {k: tuple(v) for k, v in raw.get("sets", {}).items()}
        builder.spec_id_ = raw["spec_id"]
        builder.genes_ = list(raw["genes"])
        builder.numeric_ = dict(raw["numeric"])
        builder.categorical_ = {k: list(v) for k, v in raw["categorical"].items()}
        builder.treatments_ = list(raw["treatments"])
        builder.columns_ = list(raw["columns"])
        builder.standardiser_ = GeneStandardiser.from_dict(raw["standardiser"]) if raw["standardiser"] else None
        return builder


def survival_target(adata: ad.AnnData, *, endpoint: str, spec: CohortSpec | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time in months, event 0/1, mask of usable rows) for an endpoint of the cohort."""
    spec = spec or spec_of(adata)
    ep = spec.endpoint(endpoint)
    time = pd.to_numeric(adata.obs[ep.time_col], errors="coerce").to_numpy(dtype=np.float64)
    event = pd.to_numeric(adata.obs[ep.event_col], errors="coerce").to_numpy(dtype=np.float64)
    usable = np.isfinite(time) & np.isfinite(event) & (time > 0)
    return time, event, usable
