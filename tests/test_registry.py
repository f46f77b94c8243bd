"""Bundles: train → save → verify → load gives identical predictions; tampering is refused."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genomics.cohorts import load_cohort
from models.errors import ModelError
from models.registry import BUNDLE_FORMAT, load_bundle, verify_bundle
from models.training import train_bundle

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles") / "demo-os-xgb"
    cohort = load_cohort("demo")
    return train_bundle(cohort, endpoint="OS", kind="xgb", out=out, seed=0), cohort


def test_bundle_round_trip_identical_predictions(demo_bundle):
    bundle, cohort = demo_bundle
    again = load_bundle(bundle.path)
    frame = bundle.features.transform(cohort[:50])
    np.testing.assert_array_equal(bundle.model.predict_risk(frame.X), again.model.predict_risk(frame.X))
    times = np.array([60.0, 120.0])
    np.testing.assert_array_equal(bundle.model.predict_survival(frame.X, times),
                                  again.model.predict_survival(frame.X, times))
    assert again.sha256 == bundle.sha256


def test_model_card_contents(demo_bundle):
    bundle, cohort = demo_bundle
    card = bundle.card
    assert card.cohort_id == "demo" and card.synthetic_cohort and "SYNTHETIC" in card.limits[0]
    assert card.n_train + card.n_test == cohort.n_obs
    assert card.events_train + card.events_test == int(cohort.obs["os_event"].sum())
    assert set(card.test_patient_ids).isdisjoint(set(map(str, cohort.obs_names)) - set(card.test_patient_ids))
    assert "Research use only" in card.intended_use
    assert {"xgboost", "numpy", "python"} <= set(card.versions)
    c = card.metrics["harrell_c"]
    assert c["lo"] <= c["value"] <= c["hi"] and c["value"] > 0.6


def test_held_back_patients_never_trained(demo_bundle):
    bundle, _ = demo_bundle
    assert len(bundle.card.test_patient_ids) == bundle.card.n_test
    manifest = verify_bundle(bundle.path)
    assert manifest["format"] == BUNDLE_FORMAT


@pytest.mark.parametrize("attack", ["edit", "add", "remove", "format"])
def test_tampered_bundle_refused(demo_bundle, tmp_path, attack):
    import shutil

    bundle, _ = demo_bundle
    copy = tmp_path / "copy"
    shutil.copytree(bundle.path, copy)
    model_files = sorted((copy / "model").iterdir())
    if attack == "edit":
        target = model_files[0]
        target.write_bytes(target.read_bytes()[:-1] + b"\x00")
        message = "was changed after training"
    elif attack == "add":
        (copy / "model" / "evil.pkl").write_bytes(b"cos\nsystem\n")
        message = "unexpected file"
    elif attack == "remove":
        model_files[0].unlink()
        message = "is missing"
    else:
        manifest = json.loads((copy / "manifest.json").read_text())
        manifest["format"] = 999
        (copy / "manifest.json").write_text(json.dumps(manifest))
        message = "format 999"
    with pytest.raises(ModelError, match=message):
        load_bundle(copy)


def test_foreign_folder_refused(tmp_path):
    (tmp_path / "model_card.json").write_text("{}")
    with pytest.raises(ModelError, match="not a model bundle"):
        load_bundle(tmp_path)


def test_no_pickle_anywhere():
    """The code base never imports pickle/joblib nor loads torch weights unsafely."""
    offenders = []
    for path in list((REPO / "models").rglob("*.py")) + list((REPO / "genomics").rglob("*.py")) + \
            list((REPO / "dashboard").rglob("*.py")) + [REPO / "app.py"] + list((REPO / "pages").rglob("*.py")):
        text = path.read_text()
        for bad in ("import pickle", "from pickle", "import joblib", "from joblib", "weights_only=False",
                    "cloudpickle", "dill"):
            if bad in text:
                offenders.append(f"{path.relative_to(REPO)}: {bad}")
    assert not offenders, offenders


def test_cli_train_and_evaluate(tmp_path):
    out = tmp_path / "bundle"
    train = subprocess.run([sys.executable, "-m", "models", "train", "--cohort", "demo", "--endpoint", "DSS",
                            "--out", str(out), "--seed", "1"], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert train.returncode == 0, train.stderr
    assert "held-back Harrell C" in train.stdout and "[oncotx]" in train.stderr
    report = tmp_path / "eval.json"
    ev = subprocess.run([sys.executable, "-m", "models", "evaluate", "--model", str(out), "--cohort", "demo",
                         "--out", str(report)], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert ev.returncode == 0, ev.stderr
    result = json.loads(report.read_text())
    assert result["scope"].startswith("held-back") and result["endpoint"] == "DSS"
    bad = subprocess.run([sys.executable, "-m", "models", "train", "--cohort", "demo", "--endpoint", "XYZ",
                          "--out", str(tmp_path / "x")], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert bad.returncode == 2 and "no endpoint" in bad.stderr and "Traceback" not in bad.stderr
