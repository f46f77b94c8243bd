"""Streamlit views reused across pages (the validation report, the clinical form)."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.text import field_label, plain
from genomics.spec import CohortSpec
from genomics.validate import ValidationReport


def show_report(report: ValidationReport) -> None:
    """The validation report in plain words: verdict, problems, warnings, then the facts."""
    if report.ok:
        st.success("Validation passed: the profile can be analysed.", icon=":material/check_circle:")
    else:
        problems = "\n".join(f"- {plain(problem)}" for problem in report.errors)
        st.error(f"**Validation failed: {len(report.errors)} problem(s). Nothing was analysed.**\n\n{problems}",
                 icon=":material/block:")
    if report.warnings:
        with st.expander(f"{len(report.warnings)} warning(s)", expanded=not report.ok):
            for warning in report.warnings:
                st.markdown(f"- {plain(warning)}")
    if report.facts:
        facts = pd.DataFrame({"fact": list(report.facts), "value": [str(v) for v in report.facts.values()]})
        st.dataframe(facts, hide_index=True, width="stretch")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def clinical_form(spec: CohortSpec, *, known: dict[str, Any]) -> dict[str, Any]:
    """Inputs for the spec's clinical fields, pre-filled from ``known``; returns the values entered."""
    values: dict[str, Any] = {}
    columns = st.columns(3)
    for i, field in enumerate(spec.clinical):
        value = known.get(field.name)
        with columns[i % 3]:
            label = field_label(field.name) + (f" ({field.unit})" if field.unit else "")
            if field.kind == "numeric":
                values[field.name] = st.number_input(
                    label,
                    min_value=None if field.min_value is None else float(field.min_value),
                    max_value=None if field.max_value is None else float(field.max_value),
                    value=None if _is_missing(value) else float(value), key=f"clin_{field.name}",
                    step=1.0 if field.unit in ("nodes", "mm", "years") else 0.1,
                    format="%.0f" if field.unit == "nodes" else "%.1f",
                )
            else:
                options = ["unknown", *field.categories]
                current = "unknown" if _is_missing(value) else str(value).removesuffix(".0")
                index = options.index(current) if current in options else 0
                choice = st.selectbox(label, options, index=index, key=f"clin_{field.name}")
                values[field.name] = None if choice == "unknown" else choice
    missing = [k for k, v in values.items() if v is None]
    if missing:
        names = ", ".join(field_label(k) for k in missing)
        st.caption(f"Missing: {plain(names)}. Nothing is assumed: models will say which fields they need.")
    return values


METRIC_LABELS = {
    "harrell_c": "Harrell's C (discrimination)",
    "uno_c": "Uno's C (censoring-weighted)",
    "td_auc_60": "Time-dependent AUC at 5 years",
    "td_auc_120": "Time-dependent AUC at 10 years",
    "ibs": "Integrated Brier score (lower is better)",
    "calibration_slope": "Calibration slope at 10 years (ideal 1)",
    "calibration_intercept": "Calibration intercept at 10 years (ideal 0)",
    "calibration_in_the_large": "Mean predicted minus observed survival at 10 years",
}


def _format_metric(value: Any) -> str | None:
    if isinstance(value, dict) and "value" in value:
        point = value["value"]
        if value.get("lo") is not None and value.get("hi") is not None:
            return f"{point:.3f} [{value['lo']:.3f}, {value['hi']:.3f}]"
        return f"{point:.3f}"
    if isinstance(value, int | float):
        return f"{value:.3f}"
    return None


def show_model_card(card: Any) -> None:
    """A model card in plain words: data, size, held-back performance with intervals, use and limits."""
    st.markdown(f"**{plain(card.model_kind)} model** on {plain(card.cohort_name)} · {plain(card.endpoint)} "
                f"({plain(card.endpoint_description)})")
    cols = st.columns(4)
    cols[0].metric("Training patients", f"{card.n_train:,}", help=f"{card.events_train} events")
    cols[1].metric("Held-back patients", f"{card.n_test:,}", help=f"{card.events_test} events")
    cols[2].metric("Features", card.n_features, help=", ".join(f"{k}: {v}" for k, v in card.feature_groups.items()))
    cols[3].metric("Device", card.device)
    rows = [(METRIC_LABELS.get(name, name.replace("_", " ")), text) for name, value in card.metrics.items()
            if (text := _format_metric(value)) is not None]
    if rows:
        st.dataframe(pd.DataFrame(rows, columns=["held-back metric", "value [95% interval]"]), hide_index=True)
    st.caption(f"{plain(card.intended_use)} Created {plain(card.created)}; model id {plain(card.model_id)}.")
    for limit in card.limits:
        st.caption(f"Limit: {plain(limit)}")


def survival_section(spec: CohortSpec, adata: Any, clinical: dict[str, Any]) -> None:
    """Estimated survival at 5 and 10 years with intervals, under the regimen chosen here."""
    from dashboard import model_cache
    from dashboard.text import regimen_label
    from genomics.validate import with_clinical
    from models.errors import ModelError
    from models.predict import estimate_survival

    st.subheader("Estimated survival")
    regimen: dict[str, Any] = {}
    if spec.treatments:
        st.caption("Current or planned treatment (the estimate is for this regimen):")
        cols = st.columns(len(spec.treatments))
        for col, t in zip(cols, spec.treatments, strict=True):
            given = adata.obs[t].iloc[0] if t in adata.obs.columns else 0
            regimen[t] = int(col.checkbox(regimen_label(t), value=bool(not _is_missing(given) and given),
                                          key=f"regimen_{t}"))
    endpoint = st.selectbox("Endpoint", [ep.name for ep in spec.endpoints], key="patient_endpoint",
                            format_func=lambda name: f"{name}: {spec.endpoint(name).description}")
    bundle = model_cache.existing_bundle(spec, endpoint) or model_cache.train_default(spec, endpoint)
    try:
        estimate = estimate_survival(bundle, with_clinical(adata, {**clinical, **regimen}))
    except ModelError as exc:
        st.error(plain(exc.message))
        return
    cols = st.columns(len(estimate.times))
    for col, t, point, lo, hi in zip(cols, estimate.times, estimate.point[0], estimate.lo[0], estimate.hi[0],
                                     strict=True):
        interval = f"{lo:.0%}–{hi:.0%}" if estimate.has_interval else "no interval (single model)"
        col.metric(f"{endpoint} at {t / 12:.0f} years", f"{point:.0%}", help=f"90% interval {interval}")
        col.caption(f"interval {interval}")
    c = bundle.card.metrics.get("harrell_c", {})
    filled = estimate.filled.get(estimate.sample_ids[0], ())
    notes = [f"Model {plain(bundle.card.model_id)} (held-back Harrell C {c.get('value', float('nan')):.2f}).",
             f"Gene coverage {estimate.gene_coverage:.0%} ({plain(estimate.expression_mode)})."]
    if filled:
        notes.append(f"Filled from the cohort (missing here): {plain(', '.join(filled))}.")
    st.caption(" ".join(notes))
    st.caption("An estimate from observational data for research use: treatment associations are confounded by "
               "indication. It informs options; it does not direct treatment.")
