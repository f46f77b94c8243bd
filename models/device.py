"""One device policy for xgboost and torch: auto / cpu / cuda, logged, overridable.

Order of precedence: the explicit argument, then ``ONCOTX_DEVICE``, then ``auto`` (CUDA when torch
sees a GPU, else CPU). Asking for ``cuda`` without a GPU falls back to the CPU with a warning.
"""
from __future__ import annotations

import logging
import os
from typing import Literal

log = logging.getLogger(__name__)

Device = Literal["cpu", "cuda"]
DeviceRequest = Literal["auto", "cpu", "cuda"]


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a requirement
        return False
    return bool(torch.cuda.is_available())


def resolve_device(request: str | None = None) -> Device:
    """The device to use now for a request of auto/cpu/cuda (None → ONCOTX_DEVICE → auto)."""
    wanted = (request or os.environ.get("ONCOTX_DEVICE") or "auto").lower()
    if wanted not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {wanted!r}")
    has_gpu = cuda_available()
    if wanted == "cuda" and not has_gpu:
        log.warning("device 'cuda' requested but no GPU is visible: using the CPU")
        chosen: Device = "cpu"
    elif wanted == "auto":
        chosen = "cuda" if has_gpu else "cpu"
    else:
        chosen = wanted  # type: ignore[assignment]
    log.info("device: requested %s, using %s", wanted, chosen)
    return chosen
