"""Gradient-boosted survival trees (xgboost ``survival:cox``, optionally ``survival:aft``).

:class:`XGBSurvival` follows :class:`models.base.SurvivalModel`. ``fit`` picks its hyperparameters by
inner K-fold cross-validation on the training data only (early stopping on the validation fold's
negative log-likelihood, candidates ranked by Harrell's C), then refits on all training data with
the mean best number of rounds. The refit's margin is the log-hazard; a Breslow baseline over that
margin on the training data turns it into S(t | x).

With ``objective="survival:aft"`` the margin is the mean of log T (higher = longer survival), so
``predict_risk`` returns ``-margin`` (higher = worse, the same ordering as a log-hazard but not on
its scale), and S(t | x) comes from the AFT distribution itself, analytically:
S(t) = 1 - F((log t - margin) / scale) with F the normal, logistic or extreme-value CDF (the
extreme-value AFT is the Weibull proportional-hazards model). No Breslow baseline is fitted then.

Saved as ``xgb_model.ubj`` (xgboost's own UBJSON format) and ``xgb_meta.json``; no pickle.
"""
from __future__ import annotations

import json
import logging
import os
import time as clock
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xgboost as xgb
from scipy.special import expit, ndtr
from sklearn.model_selection import KFold, StratifiedKFold

from genomics.jsonsafe import json_safe
from models.base import training_target
from models.breslow import BreslowBaseline
from models.device import resolve_device
from models.errors import ModelError
from models.metrics import harrell_c

log = logging.getLogger(__name__)

MODEL_FILE = "xgb_model.ubj"
META_FILE = "xgb_meta.json"
FORMAT = "oncotx-xgb"
FORMAT_VERSION = 1
OBJECTIVES = ("survival:cox", "survival:aft")
AFT_DISTRIBUTIONS = ("normal", "logistic", "extreme")

# Shared by every candidate. Row subsampling decorrelates the trees. min_child_weight is a hessian
# sum, for the Cox loss roughly "expected events in a leaf": 10 keeps leaves off a handful of deaths
# yet still lets trees split on the small cohorts (VDX: 150 patients, 47 events). L2 = 10 gave a
# lower held-out partial likelihood than 1 across a 48-point scan on METABRIC OS (see DEFAULT_GRID).
SHARED_PARAMS: dict[str, Any] = {
    "subsample": 0.8, "min_child_weight": 10, "reg_lambda": 10.0, "max_bin": 64, "tree_method": "hist",
}

# Tree depth is the choice worth making; the learning rate mostly trades rounds for time. A
# 48-point factorial scan on METABRIC OS (depth {2,3,4} × eta {0.03,0.05} × min_child_weight
# {5,20} × colsample {0.5,0.8} × lambda {1,10}, 3-fold inner CV) spread only 0.677-0.689 in C,
# within fold noise, and eta 0.03 never beat 0.05 by more than that noise while needing ~1.7× the
# rounds. So the default grid is depth {2,3,4} at eta 0.05 (simplest first; the first wins ties);
# deeper trees get more column subsampling. WIDE_GRID adds eta 0.03 for offline training.
DEFAULT_GRID: tuple[dict[str, Any], ...] = (
    {"max_depth": 2, "eta": 0.05, "colsample_bytree": 0.8},
    {"max_depth": 3, "eta": 0.05, "colsample_bytree": 0.5},
    {"max_depth": 4, "eta": 0.05, "colsample_bytree": 0.5},
)
WIDE_GRID: tuple[dict[str, Any], ...] = DEFAULT_GRID + tuple({**c, "eta": 0.03} for c in DEFAULT_GRID)


def default_threads() -> int:
    """CPU cores this process may use (the affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _validation_c(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C of one validation fold (:func:`models.metrics.harrell_c`, its tie rule); NaN where it is
    undefined (no events, no comparable pair), so that tuning falls back to the validation loss."""
    try:
        return harrell_c(time, event, risk)
    except ValueError:
        return float("nan")


class XGBSurvival:
    """Boosted trees for right-censored survival; see the module docstring.

    Parameters
    ----------
    objective
        ``"survival:cox"`` (default; the margin is a log-hazard) or ``"survival:aft"``.
    device
        ``"auto"``, ``"cpu"`` or ``"cuda"`` (resolved by :func:`models.device.resolve_device`; ``cuda``
        without a GPU falls back to the CPU with a warning).
    seed
        Seeds the inner folds and xgboost's row/column sampling: same seed, same data → same model.
    n_inner_folds, param_grid, max_rounds, early_stopping_rounds
        The inner cross-validation: ``param_grid`` is a sequence of candidate dicts (default
        :data:`DEFAULT_GRID`), each merged over :data:`SHARED_PARAMS`.
    nthread
        CPU threads (default: every core this process may use). The inner-CV fits run this many
        at a time with one xgboost thread each; the final refit and predictions give xgboost this
        many threads. On a shared, oversubscribed machine OpenMP's busy-waiting can make a
        multi-threaded fit many times slower (measured: 18 s against 0.9 s); start the process with
        ``OMP_WAIT_POLICY=PASSIVE`` or pass ``nthread=1`` there.
    fixed_params, n_rounds
        Skip the inner CV and train with these hyperparameters and rounds (e.g. ``params_`` and
        ``n_rounds_`` of a tuned model; the ensemble does this for its members).
    aft_distribution, aft_scale
        The AFT error distribution and its scale (``survival:aft`` only).

    Learned attributes: ``booster_``, ``params_``, ``n_rounds_``, ``baseline_`` (None for AFT),
    ``feature_names_``, ``treatment_index_``, ``device_``, ``nthread_``, ``cv_results_``, ``fit_seconds_``.
    """

    name: ClassVar[str] = "xgb"

    def __init__(
        self,
        *,
        objective: str = "survival:cox",
        device: str = "auto",
        seed: int = 0,
        n_inner_folds: int = 3,
        param_grid: Sequence[Mapping[str, Any]] | None = None,
        max_rounds: int = 2000,
        early_stopping_rounds: int = 50,
        nthread: int | None = None,
        fixed_params: Mapping[str, Any] | None = None,
        n_rounds: int | None = None,
        aft_distribution: str = "normal",
        aft_scale: float = 1.0,
    ) -> None:
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, not {objective!r}")
        if aft_distribution not in AFT_DISTRIBUTIONS:
            raise ValueError(f"aft_distribution must be one of {AFT_DISTRIBUTIONS}, not {aft_distribution!r}")
        if (fixed_params is None) != (n_rounds is None):
            raise ValueError("fixed_params and n_rounds go together: pass both to skip tuning, or neither")
        if n_rounds is not None and n_rounds < 1:
            raise ValueError(f"n_rounds must be at least 1, not {n_rounds}")
        if n_inner_folds < 2:
            raise ValueError(f"n_inner_folds must be at least 2, not {n_inner_folds}")
        if param_grid is not None and len(param_grid) == 0:
            raise ValueError("param_grid is empty")
        self.objective = objective
        self.device = device
        self.seed = int(seed)
        self.n_inner_folds = int(n_inner_folds)
        self.param_grid = None if param_grid is None else [dict(p) for p in param_grid]
        self.max_rounds = int(max_rounds)
        self.early_stopping_rounds = int(early_stopping_rounds)
        self.nthread = nthread
        self.fixed_params = None if fixed_params is None else dict(fixed_params)
        self.n_rounds = None if n_rounds is None else int(n_rounds)
        self.aft_distribution = aft_distribution
        self.aft_scale = float(aft_scale)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: np.ndarray,
        time: np.ndarray,
        event: np.ndarray,
        *,
        feature_names: Sequence[str],
        treatment_index: Sequence[int] = (),
    ) -> XGBSurvival:
        started = clock.perf_counter()
        X = _as_matrix(X)
        time, event = _check_target(time, event, X.shape[0])
        if len(feature_names) != X.shape[1]:
            raise ModelError(f"{len(feature_names)} feature names for {X.shape[1]} columns.")
        self.feature_names_ = [str(f) for f in feature_names]
        self.treatment_index_ = [int(i) for i in treatment_index]
        self.device_ = resolve_device(self.device)
        self.nthread_ = int(self.nthread or default_threads())
        if self.fixed_params is not None:
            self.params_ = {**SHARED_PARAMS, **self.fixed_params}
            self.n_rounds_ = int(self.n_rounds)  # type: ignore[arg-type]
            self.cv_results_: list[dict[str, Any]] = []
        else:
            self.params_, self.n_rounds_, self.cv_results_ = self._tune(X, time, event)
        self.booster_ = xgb.train(self._train_params(self.params_), self._dmatrix(X, time, event),
                                  num_boost_round=self.n_rounds_)
        self.baseline_ = BreslowBaseline.fit(self._margin(X), time, event) if self._is_cox else None
        self.fit_seconds_ = clock.perf_counter() - started
        log.info("xgb %s: %d rounds with %s on %s (%.1f s)", self.objective, self.n_rounds_, self.params_,
                 self.device_, self.fit_seconds_)
        return self

    def tune(self, X: np.ndarray, time: np.ndarray, event: np.ndarray) -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
        """The inner cross-validation alone: (hyperparameters, rounds, per-candidate results), nothing refitted.

        The same choice :meth:`fit` makes; used where the final model is trained elsewhere (on a Dask
        cluster, :func:`models.dask.train_xgb_dask`) with ``fixed_params``/``n_rounds``.
        """
        X = _as_matrix(X)
        time, event = _check_target(time, event, X.shape[0])
        self.device_ = resolve_device(self.device)
        self.nthread_ = int(self.nthread or default_threads())
        return self._tune(X, time, event)

    def _tune(self, X: np.ndarray, time: np.ndarray, event: np.ndarray) -> tuple[dict, int, list[dict]]:
        """Inner K-fold CV: early stopping per fold on the validation loss; rank by mean Harrell's C.

        The candidate × fold fits are independent, so on the CPU they run side by side, one xgboost
        thread each (small data parallelise better across fits than inside one); every fit builds
        its own DMatrix, so no xgboost object is shared between threads and the result does not
        depend on scheduling.
        """
        folds = self._folds(event)
        grid = [dict(c) for c in (self.param_grid or DEFAULT_GRID)]
        jobs = [(c, f) for c in range(len(grid)) for f in range(len(folds))]
        workers = 1 if self.device_ == "cuda" else max(1, min(self.nthread_, len(jobs)))
        threads = self.nthread_ if workers == 1 else 1

        def run(job: tuple[int, int]) -> tuple[float, float, int, float]:
            c, f = job
            tr, va = folds[f]
            t0 = clock.perf_counter()
            params = self._train_params({**SHARED_PARAMS, **grid[c]}, nthread=threads)
            booster = xgb.train(params, self._dmatrix(X[tr], time[tr], event[tr], nthread=threads),
                                num_boost_round=self.max_rounds, early_stopping_rounds=self.early_stopping_rounds,
                                evals=[(self._dmatrix(X[va], time[va], event[va], nthread=threads), "valid")],
                                verbose_eval=False)
            best = booster.best_iteration + 1
            margin = booster.predict(self._dmatrix(X[va], nthread=threads), output_margin=True,
                                     iteration_range=(0, best))
            score = _validation_c(time[va], event[va], self._risk_from_margin(margin))
            return score, float(booster.best_score), best, clock.perf_counter() - t0

        if workers == 1:
            outcomes = [run(job) for job in jobs]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outcomes = list(pool.map(run, jobs))
        results: list[dict[str, Any]] = []
        for c, candidate in enumerate(grid):
            mine = [o for (cj, _), o in zip(jobs, outcomes, strict=True) if cj == c]
            scores = np.array([o[0] for o in mine])
            rounds = [o[2] for o in mine]
            finite = np.isfinite(scores).any()
            results.append({
                "params": candidate,
                "cindex_mean": float(np.nanmean(scores)) if finite else float("nan"),
                "cindex_sd": float(np.nanstd(scores)) if finite else float("nan"),
                "cindex_folds": scores.tolist(),
                "nloglik_mean": float(np.mean([o[1] for o in mine])),
                "best_rounds": rounds,
                "n_rounds": max(1, int(round(float(np.mean(rounds))))),
                "seconds": round(sum(o[3] for o in mine), 3),
            })
        # NaN C (a fold without comparable pairs) falls back to the validation loss; ties go to the
        # earlier, simpler candidate
        by_c = all(np.isfinite(r["cindex_mean"]) for r in results)
        best_i = min(range(len(results)),
                     key=lambda i: (-results[i]["cindex_mean"] if by_c else results[i]["nloglik_mean"], i))
        for i, r in enumerate(results):
            r["chosen"] = i == best_i
        chosen = results[best_i]
        return {**SHARED_PARAMS, **chosen["params"]}, chosen["n_rounds"], results

    def _folds(self, event: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        k = self.n_inner_folds
        n_events = int(event.sum())
        if len(event) < 2 * k or n_events < k:
            raise ModelError(
                f"Too few samples ({len(event)}) or events ({n_events}) for {k}-fold tuning; "
                "pass fixed_params and n_rounds, or fewer folds."
            )
        dummy = np.zeros(len(event))
        if min(n_events, len(event) - n_events) >= k:
            return list(StratifiedKFold(k, shuffle=True, random_state=self.seed).split(dummy, event))
        return list(KFold(k, shuffle=True, random_state=self.seed).split(dummy))

    # --------------------------------------------------------- xgboost glue
    @property
    def _is_cox(self) -> bool:
        return self.objective == "survival:cox"

    def _train_params(self, hyper: Mapping[str, Any], *, nthread: int | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {
            **hyper,
            "objective": self.objective,
            "eval_metric": "cox-nloglik" if self._is_cox else "aft-nloglik",
            "device": self.device_,
            "nthread": nthread or self.nthread_,
            "seed": self.seed,
            "verbosity": 0,
        }
        if not self._is_cox:
            params["aft_loss_distribution"] = self.aft_distribution
            params["aft_loss_distribution_scale"] = self.aft_scale
        return params

    def _dmatrix(self, X: np.ndarray, time: np.ndarray | None = None, event: np.ndarray | None = None, *,
                 nthread: int | None = None) -> xgb.DMatrix:
        # no feature names inside xgboost: ours ("gene:ESR1", "pam50=LumA") need not satisfy its rules
        dm = xgb.DMatrix(X, nthread=nthread or self.nthread_)
        if time is not None and event is not None:
            if self._is_cox:
                dm.set_label(np.where(event, time, -time))  # xgboost's Cox convention: negative = censored
            else:
                dm.set_float_info("label_lower_bound", time)
                dm.set_float_info("label_upper_bound", np.where(event, time, np.inf))
        return dm

    def _margin(self, X: np.ndarray) -> np.ndarray:
        if self.device_ == "cpu":  # no DMatrix copy: same numbers, about 2.5x faster on batches
            return self.booster_.inplace_predict(X, predict_type="margin").astype(np.float64)
        return self.booster_.predict(self._dmatrix(X), output_margin=True).astype(np.float64)

    def _risk_from_margin(self, margin: np.ndarray) -> np.ndarray:
        return margin if self._is_cox else -margin

    def _check_fitted(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "booster_"):
            raise ModelError("The xgboost model is not fitted.")
        X = _as_matrix(X)
        if X.shape[1] != len(self.feature_names_):
            raise ModelError(f"The model needs {len(self.feature_names_)} feature columns; got {X.shape[1]}.")
        return X

    # ------------------------------------------------------------- predict
    def predict_risk(self, X: np.ndarray) -> np.ndarray:
        """Log-hazard for Cox (higher = worse); ``-E[log T]`` for AFT (same direction, other scale)."""
        return self._risk_from_margin(self._margin(self._check_fitted(X)))

    def predict_survival(self, X: np.ndarray, times: np.ndarray) -> np.ndarray:
        """S(t | x), samples × times: Breslow over the log-hazard (Cox) or the AFT distribution."""
        margin = self._margin(self._check_fitted(X))
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        if self._is_cox:
            return self.baseline_.survival(margin, times)  # type: ignore[union-attr]
        with np.errstate(divide="ignore"):
            z = (np.log(np.clip(times, 0.0, None))[None, :] - margin[:, None]) / self.aft_scale
        if self.aft_distribution == "normal":
            surv = ndtr(-z)
        elif self.aft_distribution == "logistic":
            surv = expit(-z)
        else:  # extreme value (Gumbel minimum): Weibull proportional hazards
            surv = np.exp(-np.exp(z))
        return np.clip(surv, 0.0, 1.0)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """TreeSHAP per feature plus a last bias column, samples × (features + 1), summing to ``predict_risk``.

        For Cox that is xgboost's ``pred_contribs`` on the log-hazard margin; for AFT the signs are
        flipped so that, as for Cox, a positive contribution always means higher risk.
        """
        X = self._check_fitted(X)
        contribs = self.booster_.predict(self._dmatrix(X), pred_contribs=True).astype(np.float64)
        return contribs if self._is_cox else -contribs

    # --------------------------------------------------------- save / load
    def save(self, folder: Path) -> list[str]:
        if not hasattr(self, "booster_"):
            raise ModelError("The xgboost model is not fitted; nothing to save.")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(folder / MODEL_FILE))
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "xgboost_version": xgb.__version__,
            "objective": self.objective,
            "aft_distribution": self.aft_distribution,
            "aft_scale": self.aft_scale,
            "params": self.params_,
            "n_rounds": self.n_rounds_,
            "seed": self.seed,
            "device": self.device_,
            "feature_names": self.feature_names_,
            "treatment_index": self.treatment_index_,
            "baseline": self.baseline_.to_dict() if self.baseline_ is not None else None,
            "cv_results": self.cv_results_,
        }
        (folder / META_FILE).write_text(json.dumps(json_safe(meta), indent=1))
        return [MODEL_FILE, META_FILE]

    @classmethod
    def load(cls, folder: Path, *, device: str | None = None, nthread: int | None = None) -> XGBSurvival:
        """Restore a saved model; ``device`` is resolved anew on this machine (default: ONCOTX_DEVICE, then auto)."""
        folder = Path(folder)
        if not (folder / MODEL_FILE).is_file() or not (folder / META_FILE).is_file():
            raise ModelError(f"No xgboost model in {folder} (needs {MODEL_FILE} and {META_FILE}).")
        meta = json.loads((folder / META_FILE).read_text())
        if meta.get("format") != FORMAT or int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise ModelError(f"{folder / META_FILE} is not an xgboost model this version of OncoTx can read.")
        model = cls(objective=meta["objective"], device=device or "auto", seed=meta["seed"], nthread=nthread,
                    fixed_params=meta["params"], n_rounds=meta["n_rounds"],
                    aft_distribution=meta["aft_distribution"], aft_scale=meta["aft_scale"])
        model.device_ = resolve_device(device)
        model.nthread_ = int(nthread or default_threads())
        model.booster_ = xgb.Booster()
        model.booster_.load_model(str(folder / MODEL_FILE))
        model.booster_.set_param({"device": model.device_, "nthread": model.nthread_})
        model.params_ = dict(meta["params"])
        model.n_rounds_ = int(meta["n_rounds"])
        model.feature_names_ = list(meta["feature_names"])
        model.treatment_index_ = list(meta["treatment_index"])
        model.baseline_ = BreslowBaseline.from_dict(meta["baseline"]) if meta["baseline"] is not None else None
        model.cv_results_ = list(meta.get("cv_results", []))
        model.trained_device_ = meta["device"]
        return model


def _as_matrix(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ModelError(f"Features must be a samples × columns matrix, not shape {X.shape}.")
    return X


def _check_target(time: np.ndarray, event: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The training target (:func:`models.base.training_target`, times > 0 for AFT's log) with an event."""
    time, event = training_target(time, event, n, positive=True)
    if not event.any():
        raise ModelError("No events in the training data: a survival model cannot be fitted.")
    return time, event
