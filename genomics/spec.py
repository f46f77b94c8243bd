"""CohortSpec: what a cohort declares about itself (schema, endpoints, treatments, licence).

Nothing downstream hard-codes a disease: models and pages read outcome, treatment and clinical
columns from the spec. A spec round-trips through JSON (the ``<file>.spec.json`` sidecar). A loaded
cohort keeps its spec and provenance in ``uns[PROVENANCE_KEY]`` (read back with :func:`spec_of`).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from genomics.errors import InputError

if TYPE_CHECKING:
    import anndata as ad

FieldKind = Literal["numeric", "ordinal", "categorical", "binary"]
Scale = Literal["counts", "tpm", "log", "zscore"]
#: The ``uns`` key of a loaded cohort or upload that holds its provenance (and, for a cohort, its spec).
PROVENANCE_KEY = "oncotx"


@dataclass(frozen=True)
class Endpoint:
    """One outcome: a time column and an event column (1 = event, 0 = censored)."""

    name: str
    time_col: str
    event_col: str
    unit: Literal["days", "months", "years"] = "months"
    description: str = ""


@dataclass(frozen=True)
class ClinicalField:
    """One clinical feature column with its type (and unit or categories)."""

    name: str
    kind: FieldKind = "numeric"
    unit: str = ""
    categories: tuple[str, ...] = ()
    description: str = ""
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class CohortSpec:
    """A cohort's schema and provenance.

    Times of every endpoint are stored in the loaded AnnData in **months**, whatever the source
    unit (``Endpoint.unit`` records the unit of the source file).
    """

    id: str
    name: str
    licence: str
    attribution: str
    platform: str
    scale: Scale = "log"
    endpoints: tuple[Endpoint, ...] = ()
    treatments: tuple[str, ...] = ()
    clinical: tuple[ClinicalField, ...] = ()
    batch_col: str | None = None
    subtype_col: str | None = None
    patient_id_col: str = "patient_id"
    synthetic: bool = False
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: Minimum worthwhile benefit per treatment (absolute survival, e.g. {"chemotherapy": 0.03}) where this
    #: cohort's discussion differs from models.treatment.MIN_WORTHWHILE_BENEFIT; empty = those defaults.
    worthwhile_benefit: dict[str, float] = field(default_factory=dict)

    def endpoint(self, name: str) -> Endpoint:
        for ep in self.endpoints:
            if ep.name.lower() == name.lower():
                return ep
        known = ", ".join(ep.name for ep in self.endpoints) or "none"
        raise InputError(f"Cohort {self.id!r} has no endpoint {name!r} (it has: {known}).")

    def clinical_field(self, name: str) -> ClinicalField | None:
        return next((f for f in self.clinical if f.name == name), None)

    @property
    def display_name(self) -> str:
        return f"{self.name} (SYNTHETIC)" if self.synthetic else self.name

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CohortSpec:
        """Build a spec from parsed JSON, with a clear error for each missing or bad key."""
        if not isinstance(raw, dict):
            raise InputError("A cohort spec must be a JSON object.")
        missing = [k for k in ("id", "name", "licence", "attribution", "platform") if not raw.get(k)]
        if missing:
            raise InputError(f"Cohort spec is missing: {', '.join(missing)}.")
        try:
            endpoints = tuple(Endpoint(**ep) for ep in raw.get("endpoints", []))
            clinical = tuple(
                ClinicalField(**{**f, "categories": tuple(f.get("categories", ()))})
                for f in raw.get("clinical", [])
            )
        except TypeError as exc:
            raise InputError(f"Cohort spec has an unknown or missing key: {exc}.") from None
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InputError(f"Cohort spec has unknown keys: {', '.join(unknown)}.")
        scale = raw.get("scale", "log")
        if scale not in ("counts", "tpm", "log", "zscore"):
            raise InputError(f"Cohort spec scale must be counts, tpm, log or zscore, not {scale!r}.")
        return cls(
            **{
                **raw,
                "endpoints": endpoints,
                "clinical": clinical,
                "treatments": tuple(raw.get("treatments", ())),
                "worthwhile_benefit": _worthwhile(raw.get("worthwhile_benefit") or {}),
            }
        )

    @classmethod
    def from_json_file(cls, path: Path) -> CohortSpec:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"Cannot read cohort spec {Path(path).name}: {exc}.") from None
        return cls.from_dict(raw)


def _worthwhile(raw: Any) -> dict[str, float]:
    """The spec's minimum worthwhile benefit per treatment: a JSON object of fractions between 0 and 1."""
    if not isinstance(raw, dict):
        raise InputError("Cohort spec worthwhile_benefit must be an object: treatment -> minimum benefit (0 to 1).")
    out: dict[str, float] = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
            raise InputError(f"Cohort spec worthwhile_benefit for {name!r} must be a number from 0 to 1, not {value!r}.")
        out[str(name)] = float(value)
    return out


#: Treatment columns of the breast cohorts (METABRIC order), the demo cohort and clinical records.
BREAST_TREATMENTS: tuple[str, ...] = ("chemotherapy", "hormone_therapy", "radio_therapy")

# Canonical clinical field names shared by the breast cohorts, the demo cohort and clinical records.
BREAST_CLINICAL = (
    ClinicalField("age_at_diagnosis", "numeric", "years", min_value=0, max_value=120),
    ClinicalField("tumor_size_mm", "numeric", "mm", min_value=0, max_value=500),
    ClinicalField("grade", "ordinal", categories=("1", "2", "3"), min_value=1, max_value=3),
    ClinicalField("lymph_nodes_positive", "numeric", "nodes", min_value=0, max_value=100),
    ClinicalField("er_status", "categorical", categories=("Positive", "Negative")),
    ClinicalField("pr_status", "categorical", categories=("Positive", "Negative")),
    ClinicalField("her2_status", "categorical", categories=("Positive", "Negative")),
    ClinicalField("menopausal_state", "categorical", categories=("Pre", "Post")),
)


def spec_of(adata: ad.AnnData) -> CohortSpec:
    """The CohortSpec stored in a loaded cohort."""
    raw = adata.uns.get(PROVENANCE_KEY, {}).get("spec")
    if raw is None:
        raise InputError("This AnnData carries no cohort spec (uns['oncotx']['spec']).")
    return CohortSpec.from_dict(json.loads(raw) if isinstance(raw, str) else dict(raw))
