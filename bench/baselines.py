"""Off-the-shelf baselines wrapped in the models.base interface, for benchmarks only (never shipped in bundles)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from sksurv.ensemble import RandomSurvivalForest
from sksurv.util import Surv

from models.breslow import BreslowBaseline


class _NotSaved:
    """Benchmark baselines are compared, never shipped: they have no bundle format."""

    def save(self, folder):
        raise NotImplementedError(f"{type(self).__name__} is a benchmark baseline and is never saved")

    @classmethod
    def load(cls, folder):
        raise NotImplementedError(f"{cls.__name__} is a benchmark baseline and is never loaded")


class CoxBaseline(_NotSaved):
    """lifelines Cox PH on chosen columns (all by default), ridge ``penalizer`` (0 = plain Cox)."""

    name = "cox"

    def __init__(self, *, columns: Sequence[str] | None = None, penalizer: float = 0.0, l1_ratio: float = 0.0,
                 label: str = "Cox PH") -> None:
        self.columns, self.penalizer, self.l1_ratio, self.label = columns, penalizer, l1_ratio, label

    def _frame(self, X: np.ndarray) -> pd.DataFrame:
        frame = pd.DataFrame(X, columns=self.feature_names_)
        return frame[self.use_] if self.use_ else frame

    def fit(self, X, time, event, *, feature_names, treatment_index=()):
        self.feature_names_ = list(feature_names)
        self.use_ = [c for c in (self.columns or feature_names) if c in self.feature_names_]
        frame = self._frame(X)
        frame = frame.loc[:, frame.std() > 0]
        self.use_ = list(frame.columns)
        self.model_ = CoxPHFitter(penalizer=self.penalizer, l1_ratio=self.l1_ratio)
        self.model_.fit(frame.assign(_t=time, _e=event), "_t", "_e")
        self.baseline_ = BreslowBaseline.fit(self.predict_risk(X), time, event)
        return self

    def predict_risk(self, X):
        return np.log(self.model_.predict_partial_hazard(self._frame(X)).to_numpy())

    def predict_survival(self, X, times):
        return self.baseline_.survival(self.predict_risk(X), np.asarray(times, dtype=float))


class RSFBaseline(_NotSaved):
    """scikit-survival random survival forest."""

    name = "rsf"
    label = "Random survival forest"

    def __init__(self, *, n_estimators: int = 200, min_samples_leaf: int = 15, max_features: str = "sqrt",
                 seed: int = 0, n_jobs: int = 2) -> None:
        self.options = {"n_estimators": n_estimators, "min_samples_leaf": min_samples_leaf,
                        "max_features": max_features, "random_state": seed, "n_jobs": n_jobs}

    def fit(self, X, time, event, *, feature_names, treatment_index=()):
        self.model_ = RandomSurvivalForest(**self.options).fit(X, Surv.from_arrays(event.astype(bool), time))
        return self

    def predict_risk(self, X):
        return np.log(np.maximum(self.model_.predict(X), 1e-12))

    def predict_survival(self, X, times):
        functions = self.model_.predict_survival_function(X)
        lo, hi = functions[0].domain
        t = np.clip(np.asarray(times, dtype=float), lo, hi)
        return np.vstack([fn(t) for fn in functions])
