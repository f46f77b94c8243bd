"""The one small interface every survival model in models/ follows (see tests/test_model_contract.py).

Risk is a log-hazard (higher = worse). Survival comes from a Breslow baseline over that risk, so any
model gives S(t | x) at any time. Models save to a folder without pickle (JSON/UBJ/safetensors).
Every fit checks its (time, event) target with :func:`training_target`.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from genomics.errors import InputError
from genomics.survival import survival_arrays
from models.errors import ModelError


@runtime_checkable
class SurvivalModel(Protocol):
    name: ClassVar[str]

    def fit(
        self,
        X: np.ndarray,
        time: np.ndarray,
        event: np.ndarray,
        *,
        feature_names: Sequence[str],
        treatment_index: Sequence[int] = (),
    ) -> SurvivalModel: ...

    def predict_risk(self, X: np.ndarray) -> np.ndarray: ...

    def predict_survival(self, X: np.ndarray, times: np.ndarray) -> np.ndarray: ...

    def save(self, folder: Path) -> list[str]: ...

    @classmethod
    def load(cls, folder: Path) -> SurvivalModel: ...


def training_target(time, event, n: int, *, positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A fit's (time, event) for ``n`` samples, flattened and checked by :func:`genomics.survival.survival_arrays`
    (float64 times, boolean events); a problem is a :class:`ModelError`. ``positive``: times must be > 0.
    How many events a model needs is its own rule, checked by the model."""
    try:
        return survival_arrays(np.reshape(time, -1), np.reshape(event, -1), n=n, what="training ", min_events=0,
                               positive=positive)
    except InputError as err:
        raise ModelError(str(err)) from None
