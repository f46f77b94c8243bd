"""Streamlit widgets reused across pages: the validation report, the clinical form, a model card."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.text import field_label, plain
from genomics.export import to_safe_csv
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



def download_csv(label: str, frame: pd.DataFrame, name: str, key: str, *, cohort_id: str, index: bool = False) -> None:
    """A CSV download button (formula-safe) named ``<cohort>-<name>.csv``."""
    st.download_button(label, to_safe_csv(frame, index=index), file_name=f"{cohort_id}-{name}.csv", mime="text/csv",
                       key=key, icon=":material/download:")


def chart(fig: Any, name: str, *, cohort_id: str) -> None:
    """A plotly chart whose toolbar camera button saves a PNG named after the cohort and chart."""
    st.plotly_chart(fig, width="stretch", config={"toImageButtonOptions": {"format": "png", "scale": 2,
                                                                            "filename": f"{cohort_id}-{name}"}})
