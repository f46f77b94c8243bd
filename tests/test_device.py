"""The one device policy (models.device): precedence, fallback, the report for the app, torch mixed precision."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from genomics.preprocess import preprocessing_backend
from models.deepsurv import DeepSurvModel
from models.device import autocast_dtype, device_report, resolve_device

torch.set_num_threads(1)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr("models.device.cuda_available", lambda: False)


def test_precedence_argument_then_environment_then_config_file(no_gpu, monkeypatch, tmp_path, caplog):
    config = tmp_path / "oncotx.toml"
    config.write_text('device = "cuda"\n')
    monkeypatch.setenv("ONCOTX_CONFIG", str(config))
    monkeypatch.delenv("ONCOTX_DEVICE", raising=False)
    with caplog.at_level(logging.WARNING, logger="models.device"):
        assert resolve_device("auto") == "cpu"  # config asks for cuda; no GPU → CPU with a warning
    assert any("config file" in r.getMessage() for r in caplog.records)
    report = device_report()
    assert (report.requested, report.source, report.device) == ("cuda", "config file", "cpu")
    monkeypatch.setenv("ONCOTX_DEVICE", "cpu")
    assert device_report().source == "ONCOTX_DEVICE" and device_report().requested == "cpu"
    assert device_report("cuda").source == "argument"  # an explicit argument wins
    monkeypatch.setenv("ONCOTX_DEVICE", "tpu")
    with pytest.raises(ValueError, match="ONCOTX_DEVICE"):
        resolve_device()


def test_auto_picks_cuda_only_when_visible(monkeypatch):
    monkeypatch.delenv("ONCOTX_DEVICE", raising=False)
    monkeypatch.setattr("models.device.cuda_available", lambda: True)
    assert resolve_device() == "cuda" and resolve_device("cpu") == "cpu"
    monkeypatch.setattr("models.device.cuda_available", lambda: False)
    assert resolve_device() == "cpu"


def test_report_describes_the_cpu_machine(no_gpu, monkeypatch):
    monkeypatch.delenv("ONCOTX_DEVICE", raising=False)
    report = device_report()
    assert report.device == "cpu" and report.gpu_name is None and report.torch_precision == "float32"
    assert report.preprocessing == "scanpy (CPU)" and preprocessing_backend() == "scanpy"
    assert "device cpu" in report.describe()


def test_autocast_policy():
    assert autocast_dtype("cpu") is None and autocast_dtype("cpu", "fp32") is None
    assert autocast_dtype("cpu", "bf16") is torch.bfloat16 and autocast_dtype("cuda", "fp16") is torch.float16
    with pytest.raises(ValueError):
        autocast_dtype("cpu", "int8")


def test_deepsurv_mixed_precision_path_trains(no_gpu):
    """The autocast branch (what runs on CUDA) exercised on the CPU with bfloat16; float32 stays the default."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    risk = X[:, 1] - 0.5 * X[:, 2]
    time = rng.exponential(np.exp(-risk)) * 50 + 0.1
    event = (rng.random(300) < 0.7).astype(float)
    names = ["t1", *[f"x{i}" for i in range(5)]]
    X[:, 0] = rng.integers(0, 2, 300)
    mixed = DeepSurvModel(seed=0, n_threads=1, max_epochs=40, precision="bf16").fit(
        X, time, event, feature_names=names, treatment_index=[0])
    assert mixed.amp_dtype_ is torch.bfloat16 and mixed.get_params()["precision"] == "bf16"
    assert np.isfinite(mixed.predict_risk(X)).all()
    assert np.corrcoef(mixed.predict_risk(X), risk)[0, 1] > 0.5
    plain = DeepSurvModel(seed=0, n_threads=1, max_epochs=5).fit(X, time, event, feature_names=names,
                                                                  treatment_index=[0])
    assert plain.amp_dtype_ is None
