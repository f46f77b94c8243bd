"""One device policy for xgboost, torch and GPU preprocessing: auto / cpu / cuda, logged, overridable.

Order of precedence: an explicit ``cpu`` or ``cuda`` argument (CLI ``--device``, a function's ``device=``),
then the configured device (``ONCOTX_DEVICE``, then ``device`` in the settings file, see
:mod:`genomics.settings`), then ``auto``: CUDA when torch sees a GPU, else the CPU. An argument of ``auto``
(the CLI default) defers to the configuration. Asking for ``cuda`` without a GPU falls back to the CPU with a
warning. :func:`device_report` says what was chosen and why (for the app and the benchmarks).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from genomics.settings import get_settings

log = logging.getLogger(__name__)

Device = Literal["cpu", "cuda"]
DeviceRequest = Literal["auto", "cpu", "cuda"]
REQUESTS = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    try:
        import torch  # lazy: start-up cost (torch)
    except ImportError:  # pragma: no cover - torch is a requirement
        return False
    return bool(torch.cuda.is_available())


def requested_device(request: str | None = None) -> tuple[str, str]:
    """(auto|cpu|cuda as asked for, where it came from: argument, ONCOTX_DEVICE, config file or default)."""
    if request is not None and str(request).strip().lower() not in ("", "auto"):
        return str(request).strip().lower(), "argument"
    settings = get_settings()
    if settings.device not in ("", "auto"):
        return settings.device, settings.device_source
    return "auto", "argument" if request else "default"


def resolve_device(request: str | None = None) -> Device:
    """The device to use now for a request of auto/cpu/cuda (None or auto → configured device → auto)."""
    wanted, source = requested_device(request)
    if wanted not in REQUESTS:
        raise ValueError(f"device must be auto, cpu or cuda, not {wanted!r} (from {source})")
    has_gpu = cuda_available()
    if wanted == "cuda" and not has_gpu:
        log.warning("device 'cuda' requested (%s) but no GPU is visible: using the CPU", source)
        chosen: Device = "cpu"
    elif wanted == "auto":
        chosen = "cuda" if has_gpu else "cpu"
    else:
        chosen = wanted  # type: ignore[assignment]
    log.info("device: requested %s (%s), using %s", wanted, source, chosen)
    return chosen


def autocast_dtype(device: str, precision: str = "auto"):
    """The torch dtype for mixed precision on ``device``, or None for full float32.

    ``auto``: bfloat16 on a CUDA GPU that supports it (else float16), float32 on the CPU (CPU autocast
    rarely pays for these small networks). ``bf16``/``fp16`` force it (on the CPU too, for tests); ``fp32`` turns it off.
    """
    import torch  # lazy: start-up cost (torch)

    if precision not in ("auto", "bf16", "fp16", "fp32"):
        raise ValueError(f"precision must be auto, bf16, fp16 or fp32, not {precision!r}")
    if precision == "fp32" or (precision == "auto" and device != "cuda"):
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@dataclass(frozen=True)
class DeviceReport:
    """What the device policy chose and what the machine offers (plain values, safe to show in the app)."""

    requested: str
    source: str
    device: str
    gpu_name: str | None
    torch_cuda: bool
    xgboost_cuda_build: bool
    torch_precision: str
    preprocessing: str

    def describe(self) -> str:
        gpu = f" ({self.gpu_name})" if self.gpu_name else ""
        return (f"device {self.device}{gpu}: requested {self.requested} via {self.source}; torch "
                f"{self.torch_precision}; preprocessing with {self.preprocessing}")


def device_report(request: str | None = None) -> DeviceReport:
    """The resolved device with the facts behind it (for the app's settings panel and the benchmarks)."""
    import xgboost  # lazy: start-up cost (xgboost)

    wanted, source = requested_device(request)
    device = resolve_device(request)
    torch_cuda = cuda_available()
    gpu_name = None
    if torch_cuda:
        import torch  # lazy: start-up cost (torch)

        gpu_name = torch.cuda.get_device_name(0)
    dtype = autocast_dtype(device) if wanted in REQUESTS else None
    from genomics.preprocess import gpu_preprocessing_available  # lazy: start-up cost (scanpy, via preprocess)

    return DeviceReport(
        requested=wanted, source=source, device=device, gpu_name=gpu_name, torch_cuda=torch_cuda,
        xgboost_cuda_build=bool(xgboost.build_info().get("USE_CUDA", False)),
        torch_precision="float32" if dtype is None else f"mixed {str(dtype).removeprefix('torch.')}",
        preprocessing="rapids-singlecell (GPU)" if device == "cuda" and gpu_preprocessing_available() else "scanpy (CPU)",
    )

