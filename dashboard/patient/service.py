"""From a validated upload to a :class:`PatientAnalysis`: profile, risk, options, explanations, similar patients.

:func:`analyse` is pure (everything it needs is in an :class:`AnalysisContext`, which :func:`make_context`
builds); :func:`dashboard.ui.model_cache.build_analysis` gets the context from the per-process caches (cohort,
treatment model, evidence model, reference map) and is what the Patient page calls. Every part that cannot be
computed for this input (too few genes for the embedding, no PAM50 centroids without a data folder, ...) becomes
a warning, never an exception.
"""
from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from dashboard.i18n import N_
from dashboard.patient.record import PatientAnalysis
from dashboard.platform.privacy import patient_pseudonym
from dashboard.text import field_label
from genomics.errors import InputError
from genomics.preprocess import preprocessed_cohort
from genomics.reference import ReferenceModel
from genomics.regimens import regimen_flags, regimen_label, regimen_labels, regimens
from genomics.signatures import PERCENTILE_GENES, gene_percentiles, signature_table
from genomics.spec import CohortSpec
from genomics.survival import kaplan_meier
from genomics.validate import UploadResult, check_upload, with_clinical
from models.columns import BOUNDS, SURVIVAL, column
from models.errors import ModelError
from models.evidence import RegimenEvidence
from models.explain import benefit_contributions, gene_sets_for, risk_contributions, single_gene_modifiers
from models.predict_breast import CAVEAT, CITATION, ladder_regimens, patient_inputs, treatment_ladder
from models.registry import Bundle
from models.treatment import (
    MIN_WORTHWHILE_BENEFIT,
    choose_regimen,
    treatment_options,
    under_regimen,
)
from models.variants import answer

Progress = Callable[[str], None]
CURVE_MONTHS = np.arange(0.0, 181.0, 6.0)
TOP_FEATURES = 15
SIMILAR_K = 30


@dataclass
class AnalysisContext:
    """The per-cohort objects an analysis needs (built once per process)."""

    spec: CohortSpec
    cohort: ad.AnnData
    bundle: Bundle
    evidence: RegimenEvidence
    cohort_risks: np.ndarray
    reference: Any | None = None  # genomics.reference.ReferenceModel, when the cohort could be preprocessed
    embedding: pd.DataFrame | None = None  # cohort coordinates: x, y, label (subtype)
    _by_bundle: dict = field(default_factory=dict, repr=False)  # companion sha → (evidence, cohort risks)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def evidence_for(self, bundle: Bundle) -> tuple[RegimenEvidence, np.ndarray]:
        """Evidence model and cohort risks for the bundle that answers (a companion gets its own, once)."""
        if bundle.sha256 == self.bundle.sha256:
            return self.evidence, self.cohort_risks
        with self._lock:
            cached = self._by_bundle.get(bundle.sha256)
            if cached is None:
                cached = _evidence_and_risks(bundle, self.cohort, same_cohort=bundle.card.cohort_id == self.spec.id)
                if len(self._by_bundle) >= 16:
                    self._by_bundle.clear()
                self._by_bundle[bundle.sha256] = cached
        return cached


def _model_card(bundle: Bundle) -> dict[str, Any]:
    card = bundle.card
    c = card.metrics.get("harrell_c", {}) if isinstance(card.metrics, dict) else {}
    return {"model_id": card.model_id, "model_kind": card.model_kind, "cohort": card.cohort_name,
            "endpoint": card.endpoint, "endpoint_description": card.endpoint_description, "n_train": card.n_train,
            "events_train": card.events_train, "n_test": card.n_test, "events_test": card.events_test,
            "harrell_c": c.get("value"), "harrell_c_lo": c.get("lo"), "harrell_c_hi": c.get("hi"),
            "created": card.created, "intended_use": card.intended_use, "limits": list(card.limits),
            "synthetic_cohort": card.synthetic_cohort}


def _guidance(options) -> dict[str, Any]:
    """The guided policy's facts for this patient (models.treatment.guidance), where the model has replicates and
    the record has the fields the guideline rule reads."""
    if options.guidance is None or options.guidance.empty or not options.guidance.at[0, "guideline"]:
        return {}
    row = options.guidance.iloc[0]
    return {"guideline": str(row["guideline"]), "best_option": str(row["best_option"]),
            "departure_confidence": float(row["departure_confidence"]), "presented": str(row["presented"])}


def _molecular(patient: ad.AnnData, cohort: ad.AnnData, warnings: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        table = signature_table(patient, reference=cohort).iloc[0]
        if pd.notna(table.get("pam50")):
            out["pam50"] = {"subtype": str(table["pam50"]), "confidence": float(table["pam50_confidence"]),
                            "coverage": str(table["pam50_coverage"])}
        if pd.notna(table.get("rs_approx")):
            out["rs"] = {"score": float(table["rs_approx"]), "group": str(table["rs_group"]),
                         "label": str(table["rs_method"]), "coverage": str(table["rs_coverage"])}
        out["modules"] = {c.removeprefix("module_"): float(table[c]) for c in table.index
                          if c.startswith("module_") and not c.endswith("_genes") and pd.notna(table[c])}
        if table.get("notes"):
            warnings.append(f"Molecular profile: {table['notes']}")
    except InputError as exc:
        warnings.append(f"Molecular profile not available: {exc}")
    try:
        pct = gene_percentiles(patient, reference=cohort, genes=PERCENTILE_GENES)
        row = pct.iloc[0]
        out["percentiles"] = {g: float(row[g]) for g in pct.columns if g in PERCENTILE_GENES and pd.notna(row[g])}
    except (InputError, TypeError, KeyError):
        pass
    return out


def _predict(patient: ad.AnnData, spec: CohortSpec, treatments: tuple[str, ...]) -> dict[str, Any]:
    """PREDICT v2.1 for this patient (the standard treatment ladder), or the reason it cannot be computed.

    Only for cohorts with the breast clinical fields PREDICT needs (ER status); others get an empty dict.
    """
    if spec.clinical_field("er_status") is None:
        return {}
    try:
        inputs = patient_inputs(patient)
    except InputError as exc:
        return {"unavailable": f"PREDICT v2.1 needs {exc}"}
    ladder = treatment_ladder(inputs)
    ladder["regimen"] = ladder_regimens(ladder, treatments)
    return {"ladder": _rows(ladder), "caveat": CAVEAT, "citation": CITATION,
            "inputs": {k: (None if v is None else v) for k, v in inputs.__dict__.items()}}


def held_modifiers(model, X: np.ndarray) -> list[str]:
    """The effect modifiers a treatment-effect model holds at the edge of their training range for the first row
    of ``X`` (models.modifiers.Modifiers.transform); [] for other models."""
    held = getattr(model, "held_modifiers", None)
    return held(np.asarray(X, dtype=np.float64)[:1])[0] if held is not None else []


def _embedding(patient: ad.AnnData, context: AnalysisContext, warnings: list[str]) -> dict[str, Any]:
    if context.reference is None or context.embedding is None:
        return {}
    try:
        proj = context.reference.project(patient)
    except InputError as exc:
        warnings.append(f"Cannot place the patient on the cohort map: {exc}")
        return {}
    coords = proj.umap if proj.umap is not None else proj.pca[:, :2]
    cohort_xy = context.embedding
    near = proj.neighbours[proj.neighbours["rank"] <= 10]
    pos = cohort_xy.set_index("id")
    neighbours = [{"x": float(pos.at[pid, "x"]), "y": float(pos.at[pid, "y"]), "id": str(pid)}
                  for pid in near["patient_id"] if pid in pos.index]
    message = proj.ood_message(0)
    if message:
        warnings.append(message)
    warnings.extend(proj.warnings)
    return {"cohort": cohort_xy[["x", "y", "label"]].to_dict("records"),
            "patient": {"x": float(coords[0, 0]), "y": float(coords[0, 1])}, "neighbours": neighbours,
            "ood_percentile": float(proj.ood_percentile[0]), "kind": "UMAP" if proj.umap is not None else "PCA"}


def _curves(model, x: np.ndarray, names: list[str], treatments: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for r in names:
        y = under_regimen(x, r, treatments)
        point = model.predict_survival(y, CURVE_MONTHS)[0]
        if hasattr(model, "member_predictions"):
            members = model.member_predictions(y, CURVE_MONTHS)[:, 0, :]
            lo, hi = np.percentile(members, [5, 95], axis=0) if len(members) > 1 else (point * np.nan,) * 2
        else:
            lo = hi = point * np.nan
        for m, s, a, b in zip(CURVE_MONTHS, point, lo, hi, strict=True):
            rows.append({"regimen": r, "month": float(m), "S": float(s), "S_lo": float(min(a, s)) if np.isfinite(a) else None,
                         "S_hi": float(max(b, s)) if np.isfinite(b) else None})
    return rows


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in frame.to_dict("records")]


def _explanations(bundle: Bundle, evidence: RegimenEvidence, x: np.ndarray, names: list[str], baseline_name: str,
                  current: str, endpoint: str) -> dict[str, Any]:
    fb, model = bundle.features, bundle.model
    treatments = tuple(fb.treatments_)
    risk = risk_contributions(model, x[0], fb.columns_)
    sets = gene_sets_for(fb.genes_)
    out: dict[str, Any] = {
        "risk": _rows(risk.by_name(treatments).head(TOP_FEATURES * 3)[["name", "group", "value"]]
                      .rename(columns={"name": "feature"})),
        "risk_base": risk.base, "risk_unit": risk.unit, "method": risk.method,
        "benefit": {}, "benefit_base": {}, "pathways": {}, "similar": {},
    }
    base_flags = np.array([regimen_flags(baseline_name, treatments)[t] for t in treatments], dtype=float)
    for r in names:
        flags = np.array([regimen_flags(r, treatments)[t] for t in treatments], dtype=float)
        if r != baseline_name:
            b = benefit_contributions(model, x[0], fb.columns_, regimen=flags, baseline=base_flags)
            out["benefit"][r] = _rows(b.by_name(treatments).head(TOP_FEATURES * 3)[["name", "group", "value"]]
                                      .rename(columns={"name": "feature"}))
            out["benefit_base"][r] = b.base
            out["benefit_unit"] = b.unit
            out["pathways"][r] = _rows(b.by_gene_set(sets).head(10).rename(columns={"gene_set": "pathway"}))
        near = evidence.similar(x, regimen=r, k=SIMILAR_K, endpoint=endpoint)
        near = near[np.isfinite(near["time"]) & np.isfinite(near["event"])]
        if len(near) >= 5:
            km = kaplan_meier(near["time"], near["event"])
            out["similar"][r] = {"n": int(len(near)), "ids": [str(i) for i in near["patient_id"]],
                                 "km": _rows(km)}
    out["pathways_risk"] = _rows(risk.by_gene_set(sets).head(10).rename(columns={"gene_set": "pathway"}))
    out["current"] = current
    out["modifiers"] = single_gene_modifiers(model, x[0], fb.columns_)
    return out


def analyse(upload: UploadResult, *, context: AnalysisContext, clinical: dict[str, Any], regimen: dict[str, int],
            baseline: str = "none", user: str = "demo", progress: Progress | None = None) -> PatientAnalysis:
    """Everything the Patient page shows, for the first sample of a valid upload."""
    say = progress or (lambda _msg: None)
    if not upload.report.ok or upload.adata is None:
        raise InputError("The upload did not pass validation: nothing was analysed.")
    spec = context.spec
    treatments = tuple(context.bundle.features.treatments_)
    patient = with_clinical(upload.adata[:1].copy(), {**clinical, **regimen})
    prov = upload.adata.uns.get("oncotx", {})
    expression_sha = str(prov.get("source_sha256", ""))
    records_sha = str(getattr(upload.record, "facts", {}).get("sha256", "")) if upload.record is not None else ""
    warnings: list[str] = list(upload.report.warnings)
    names = regimens(treatments)
    current = regimen_labels(patient.obs.reindex(columns=list(treatments)), treatments).iloc[0]
    baseline_name = current if baseline == "current" else baseline
    say(N_("placing the patient in the cohort (molecular profile, map)"))
    molecular = _molecular(patient, context.cohort, warnings)
    say(N_("choosing the model for this profile's genes"))
    try:
        chosen = answer(context.bundle, patient, cohort=context.cohort, progress=say)
    except ModelError as exc:  # e.g. a companion that cannot be fitted: the clinical fields still answer
        warnings.append(f"The gene-level model is not available for this profile ({exc}); clinical fields only.")
        chosen = answer(context.bundle, patient, variant="clinical", cohort=context.cohort, progress=say)
    # on the map, a profile from another platform is placed by its platform-standardised genes
    embedding = _embedding(chosen.patients if chosen.reference else patient, context, warnings)
    bundle, fb = chosen.bundle, chosen.bundle.features
    evidence, cohort_risks = context.evidence_for(bundle)
    if chosen.variant != "full":
        warnings.append(chosen.summary())
    warnings.extend(chosen.notes)
    say(N_("estimating survival under every regimen"))
    frame = fb.transform(chosen.patients, require_coverage=False)
    beyond = held_modifiers(bundle.model, frame.X[:1])
    if beyond:
        warnings.append(f"This profile lies beyond every cohort patient on {len(beyond)} of the treatment model's "
                        "effect modifiers: they are held at the edge of the cohort's range, so its estimates rest "
                        "partly on the cohort's values.")
    options_rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    explanations: dict[str, Any] = {}
    risk: dict[str, Any] = {}
    caveat = ""
    competing = False
    try:
        options = treatment_options(bundle, chosen.patients, cohort=evidence, baseline=baseline,
                                    thresholds=dict(spec.worthwhile_benefit))
        caveat = options.caveat
        competing = options.competing_risks
        table = options.table.drop(columns=["sample_id"])
        options_rows = _rows(table)
        g = table.set_index("regimen")
        recommended = choose_regimen(g[column(SURVIVAL, options.horizons[-1])].to_dict(), g["evidence"].to_dict(), treatments,
                                     baseline=baseline_name, thresholds=options.thresholds)
        patient_risk = float(options.risk.iloc[0])
        risk = {"regimen": current, "risk": patient_risk, "recommended": recommended, **_guidance(options),
                "percentile": float(100.0 * np.mean(cohort_risks < patient_risk)),
                "cohort_risks": [float(v) for v in cohort_risks]}
        for h in options.horizons:
            for bound in BOUNDS:
                risk[column(SURVIVAL, h, bound)] = float(g.at[current, column(SURVIVAL, h, bound)])
        thin = [r for r in names if g.at[r, "evidence"] != "ok"]
        if thin:
            warnings.append("Not enough comparable patients received: "
                            f"{', '.join(regimen_label(r) for r in thin)} (no benefit reading for them).")
        say(N_("survival curves and explanations"))
        curves = _curves(bundle.model, frame.X.astype(np.float64), names, treatments)
        endpoint = bundle.card.endpoint
        explanations = _explanations(bundle, evidence, frame.X.astype(np.float64), names, baseline_name, current,
                                     endpoint)
    except ModelError as exc:
        warnings.append(f"Survival and options not available: {exc}")
    predict = _predict(patient, spec, treatments)
    filled = list(frame.filled.get(frame.sample_ids[0], ()))
    if filled:
        warnings.append(f"Filled from the cohort (missing in the record): {', '.join(field_label(f) for f in filled)}.")
    return PatientAnalysis(
        patient_id=patient_pseudonym(sample_id=str(patient.obs_names[0]), input_sha256=expression_sha,
                                     record_ref=getattr(upload.record, "patient_ref", None)),
        created=datetime.now(UTC).isoformat(timespec="seconds"), user=user, cohort_id=spec.id,
        cohort_name=spec.display_name, synthetic_cohort=bool(spec.synthetic), model_id=bundle.card.model_id,
        model_kind=bundle.card.model_kind, bundle_sha256=bundle.sha256, endpoint=bundle.card.endpoint,
        horizons=[60.0, 120.0], baseline=baseline_name,
        inputs_sha256={"expression": expression_sha, "records": records_sha},
        caveat=caveat or N_("Research use only. Options, not directives."),
        validation={"errors": list(upload.report.errors), "warnings": list(upload.report.warnings),
                    "facts": {k: str(v) for k, v in upload.report.facts.items()}},
        assumptions={"scale": str(prov.get("scale", "")), "gene_coverage": frame.gene_coverage,
                     "expression_mode": frame.expression_mode, "filled": filled, "competing_risks": competing,
                     "clinical": {k: (None if v is None else str(v)) for k, v in clinical.items()},
                     "regimen": current, "platform": chosen.platform, "platform_reference": chosen.reference,
                     "expression_note": chosen.expression_note,
                     "worthwhile_benefit": {**MIN_WORTHWHILE_BENEFIT, **spec.worthwhile_benefit}},
        variant={k: v for k, v in chosen.to_dict().items()}, predict=predict,
        warnings=list(dict.fromkeys(warnings)), molecular=molecular, embedding=embedding, risk=risk,
        options=options_rows, curves=curves, explanations=explanations, model_card=_model_card(bundle),
    )


# ------------------------------------------------------------------------------------------------------
# What every analysis of a cohort shares (cached per process by dashboard.ui.model_cache)
# ------------------------------------------------------------------------------------------------------
def make_context(spec: CohortSpec, cohort: ad.AnnData, bundle: Bundle, *, with_map: bool = True,
                 progress: Progress | None = None) -> AnalysisContext:
    """Fit what every analysis of this cohort shares: evidence model, cohort risks, the reference map."""
    say = progress or (lambda _msg: None)
    say("fitting the evidence model (who received what, among comparable patients)")
    evidence, risks = _evidence_and_risks(bundle, cohort, same_cohort=bundle.card.cohort_id == spec.id)
    reference = embedding = None
    if with_map:
        try:
            say("building the cohort map (first time per cohort: about a minute)")
            pre = preprocessed_cohort(spec.id)
            reference = ReferenceModel.from_preprocessed(pre)
            coords = pre.obsm["X_umap"] if "X_umap" in pre.obsm else pre.obsm["X_pca"][:, :2]
            label = (pre.obs[spec.subtype_col].astype(str) if spec.subtype_col and spec.subtype_col in pre.obs
                     else pd.Series("cohort", index=pre.obs_names))
            embedding = pd.DataFrame({"id": pre.obs_names.astype(str), "x": coords[:, 0], "y": coords[:, 1],
                                      "label": label.to_numpy()})
        except (InputError, KeyError, ValueError) as exc:
            say(f"no cohort map: {exc}")
    return AnalysisContext(spec=spec, cohort=cohort, bundle=bundle, evidence=evidence, cohort_risks=risks,
                           reference=reference, embedding=embedding)


def _evidence_and_risks(bundle: Bundle, cohort: ad.AnnData, *, same_cohort: bool) -> tuple[RegimenEvidence, np.ndarray]:
    """The evidence model (fitted on the bundle's training patients) and every cohort patient's risk."""
    train_ids = set(map(str, cohort.obs_names)) - set(bundle.card.test_patient_ids)
    training = cohort[[str(i) in train_ids for i in cohort.obs_names]].copy() if same_cohort else cohort
    evidence = RegimenEvidence().fit(bundle.features, training)
    X = bundle.features.transform(cohort, require_coverage=False).X
    return evidence, np.asarray(bundle.model.predict_risk(X), dtype=np.float64)


def cohort_patient_upload(spec: CohortSpec, cohort: ad.AnnData, patient_id: str) -> UploadResult:
    """A cohort patient as if uploaded: expression plus clinical record, validated the usual way."""
    row = cohort[[str(i) == patient_id for i in cohort.obs_names]]
    table = row.to_df()
    for f in spec.clinical:
        if f.name in row.obs.columns:
            table[f.name] = row.obs[f.name].to_numpy()
    for t in spec.treatments:
        table[t] = row.obs[t].to_numpy()
    buffer = io.StringIO()
    table.to_csv(buffer, index_label="patient_id")
    return check_upload(buffer.getvalue().encode(), name=f"{patient_id}.csv", spec=spec,
                        reference_genes=list(cohort.var_names))
