"""The one small interface every survival model in models/ follows (see tests/test_model_contract.py).

Risk is a log-hazard (higher = worse). Survival comes from a Breslow baseline over that risk, so any
model gives S(t | x) at any time. Models save to a folder without pickle (JSON/UBJ/safetensors).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np


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
