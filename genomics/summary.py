"""One cohort at a glance: size, endpoints with events and follow-up, treatments, clinical fields."""
from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import pandas as pd

from genomics.regimens import regimen_labels
from genomics.spec import CohortSpec, spec_of
from genomics.survival import EndpointSummary, kaplan_meier, median_follow_up, survival_at


@dataclass(frozen=True)
class CohortSummary:
    spec: CohortSpec
    n_patients: int
    n_genes: int
    endpoints: tuple[EndpointSummary, ...]
    treatments: pd.DataFrame  # treatment, patients, share
    regimens: pd.DataFrame  # regimen, patients
    clinical: pd.DataFrame  # field, kind, missing, summary


def summarise_cohort(adata: ad.AnnData) -> CohortSummary:
    spec = spec_of(adata)
    obs = adata.obs
    endpoints = []
    for ep in spec.endpoints:
        km = kaplan_meier(obs[ep.time_col], obs[ep.event_col])
        known = obs[[ep.time_col, ep.event_col]].dropna()
        endpoints.append(
            EndpointSummary(
                name=ep.name,
                description=ep.description,
                n=len(known),
                events=int(known[ep.event_col].sum()),
                median_follow_up_months=median_follow_up(obs[ep.time_col], obs[ep.event_col]),
                survival_5y=survival_at(km, 60),
                survival_10y=survival_at(km, 120),
            )
        )
    n = adata.n_obs
    treatments = pd.DataFrame(
        [(t, int(obs[t].fillna(0).astype(int).sum())) for t in spec.treatments], columns=["treatment", "patients"]
    )
    treatments["share"] = treatments["patients"] / max(n, 1)
    regimens = regimen_labels(obs, spec.treatments).value_counts().rename_axis("regimen").reset_index(name="patients")
    rows = []
    for f in spec.clinical:
        if f.name not in obs.columns:
            continue
        col = obs[f.name]
        if f.kind == "numeric":
            num = pd.to_numeric(col, errors="coerce")
            text = f"median {num.median():.1f} {f.unit} (IQR {num.quantile(.25):.1f}-{num.quantile(.75):.1f})"
        else:
            values = col.dropna()
            if f.kind == "ordinal":  # levels in order, shown as integers
                values = pd.to_numeric(values, errors="coerce").dropna().astype(int)
                counts = values.value_counts().sort_index()
            else:
                counts = values.astype("string").value_counts()
            text = ", ".join(f"{k}: {v}" for k, v in counts.items())
        rows.append((f.name, f.kind, int(col.isna().sum()), text))
    clinical = pd.DataFrame(rows, columns=["field", "kind", "missing", "summary"])
    return CohortSummary(spec, n, adata.n_vars, tuple(endpoints), treatments, regimens, clinical)
