"""Resampling ensembles of survival models: a point prediction with an uncertainty band.

:class:`SurvivalEnsemble` fits K members, each on a bootstrap (or 80 % subsample) resample of the
training data with seed ``seed + k``, and predicts the member median. Its intervals are percentile
intervals across members: they show how much the fitted model moves when the training data are
resampled (model and estimation uncertainty). They are **not** patient-level prediction intervals:
they say how sure the model is about a patient's survival curve, not when that patient will die.

For ``kind="xgb"`` the hyperparameters are chosen once, by the inner cross-validation of
:class:`models.xgb.XGBSurvival` on the full training data; every member then trains with those
fixed ``params_`` and ``n_rounds_`` (no inner CV per member), which keeps K members cheap.
``kind="torch"`` members come from ``models.deepsurv.DeepSurvModel`` (imported only when needed).

Saved as ``ensemble.json`` plus one sub-folder per member (``member_00/`` …), each written by the
member's own ``save``; no pickle.
"""
from __future__ import annotations

import importlib
import json
import logging
import time as clock
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from genomics.jsonsafe import json_safe
from genomics.percentile import percentiles
from models.base import SurvivalModel, training_target
from models.errors import ModelError
from models.xgb import XGBSurvival

log = logging.getLogger(__name__)

ENSEMBLE_FILE = "ensemble.json"
FORMAT = "oncotx-ensemble"
FORMAT_VERSION = 1
RESAMPLINGS = ("bootstrap", "subsample")
SUBSAMPLE_FRACTION = 0.8
MIN_RESAMPLE_EVENTS = 2


def member_class(kind: str) -> type:
    """The model class that loads members of this kind (``xgb``, or ``torch`` when models.deepsurv exists)."""
    if kind == XGBSurvival.name:
        return XGBSurvival
    if kind == "torch":
        try:
            module = importlib.import_module("models.deepsurv")
        except ImportError as exc:
            raise ModelError("Ensemble members of kind 'torch' need models.deepsurv, which is not available.") from exc
        return module.DeepSurvModel
    raise ModelError(f"Unknown ensemble member kind {kind!r} (known: xgb, torch).")


class SurvivalEnsemble:
    """K resampled members; median prediction with percentile intervals (see the module docstring).

    Parameters
    ----------
    make_model
        ``make_model(k)`` returns an unfitted member for member k. Default: an ``XGBSurvival`` with
        hyperparameters tuned once on the full data (``kind="xgb"``) or a ``DeepSurvModel``
        (``kind="torch"``), seeded ``seed + k``.
    kind
        Member kind when ``make_model`` is not given: ``"xgb"`` or ``"torch"``.
    n_members
        K, the number of members (at least 2).
    resampling
        ``"bootstrap"`` (n draws with replacement) or ``"subsample"`` (80 % without replacement).
    seed
        Member k draws its resample and trains with seed ``seed + k``.
    confidence
        Coverage of the percentile intervals, e.g. 0.9 → 5th to 95th percentile across members.
    member_options
        Keyword arguments for the default members (e.g. ``{"nthread": 1}`` or ``{"param_grid": ...}``).

    Learned attributes: ``members_``, ``member_seeds_``, ``feature_names_``, ``treatment_index_``,
    ``tuning_`` (the xgb hyperparameter choice shared by the members, or None), ``fit_seconds_``.
    """

    name: ClassVar[str] = "ensemble"

    def __init__(
        self,
        *,
        make_model: Callable[[int], SurvivalModel] | None = None,
        kind: str = "xgb",
        n_members: int = 10,
        resampling: str = "bootstrap",
        seed: int = 0,
        confidence: float = 0.9,
        member_options: Mapping[str, Any] | None = None,
    ) -> None:
        if resampling not in RESAMPLINGS:
            raise ValueError(f"resampling must be one of {RESAMPLINGS}, not {resampling!r}")
        if n_members < 2:
            raise ValueError(f"an ensemble needs at least 2 members, not {n_members}")
        if not 0.0 < confidence < 1.0:
            raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence}")
        if make_model is None and kind not in ("xgb", "torch"):
            raise ValueError(f"kind must be 'xgb' or 'torch' (or pass make_model), not {kind!r}")
        self.make_model = make_model
        self.kind = kind
        self.n_members = int(n_members)
        self.resampling = resampling
        self.seed = int(seed)
        self.confidence = float(confidence)
        self.member_options = dict(member_options or {})

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: np.ndarray,
        time: np.ndarray,
        event: np.ndarray,
        *,
        feature_names: Sequence[str],
        treatment_index: Sequence[int] = (),
    ) -> SurvivalEnsemble:
        started = clock.perf_counter()
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ModelError("X, time and event must describe the same samples.")
        time, event = training_target(time, event, X.shape[0])
        if int(event.sum()) < MIN_RESAMPLE_EVENTS:
            raise ModelError(f"At least {MIN_RESAMPLE_EVENTS} events are needed to fit an ensemble.")
        self.feature_names_ = [str(f) for f in feature_names]
        self.treatment_index_ = [int(i) for i in treatment_index]
        self.tuning_: dict[str, Any] | None = None
        factory = self.make_model or self._default_factory(X, time, event)
        self.members_: list[Any] = []
        self.member_seeds_: list[int] = []
        for k in range(self.n_members):
            member_seed = self.seed + k
            rows = self._resample(event, member_seed)
            member = factory(k)
            member.fit(X[rows], time[rows], event[rows], feature_names=self.feature_names_,
                       treatment_index=self.treatment_index_)
            self.members_.append(member)
            self.member_seeds_.append(member_seed)
        self.fit_seconds_ = clock.perf_counter() - started
        log.info("ensemble of %d %s members (%s) fitted in %.1f s", self.n_members, self.members_[0].name,
                 self.resampling, self.fit_seconds_)
        return self

    def _default_factory(self, X: np.ndarray, time: np.ndarray, event: np.ndarray) -> Callable[[int], Any]:
        options = dict(self.member_options)
        if self.kind == "torch":
            cls = member_class("torch")
            return lambda k: cls(**{**options, "seed": self.seed + k})
        # tune once on all training data, then every member reuses the choice
        tuner = XGBSurvival(**{**options, "seed": self.seed}).fit(
            X, time, event, feature_names=self.feature_names_, treatment_index=self.treatment_index_)
        self.tuning_ = {"params": tuner.params_, "n_rounds": tuner.n_rounds_, "cv_results": tuner.cv_results_,
                        "seconds": tuner.fit_seconds_}
        fixed = {k: v for k, v in options.items() if k not in ("param_grid", "n_inner_folds", "early_stopping_rounds",
                                                                 "max_rounds", "fixed_params", "n_rounds")}
        return lambda k: XGBSurvival(**{**fixed, "seed": self.seed + k, "fixed_params": tuner.params_,
                                        "n_rounds": tuner.n_rounds_})

    def resample_rows(self, event: np.ndarray, member_seed: int) -> np.ndarray:
        """Row indices of the member trained with ``member_seed`` (the draw :meth:`fit` makes; used by the Dask path)."""
        return self._resample(np.asarray(event).reshape(-1).astype(bool), member_seed)

    def _resample(self, event: np.ndarray, member_seed: int) -> np.ndarray:
        """Row indices of one member's training data (redrawn, rarely, until it holds enough events)."""
        n = len(event)
        rng = np.random.default_rng(member_seed)
        for _ in range(100):
            if self.resampling == "bootstrap":
                rows = rng.integers(0, n, size=n)
            else:
                rows = np.sort(rng.choice(n, size=max(2, int(round(SUBSAMPLE_FRACTION * n))), replace=False))
            if event[rows].sum() >= MIN_RESAMPLE_EVENTS:
                return rows
        raise ModelError("Could not draw a resample with enough events; the training data hold too few.")

    # ------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not getattr(self, "members_", None):
            raise ModelError("The ensemble is not fitted.")

    def member_risks(self, X: np.ndarray) -> np.ndarray:
        """Each member's risk, members × samples."""
        self._check_fitted()
        return np.stack([np.asarray(m.predict_risk(X), dtype=np.float64) for m in self.members_])

    def member_predictions(self, X: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Each member's S(t | x), members × samples × times (for per-member treatment differences)."""
        self._check_fitted()
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        return np.stack([np.asarray(m.predict_survival(X, times), dtype=np.float64) for m in self.members_])

    def _band(self, stacked: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tail = 100.0 * (1.0 - self.confidence) / 2.0
        lo, hi = percentiles(np.ascontiguousarray(np.moveaxis(stacked, 0, -1)), [tail, 100.0 - tail])
        return np.median(stacked, axis=0), lo, hi

    def predict_risk(self, X: np.ndarray) -> np.ndarray:
        """Median member risk (higher = worse)."""
        return np.median(self.member_risks(X), axis=0)

    def predict_risk_interval(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(median, lower, upper) member risk; a resampling interval, not a patient-level one."""
        return self._band(self.member_risks(X))

    def predict_survival(self, X: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Median member S(t | x), samples × times (a pointwise median of curves is still non-increasing)."""
        return np.median(self.member_predictions(X, times), axis=0)

    def survival_with_members(self, X: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(median S(t | x), each member's S(t | x)) from one pass over the members (what the treatment engine needs)."""
        members = self.member_predictions(X, times)
        return np.median(members, axis=0), members

    def predict_survival_interval(self, X: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(median, lower, upper) S(t | x), each samples × times; a resampling interval, not a patient-level one."""
        return self._band(self.member_predictions(X, times))

    # --------------------------------------------------------- save / load
    def save(self, folder: Path) -> list[str]:
        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written: list[str] = []
        members = []
        for k, member in enumerate(self.members_):
            member_class(member.name)  # refuse to write what could not be read back
            sub = f"member_{k:02d}"
            files = member.save(folder / sub)
            written += [f"{sub}/{f}" for f in files]
            members.append({"folder": sub, "kind": member.name, "seed": self.member_seeds_[k], "files": list(files)})
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "n_members": self.n_members,
            "resampling": self.resampling,
            "seed": self.seed,
            "confidence": self.confidence,
            "feature_names": self.feature_names_,
            "treatment_index": self.treatment_index_,
            "tuning": self.tuning_,
            "members": members,
        }
        (folder / ENSEMBLE_FILE).write_text(json.dumps(json_safe(meta), indent=1))
        return [ENSEMBLE_FILE, *written]

    @classmethod
    def load(cls, folder: Path) -> SurvivalEnsemble:
        folder = Path(folder)
        path = folder / ENSEMBLE_FILE
        if not path.is_file():
            raise ModelError(f"No ensemble in {folder} (needs {ENSEMBLE_FILE}).")
        meta = json.loads(path.read_text())
        if meta.get("format") != FORMAT or int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise ModelError(f"{path} is not an ensemble this version of OncoTx can read.")
        ensemble = cls(kind=meta["kind"], n_members=meta["n_members"], resampling=meta["resampling"],
                       seed=meta["seed"], confidence=meta["confidence"])
        ensemble.feature_names_ = list(meta["feature_names"])
        ensemble.treatment_index_ = list(meta["treatment_index"])
        ensemble.tuning_ = meta.get("tuning")
        ensemble.members_ = [member_class(m["kind"]).load(folder / m["folder"]) for m in meta["members"]]
        ensemble.member_seeds_ = [int(m["seed"]) for m in meta["members"]]
        return ensemble

