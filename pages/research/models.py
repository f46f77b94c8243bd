"""Model lab: train models in the background, compare them on the same held-back patients, pick the Patient page's.

Thin: jobs from dashboard.modelling.jobs, bundles and the Patient page's choice from dashboard.modelling.bundles and
.preferences, scores from dashboard.modelling.lab (models.evaluate underneath) cached by dashboard.ui.research_cache,
figures from dashboard.modelling.charts. Training runs in a worker thread of the server and its status lives in the
database, so a reload, another tab or another user sees the same job; the job list polls only while a job is active.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.i18n import N_, horizon_label, tr
from dashboard.modelling import bundles, jobs, preferences
from dashboard.modelling.charts import calibration_figure, interval_figure
from dashboard.plotly_style import chart_caption
from dashboard.text import plain
from dashboard.ui import auth, widgets
from dashboard.ui.modifier_view import render_model_modifiers
from dashboard.ui.research_cache import comparison, predict_reference
from dashboard.ui.shell import current_cohort, fragment
from dashboard.ui.widgets import show_model_card
from genomics.errors import InputError
from models import predict_breast
from models.errors import ModelError
from models.registry import ModelCard

KIND_LABELS = {
    "effects": N_("Treatment-effect model (competing risks, bootstrap intervals; the Patient page's options; seconds)"),
    "xgb": N_("xgboost Cox (one tuned model; seconds to a minute)"),
    "ensemble": N_("Ensemble of 10 bootstrap xgboost models (intervals; minutes)"),
    "torch": N_("DeepSurv-style network (torch; minutes)"),
}
HORIZONS = [36.0, 60.0, 120.0, 180.0]
POLL_SECONDS = 2.0


def mtime(path: Path) -> float:
    return (path / "manifest.json").stat().st_mtime


def job_panel(polling: bool) -> None:
    """The cohort's jobs, read from the database (reruns every few seconds while one is active)."""
    listed = jobs.list_jobs(spec.id)
    active = [j for j in listed if j.active]
    if polling and not active:
        st.rerun(scope="app")  # a job just finished: refresh the model lists too
    if not listed:
        st.caption(tr("No training jobs for this cohort yet."))
        return
    st.dataframe(jobs.jobs_frame(listed), hide_index=True, width="stretch")
    for job in active:
        with st.status(f"{job.kind} · {job.endpoint}: {job.status} — {job.last_line}", state="running",
                       expanded=True):
            st.code(job.progress.strip() or tr("queued"), language=None)
    failed = [j for j in listed[:5] if j.status == "failed"]
    for job in failed[:1]:
        st.caption(tr("Job {job} failed: {error}", job=job.id[:8], error=plain(job.error or tr("unknown error"))))
    if active:
        st.caption(tr("Updating every {seconds} s while a job runs; the job keeps running if you leave or reload "
                      "this page.", seconds=f"{POLL_SECONDS:g}"))


spec = current_cohort()
auth.require("models")
csv_button = functools.partial(widgets.download_csv, cohort_id=spec.id)
chart = functools.partial(widgets.chart, cohort_id=spec.id)
st.title(tr("Model lab"))
st.caption(tr("{cohort}: train survival models in the background, compare them on the same held-back patients, and "
              "choose the model the Patient page uses. Models live under ONCOTX_HOME/models.",
              cohort=plain(spec.display_name)))
TAB_NAMES = [N_("Train"), N_("Compare"), N_("Model card"), N_("PREDICT v2.1")]
tabs = dict(zip(TAB_NAMES, st.tabs([tr(n) for n in TAB_NAMES], key="lab_view", bind="query-params"), strict=True))
endpoint_names = [ep.name for ep in spec.endpoints]

if tabs["Train"].open:
    with tabs["Train"]:
        with st.form("lab_train", border=True):
            a, b, c = st.columns([1, 2, 0.8])
            endpoint = a.selectbox(tr("Endpoint"), endpoint_names, key="lab_train_endpoint",
                                   format_func=lambda n: f"{n}: {spec.endpoint(n).description}")
            kind = b.selectbox(tr("Model"), list(KIND_LABELS), format_func=lambda k: tr(KIND_LABELS[k]),
                               key="lab_train_kind")
            seed = c.number_input(tr("Seed"), min_value=0, max_value=10_000, value=0, step=1, key="lab_train_seed")
            submitted = st.form_submit_button(tr("Start training"), type="primary", icon=":material/model_training:")
        if submitted:
            job = jobs.submit(spec.id, cohort_id=spec.id, endpoint=endpoint, kind=kind, seed=int(seed))
            auth.log_action("train", cohort_id=spec.id, subject=job.id, detail=f"{kind} model, endpoint {endpoint}")
            st.success(tr("Job {job} queued: {kind} on {cohort} · {endpoint}. It runs in the background; this page "
                          "shows its progress.", job=job.id[:8], kind=kind, cohort=plain(spec.display_name),
                          endpoint=endpoint))
        st.caption(tr("Each model is fitted on 80% of the patients (split by event, fixed by the seed) and scored on "
                      "the 20% held back. Models with the same seed share the held-back patients, so they compare "
                      "fairly."))
        polling = any(j.active for j in jobs.list_jobs(spec.id))
        fragment(job_panel, run_every=POLL_SECONDS if polling else None)(polling)

if tabs["Compare"].open:
    with tabs["Compare"]:
        a, b, c = st.columns([1.2, 1, 1])
        endpoint = a.selectbox(tr("Endpoint"), endpoint_names, key="lab_endpoint", persist_state="page")
        horizon = b.select_slider(tr("Calibration horizon"), HORIZONS, value=120.0, key="lab_horizon",
                                  format_func=horizon_label)
        n_boot = c.selectbox(tr("Bootstrap resamples"), [100, 200, 500], index=1, key="lab_boot")
        available = bundles.list_bundles(spec.id, endpoint)
        external = bundles.list_bundles(spec.id, endpoint, external=True)
        if not available and not external:
            st.info(tr("No model for {endpoint} on this cohort yet: start one in the Train tab.", endpoint=endpoint))
            st.stop()
        by_label = {info.label: info for info in available}
        by_label |= {f"external ({info.card.get('cohort_name', '?')}) · {info.label}": info for info in external}
        if external:
            st.caption(tr("External models were trained on another cohort and are scored on every patient of this "
                          "one, as they answer an upload from its platform (the full model, a companion on the shared "
                          "genes, or clinical fields only)."))
        chosen = st.multiselect(tr("Models to compare"), list(by_label), default=list(by_label)[:3], key=f"lab_models_{spec.id}",
                                max_selections=6)
        if not chosen:
            st.stop()
        try:
            compared = comparison(
                spec.id, tuple((lab_label, str(by_label[lab_label].path), mtime(by_label[lab_label].path))
                               for lab_label in chosen), float(horizon), int(n_boot), tuple(HORIZONS))
        except (InputError, ModelError) as exc:
            st.error(plain(exc))
            st.stop()
        held, metrics, tables, notes, subgroups = (compared.held, compared.metrics, compared.calibration,
                                                   compared.notes, compared.subgroups)
        first = next(iter(held.values()))
        sizes = {h.n for h in held.values()}
        n_text = "" if len(sizes) == 1 else tr("held-back sets differ by model (different seeds or cohorts): ") + \
            ", ".join(f"n={h.n}" for h in held.values())
        caption = chart_caption(spec.display_name, endpoint=endpoint, n=first.n, events=first.events,
                                extra="; ".join(filter(None, [tr("held-back patients"),
                                                              tr("{count} bootstrap resamples", count=n_boot), n_text])))
        st.subheader(tr("Side by side"))
        table = metrics.assign(text=[f"{v:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if pd.notna(lo) else "")
                                     if pd.notna(v) else "n/a" for v, lo, hi in
                                     zip(metrics["value"], metrics["lo"], metrics["hi"], strict=True)])
        wide = table.pivot(index="label", columns="model", values="text").reindex(table["label"].unique())
        st.dataframe(wide, width="stretch")
        discrimination = metrics[metrics["metric"].isin(["harrell_c", "uno_c", "td_auc_60", "td_auc_120"])]
        chart(interval_figure(discrimination, x="label", y="label", series="model",
                              title=tr("Discrimination with 95% bootstrap intervals"), caption=caption,
                              x_label=tr("C-index / AUC (0.5 = chance)"), value_range=(0.4, 1.0), reference=0.5),
              f"lab-discrimination-{endpoint}")
        st.caption(tr("{caption}. Scope: {scope}. Uno C, AUC and the integrated Brier score are censoring-weighted "
                      "by the training patients' follow-up.", caption=plain(caption), scope=plain(first.scope)))
        for label, model_notes in notes.items():
            for note in model_notes:
                st.caption(f"{plain(label)}: {plain(note)}")
        csv_button(tr("Metrics (CSV)"), metrics, f"lab-metrics-{endpoint}", "dl_lab_metrics")

        st.subheader(tr("Calibration at {when}", when=horizon_label(horizon)))
        if tables:
            chart(calibration_figure(tables, horizon=horizon, title=tr(
                "Predicted vs observed {endpoint} at {when}, by risk decile", endpoint=endpoint,
                when=horizon_label(horizon)), caption=caption), f"lab-calibration-{endpoint}")
            st.caption(tr("{caption}. Patients in ten equal groups by predicted survival; observed = Kaplan-Meier in "
                          "each group with its 95% interval. On the dashed line, predictions match what happened.",
                          caption=plain(caption)))
            csv_button(tr("Calibration (CSV)"), pd.concat([t.assign(model=k) for k, t in tables.items()]),
                       f"lab-calibration-{endpoint}-{horizon:g}", "dl_lab_calibration")
        else:
            st.info(tr("Calibration cannot be computed at this horizon (too little follow-up): choose an earlier one."))

        st.subheader(tr("By subgroup"))
        c_rows = subgroups.dropna(subset=["c"]).assign(row=lambda d: d["subgrouping"] + ": " + d["group"],
                                                       value=lambda d: d["c"], lo=lambda d: d["c_lo"],
                                                       hi=lambda d: d["c_hi"])
        if not c_rows.empty:
            chart(interval_figure(c_rows, x="value", y="row", series="model", horizontal=True,
                                  title=tr("Harrell C by subgroup (95% bootstrap intervals)"), caption=caption,
                                  x_label="Harrell C", reference=0.5), f"lab-subgroup-c-{endpoint}")
        d_rows = subgroups.dropna(subset=["difference"]).assign(
            row=lambda d: d["subgrouping"] + ": " + d["group"], value=lambda d: d["difference"],
            lo=lambda d: d["difference_lo"], hi=lambda d: d["difference_hi"])
        if not d_rows.empty:
            chart(interval_figure(d_rows, x="value", y="row", series="model", horizontal=True,
                                  title=tr("Predicted − observed survival at {when} by subgroup",
                                           when=horizon_label(horizon)),
                                  caption=caption, x_label=tr("difference (positive = survival over-estimated)"),
                                  reference=0.0),
                  f"lab-subgroup-calibration-{endpoint}")
        st.dataframe(subgroups, hide_index=True, width="stretch")
        st.caption(tr("{caption}. Groups with fewer than 10 events get no C. Small subgroups have wide intervals: "
                      "read them before trusting a model for that group.", caption=plain(caption)))
        csv_button(tr("Subgroup metrics (CSV)"), subgroups, f"lab-subgroups-{endpoint}", "dl_lab_subgroups")

        st.subheader(tr("Model used on the Patient page"))
        preferred = preferences.preferred_bundle(spec.id, endpoint)
        st.caption(tr("The Patient page's treatment options need a treatment-effect model (kind 'effects', endpoint "
                      "{endpoint}); a model of another kind chosen here is listed but the page keeps its "
                      "treatment-effect model.", endpoint=bundles.treatment_endpoint(spec)))
        current = preferred
        st.write(tr("Now: **{model}**", model=plain(current.name) if current else tr("the default treatment-effect model"))
                 + (tr(" (chosen here)") if preferred else tr(" (default)")))
        pick = st.selectbox(tr("Use this model for the Patient page"), list(by_label), key="lab_preferred")
        left, right = st.columns(2)
        if left.button(tr("Use for the Patient page"), key="lab_set_preferred", type="primary"):
            preferences.set_preferred(spec.id, endpoint, by_label[pick].path)
            st.rerun()
        if preferred and right.button(tr("Back to the default model"), key="lab_clear_preferred"):
            preferences.clear_preferred(spec.id, endpoint)
            st.rerun()

if tabs["Model card"].open:
    with tabs["Model card"]:
        available = bundles.list_bundles(spec.id)
        if not available:
            st.info(tr("No model for this cohort yet: start one in the Train tab."))
            st.stop()
        by_label = {f"{info.card.get('endpoint')} · {info.label}": info for info in available}
        pick = st.selectbox(tr("Model"), list(by_label), key="lab_card")
        info = by_label[pick]
        try:
            card = ModelCard(**info.card)
        except TypeError:
            st.error(tr("This model card does not match this OncoTx version."))
            st.stop()
        show_model_card(card)
        render_model_modifiers(info.path)
        st.download_button(tr("Model card (JSON)"), json.dumps(info.card, indent=2), file_name=f"{info.path.name}.json",
                           mime="application/json", key="dl_lab_card", icon=":material/download:")

if tabs["PREDICT v2.1"].open:
    with tabs["PREDICT v2.1"]:
        st.subheader(tr("PREDICT v2.1 (clinical reference)"))
        st.caption(tr("PREDICT Breast v2.1 (Candido dos Reis et al., Breast Cancer Res 2017; Winton Centre, Cambridge) "
                   "from the published equations, unfitted, on every patient of this cohort under the treatments "
                   "recorded. Mapping (docs/predict.md): chemotherapy as 2nd generation, endocrine therapy as 5 years, "
                   "radiotherapy through the radiotherapy extension, no trastuzumab or bisphosphonates, screen "
                   "detection and Ki-67 unknown, missing sizes as the cohort median, unknown grade as PREDICT's "
                   "unknown. The mapping is approximate: read the numbers as a benchmark for the learned models, "
                   "not as PREDICT's clinical validation. Research use only."))
        try:
            results, per_patient = predict_reference(spec.id)
        except (InputError, ModelError) as exc:
            st.info(plain(exc))
            st.stop()
        summary = predict_breast.summary_frame(results)
        shown = summary.assign(**{
            "PREDICT compared": summary["compared"],
            "Harrell C": summary["harrell_c"].map(lambda v: f"{v:.3f}"),
            "predicted at 10 y": summary["predicted"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.1%}"),
            "observed (KM) at 10 y": summary["observed"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.1%}"),
            "predicted − observed": summary["gap"].map(lambda v: "n/a" if pd.isna(v) else f"{100 * v:+.1f} points"),
        })[["endpoint", "PREDICT compared", "n", "events", "Harrell C", "predicted at 10 y", "observed (KM) at 10 y",
            "predicted − observed"]]
        st.dataframe(shown, hide_index=True, width="stretch")
        st.caption(tr("Harrell C over the whole follow-up, risk = 1 − PREDICT's 10-year OS (OS) or "
                      "breast-cancer-specific survival (other endpoints). PREDICT predicts death: calibration is shown "
                      "for OS and disease-specific death only. Positive differences: PREDICT over-estimates survival."))
        tables = {f"{name} (PREDICT {res.target.upper()})": res.calibration.table
                  for name, res in results.items() if res.calibration is not None}
        if tables:
            first = next(r for r in results.values() if r.calibration is not None)
            caption = chart_caption(spec.display_name, endpoint=", ".join(n for n, r in results.items()
                                                                          if r.calibration is not None),
                                    n=first.n, extra=tr("PREDICT v2.1, unfitted; research use only"))
            chart(calibration_figure(tables, horizon=120.0, title=tr("PREDICT v2.1: predicted vs observed survival at "
                                     "10 years, by risk decile"), caption=caption), "predict-calibration")
            st.caption(tr("{caption}. Patients in ten equal groups by PREDICT's predicted survival; observed = "
                          "Kaplan-Meier in each group with its 95% interval. On the dashed line, predictions match "
                          "what happened.", caption=plain(caption)))
        for name, res in results.items():
            for note in res.notes:
                st.caption(f"{plain(name)}: {plain(note)}")
        csv_button(tr("PREDICT per patient (CSV)"), per_patient, "predict-v21", "dl_lab_predict")
