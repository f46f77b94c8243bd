"""The evidence behind a treatment option: how many comparable cohort patients actually received each regimen.

:class:`RegimenEvidence` fits a multinomial propensity model of the received regimen given the patient's
non-treatment features, and counts each regimen among the patient's k nearest cohort patients. A regimen's
evidence is ``ok`` with at least 5 of the 100 nearest and a propensity of at least 2%, ``thin`` below that,
``none`` when no near patient received it. Overlap is judged per regimen: a joint combination can be rare even
when each of its treatments is common. Used by :func:`models.treatment.treatment_options`.

A propensity under :data:`LOW_PROPENSITY` (5%) is flagged in words ("rarely given to similar patients") wherever
the evidence is shown, but does not by itself make the evidence thin: on METABRIC (all 1,904 patients × 8
regimens) raising :data:`MIN_PROPENSITY` from 2% to 5% would turn 1,151 of the 7,975 'ok' rows (14%) into
'thin' although at least 5 of each patient's 100 nearest cohort patients received the regimen; the count is the
more direct evidence, the flag says where the propensity model disagrees. The fitted model also keeps the
reference cohort's minimum worthwhile benefits (``CohortSpec.worthwhile_benefit``) for the decision rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd

from genomics.regimens import regimen_labels, regimens
from genomics.spec import spec_of
from models.decision import LOW_PROPENSITY  # noqa: F401  (re-exported beside MIN_PROPENSITY)
from models.errors import ModelError
from models.features import FeatureBuilder

MIN_PROPENSITY = 0.02  # below it, evidence is thin whatever the count (LOW_PROPENSITY flags 2-5% in words)
N_GENE_COMPONENTS = 20  # the evidence model summarises the expression block by its leading principal components


def _evidence_level(count: int, propensity: float, min_support: int) -> str:
    if count == 0:
        return "none"
    if count < min_support or propensity < MIN_PROPENSITY:
        return "thin"
    return "ok"


def _evidence_levels(counts: np.ndarray, propensity: np.ndarray, min_support: int) -> np.ndarray:
    """:func:`_evidence_level` over arrays (same rule, no Python loop)."""
    thin = (counts < min_support) | (propensity < MIN_PROPENSITY)
    return np.where(counts == 0, "none", np.where(thin, "thin", "ok"))


@dataclass
class RegimenEvidence:
    """Propensity of each regimen and its count among the k nearest cohort patients (fit once per cohort/bundle).

    Inputs are the bundle's non-treatment features: clinical columns as they are, the expression block
    reduced to its leading principal components (a propensity model or a distance over thousands of genes
    would separate patients on noise), all standardised.
    """

    k_neighbours: int = 100
    n_gene_components: int = N_GENE_COMPONENTS
    regimens_: list[str] = field(default_factory=list)
    n_cohort_: int = 0

    def fit(self, features: FeatureBuilder, cohort: ad.AnnData) -> RegimenEvidence:
        from sklearn.decomposition import PCA  # lazy: start-up cost (sklearn)
        from sklearn.linear_model import LogisticRegression  # lazy: start-up cost (sklearn)
        from sklearn.neighbors import NearestNeighbors  # lazy: start-up cost (sklearn)
        from sklearn.preprocessing import StandardScaler  # lazy: start-up cost (sklearn)

        spec = spec_of(cohort)
        treatments = tuple(features.treatments_)
        if not treatments:
            raise ModelError("The model has no treatment columns: treatment options need them.")
        missing = [t for t in treatments if t not in cohort.obs.columns]
        if missing:
            raise ModelError(f"The reference cohort {spec.id!r} lacks treatment column(s) {', '.join(missing)}.")
        self.features_ = features
        self.treatments_ = treatments
        self.worthwhile_benefit_ = dict(spec.worthwhile_benefit)  # the cohort's thresholds (models.treatment)
        self.regimens_ = regimens(treatments)
        received = regimen_labels(cohort.obs, treatments).to_numpy()
        self.ids_ = np.asarray(cohort.obs_names.astype(str))
        self.outcomes_ = {}
        for ep in spec.endpoints:
            if ep.time_col in cohort.obs.columns and ep.event_col in cohort.obs.columns:
                self.outcomes_[ep.name] = (pd.to_numeric(cohort.obs[ep.time_col], errors="coerce").to_numpy(float),
                                           pd.to_numeric(cohort.obs[ep.event_col], errors="coerce").to_numpy(float))
        Z = self._raw(features.transform(cohort, require_coverage=False).X, fit=True, pca_cls=PCA)
        self.scaler_ = StandardScaler().fit(Z)
        Zs = self.scaler_.transform(Z)
        self.received_ = received
        position = {name: j for j, name in enumerate(self.regimens_)}  # counted as numbers (fast), -1 for none
        self.received_codes_ = np.array([position.get(r, -1) for r in received], dtype=np.int16)
        self.n_cohort_ = len(received)
        classes = sorted(set(received))
        if len(classes) >= 2:
            self.propensity_ = LogisticRegression(C=1.0, max_iter=1000).fit(Zs, received)
        else:
            self.propensity_ = None
            self.only_class_ = classes[0]
        self.neighbours_ = NearestNeighbors(n_neighbors=min(self.k_neighbours, self.n_cohort_)).fit(Zs)
        self.Zs_ = Zs
        return self

    def similar(self, X: np.ndarray, *, regimen: str, k: int = 30, endpoint: str | None = None) -> pd.DataFrame:
        """The ``k`` cohort patients nearest to the first row of ``X`` who received ``regimen``.

        Columns: patient_id, distance (standardised evidence space), time, event (of ``endpoint``, default the
        cohort's first). Empty when nobody received it.
        """
        from sklearn.neighbors import NearestNeighbors  # lazy: start-up cost (sklearn)

        if regimen not in self.regimens_:
            raise ModelError(f"Unknown regimen {regimen!r}.")
        z = self.scaler_.transform(self._raw(np.asarray(X)[:1]))
        rows = np.flatnonzero(self.received_ == regimen)
        name = endpoint or next(iter(self.outcomes_), None)
        columns = ["patient_id", "distance", "time", "event"]
        if len(rows) == 0:
            return pd.DataFrame(columns=columns)
        nn = NearestNeighbors(n_neighbors=min(k, len(rows))).fit(self.Zs_[rows])
        dist, idx = nn.kneighbors(z)
        chosen = rows[idx[0]]
        time, event = self.outcomes_.get(name, (np.full(self.n_cohort_, np.nan), np.full(self.n_cohort_, np.nan)))
        return pd.DataFrame({"patient_id": self.ids_[chosen], "distance": dist[0], "time": time[chosen],
                             "event": event[chosen]})

    def _raw(self, X: np.ndarray, *, fit: bool = False, pca_cls=None) -> np.ndarray:
        n_t = len(self.features_.treatments_)
        n_g = len(self.features_.genes_)
        clinical = X[:, n_t: X.shape[1] - n_g]
        genes = X[:, X.shape[1] - n_g:]
        if fit:
            n_comp = min(self.n_gene_components, n_g, max(len(X) - 1, 0))
            self.pca_ = pca_cls(n_components=n_comp, random_state=0).fit(genes) if n_comp > 0 else None
        blocks = [clinical]
        if self.pca_ is not None:
            blocks.append(self.pca_.transform(genes))
        return np.hstack(blocks).astype(np.float64)

    def assess(self, X: np.ndarray, *, min_support: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(propensity, count, evidence level), each samples × regimens, from a feature matrix of the bundle."""
        Zs = self.scaler_.transform(self._raw(np.asarray(X)))
        n, m = len(Zs), len(self.regimens_)
        prop = np.zeros((n, m))
        if self.propensity_ is not None:
            p = self.propensity_.predict_proba(Zs)
            for j, cls in enumerate(self.propensity_.classes_):
                prop[:, self.regimens_.index(cls)] = p[:, j]
        else:
            prop[:, self.regimens_.index(self.only_class_)] = 1.0
        _, idx = self.neighbours_.kneighbors(Zs)
        near = self.received_codes_[idx]  # samples × k, as regimen numbers
        counts = np.stack([(near == j).sum(axis=1) for j in range(m)], axis=1)
        level = _evidence_levels(counts, prop, min_support) if n else np.empty((0, m), dtype=object)
        return prop, counts, level
