"""Streamlit widgets reused across pages: the validation report, the clinical form (and the plain words for what
the model fills in), a model card."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.i18n import N_, tr, translate_error
from dashboard.text import UNIT_WORDS, category_label, fact_label, field_label, plain
from genomics.demo.examples import EXAMPLES_DIR
from genomics.export import to_safe_csv
from genomics.spec import CohortSpec
from genomics.validate import UploadResult, ValidationReport, with_clinical

EXAMPLE_KINDS = {"rnaseq": N_("RNA-seq profile"), "array": N_("Microarray profile")}
MIME = {".tsv": "text/tab-separated-values", ".csv": "text/csv", ".json": "application/json", ".md": "text/markdown"}


def show_report(report: ValidationReport) -> None:
    """The validation report in plain words: verdict, problems, warnings, then the facts."""
    if report.ok:
        st.success(tr("Validation passed: the profile can be analysed."), icon=":material/check_circle:")
    else:
        problems = "\n".join(f"- {plain(translate_error(problem))}" for problem in report.errors)
        st.error(tr("**Validation failed: {count} problem(s). Nothing was analysed.**", count=len(report.errors))
                 + f"\n\n{problems}",
                 icon=":material/block:")
    if report.warnings:
        with st.expander(tr("{count} warning(s)", count=len(report.warnings)), expanded=not report.ok):
            for warning in report.warnings:
                st.markdown(f"- {plain(translate_error(warning))}")
    if report.facts:
        facts = pd.DataFrame({tr("fact"): [fact_label(k) for k in report.facts],
                              tr("value"): [str(v) for v in report.facts.values()]})
        with st.expander(tr("What was read from the file"), expanded=not report.ok):
            st.table(facts, hide_index=True)  # a table wraps long values (a data grid would cut them)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def clinical_form(spec: CohortSpec, *, known: dict[str, Any]) -> dict[str, Any]:
    """Inputs for the spec's clinical fields, pre-filled from ``known``; returns the values entered."""
    values: dict[str, Any] = {}
    columns = st.columns(3)
    for i, field in enumerate(spec.clinical):
        value = known.get(field.name)
        with columns[i % 3]:
            unit = tr(UNIT_WORDS[field.unit]) if field.unit in UNIT_WORDS else field.unit
            label = tr(field_label(field.name)) + (f" ({unit})" if field.unit else "")
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
                choice = st.selectbox(label, options, index=index, key=f"clin_{field.name}",
                                      format_func=category_label)
                values[field.name] = None if choice == "unknown" else choice
    return values


def example_downloads(folder=EXAMPLES_DIR) -> None:
    """Download buttons for the synthetic example files shipped in ``folder`` (nothing when there are none)."""
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in MIME)
    except OSError:
        return
    profiles = [p for p in files if p.name.startswith("example-") and not p.stem.endswith("-record")
                and p.suffix != ".md"]
    if not profiles:
        return
    with st.expander(tr("Example files to download (synthetic)"), icon=":material/download:"):
        st.caption(tr("Synthetic patients, no real data: download a profile and its clinical record (a FHIR R4 "
                      "Bundle), then upload them here to see the whole flow with your own files."))
        for profile in profiles:
            kind = tr(next((w for k, w in EXAMPLE_KINDS.items() if k in profile.stem), N_("Expression profile")))
            record = profile.with_name(f"{profile.stem}-record.json")
            cols = st.columns(2)
            cols[0].download_button(f"{kind} ({profile.name})", profile.read_bytes(), file_name=profile.name,
                                    mime=MIME[profile.suffix], key=f"example_file_{profile.stem}",
                                    icon=":material/download:", on_click="ignore")
            if record.is_file():
                cols[1].download_button(tr("Its clinical record ({name})", name=record.name), record.read_bytes(),
                                        file_name=record.name, mime=MIME[".json"], key=f"example_file_{record.stem}",
                                        icon=":material/download:", on_click="ignore")
        readme = folder / "README.md"
        if readme.is_file():
            st.download_button(tr("About these files (README)"), readme.read_bytes(), file_name="README.md",
                               mime=MIME[".md"], key="example_file_readme", on_click="ignore")


def model_plan(spec: CohortSpec, upload: UploadResult, values: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """Which model variant will answer this upload with these clinical values (nothing is fitted), and the
    answering bundle's feature builder: (plan of :func:`models.variants.plan_for_upload`, features)."""
    from dashboard.ui.model_cache import treatment_bundle  # lazy: start-up cost (models stack)
    from models.variants import plan_for_upload  # lazy: start-up cost (models stack)

    bundle = treatment_bundle(spec)
    given = {k: v for k, v in values.items() if not _is_missing(v)}
    patient = with_clinical(upload.adata[:1].copy(), given) if given else upload.adata[:1]
    return plan_for_upload(bundle, patient), bundle.features


def _number(value: float, unit: str | None) -> str:
    text = f"{value:.0f}" if unit in ("nodes", "mm", "years") or float(value).is_integer() else f"{value:.1f}"
    return f"{text} {unit}" if unit else text


def filled_lines(spec: CohortSpec, values: dict[str, Any], *, numeric: dict[str, float],
                 categorical: dict[str, Any], variant: str) -> list[str]:
    """What happens to each clinical field left blank, in plain words (one line per blank field).

    ``numeric`` / ``categorical``: the answering model's clinical inputs (numeric: field → the training cohort's
    median it fills in; categorical: field → its levels; an unknown value is its own input there). ``variant``:
    ``full`` fills as above; a companion or clinical-only model is fitted without the blank fields."""
    lines = []
    for f in spec.clinical:
        if not _is_missing(values.get(f.name)):
            continue
        name = tr(field_label(f.name))
        if f.name not in numeric and f.name not in categorical:
            lines.append(tr("{name}: not used by the model", name=name))
        elif variant != "full":
            lines.append(tr("{name}: left out (the model that answers is fitted without it)", name=name))
        elif f.name in numeric:
            lines.append(tr("{name}: cohort median {value}", name=name, value=_number(numeric[f.name], f.unit)))
        else:
            lines.append(tr("{name}: counted as unknown (the model has an input for an unknown value)", name=name))
    return lines


METRIC_LABELS = {
    "harrell_c": N_("Harrell's C (discrimination)"),
    "uno_c": N_("Uno's C (censoring-weighted)"),
    "td_auc_60": N_("Time-dependent AUC at 5 years"),
    "td_auc_120": N_("Time-dependent AUC at 10 years"),
    "ibs": N_("Integrated Brier score (lower is better)"),
    "calibration_slope": N_("Calibration slope at 10 years (ideal 1)"),
    "calibration_intercept": N_("Calibration intercept at 10 years (ideal 0)"),
    "calibration_in_the_large": N_("Mean predicted minus observed survival at 10 years"),
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
    st.markdown(tr("**{kind} model** on {cohort} · {endpoint} ({description})", kind=plain(card.model_kind),
                   cohort=plain(card.cohort_name), endpoint=plain(card.endpoint),
                   description=plain(card.endpoint_description)))
    cols = st.columns(4)
    cols[0].metric(tr("Training patients"), f"{card.n_train:,}", help=tr("{count} events", count=card.events_train))
    cols[1].metric(tr("Held-back patients"), f"{card.n_test:,}", help=tr("{count} events", count=card.events_test))
    cols[2].metric(tr("Features"), card.n_features, help=", ".join(f"{k}: {v}" for k, v in card.feature_groups.items()))
    cols[3].metric(tr("Device"), card.device)
    rows = [(tr(METRIC_LABELS[name]) if name in METRIC_LABELS else name.replace("_", " "), text)
            for name, value in card.metrics.items() if (text := _format_metric(value)) is not None]
    if rows:
        st.dataframe(pd.DataFrame(rows, columns=[tr("held-back metric"), tr("value [95% interval]")]), hide_index=True)
    st.caption(tr("{use} Created {when}; model id {model}.", use=plain(card.intended_use), when=plain(card.created),
                  model=plain(card.model_id)))
    for limit in card.limits:
        st.caption(tr("Limit: {text}", text=plain(limit)))



def download_csv(label: str, frame: pd.DataFrame, name: str, key: str, *, cohort_id: str, index: bool = False) -> None:
    """A CSV download button (formula-safe) named ``<cohort>-<name>.csv``."""
    st.download_button(label, to_safe_csv(frame, index=index), file_name=f"{cohort_id}-{name}.csv", mime="text/csv",
                       key=key, icon=":material/download:")


def chart(fig: Any, name: str, *, cohort_id: str) -> None:
    """A plotly chart whose toolbar camera button saves a PNG named after the cohort and chart."""
    st.plotly_chart(fig, width="stretch", config={"toImageButtonOptions": {"format": "png", "scale": 2,
                                                                            "filename": f"{cohort_id}-{name}"}})
