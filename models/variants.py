"""Which model answers an upload: the strongest variant its genes support, never silently filled genes.

A bundle is trained on one cohort's genes (METABRIC: 300 Illumina genes as per-gene z-scores). A real
upload comes from another platform and often has only part of those genes. :func:`answer` first brings the
upload into the training cohort's expression space (each gene standardised against a reference of the
upload's own platform, :mod:`genomics.platforms`: RNA-seq against SCAN-B, Affymetrix against VDX), then
picks, in this order (design.md, "Cross-platform expression"):

``full``
    the bundle itself, when the upload has at least :data:`models.features.MIN_GENE_COVERAGE` of its genes;
``companion``
    a model of the same kind fitted on the training cohort restricted to the genes both have (at least
    :data:`MIN_COMPANION_GENES`) and the clinical fields the upload has, cached under ``ONCOTX_HOME`` by a
    fingerprint of (parent bundle, genes, fields, settings) and reused;
``robust``
    (on request) the same, with the gene sets' within-sample rank scores instead of the genes
    (:mod:`genomics.setscores`);
``clinical``
    clinical fields only, when too few genes overlap or only a record was uploaded.

Every :class:`Answer` names its variant, the genes used and missing, and the held-back C of the answering
model beside the full model's on the same held-back patients (same split), so the cost of the platform is
visible. Research use only.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from genomics.cohorts import load_cohort
from genomics.errors import InputError
from genomics.platforms import reference_for, standardise_to_platform
from genomics.records.values import field_words
from genomics.settings import get_settings
from genomics.spec import PROVENANCE_KEY, spec_of
from models.columns import ANSWER_COLUMNS
from models.errors import ModelError
from models.features import MIN_GENE_COVERAGE, FeatureBuilder
from models.registry import Bundle, load_bundle
from models.training import train_bundle

log = logging.getLogger(__name__)
Progress = Callable[[str], None]

VARIANTS = ("full", "companion", "robust", "clinical")
VARIANT_LABELS = {
    "full": "full model",
    "companion": "companion model on the shared genes",
    "robust": "platform-robust model (gene-set rank scores)",
    "clinical": "clinical-only model",
}
#: Fewest shared genes for a gene-level companion; below it the clinical-only model answers.
MIN_COMPANION_GENES = 10
#: A gene counts as present in a batch when at least this share of its samples measure it.
PRESENT_SHARE = 0.9
#: Bump when what a companion is fitted from changes, so stale cached companions are not reused.
COMPANION_VERSION = 1


@dataclass(frozen=True)
class Answer:
    """The model variant that answers an upload, with what it used and what that costs."""

    variant: str
    bundle: Bundle
    patients: ad.AnnData  # the upload in the training cohort's expression space
    genes_used: tuple[str, ...]
    genes_missing: tuple[str, ...]  # of the full model's genes
    coverage: float  # share of the full model's genes the upload has
    c_index: float | None  # held-back Harrell C of the answering model
    full_c_index: float | None  # held-back Harrell C of the full model (same held-back patients)
    platform: str
    reference: str | None  # platform reference the expression was standardised against
    expression_note: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return VARIANT_LABELS[self.variant]

    @property
    def c_cost(self) -> float | None:
        """How much held-back C the variant gives up against the full model (positive = lower)."""
        if self.c_index is None or self.full_c_index is None:
            return None
        return self.full_c_index - self.c_index

    def summary(self) -> str:
        """One plain sentence: which variant answered, on which genes, at what C."""
        n_model = len(self.genes_used) + len(self.genes_missing) if self.variant == "full" else None
        genes = (f"{len(self.genes_used)} of the model's {n_model} genes" if n_model
                 else f"{len(self.genes_used)} genes" if self.genes_used else "no genes")
        text = f"Answered by the {self.label} ({genes}; {len(self.genes_missing)} of the full model's genes missing)"
        if self.c_index is not None:
            text += f"; held-back C {self.c_index:.3f}"
            if self.variant != "full" and self.full_c_index is not None:
                text += f" vs {self.full_c_index:.3f} for the full model"
        return text + "."

    def columns(self) -> dict[str, Any]:
        """The columns every ``recommend`` row carries about the model that answered (:data:`ANSWER_COLUMNS`)."""
        return dict(zip(ANSWER_COLUMNS, (self.variant, self.bundle.card.model_id, len(self.genes_used),
                                         len(self.genes_missing), self.c_index, self.full_c_index, self.platform,
                                         self.reference or ""), strict=True))

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant, "label": self.label, "model_id": self.bundle.card.model_id,
            "bundle_sha256": self.bundle.sha256, "genes_used": list(self.genes_used),
            "genes_missing": list(self.genes_missing), "n_genes_used": len(self.genes_used),
            "n_genes_missing": len(self.genes_missing), "coverage": self.coverage, "c_index": self.c_index,
            "full_c_index": self.full_c_index, "c_cost": self.c_cost, "platform": self.platform,
            "reference": self.reference, "expression_note": self.expression_note, "notes": list(self.notes),
            "summary": self.summary(),
        }


# --- the training cohort of a bundle ------------------------------------------------------------------------


def training_cohort(bundle: Bundle, *, override: str | Path | None = None) -> ad.AnnData:
    """The cohort the bundle was trained on (from its card), or ``override``; a clear error when it is gone."""
    source = str(override) if override else (bundle.card.cohort_source or bundle.card.cohort_id)
    try:
        return load_cohort(source)
    except InputError as exc:
        raise ModelError(
            f"This model was trained on cohort {source!r}, which cannot be loaded now ({exc}). Give the training "
            "cohort with --reference-cohort ID|PATH."
        ) from None


# --- expression into the training cohort's space ------------------------------------------------------------


def _scale(adata: ad.AnnData) -> str:
    return str(adata.uns.get(PROVENANCE_KEY, {}).get("scale", "log"))


def to_training_space(patients: ad.AnnData, bundle: Bundle) -> tuple[ad.AnnData, str, str | None, str]:
    """The upload with its expression brought into the training cohort's units, where the platforms differ.

    Returns (patients, platform, reference id, note). Each gene the model knows is standardised against
    the upload's platform reference (per-gene z), then put in the training cohort's units (``mean + z *
    sd`` of the training cohort), so every downstream step reads it as a same-platform profile. Where the
    upload is on the training cohort's own platform, or no platform reference is available, it is
    returned as it is and the note says so.
    """
    fb = bundle.features
    if patients.n_vars == 0 or not fb.genes_ or fb.standardiser_ is None:
        return patients, "none", None, "no expression used"
    if fb.standardiser_.choose_mode(patients, fb.standardiser_.aligned(patients)) == "standardise":
        return patients, "training", None, (f"on the platform of the training cohort ({bundle.card.cohort_name}): "
                                            "compared with it gene by gene")
    try:
        reference, call = reference_for(patients)
    except InputError as exc:
        return patients, "unknown", None, f"no platform reference ({exc}); values compared as they are"
    training_ref = _training_reference(bundle)
    if reference is None or reference.id == training_ref:
        return patients, call.platform, None, call.reason
    genes = [g for g in fb.genes_ if g in set(patients.var_names)]
    z, mode = standardise_to_platform(patients, genes, reference=reference)
    z = np.asarray(z, dtype=np.float64)
    keep = np.isfinite(z).any(axis=0)
    genes = [g for g, k in zip(genes, keep, strict=True) if k]
    z = z[:, keep]
    std = fb.standardiser_
    pos = std.genes.get_indexer(genes)
    values = std.ref_mean[pos][None, :] + z * std.ref_sd[pos][None, :]
    out = ad.AnnData(X=values.astype(np.float32), obs=patients.obs.copy(),
                     var=pd.DataFrame(index=pd.Index(genes, name=patients.var_names.name)))
    prov = dict(patients.uns.get(PROVENANCE_KEY, {}))
    prov.update({"scale": std.scale, "upload_scale": _scale(patients), "platform": call.platform,
                 "platform_reference": reference.id, "platform_mode": mode,
                 "transformations": [*prov.get("transformations", []),
                                     f"per-gene z against {reference.id} ({mode}), in training units"]})
    out.uns[PROVENANCE_KEY] = prov
    note = (f"{call.reason.rstrip('.')}; each gene standardised against the {reference.name} ({mode} mode) and compared with "
            f"the training cohort gene by gene")
    return out, call.platform, reference.id, note


def _training_reference(bundle: Bundle) -> str | None:
    """The platform reference id of the training cohort itself (its own platform needs no conversion)."""
    cid = bundle.card.cohort_id
    return cid if cid in ("metabric", "scanb", "vdx") else None


# --- variants -------------------------------------------------------------------------------------------------


def present_genes(patients: ad.AnnData, genes: Sequence[str]) -> list[str]:
    """Genes of ``genes`` measured (finite) in at least :data:`PRESENT_SHARE` of the samples."""
    idx = patients.var_names.get_indexer(list(genes))
    X = np.asarray(patients.X.toarray() if hasattr(patients.X, "toarray") else patients.X, dtype=np.float64)
    out = []
    for g, i in zip(genes, idx, strict=True):
        if i >= 0 and np.isfinite(X[:, i]).mean() >= PRESENT_SHARE:
            out.append(g)
    return out


def present_fields(patients: ad.AnnData, fields: Sequence[str]) -> list[str]:
    """Clinical fields of ``fields`` that the upload records for at least one sample."""
    obs = patients.obs
    return [f for f in fields if f in obs.columns and obs[f].notna().any() and
            (obs[f].astype(str).str.strip() != "").any()]


def _c(bundle: Bundle) -> float | None:
    value = bundle.card.metrics.get("harrell_c", {}).get("value") if isinstance(bundle.card.metrics, dict) else None
    return None if value is None or not np.isfinite(value) else float(value)


def fingerprint(bundle: Bundle, *, variant: str, genes: Sequence[str], fields: Sequence[str]) -> str:
    """Identifies a companion: parent bundle, variant, genes, clinical fields and the fitting settings."""
    raw = json.dumps({"parent": bundle.sha256, "variant": variant, "genes": sorted(genes), "fields": sorted(fields),
                      "kind": bundle.card.model_kind, "endpoint": bundle.card.endpoint, "seed": bundle.card.seed,
                      "version": COMPANION_VERSION}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


def companion_dir() -> Path:
    return get_settings().models_dir / "companions"


def companion(bundle: Bundle, *, variant: str, genes: Sequence[str], fields: Sequence[str],
              cohort: ad.AnnData | None = None, progress: Progress | None = None) -> Bundle:
    """The cached companion of ``bundle`` on these genes and fields, fitted (and saved) on first use."""
    say = progress or (lambda msg: log.info(msg))
    folder = companion_dir() / f"{bundle.card.cohort_id}-{variant}-{fingerprint(bundle, variant=variant, genes=genes, fields=fields)[:20]}"
    if (folder / "manifest.json").is_file():
        try:
            return load_bundle(folder)
        except ModelError as exc:  # a damaged cache entry is refitted, never trusted
            say(f"cached companion not usable ({exc}); fitting it again")
    cohort = cohort if cohort is not None else training_cohort(bundle)
    expression = "scores" if variant == "robust" else "genes"
    features = FeatureBuilder(genes=list(genes), clinical=list(fields), expression=expression)
    what = {"companion": f"{len(genes)} shared genes", "robust": f"gene-set rank scores over {len(genes)} genes",
            "clinical": "clinical fields only"}[variant]
    say(f"fitting a {VARIANT_LABELS[variant]} on {spec_of(cohort).display_name} ({what} + "
        f"{len(fields)} clinical fields); cached for the next upload with the same genes")
    return train_bundle(cohort, endpoint=bundle.card.endpoint, kind=bundle.card.model_kind, out=folder,
                        seed=bundle.card.seed, source=bundle.card.cohort_source or bundle.card.cohort_id,
                        features=features, progress=say, card_extra={"parent_sha256": bundle.sha256,
                                                                      "variant": variant})


def choose_variant(coverage: float, n_shared: int) -> str:
    """The automatic rule: full model at enough coverage, else a companion on enough shared genes, else clinical."""
    if coverage >= MIN_GENE_COVERAGE:
        return "full"
    if n_shared >= MIN_COMPANION_GENES:
        return "companion"
    return "clinical"


def planned_variant(bundle: Bundle, genes: Sequence[str], clinical_fields: Sequence[str]) -> dict[str, Any]:
    """Which variant will answer, before anything is fitted: the one rule :func:`answer` applies.

    ``genes``: the genes the upload measures (in the training cohort's space, e.g. :func:`present_genes` of
    :func:`to_training_space`'s result; any others are ignored); ``clinical_fields``: the clinical fields it
    records. Full model at :data:`models.features.MIN_GENE_COVERAGE` of the model's genes, else a companion on
    the shared genes when there are at least :data:`MIN_COMPANION_GENES`, else the clinical-only model
    (:func:`choose_variant`). Returns ``variant``, ``label``, ``genes_used``, ``genes_missing`` (of the model's
    genes), ``coverage``, ``fields_used``, ``fields_missing`` and ``sentence`` (plain words for the page).
    """
    fb = bundle.features
    model_genes = list(fb.genes_)
    given = set(map(str, genes))
    shared = [g for g in model_genes if g in given]
    missing = [g for g in model_genes if g not in given]
    coverage = len(shared) / len(model_genes) if model_genes else 1.0
    variant = choose_variant(coverage, len(shared))
    model_fields = [*fb.numeric_, *fb.categorical_]
    have = set(map(str, clinical_fields))
    fields_used = [f for f in model_fields if f in have]
    fields_missing = [f for f in model_fields if f not in have]
    n, need = len(model_genes), int(np.ceil(MIN_GENE_COVERAGE * len(model_genes)))
    if not model_genes:
        sentence = "The model uses clinical fields only: it answers as it is."
    elif variant == "full":
        sentence = (f"The full model will answer: this profile has {len(shared):,} of its {n:,} genes "
                    f"({coverage:.0%}; {MIN_GENE_COVERAGE:.0%} needed).")
    elif variant == "companion":
        sentence = (f"A companion model on the {len(shared):,} genes this profile shares with the full model will "
                    f"answer: the full model needs {need:,} of its {n:,} genes ({MIN_GENE_COVERAGE:.0%}) and this "
                    f"profile has {len(shared):,} ({coverage:.0%}). It is fitted on the model's cohort with the "
                    "same genes, once, and reused.")
    elif shared or genes:
        sentence = (f"The clinical-only model will answer: this profile has {len(shared):,} of the model's {n:,} "
                    f"genes, and a gene-level model needs at least {MIN_COMPANION_GENES} of them.")
    else:
        sentence = "The clinical-only model will answer: no expression profile was given."
    if variant != "full" and fields_missing:
        sentence += (" Fitted without the clinical field(s) not given: "
                     f"{', '.join(field_words(f) for f in fields_missing)}.")
    return {"variant": variant, "label": VARIANT_LABELS[variant], "genes_used": shared if variant != "clinical" else [],
            "genes_missing": missing, "coverage": coverage, "fields_used": fields_used,
            "fields_missing": fields_missing, "sentence": sentence}


def plan_for_upload(bundle: Bundle, patients: ad.AnnData) -> dict[str, Any]:
    """:func:`planned_variant` for an upload as :func:`answer` will see it (brought into the training space first;
    no model is fitted). Adds ``platform`` and ``reference``."""
    moved, platform, reference, _ = to_training_space(patients, bundle)
    fb = bundle.features
    genes = present_genes(moved, list(fb.genes_)) if fb.genes_ and moved.n_vars else []
    plan = planned_variant(bundle, genes, present_fields(moved, [*fb.numeric_, *fb.categorical_]))
    return {**plan, "platform": platform, "reference": reference}


def answer(bundle: Bundle, patients: ad.AnnData, *, variant: str = "auto", cohort: ad.AnnData | None = None,
           progress: Progress | None = None) -> Answer:
    """The variant of ``bundle`` that answers ``patients`` (see the module docstring).

    ``variant``: ``auto`` (the rule of :func:`choose_variant`) or one of :data:`VARIANTS` to force it (a
    forced ``full`` model on too few genes is refused). ``cohort``: the training cohort, if already loaded.
    """
    if variant != "auto" and variant not in VARIANTS:
        raise InputError(f"Unknown model variant {variant!r} (auto, {', '.join(VARIANTS)}).")
    fb = bundle.features
    moved, platform, reference, note = to_training_space(patients, bundle)
    model_genes = list(fb.genes_)
    shared = present_genes(moved, model_genes) if model_genes and moved.n_vars else []
    fields = present_fields(moved, [*fb.numeric_, *fb.categorical_])
    plan = planned_variant(bundle, shared, fields)  # the one rule, also shown before any fit
    missing, coverage = tuple(plan["genes_missing"]), float(plan["coverage"])
    chosen = plan["variant"] if variant == "auto" else variant
    notes: list[str] = []
    if chosen == "full" and coverage < MIN_GENE_COVERAGE:
        raise ModelError(f"The full model needs {MIN_GENE_COVERAGE:.0%} of its {len(model_genes)} genes; this "
                         f"profile has {coverage:.0%}. Missing genes are never filled silently.")
    if chosen in ("companion", "robust") and not shared:
        raise ModelError("No gene of the model is in this profile: only the clinical-only model can answer.")
    full_c = _c(bundle)
    if chosen == "full":
        return Answer("full", bundle, moved, tuple(shared), missing, coverage, full_c, full_c, platform,
                      reference, note, tuple(notes))
    absent = plan["fields_missing"]
    if absent:
        notes.append(f"fitted without the clinical field(s) the upload lacks: {', '.join(map(field_words, absent))}")
    genes = [] if chosen == "clinical" else shared
    fitted = companion(bundle, variant=chosen, genes=genes, fields=fields, cohort=cohort, progress=progress)
    return Answer(chosen, fitted, moved, tuple(genes), missing, coverage, _c(fitted), full_c, platform, reference,
                  note, tuple(notes))
