"""Train a model bundle for a cohort and endpoint (the one path used by the CLI and the app).

The cohort is split once (fixed seed, stratified by event) into training (80%) and held-back test
patients (20%). The model is fitted on the training part; the card's metrics come from the test
part, and the test patient ids are recorded so that the app's example patients are never ones the
model trained on.
"""
from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import anndata as ad
import numpy as np
from sklearn.model_selection import train_test_split

from genomics.spec import spec_of
from models.device import resolve_device
from models.errors import ModelError
from models.features import FeatureBuilder, survival_target
from models.metrics import evaluate_predictions
from models.registry import Bundle, ModelCard, _model_class, load_bundle, save_bundle

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
TEST_FRACTION = 0.2
HORIZONS = (60.0, 120.0)


def make_model(kind: str, *, device: str = "auto", seed: int = 0):
    """A fresh, unfitted model of a kind with its defaults."""
    cls = _model_class(kind)
    if kind == "ensemble":  # the default: every prediction gets a resampling interval
        return cls(kind="xgb", seed=seed, member_options={"device": device})
    return cls(device=device, seed=seed)


def cancer_specific_endpoint(spec, endpoint: str):
    """The spec's cancer-specific death endpoint that refines ``endpoint`` (same follow-up time; e.g. DSS for
    OS), or None. With it, the treatment-effect model separates cancer deaths from other-cause deaths."""
    ep = spec.endpoint(endpoint)
    for other in spec.endpoints:
        if other.name != ep.name and other.time_col == ep.time_col and other.name.upper() in ("DSS", "CSS", "BCSS"):
            return other
    return None


def cohort_source(ref: str | Path) -> str:
    """What loads a cohort again from anywhere: its id, or the absolute path of its file or folder."""
    path = Path(ref)
    return str(path.resolve()) if path.exists() else str(ref)


def split_patients(event: np.ndarray, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training and held-back test patients (stratified by event)."""
    idx = np.arange(len(event))
    train, test = train_test_split(idx, test_size=TEST_FRACTION, random_state=seed, stratify=event.astype(int))
    return np.sort(train), np.sort(test)


def train_bundle(
    cohort: ad.AnnData,
    *,
    endpoint: str,
    kind: str = "ensemble",
    out: Path,
    device: str = "auto",
    seed: int = 0,
    progress: Progress | None = None,
    client=None,
    source: str | None = None,
    features: FeatureBuilder | None = None,
    card_extra: dict | None = None,
) -> Bundle:
    """Fit, evaluate on held-back patients, and save a verified bundle to ``out``.

    With a Dask ``client`` (:func:`models.dask.dask_client`) the xgboost kinds (``xgb``, ``ensemble``)
    are fitted on the cluster (:func:`models.dask.fit_on_dask`); the bundle has the same format.
    ``source`` is what loads the cohort again (its id, default, or the path it was read from: recorded in the
    card so that the bundle can find its cohort); ``features`` an unfitted :class:`FeatureBuilder` with the
    genes and clinical fields to use (default: all of them); ``card_extra`` more model-card fields.
    """
    say = progress or (lambda msg: log.info(msg))
    spec = spec_of(cohort)
    ep = spec.endpoint(endpoint)
    t, e, usable = survival_target(cohort, endpoint=ep.name, spec=spec)
    if usable.sum() < 50 or e[usable].sum() < 10:
        raise ModelError(f"Too few patients with {ep.name} follow-up to train ({int(usable.sum())} patients, "
                         f"{int(e[usable].sum())} events).")
    data = cohort[usable].copy()
    t, e = t[usable], e[usable]
    train_idx, test_idx = split_patients(e, seed=seed)
    say(f"{spec.display_name} · {ep.name}: {len(train_idx)} training / {len(test_idx)} held-back patients")
    features = (features or FeatureBuilder()).fit(data[train_idx], spec=spec)
    X_train = features.transform(data[train_idx]).X
    X_test = features.transform(data[test_idx]).X
    if client is not None:
        from models.dask import DASK_KINDS, device_on_workers, fit_on_dask, n_workers  # lazy: start-up cost (xgboost)

        if kind not in DASK_KINDS:
            raise ModelError(f"--dask trains the xgboost models ({', '.join(DASK_KINDS)}); '{kind}' trains in one "
                             "process (leave out --dask).")
        chosen_device = device_on_workers(client, device)  # the workers train: their GPUs count, not ours
        say(f"fitting {kind} on {X_train.shape[1]} features with xgboost.dask on {n_workers(client)} Dask "
            f"worker(s) ({chosen_device})")
        started = time.perf_counter()
        model = fit_on_dask(client, kind, X_train, t[train_idx], e[train_idx], feature_names=features.columns_,
                            treatment_index=features.treatment_index, device=chosen_device, seed=seed)
    else:
        chosen_device = resolve_device(device)
        model = make_model(kind, device=chosen_device, seed=seed)
        say(f"fitting {kind} on {X_train.shape[1]} features ({chosen_device})")
        started = time.perf_counter()
    extra = {}
    if kind == "effects":
        model.progress = say
        cause_ep = cancer_specific_endpoint(spec, ep.name)
        if cause_ep is not None:
            cause = np.nan_to_num(data.obs[cause_ep.event_col].to_numpy(dtype=np.float64)[train_idx], nan=0.0)
            extra["cause"] = cause
            say(f"competing risks: {ep.name} deaths split by {cause_ep.name} into cancer and other causes")
    if client is None:
        model.fit(X_train, t[train_idx], e[train_idx], feature_names=features.columns_,
                  treatment_index=features.treatment_index, **extra)
    seconds = time.perf_counter() - started
    say(f"fitted in {seconds:.1f} s; evaluating on held-back patients")
    metrics = test_metrics(model, X_train, t[train_idx], e[train_idx], X_test, t[test_idx], e[test_idx])
    card = ModelCard(
        model_id=f"{spec.id}-{ep.name.lower()}-{kind}-{datetime.now(UTC):%Y%m%d%H%M%S}",
        model_kind=kind,
        cohort_id=spec.id,
        cohort_name=spec.display_name,
        cohort_licence=spec.licence,
        cohort_attribution=spec.attribution,
        endpoint=ep.name,
        endpoint_description=ep.description,
        n_features=len(features.columns_),
        feature_groups={"treatments": len(features.treatments_), "clinical": len(features.columns_)
                        - len(features.treatments_) - len(features.genes_), "genes": len(features.genes_)},
        n_train=len(train_idx),
        events_train=int(e[train_idx].sum()),
        n_test=len(test_idx),
        events_test=int(e[test_idx].sum()),
        test_patient_ids=[str(data.obs_names[i]) for i in test_idx],
        metrics=metrics,
        versions=_versions(dask=client is not None),
        device=chosen_device,
        seed=seed,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        synthetic_cohort=spec.synthetic,
        limits=_limits(spec.synthetic, spec.notes),
        training_seconds=round(seconds, 2),
        cohort_source=source or spec.id,
        **(card_extra or {}),
    )
    save_bundle(out, model=model, features=features, card=card)
    say(f"saved {out}")
    return load_bundle(out)


def test_metrics(model, X_train, t_train, e_train, X_test, t_test, e_test) -> dict:
    """Discrimination and calibration on held-back patients, with bootstrap intervals."""
    report = evaluate_predictions(model, X_train=X_train, time_train=t_train, event_train=e_train,
                                  X_test=X_test, time_test=t_test, event_test=e_test)
    return report.to_dict()


def _versions(*, dask: bool = False) -> dict[str, str]:
    out = {"python": platform.python_version(), "bundle_format": "1"}
    for pkg in ("xgboost", "torch", "scikit-survival", "scanpy", "numpy", *(("dask", "distributed") if dask else ())):
        try:
            out[pkg] = version(pkg)
        except Exception:  # noqa: S112 - a missing optional package is simply not listed
            continue
    return out


def _limits(synthetic: bool, notes: str) -> list[str]:
    limits = [
        "Trained on observational data: treatment was not randomised, so treatment associations are confounded "
        "by indication.",
        "Validated only on held-back patients of the same cohort; performance on other populations or platforms "
        "is unknown until measured.",
    ]
    if synthetic:
        limits.insert(0, "Trained on SYNTHETIC data: for demonstration only.")
    if notes and "confounded" not in notes:
        limits.append(notes)
    return limits


def evaluate_bundle(bundle: Bundle, cohort: ad.AnnData, *, progress: Progress | None = None) -> dict:
    """Metrics of a bundle on a cohort. On its own training cohort only the held-back patients count."""
    say = progress or (lambda msg: log.info(msg))
    spec = spec_of(cohort)
    ep = spec.endpoint(bundle.card.endpoint)
    t, e, usable = survival_target(cohort, endpoint=ep.name, spec=spec)
    data = cohort[usable].copy()
    t, e = t[usable], e[usable]
    scope = "all patients"
    if spec.id == bundle.card.cohort_id:
        held_back = set(bundle.card.test_patient_ids)
        mask = np.array([pid in held_back for pid in data.obs_names.astype(str)])
        data, t, e = data[mask].copy(), t[mask], e[mask]
        scope = "held-back patients only (the rest trained the model)"
    say(f"evaluating {bundle.card.model_id} on {spec.display_name} · {ep.name}: {data.n_obs} patients ({scope})")
    frame = bundle.features.transform(data)
    report = evaluate_predictions(bundle.model, X_train=None, time_train=t, event_train=e,
                                  X_test=frame.X, time_test=t, event_test=e)
    return {"model_id": bundle.card.model_id, "bundle_sha256": bundle.sha256, "cohort": spec.id,
            "endpoint": ep.name, "scope": scope, "n": int(data.n_obs), "events": int(e.sum()),
            "gene_coverage": frame.gene_coverage, "expression_mode": frame.expression_mode,
            "metrics": report.to_dict()}
