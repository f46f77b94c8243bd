"""DeepSurv-style Cox network with a regimen-aware head (the ``torch`` model).

The log-hazard of a patient with features ``x`` (treatment indicators ``t_1..t_K`` among them) is

    f(x) = g(z) + sum_k t_k * h_k(z),    z = trunk(standardised non-treatment features)

where the trunk is a small shared MLP over the patient's own features, ``g`` a linear risk head and
``h_k`` linear per-treatment effect heads over the same trunk: ``h_k(z)`` is the patient's log hazard
ratio of treatment ``k`` (heterogeneous effects). Without treatment columns it is plain DeepSurv
(Katzman 2018); with ``hidden=()`` it is a linear Cox model with treatment-by-covariate interactions.

Training minimises the negative Cox partial log-likelihood (Breslow ties, per event) with AdamW,
full-batch by default, with early stopping on a held-out, event-stratified share of the training
data (best weights restored). Runs are seeded and deterministic on the CPU; the device comes from
:func:`models.device.resolve_device` (CUDA where present). On CUDA the training forward pass runs under
``torch.autocast`` (bfloat16 where the GPU supports it, else float16 with a gradient scaler); the Cox loss,
validation and predictions stay in float32 (``precision="fp32"`` turns mixed precision off). After training, a Breslow baseline over the
network's log-hazard on *all* training rows gives S(t | x). Bundles are ``torch_model.safetensors``
(the state_dict) plus ``torch_meta.json``; no pickle.
"""
from __future__ import annotations

import copy
import json
import logging
import math
import time as _time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from models.base import training_target
from models.breslow import BreslowBaseline
from models.coxnet import CoxNet, cox_nll, risk_sets
from models.device import autocast_dtype, resolve_device
from models.errors import ModelError

log = logging.getLogger(__name__)

WEIGHTS_FILE = "torch_model.safetensors"
META_FILE = "torch_meta.json"
FORMAT_VERSION = 1
ACTIVATIONS = ("relu", "selu")
MIN_VAL_EVENTS = 5  # below this many events in the validation share, early stopping is switched off


def _stratified_split(event: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows) with ``fraction`` of events and of censored rows held out."""
    val: list[np.ndarray] = []
    for flag in (True, False):
        rows = np.flatnonzero(event.astype(bool) == flag)
        k = int(round(fraction * rows.size))
        val.append(rng.permutation(rows)[:k])
    val_rows = np.sort(np.concatenate(val))
    train_rows = np.setdiff1d(np.arange(event.size), val_rows)
    return train_rows, val_rows


class DeepSurvModel:
    """DeepSurv-style Cox network with treatment interaction; see the module docstring.

    Parameters
    ----------
    hidden
        Trunk widths (``()`` = linear Cox with treatment interactions).
    dropout, lr, weight_decay
        Dropout after each trunk layer; AdamW learning rate and decoupled weight decay (mild at these
        epoch counts: dropout, the small width and early stopping do most of the regularising).
    max_epochs, patience
        Epoch cap; early stopping after ``patience`` epochs without a better validation loss.
    batch_size
        ``None`` = full batch (the Cox loss sees every risk set exactly); else shuffled mini-batches.
    device
        ``auto`` / ``cpu`` / ``cuda`` (see :mod:`models.device`).
    seed
        Seeds the validation split, initialisation, dropout and batch order.
    val_fraction
        Share of the training rows (stratified by event) held out for early stopping; 0 switches it off.
    n_threads
        torch CPU threads during fit (restored after); ``None`` leaves torch's setting.
    activation
        ``relu`` (default) or ``selu`` (with alpha dropout), as in the DeepSurv paper.
    refit
        After early stopping, retrain from scratch on all training rows for ``best_epoch_`` epochs (about
        twice the time; slightly better and less seed-dependent on the DeepSurv splits). Default off: the
        kept weights are then exactly the validated ones.
    precision
        Mixed precision of the training forward pass (:func:`models.device.autocast_dtype`): ``auto``
        (bfloat16/float16 on CUDA, float32 on the CPU), ``bf16``, ``fp16`` or ``fp32``.
    """

    name: ClassVar[str] = "torch"

    def __init__(
        self,
        *,
        hidden: Sequence[int] = (32,),
        dropout: float = 0.3,
        lr: float = 3e-3,
        weight_decay: float = 1e-3,
        max_epochs: int = 500,
        patience: int = 30,
        batch_size: int | None = None,
        device: str = "auto",
        seed: int = 0,
        val_fraction: float = 0.2,
        n_threads: int | None = None,
        activation: str = "relu",
        refit: bool = False,
        precision: str = "auto",
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, not {activation!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError("val_fraction must be in [0, 1)")
        self.hidden = tuple(int(h) for h in hidden)
        self.dropout = float(dropout)
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.max_epochs = int(max_epochs)
        self.patience = int(patience)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.device = device
        self.seed = int(seed)
        self.val_fraction = float(val_fraction)
        self.n_threads = n_threads
        self.activation = activation
        self.refit = bool(refit)
        if precision not in ("auto", "bf16", "fp16", "fp32"):
            raise ValueError(f"precision must be auto, bf16, fp16 or fp32, not {precision!r}")
        self.precision = precision
        self.net_: CoxNet | None = None

    # ------------------------------------------------------------------------------------------------
    # configuration
    def get_params(self) -> dict[str, Any]:
        return {
            "hidden": list(self.hidden), "dropout": self.dropout, "lr": self.lr, "weight_decay": self.weight_decay,
            "max_epochs": self.max_epochs, "patience": self.patience, "batch_size": self.batch_size,
            "device": self.device, "seed": self.seed, "val_fraction": self.val_fraction,
            "n_threads": self.n_threads, "activation": self.activation,
            "refit": self.refit, "precision": self.precision,
        }

    def _new_net(self, n_inputs: int, treatment_index: Sequence[int]) -> CoxNet:
        return CoxNet(n_inputs, treatment_index, self.hidden, self.dropout, self.activation)

    # ------------------------------------------------------------------------------------------------
    # fitting
    def fit(
        self,
        X: np.ndarray,
        time: np.ndarray,
        event: np.ndarray,
        *,
        feature_names: Sequence[str],
        treatment_index: Sequence[int] = (),
    ) -> DeepSurvModel:
        X = np.asarray(X, dtype=np.float64)
        n, p = X.shape if X.ndim == 2 else (0, 0)
        if X.ndim != 2 or n == 0:
            raise ModelError("The torch model needs a non-empty samples × features matrix.")
        time, flags = training_target(time, event, n)
        event = flags.astype(np.float64)
        if len(feature_names) != p:
            raise ModelError(f"{len(feature_names)} feature names for {p} columns.")
        if not np.isfinite(X).all():
            raise ModelError("Features must be finite (fill missing values first).")
        if event.sum() < 2:
            raise ModelError("The torch model needs at least two events to learn from.")
        tidx = sorted({int(i) for i in treatment_index})
        if any(i < 0 or i >= p for i in tidx):
            raise ModelError("treatment_index points outside the feature columns.")
        if len(tidx) == p:
            raise ModelError("The torch model needs at least one non-treatment feature.")

        device = resolve_device(self.device)
        self.device_ = device
        self.amp_dtype_ = autocast_dtype(device, self.precision)
        self.feature_names_ = [str(f) for f in feature_names]
        self.treatment_index_ = tidx
        patient = [i for i in range(p) if i not in set(tidx)]
        mean = X[:, patient].mean(axis=0)
        sd = X[:, patient].std(axis=0)
        sd = np.where(sd > 1e-8, sd, 1.0)
        self.x_mean_, self.x_sd_ = mean, sd

        prev_threads = torch.get_num_threads()
        prev_det = torch.are_deterministic_algorithms_enabled()
        prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
        started = _time.perf_counter()
        try:
            if self.n_threads:
                torch.set_num_threads(int(self.n_threads))
            torch.use_deterministic_algorithms(True, warn_only=True)
            fork = [torch.cuda.current_device()] if device == "cuda" else []
            with torch.random.fork_rng(devices=fork):  # seeding here leaves the caller's RNG state alone
                self._train(X, time, event, device)
        finally:
            torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
            torch.set_num_threads(prev_threads)
        self.fit_seconds_ = _time.perf_counter() - started
        self.baseline_ = BreslowBaseline.fit(self.predict_risk(X), time, event)
        log.info("torch model: best epoch %d of %d, %.1fs on %s (%s)", self.best_epoch_, len(self.history_["train"]),
                 self.fit_seconds_, device, "float32" if self.amp_dtype_ is None else f"autocast {self.amp_dtype_}")
        return self

    def _train(self, X: np.ndarray, time: np.ndarray, event: np.ndarray, device: str) -> None:
        rng = np.random.default_rng(self.seed)
        torch.manual_seed(self.seed)
        n, p = X.shape
        train_rows, val_rows = np.arange(n), np.arange(0)
        if self.val_fraction > 0:
            tr, va = _stratified_split(event, self.val_fraction, rng)
            if event[va].sum() >= MIN_VAL_EVENTS and event[tr].sum() >= 2:
                train_rows, val_rows = tr, va
            else:
                log.warning("too few events for a validation split: training %d epochs without early stopping",
                            self.max_epochs)
        validate = val_rows.size > 0

        def tensors(rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            return (torch.as_tensor(X[rows], dtype=torch.float32, device=device),
                    torch.as_tensor(time[rows], dtype=torch.float32, device=device),
                    torch.as_tensor(event[rows], dtype=torch.float32, device=device))

        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        net, optimiser = self._fresh(p, device)
        train = tensors(train_rows)
        history: dict[str, list[float]] = {"train": [], "val": []}
        best_loss, best_epoch, best_state, stale = math.inf, 0, None, 0
        if validate:
            xv, tv, ev = tensors(val_rows)
            ov, fv = risk_sets(tv)
        for epoch in range(1, self.max_epochs + 1):
            history["train"].append(self._epoch(net, optimiser, *train, generator))
            if not validate:
                continue
            net.eval()
            with torch.no_grad():
                val_loss = float(cox_nll(net(xv), ev, ov, fv))
            history["val"].append(val_loss)
            if val_loss < best_loss - 1e-6:
                best_loss, best_epoch, stale = val_loss, epoch, 0
                best_state = copy.deepcopy(net.state_dict())
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if validate and best_state is not None:
            net.load_state_dict(best_state)
            if self.refit:  # same recipe, all rows, the validated number of epochs
                net, optimiser = self._fresh(p, device)
                everything = tensors(np.arange(n))
                for _ in range(best_epoch):
                    self._epoch(net, optimiser, *everything, generator)
        else:
            best_epoch = len(history["train"])
        net.eval()
        self.net_ = net
        self.history_ = history
        self.best_epoch_ = int(best_epoch)

    def _fresh(self, p: int, device: str) -> tuple[CoxNet, torch.optim.Optimizer]:
        net = self._new_net(p, self.treatment_index_)
        net.x_mean.copy_(torch.as_tensor(self.x_mean_, dtype=torch.float32))
        net.x_sd.copy_(torch.as_tensor(self.x_sd_, dtype=torch.float32))
        net.to(device)
        return net, torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def _epoch(self, net: CoxNet, optimiser: torch.optim.Optimizer, x: torch.Tensor, t: torch.Tensor,
               e: torch.Tensor, generator: torch.Generator) -> float:
        """One pass over the rows (one full-batch step, or shuffled mini-batches); the mean training loss."""
        net.train()
        amp = getattr(self, "amp_dtype_", None)
        scaler = self._scaler(x.device.type, amp)
        n = x.shape[0]
        if self.batch_size is None or self.batch_size >= n:
            batches = [None]
        else:
            perm = torch.randperm(n, generator=generator).to(x.device)
            batches = [perm[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        losses = []
        for rows in batches:
            xb, tb, eb = (x, t, e) if rows is None else (x[rows], t[rows], e[rows])
            if float(eb.sum()) == 0:
                continue
            order, first = risk_sets(tb)
            optimiser.zero_grad(set_to_none=True)
            if amp is None:
                loss = cox_nll(net(xb), eb, order, first)
                loss.backward()
                optimiser.step()
            else:  # mixed precision forward; the loss (a log-sum-exp over risk sets) in float32
                with torch.autocast(device_type=x.device.type, dtype=amp):
                    lp = net(xb)
                loss = cox_nll(lp.float(), eb, order, first)
                scaler.scale(loss).backward()
                scaler.step(optimiser)
                scaler.update()
            losses.append(float(loss.detach()))
        return float(np.mean(losses)) if losses else float("nan")

    @staticmethod
    def _scaler(device_type: str, amp) -> torch.amp.GradScaler:
        """A gradient scaler for float16 (its narrow range underflows small gradients); a no-op otherwise."""
        return torch.amp.GradScaler(device_type, enabled=amp is torch.float16)

    # ------------------------------------------------------------------------------------------------
    # prediction
    def _check(self, X: np.ndarray) -> np.ndarray:
        if self.net_ is None:
            raise ModelError("The torch model is not fitted.")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != len(self.feature_names_):
            raise ModelError(f"The torch model needs {len(self.feature_names_)} feature columns, got "
                             f"{X.shape[-1] if X.ndim else 0}.")
        if not np.isfinite(X).all():
            raise ModelError("Features must be finite (fill missing values first).")
        return X

    def _tensor(self, X: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(X, dtype=torch.float32, device=self.device_)

    def predict_risk(self, X: np.ndarray) -> np.ndarray:
        """Log-hazard f(x) per sample (higher = worse)."""
        X = self._check(X)
        self.net_.eval()  # type: ignore[union-attr]
        with torch.no_grad():
            return self.net_(self._tensor(X)).double().cpu().numpy()  # type: ignore[misc]

    def predict_survival(self, X: np.ndarray, times: np.ndarray) -> np.ndarray:
        """S(t | x): samples × times, from the Breslow baseline over the network's log-hazard."""
        return self.baseline_.survival(self.predict_risk(X), np.asarray(times, dtype=np.float64))

    def treatment_effects(self, X: np.ndarray) -> np.ndarray:
        """n × K log hazard ratio h_k(x) of each treatment column (in ``treatment_index_`` order) for each patient.

        Negative = protective. It is the change in log-hazard from switching treatment k on, whatever the
        patient actually received (the heads do not depend on the treatment columns). Learned from
        observational data it is associational: treatment given by indication biases it.
        """
        X = self._check(X)
        self.net_.eval()  # type: ignore[union-attr]
        with torch.no_grad():
            return self.net_.treatment_effects(self._tensor(X)).double().cpu().numpy()  # type: ignore[union-attr]

    @property
    def treatment_names_(self) -> list[str]:
        return [self.feature_names_[i] for i in self.treatment_index_]

    def _net64(self) -> CoxNet:
        net = copy.deepcopy(self.net_).double().eval()  # type: ignore[union-attr]
        for param in net.parameters():
            param.requires_grad_(False)
        return net

    def gradients(self, X: np.ndarray) -> np.ndarray:
        """n × features: d log-hazard / d x at each patient (raw feature units)."""
        X = self._check(X)
        net = self._net64()
        x = torch.as_tensor(X, dtype=torch.float64, device=self.device_).requires_grad_(True)
        net(x).sum().backward()
        return x.grad.cpu().numpy()  # type: ignore[union-attr]

    def default_baseline(self) -> np.ndarray:
        """The IG reference patient: training means of the patient features, no treatment."""
        ref = np.zeros(len(self.feature_names_))
        patient = [i for i in range(len(ref)) if i not in set(self.treatment_index_)]
        ref[patient] = self.x_mean_
        return ref

    def integrated_gradients(self, X: np.ndarray, baseline: np.ndarray | None = None, steps: int = 32) -> np.ndarray:
        """n × features attributions of f(x) - f(baseline) (Sundararajan 2017, midpoint rule, float64).

        ``baseline`` is one reference row or one per sample; default :meth:`default_baseline` (an average
        untreated patient). Rows sum to approximately ``f(x) - f(baseline)``.
        """
        X = self._check(X)
        ref = self.default_baseline() if baseline is None else np.asarray(baseline, dtype=np.float64)
        ref = np.broadcast_to(ref, X.shape)
        if steps < 1:
            raise ValueError("steps must be at least 1")
        net = self._net64()
        x = torch.as_tensor(X, dtype=torch.float64, device=self.device_)
        x0 = torch.as_tensor(np.array(ref), dtype=torch.float64, device=self.device_)
        total = torch.zeros_like(x)
        for k in range(steps):
            alpha = (k + 0.5) / steps
            point = (x0 + alpha * (x - x0)).requires_grad_(True)
            net(point).sum().backward()
            total += point.grad  # type: ignore[operator]
        return ((x - x0) * total / steps).cpu().numpy()

    # ------------------------------------------------------------------------------------------------
    # persistence
    def save(self, folder: Path) -> list[str]:
        """Write ``torch_model.safetensors`` and ``torch_meta.json`` into ``folder``; returns the file names."""
        if self.net_ is None:
            raise ModelError("The torch model is not fitted.")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.net_.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": "oncotx-torch", "version": str(FORMAT_VERSION)})
        meta = {
            "format_version": FORMAT_VERSION,
            "model": self.name,
            "architecture": {
                "class": "CoxNet", "n_inputs": len(self.feature_names_), "treatment_index": self.treatment_index_,
                "hidden": list(self.hidden), "dropout": self.dropout, "activation": self.activation,
                "log_hazard": "g(trunk(z)) + sum_k t_k * h_k(trunk(z)), z = (x_patient - x_mean) / x_sd",
            },
            "hyperparameters": self.get_params(),
            "feature_names": self.feature_names_,
            "treatment_index": self.treatment_index_,
            "treatment_names": self.treatment_names_,
            "x_mean": [float(v) for v in self.x_mean_],
            "x_sd": [float(v) for v in self.x_sd_],
            "baseline": self.baseline_.to_dict(),
            "best_epoch": self.best_epoch_,
            "epochs_run": len(self.history_["train"]),
            "history": self.history_,
            "fit_seconds": round(float(getattr(self, "fit_seconds_", float("nan"))), 3),
            "device": self.device_,
            "torch_version": torch.__version__,
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=1))
        return [WEIGHTS_FILE, META_FILE]

    @classmethod
    def load(cls, folder: Path, *, device: str | None = None) -> DeepSurvModel:
        """Rebuild from :meth:`save`'s files; ``device`` defaults to ``auto`` (CPU without a GPU)."""
        folder = Path(folder)
        meta_path, weights_path = folder / META_FILE, folder / WEIGHTS_FILE
        if not meta_path.is_file() or not weights_path.is_file():
            raise ModelError(f"No torch model in {folder} (needs {WEIGHTS_FILE} and {META_FILE}).")
        meta = json.loads(meta_path.read_text())
        if meta.get("model") != cls.name or int(meta.get("format_version", -1)) > FORMAT_VERSION:
            raise ModelError(f"{meta_path.name} is not a torch model bundle this version can read.")
        arch = meta["architecture"]
        params = dict(meta["hyperparameters"])
        params.update(hidden=tuple(arch["hidden"]), dropout=arch["dropout"], activation=arch["activation"])
        params["device"] = device or "auto"
        model = cls(**params)
        net = model._new_net(int(arch["n_inputs"]), arch["treatment_index"])
        try:
            net.load_state_dict(load_file(str(weights_path)))
        except RuntimeError as exc:
            raise ModelError(f"{weights_path.name} does not match its meta file: {exc}") from exc
        model.device_ = resolve_device(model.device)
        model.net_ = net.to(model.device_).eval()
        model.feature_names_ = list(meta["feature_names"])
        model.treatment_index_ = [int(i) for i in meta["treatment_index"]]
        model.x_mean_ = np.asarray(meta["x_mean"], dtype=np.float64)
        model.x_sd_ = np.asarray(meta["x_sd"], dtype=np.float64)
        model.baseline_ = BreslowBaseline.from_dict(meta["baseline"])
        model.best_epoch_ = int(meta["best_epoch"])
        model.history_ = {k: list(v) for k, v in meta.get("history", {"train": [], "val": []}).items()}
        model.fit_seconds_ = float(meta.get("fit_seconds", float("nan")))
        return model
