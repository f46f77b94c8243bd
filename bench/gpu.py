"""CPU against GPU for the survival models: xgboost and torch training, and scoring, at a size where a GPU matters.

    python bench/gpu.py            # 200,000 training patients × 500 features, scoring 1,000,000 (minutes on a CPU)
    python bench/gpu.py --quick    # 20,000 × 200, scoring 100,000 (CI-sized)

Synthetic Cox data (a known log-hazard from 20 of the features). Each step runs on the CPU and, when torch sees a
CUDA device, on the GPU with the same settings through the project's device policy (``device="cuda"`` for
xgboost; CUDA plus bfloat16 autocast for torch). Without a GPU the GPU column is skipped with a note. Sized to
finish in a few minutes on a 16-core GPU machine (the CPU column dominates). Prints a table and one JSON line.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import xgboost  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: python bench/gpu.py

from models.deepsurv import DeepSurvModel  # noqa: E402
from models.device import device_report  # noqa: E402
from models.xgb import XGBSurvival  # noqa: E402

SIZES = {"full": {"train": 200_000, "features": 500, "score": 1_000_000, "rounds": 200, "epochs": 20},
         "quick": {"train": 20_000, "features": 200, "score": 100_000, "rounds": 50, "epochs": 5}}
XGB_PARAMS = {"max_depth": 6, "eta": 0.1, "subsample": 0.8, "colsample_bytree": 0.8, "max_bin": 256,
              "min_child_weight": 10, "reg_lambda": 10.0, "tree_method": "hist"}
HORIZONS = np.array([60.0, 120.0])


def synthetic(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, time (months), event: Weibull-like Cox data with a log-hazard on the first 20 features."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p), dtype=np.float32)
    X[:, 0] = rng.integers(0, 2, n)  # a treatment column
    beta = np.zeros(p, dtype=np.float32)
    beta[:20] = rng.normal(0, 0.3, 20)
    lp = X @ beta
    time = 60.0 * (rng.exponential(1.0, n) / np.exp(lp)) ** 0.8 + 0.1
    censor = rng.uniform(12, 240, n)
    return X, np.minimum(time, censor), (time <= censor).astype(np.float64)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run_device(device: str, size: dict, data: dict) -> dict[str, float]:
    """Seconds per step on one device."""
    X, t, e = data["train"]
    names = [f"f{i}" for i in range(X.shape[1])]
    out: dict[str, float] = {}
    if device == "cuda":  # first CUDA call pays context creation: not part of any step
        torch.zeros(1, device="cuda").sum().item()
    xgb_model, out["xgboost train"] = _timed(lambda: XGBSurvival(device=device, seed=0, fixed_params=XGB_PARAMS,
                                                                  n_rounds=size["rounds"]).fit(
        X, t, e, feature_names=names, treatment_index=[0]))
    torch_model, out["torch train"] = _timed(lambda: DeepSurvModel(
        device=device, seed=0, hidden=(256, 256), dropout=0.1, max_epochs=size["epochs"], val_fraction=0.0,
        batch_size=None).fit(X, t, e, feature_names=names, treatment_index=[0]))
    Xs = data["score"]
    _, out["xgboost score S(t)"] = _timed(lambda: xgb_model.predict_survival(Xs, HORIZONS))
    _, out["torch score S(t)"] = _timed(lambda: _batched(torch_model, Xs))
    if device == "cuda":
        torch.cuda.synchronize()
    return out


def _batched(model, X: np.ndarray, batch: int = 250_000) -> np.ndarray:
    return np.vstack([model.predict_survival(X[i: i + batch], HORIZONS) for i in range(0, len(X), batch)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    size = SIZES["quick" if args.quick else "full"]
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    torch.set_num_threads(int(threads or 1))
    data = {"train": synthetic(size["train"], size["features"], 0),
            "score": synthetic(size["score"], size["features"], 1)[0]}
    report = device_report("auto")
    print(f"OncoTx GPU benchmark ({'quick' if args.quick else 'full'}): train {size['train']:,} × {size['features']} "
          f"features, score {size['score']:,}; xgboost {xgboost.__version__} (CUDA build: "
          f"{report.xgboost_cuda_build}), torch {torch.__version__}, {threads} CPU threads")
    print(f"device policy: {report.describe()}\n", flush=True)
    cpu = run_device("cpu", size, data)
    gpu: dict[str, float] | None = None
    if torch.cuda.is_available():
        gpu = run_device("cuda", size, data)
    print(f"{'step':<22} {'CPU s':>9} {'GPU s':>9} {'speed-up':>9}")
    for step, seconds in cpu.items():
        g = gpu.get(step) if gpu else None
        gpu_text = f"{g:.2f}" if g else "skipped"
        ratio = f"{seconds / g:.1f}x" if g else "-"
        print(f"{step:<22} {seconds:>9.2f} {gpu_text:>9} {ratio:>9}")
    if gpu is None:
        print("\nGPU column skipped: no CUDA device visible (torch.cuda.is_available() is False)")
    else:
        print(f"\nGPU: {torch.cuda.get_device_name(0)}; torch autocast {report.torch_precision}")
    print(json.dumps({"size": size, "cpu_s": cpu, "gpu_s": gpu, "gpu": report.gpu_name, "threads": threads}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
