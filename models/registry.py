"""Model bundles: a folder per trained model, verified by a SHA-256 manifest before anything loads.

Layout::

    <bundle>/
      manifest.json     format version + SHA-256 of every other file
      model_card.json   cohort, licence, endpoint, features, training size, metrics, versions, intended use
      features.json     the FeatureBuilder state (columns, fills, reference statistics of the genes)
      model/            the model's own files (xgboost UBJ/JSON, torch safetensors + JSON) — never pickle

Bundles are built under ONCOTX_HOME (or a CLI ``--out``), never committed.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from genomics.sniff import file_sha256
from models.errors import ModelError
from models.features import FeatureBuilder

BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
MODEL_KINDS = {
    "xgb": ("models.xgb", "XGBSurvival"),
    "torch": ("models.deepsurv", "DeepSurvModel"),
    "ensemble": ("models.ensemble", "SurvivalEnsemble"),
    "effects": ("models.effects", "TreatmentEffectModel"),
}
INTENDED_USE = (
    "Research use only: estimates survival and treatment options from gene expression and clinical data "
    "for research and decision-support prototyping. Not a medical device; not for directing treatment."
)


@dataclass(frozen=True)
class ModelCard:
    """What a clinician or researcher needs to judge a model (stored as model_card.json)."""

    model_id: str
    model_kind: str
    cohort_id: str
    cohort_name: str
    cohort_licence: str
    cohort_attribution: str
    endpoint: str
    endpoint_description: str
    n_features: int
    feature_groups: dict[str, int]
    n_train: int
    events_train: int
    n_test: int
    events_test: int
    test_patient_ids: list[str]
    metrics: dict[str, Any]
    versions: dict[str, str]
    device: str
    seed: int
    created: str
    synthetic_cohort: bool = False
    intended_use: str = INTENDED_USE
    limits: list[str] = field(default_factory=list)
    training_seconds: float = 0.0
    #: What :func:`genomics.cohorts.load_cohort` takes to load the training cohort again: a cohort id, or the
    #: absolute path of the cohort file or folder (a model trained on a PATH must find its cohort without flags).
    cohort_source: str = ""
    #: For a companion model (:mod:`models.variants`): the bundle it stands in for, and the variant it is.
    parent_sha256: str = ""
    variant: str = "full"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, default=str)


@dataclass(frozen=True)
class Bundle:
    """A loaded, verified bundle."""

    path: Path
    model: Any  # a models.base.SurvivalModel
    features: FeatureBuilder
    card: ModelCard
    sha256: str  # hash of the manifest: identifies exactly this bundle (audit trail)


def _model_class(kind: str) -> type:
    if kind not in MODEL_KINDS:
        raise ModelError(f"Unknown model kind {kind!r} (known: {', '.join(MODEL_KINDS)}).")
    module, name = MODEL_KINDS[kind]
    return getattr(import_module(module), name)


def save_bundle(folder: Path, *, model: Any, features: FeatureBuilder, card: ModelCard) -> Path:
    """Write a bundle atomically (a temp folder renamed into place); returns its path."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".bundle-", dir=folder.parent))
    try:
        (tmp / "model").mkdir()
        model.save(tmp / "model")
        (tmp / "features.json").write_text(json.dumps(features.to_dict()), encoding="utf-8")
        (tmp / "model_card.json").write_text(card.to_json(), encoding="utf-8")
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        manifest = {
            "format": BUNDLE_FORMAT,
            "model_kind": card.model_kind,
            "files": {str(p.relative_to(tmp)): file_sha256(p) for p in files},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def verify_bundle(folder: Path) -> dict:
    """Check the manifest: format, every file present with its hash, nothing added. Returns the manifest."""
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ModelError(f"{folder.name} is not a model bundle (no {MANIFEST}).")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        listed: dict[str, str] = dict(manifest["files"])
        fmt = int(manifest["format"])
    except (ValueError, KeyError, TypeError):
        raise ModelError(f"{folder.name}: the bundle manifest is unreadable.") from None
    if fmt != BUNDLE_FORMAT:
        raise ModelError(f"{folder.name} was written in bundle format {fmt}; this OncoTx reads format {BUNDLE_FORMAT}. "
                         "Retrain the model.")
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}
    extra = sorted(present - set(listed))
    if extra:
        raise ModelError(f"{folder.name} failed its integrity check: unexpected file(s) {', '.join(extra[:3])}.")
    for rel, expected in listed.items():
        path = folder / rel
        if ".." in Path(rel).parts or not path.is_file():
            raise ModelError(f"{folder.name} failed its integrity check: {rel} is missing.")
        if file_sha256(path) != expected:
            raise ModelError(f"{folder.name} failed its integrity check: {rel} was changed after training.")
    return manifest


def load_bundle(folder: Path) -> Bundle:
    """Verify, then load a bundle (refuses tampered, foreign or incompatible bundles with a clear message)."""
    folder = Path(folder)
    manifest = verify_bundle(folder)
    try:
        card = ModelCard(**json.loads((folder / "model_card.json").read_text(encoding="utf-8")))
        features = FeatureBuilder.from_dict(json.loads((folder / "features.json").read_text(encoding="utf-8")))
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelError(f"{folder.name}: model card or feature list does not match this OncoTx ({exc}).") from None
    if card.model_kind != manifest.get("model_kind"):
        raise ModelError(f"{folder.name}: the model card and the manifest disagree on the model kind.")
    model = _model_class(card.model_kind).load(folder / "model")
    names = list(getattr(model, "feature_names_", features.columns_))
    if names != features.columns_:
        raise ModelError(f"{folder.name}: the model's features do not match its feature list.")
    return Bundle(path=folder, model=model, features=features, card=card, sha256=file_sha256(folder / MANIFEST))


def default_bundle_path(cohort_id: str, endpoint: str, kind: str, *, models_dir: Path) -> Path:
    return models_dir / f"{cohort_id}-{endpoint.lower()}-{kind}"
