"""Validate an uploaded expression profile (and optional clinical record) into a report.

:func:`validate_expression` judges an AnnData read by :mod:`genomics.io`; :func:`check_upload`
is the one entry point for pages and the CLI: bytes in, ``(AnnData | None, ValidationReport)``
out, never an exception for bad input.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from genomics.coverage import COVERAGE_FLOOR, MIN_RECOGNISED_GENES, coverage_floor, gene_coverage
from genomics.deadline import Deadline
from genomics.errors import InputError
from genomics.io import Orientation, read_expression
from genomics.records import check_record, read_records
from genomics.scale import SCALE_LABELS, detect_scale
from genomics.sniff import safe_text
from genomics.spec import PROVENANCE_KEY, CohortSpec

MIN_RECOGNISED_FRACTION = 0.5
MAX_MOUSE_FRACTION = 0.5


@dataclass(frozen=True)
class ValidationReport:
    """What validation found: ``errors`` block analysis, ``warnings`` are shown, ``facts`` describe the input.

    ``needs_confirmation``: the upload is below the coverage floor (:data:`genomics.coverage.COVERAGE_FLOOR`):
    the page analyses it only after an explicit confirmation, showing ``confirmation`` (a plain sentence).
    """

    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)
    needs_confirmation: bool = False
    confirmation: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        """Plain-text lines: one per problem, then the facts."""
        out = [f"ERROR: {e}" for e in self.errors] + [f"WARNING: {w}" for w in self.warnings]
        out += [f"{k}: {v}" for k, v in self.facts.items()]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "errors": list(self.errors), "warnings": list(self.warnings), "facts": self.facts,
                "needs_confirmation": self.needs_confirmation, "confirmation": self.confirmation}


@dataclass(frozen=True)
class UploadResult:
    """A validated upload: the AnnData (None when unreadable), its report and the clinical record."""

    adata: ad.AnnData | None
    report: ValidationReport
    record: Any = None  # genomics.records.ClinicalRecord when a records file was given

    @property
    def needs_confirmation(self) -> bool:
        """Below the coverage floor: analyse only after the user confirms (``report.confirmation`` says why)."""
        return self.report.needs_confirmation


def validate_expression(
    adata: ad.AnnData,
    *,
    spec: CohortSpec | None = None,
    reference_genes: list[str] | None = None,
    deadline: Deadline | None = None,
) -> ValidationReport:
    """Judge an expression AnnData read by :func:`genomics.io.read_expression`.

    ``reference_genes`` (the reference cohort's genes) adds a coverage fact; below the coverage floor
    (:data:`genomics.coverage.COVERAGE_FLOOR`: half of those genes) a warning and ``needs_confirmation``.
    Records the detected scale and coverage in ``adata.uns["oncotx"]`` (the only writes). ``deadline``
    (optional) is checked per sample; past it, :class:`InputError`.
    """
    prov = adata.uns.get(PROVENANCE_KEY, {})
    errors: list[str] = []
    warnings: list[str] = []
    X = np.asarray(adata.X, dtype=float)
    n_in = int(prov.get("n_input_ids", adata.n_vars))
    n_genes = adata.n_vars
    mouse = int(prov.get("mouse_like_ids", 0))
    mangled: dict[str, str] = prov.get("excel_mangled", {})

    if n_in and mouse / n_in > MAX_MOUSE_FRACTION:
        errors.append(
            f"{mouse} of {n_in} identifiers look like mouse gene symbols (e.g. 'Esr1'); "
            "OncoTx needs human genes."
        )
    n_mapped = int(prov.get("n_mapped_ids", n_genes))
    if n_genes < MIN_RECOGNISED_GENES or (n_in and n_mapped / n_in < MIN_RECOGNISED_FRACTION):
        errors.append(
            f"Only {n_genes} of {n_in} gene identifiers were recognised as human genes; "
            f"at least {MIN_RECOGNISED_GENES} and half of them are needed."
        )
    if mangled:
        shown = ", ".join(f"{safe_text(k)} (likely {v})" for k, v in list(mangled.items())[:5])
        warnings.append(f"{len(mangled)} identifier(s) were turned into dates by Excel and were not mapped: {shown}.")
    if prov.get("n_unmapped_ids"):
        shown = ", ".join(map(safe_text, prov.get("unmapped_ids", [])[:5]))
        warnings.append(f"{prov['n_unmapped_ids']} identifier(s) not recognised and left out: {shown}.")
    if prov.get("renamed"):
        shown = ", ".join(f"{safe_text(k)}→{v}" for k, v in list(prov["renamed"].items())[:5])
        warnings.append(f"{len(prov['renamed'])} old or alias symbol(s) renamed: {shown}.")
    if prov.get("duplicates"):
        dup = prov["duplicates"]
        warnings.append(f"{dup['n_duplicate_ids']} duplicate identifier(s) for the same gene: {dup['rule']}.")
    if prov.get("id_type") == "mixed":
        warnings.append(f"Mixed identifier types: {prov.get('id_type_counts')}.")
    if prov.get("dropped_columns"):
        warnings.append(f"Non-numeric column(s) ignored: {', '.join(map(safe_text, prov['dropped_columns'][:5]))}.")
    warnings += [f"Converted: {c}." for c in prov.get("conversions", [])]
    if not prov.get("gene_map_available", True):
        warnings.append("Gene identifiers other than gene symbols cannot be read on this server: its "
                        "gene-identifier table is not installed (ask the administrator). Gene symbols were used as "
                        "given.")

    scale, reason = detect_scale(X) if X.size else ("log", "empty")
    finite = np.isfinite(X)
    n_nan, n_inf = int(np.isnan(X).sum()), int(np.isinf(X).sum())
    if scale == "counts":
        neg = np.argwhere(X < 0)
        if len(neg):
            where = ", ".join(f"{adata.var_names[j]} in {safe_text(adata.obs_names[i])}" for i, j in neg[:3])
            errors.append(f"Counts cannot be negative: {len(neg)} negative value(s), e.g. {where}.")
        if n_nan or n_inf:
            bad = np.argwhere(~finite)
            where = ", ".join(f"{adata.var_names[j]} in {safe_text(adata.obs_names[i])}" for i, j in bad[:3])
            errors.append(f"Counts with {n_nan} missing and {n_inf} infinite value(s), e.g. {where}.")
    elif n_nan or n_inf:
        warnings.append(
            f"{n_nan} missing and {n_inf} infinite value(s) ({(n_nan + n_inf) / max(X.size, 1):.1%}); "
            "they are treated as missing, never as zero."
        )
    for i, sample in enumerate(adata.obs_names):
        if deadline is not None:
            deadline.tick()
        row = X[i][finite[i]]
        if row.size == 0 or np.all(row == 0):
            errors.append(f"Sample {safe_text(sample)}: the profile is empty or all zero.")
        elif np.ptp(row) == 0:
            errors.append(f"Sample {safe_text(sample)}: the profile is constant (every gene has the same value).")

    facts = {
        "samples": adata.n_obs,
        "genes recognised": n_genes,
        "identifiers in file": n_in,
        "identifier type": prov.get("id_type", "unknown"),
        "orientation": prov.get("orientation", "").replace("_", " "),
        "scale": f"{scale} — {SCALE_LABELS[scale]}; {reason}",
        "format": prov.get("format", ""),
        "source sha256": prov.get("source_sha256", ""),
    }
    if spec is not None:
        facts["clinical fields in file"] = len([c for c in adata.obs.columns if spec.clinical_field(c)])
    floor = None
    if reference_genes is not None and spec is not None:
        coverage = gene_coverage(adata, reference_genes, use=f"{spec.display_name} genes", min_fraction=0.5)
        facts["reference gene coverage"] = coverage.describe()
        facts["coverage floor"] = COVERAGE_FLOOR
        floor = coverage_floor(coverage, recognised=n_genes)
        if floor.needs_confirmation:
            warnings.append(floor.sentence)
        if PROVENANCE_KEY in adata.uns:
            adata.uns[PROVENANCE_KEY]["reference_coverage"] = {"use": coverage.use, "present": coverage.present,
                                                               "needed": coverage.needed}
    if PROVENANCE_KEY in adata.uns:
        adata.uns[PROVENANCE_KEY]["scale"] = scale
        adata.uns[PROVENANCE_KEY]["scale_reason"] = reason
    confirm = floor is not None and floor.needs_confirmation and not errors
    return ValidationReport(errors=tuple(errors), warnings=tuple(warnings), facts=facts, needs_confirmation=confirm,
                            confirmation=floor.sentence if confirm else "")


def check_upload(
    expression: Any,
    *,
    name: str | None = None,
    records: Any = None,
    records_name: str | None = None,
    orientation: Orientation = "auto",
    spec: CohortSpec | None = None,
    reference_genes: list[str] | None = None,
    deadline: Deadline | float | None = None,
) -> UploadResult:
    """Read and validate an expression upload and an optional clinical record. Never raises InputError.

    ``deadline``: one wall-clock budget for reading and validating both files (a
    :class:`~genomics.deadline.Deadline`, seconds, or ``None`` for ``ONCOTX_PARSE_SECONDS``, default 60 s).
    Past it the upload is refused with a plain error and nothing is returned.
    """
    dl = Deadline.of(deadline)
    if expression is None:
        if records is None:
            return UploadResult(None, ValidationReport(errors=("Upload an expression profile, a clinical record, "
                                                               "or both.",)))
        return _record_only(records, records_name=records_name, spec=spec, deadline=dl)
    try:
        adata = read_expression(expression, name=name, orientation=orientation, deadline=dl)
        report = validate_expression(adata, spec=spec, reference_genes=reference_genes, deadline=dl)
    except InputError as exc:
        return UploadResult(None, ValidationReport(errors=exc.problems if len(exc.problems) > 1 else (exc.message,)))
    record = None
    if records is not None:
        record, report = _merge_records(adata, report, records, records_name=records_name, spec=spec, deadline=dl)
    return UploadResult(adata, report, record)


RECORD_ONLY = ("No expression profile: the estimates come from the clinical fields alone (the clinical-only "
               "model); no subtype, recurrence score or gene-level explanation.")


def _record_only(records: Any, *, records_name: str | None, spec: CohortSpec | None,
                 deadline: Deadline | None) -> UploadResult:
    """A clinical record without expression: one patient with no genes, validated like any upload."""
    empty = ad.AnnData(X=np.zeros((1, 0), dtype=np.float32), obs=pd.DataFrame(index=pd.Index(["patient"])),
                       var=pd.DataFrame(index=pd.Index([], dtype=str)))
    empty.uns[PROVENANCE_KEY] = {"scale": "none", "record_only": True, "transformations": [], "n_genes": 0}
    report = ValidationReport(warnings=(RECORD_ONLY,), facts={"expression": "none (clinical record only)"})
    record, report = _merge_records(empty, report, records, records_name=records_name, spec=spec, deadline=deadline)
    if record is not None:
        empty.uns[PROVENANCE_KEY]["source_sha256"] = str(record.facts.get("sha256", ""))
    return UploadResult(empty, report, record)


def _merge_records(
    adata: ad.AnnData,
    report: ValidationReport,
    records: Any,
    *,
    records_name: str | None,
    spec: CohortSpec | None,
    deadline: Deadline | None = None,
) -> tuple[Any, ValidationReport]:
    try:
        record = read_records(records, name=records_name, spec=spec, deadline=deadline)
    except InputError as exc:
        return None, _extend(report, errors=[f"Clinical record: {exc.message}"])
    rec_errors, rec_warnings = check_record(record, spec=spec)
    warnings = [*rec_warnings, *record.warnings]
    if record.unknown:
        warnings.append(f"Clinical record fields not used: {', '.join(record.unknown[:10])}.")
    if adata.n_obs == 1:
        for key, value in record.values.items():
            adata.obs[key] = pd.Series([value], index=adata.obs_names)
    else:
        warnings.append("A clinical record applies to a single-sample upload; it was not attached to the samples.")
    facts = {"clinical record format": record.facts.get("format", ""), "clinical fields mapped": len(record.values)}
    return record, _extend(report, errors=[f"Clinical record: {e}" for e in rec_errors], warnings=warnings, facts=facts)


def _extend(
    report: ValidationReport, *, errors: Sequence[str] = (), warnings: Sequence[str] = (), facts: dict | None = None
) -> ValidationReport:
    return replace(report, errors=report.errors + tuple(errors), warnings=report.warnings + tuple(warnings),
                   facts={**report.facts, **(facts or {})})


def with_clinical(adata: ad.AnnData, values: dict[str, Any]) -> ad.AnnData:
    """A copy of a single-sample upload with clinical/treatment values set in ``obs`` (None → missing)."""
    out = adata.copy()
    for key, value in values.items():
        out.obs[key] = pd.Series([np.nan if value is None else value], index=out.obs_names, dtype=object)
    return out
