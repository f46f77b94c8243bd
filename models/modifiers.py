"""Effect modifiers of the treatment-effect model: the linear map from a feature row to standardised modifiers.

``z`` holds every varying clinical column (continuous ones with restricted-cubic-spline terms), the mean
z-score of each gene module (:data:`EFFECT_MODULES`), the single genes a screen found (models.gene_screen) and
the leading principal components of the expression block; the anchor field's levels (:data:`ANCHOR_FIELD`) give each treatment its subgroup effects. Used by
:class:`models.effects.TreatmentEffectModel`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from genomics.setscores import BREAST_MODULES
from models.errors import ModelError

#: Gene modules used as effect modifiers: the breast-cancer modules of :mod:`genomics.setscores`.
EFFECT_MODULES: dict[str, tuple[str, ...]] = BREAST_MODULES
MIN_MODULE_GENES = 3
#: Each treatment's effect is anchored per level of this field (ER status, as PREDICT fits ER+ and ER- disease
#: apart): ``theta_k,level`` is that subgroup's own log hazard ratio, shrunk towards **no effect** (not towards the
#: other subgroup's), so a treatment rarely given in a subgroup (endocrine therapy in ER- disease) is not credited
#: with an effect its few patients cannot show. Without the field there is one anchor per treatment.
ANCHOR_FIELD = "er_status"
N_PCS = 16  # leading principal components of the expression block among the modifiers


@dataclass
class Modifiers:
    """The linear map from a feature row's non-treatment columns to standardised effect modifiers.

    ``z = (x_rest @ M - centre) / scale``; ``names[j]`` and ``groups[j]`` say what column j is
    ("clinical", "module", "gene", "expression_pc").
    """

    names: list[str]
    groups: list[str]
    M: np.ndarray  # (n_rest, q)
    centre: np.ndarray  # (q,)
    scale: np.ndarray  # (q,)
    x_mean: np.ndarray  # (n_rest,) training mean of the non-treatment columns
    anchor_cols: list[int]  # columns of x_rest holding the anchor field's levels (one-hot); [] = one common anchor
    anchor_names: list[str]
    anchor_means: np.ndarray  # (levels, q) mean of z within each anchor level
    splines: list[tuple[int, list[float]]]  # (column of x_rest, knots): restricted cubic spline terms
    #: the training range of each modifier: a profile beyond it is held at its edge (see :meth:`transform`)
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None

    def expand(self, X_rest: np.ndarray) -> np.ndarray:
        """x_rest followed by the spline terms of its continuous clinical columns (x_ext)."""
        X_rest = np.asarray(X_rest, dtype=np.float64)
        extra = [rcs_terms(X_rest[:, j], knots) for j, knots in self.splines]
        return np.hstack([X_rest, *extra]) if extra else X_rest

    def fold(self, values: np.ndarray) -> np.ndarray:
        """Per-column values of x_ext summed back onto the x_rest column each spline term came from."""
        n_rest = len(values) - sum(len(knots) - 2 for _, knots in self.splines)
        out = np.array(values[:n_rest], dtype=np.float64)
        pos = n_rest
        for j, knots in self.splines:
            width = len(knots) - 2
            out[j] += float(np.sum(values[pos: pos + width]))
            pos += width
        return out

    def within(self, X_rest: np.ndarray) -> np.ndarray:
        """z centred within the patient's anchor level: interactions then describe heterogeneity inside a
        subgroup, and the subgroup's average effect is its anchor alone."""
        return self.transform(X_rest) - self.anchors(X_rest) @ self.anchor_means

    def anchors(self, X_rest: np.ndarray) -> np.ndarray:
        """The anchor indicators (samples × levels): the anchor field's one-hot columns, or a column of ones."""
        X_rest = np.asarray(X_rest, dtype=np.float64)
        if not self.anchor_cols:
            return np.ones((len(X_rest), 1))
        return X_rest[:, self.anchor_cols]

    def anchor_level(self, X_rest: np.ndarray) -> np.ndarray:
        """Each row's anchor level (index into ``anchor_names``), -1 where the row has none of them (the field
        unknown for a patient where every training patient had it) or where there is no anchor field."""
        if not self.anchor_cols:
            return np.full(len(X_rest), -1, dtype=np.int64)
        g = self.anchors(X_rest)
        return np.where(g.max(axis=1) > 0.5, g.argmax(axis=1), -1).astype(np.int64)

    @classmethod
    def fit(cls, X_rest: np.ndarray, columns: Sequence[str], *, n_pcs: int = N_PCS,
            single_genes: Sequence[str] = ()) -> Modifiers:
        """``single_genes``: feature columns ("gene:<symbol>") that enter as single-gene modifiers (group "gene"), such
        as the hits of :func:`models.gene_screen.screen_genes`."""
        X_rest = np.asarray(X_rest, dtype=np.float64)
        columns = list(columns)
        splines = []
        for j, c in enumerate(columns):
            if c.startswith("gene:") or "=" in c or c.endswith("__missing"):
                continue
            knots = sorted(set(np.round(np.quantile(X_rest[:, j], RCS_QUANTILES), 6).tolist()))
            if len(np.unique(X_rest[:, j])) >= 10 and len(knots) >= 3:
                splines.append((j, knots))
        n_rest = len(columns)
        for j, knots in splines:
            columns += [f"{columns[j]}~rcs{i + 1}" for i in range(len(knots) - 2)]
        X_rest = np.hstack([X_rest, *(rcs_terms(X_rest[:, j], knots) for j, knots in splines)]) if splines else X_rest
        gene_cols = [j for j, c in enumerate(columns) if c.startswith("gene:")]
        clinical_cols = [j for j, c in enumerate(columns) if not c.startswith("gene:")]  # incl. spline terms
        blocks, names, groups = [], [], []
        sd = X_rest.std(axis=0)
        for j in clinical_cols:
            if sd[j] > 1e-8:
                col = np.zeros(len(columns))
                col[j] = 1.0
                blocks.append(col)
                names.append(columns[j])
                groups.append("clinical")
        genes = {columns[j][5:]: j for j in gene_cols}
        for module, members in EFFECT_MODULES.items():
            present = [genes[g] for g in members if g in genes]
            if len(present) >= MIN_MODULE_GENES:
                col = np.zeros(len(columns))
                col[present] = 1.0 / len(present)
                blocks.append(col)
                names.append(f"module:{module}")
                groups.append("module")
        position = {c: j for j, c in enumerate(columns)}
        for gene in single_genes:
            if gene in position and sd[position[gene]] > 1e-8:
                col = np.zeros(len(columns))
                col[position[gene]] = 1.0
                blocks.append(col)
                names.append(gene)
                groups.append("gene")
        if gene_cols and n_pcs > 0:
            G = X_rest[:, gene_cols].astype(np.float64)
            G = G - G.mean(axis=0)
            k = min(n_pcs, len(gene_cols), max(len(G) - 1, 0))
            if k > 0:
                _, _, vt = np.linalg.svd(G, full_matrices=False)
                for i in range(k):
                    col = np.zeros(len(columns))
                    col[gene_cols] = vt[i]
                    blocks.append(col)
                    names.append(f"expression_pc{i + 1}")
                    groups.append("expression_pc")
        if not blocks:
            raise ModelError("No usable features to model treatment effects (all clinical columns are constant).")
        M = np.column_stack(blocks)
        raw = X_rest @ M
        centre, scale = raw.mean(axis=0), raw.std(axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        anchor = [j for j in clinical_cols if j < n_rest and modifier_field(columns[j]) == ANCHOR_FIELD and X_rest[:, j].max() > 0]
        z = (raw - centre) / scale
        g = X_rest[:, anchor] if anchor else np.ones((len(X_rest), 1))
        means = np.linalg.lstsq(g, z, rcond=None)[0] if anchor else np.zeros((1, z.shape[1]))
        return cls(names, groups, M, centre, scale, X_rest.mean(axis=0), anchor, [columns[j] for j in anchor], means,
                   splines, z.min(axis=0), z.max(axis=0))

    def unclamped(self, X_rest: np.ndarray) -> np.ndarray:
        """z as the linear map gives it, before holding it to the training range."""
        return (self.expand(X_rest) @ self.M - self.centre) / self.scale

    def transform(self, X_rest: np.ndarray) -> np.ndarray:
        """z, each modifier held within the range it had in training: a linear interaction says nothing about a
        profile beyond every training patient (a gene at 14 SD from another platform), and the bootstrap refits
        at light penalties disagree without bound there. Training rows are unchanged."""
        z = self.unclamped(X_rest)
        return z if self.lower is None else np.clip(z, self.lower, self.upper)

    def outside_range(self, X_rest: np.ndarray) -> list[list[str]]:
        """Per row, the modifiers held at the edge of their training range."""
        if self.lower is None:
            return [[] for _ in range(len(X_rest))]
        z = self.unclamped(X_rest)
        out = (z < self.lower) | (z > self.upper)
        return [[self.names[j] for j in np.flatnonzero(row)] for row in out]

    def feature_weights(self, w: np.ndarray) -> np.ndarray:
        """Weights on the x_ext columns of a linear score ``w'z`` (so ``w'z - w'z(x_mean) = weights'(x_ext - x_mean)``)."""
        return self.M @ (np.asarray(w, dtype=np.float64) / self.scale)


RCS_QUANTILES = (0.05, 0.35, 0.65, 0.95)  # Harrell's default knots for 4-knot restricted cubic splines


def rcs_terms(x: np.ndarray, knots: Sequence[float]) -> np.ndarray:
    """The nonlinear terms of a restricted cubic spline (Harrell, Regression Modeling Strategies 2.4.5):
    linear beyond the outer knots, so a continuous field (age, nodes, size) bends where the data say without
    wild tails. Returns len(knots) - 2 columns, scaled by the squared knot range."""
    t = np.asarray(knots, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    k = len(t)
    scale = (t[-1] - t[0]) ** 2

    def cube(v):
        return np.clip(v, 0.0, None) ** 3

    cols = [(cube(x - t[j]) - cube(x - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
             + cube(x - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2])) / scale for j in range(k - 2)]
    return np.column_stack(cols)


def modifier_field(modifier: str) -> str:
    """The clinical field behind a modifier column name ('er_status=Positive' → 'er_status')."""
    return modifier.split("=", 1)[0].removesuffix("__missing")
