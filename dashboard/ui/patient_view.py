"""The Patient dashboard, drawn from one :class:`~dashboard.patient.record.PatientAnalysis` and nothing else.

:func:`render_analysis` is shared by the Patient page (a fresh analysis) and the History page (a saved one), so
reopening a saved analysis shows exactly what was shown when it was saved: no model is re-run here. The
section order follows a consultation: who and with what (header, data quality, warnings), the tumour's
molecular profile, the risk under the current or planned regimen, the options with their benefit and
evidence, why (explanations), the caveats, then export and save.

The words and tables it shows (:func:`~dashboard.patient.presentation.options_table`, reading words, caveats,
...) come from :mod:`dashboard.patient.presentation`, plain data tested without Streamlit. All text that came
from a user or a data file goes through :func:`dashboard.text.plain` before it reaches markdown.
"""
from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from dashboard.i18n import current_language, horizon_label, regimen_label, tr, translate_error
from dashboard.patient.charts import (
    benefit_figure,
    contributions_figure,
    embedding_figure,
    risk_percentile_figure,
    similar_patients_figure,
    survival_curves_figure,
)
from dashboard.patient.presentation import (
    as_number,
    caveat_lines,
    curves_frame,
    fingerprint,
    highlighted,
    option_summary,
    options_frame,
    options_table,
    percent_interval,
    percent_text,
    rows_frame,
    similar_default,
)
from dashboard.patient.record import PatientAnalysis
from dashboard.patient.report.exports import report_csv, report_fhir_export, report_filename, report_json
from dashboard.patient.report.pdf import pdf_in
from dashboard.patient.report.wording import predict_comparison
from dashboard.platform import store
from dashboard.platform.audit import AuditError
from dashboard.platform.demo_mode import demo_mode_on
from dashboard.text import gene_set_label, plain
from dashboard.ui import auth
from dashboard.ui.modifier_view import render_guidance, render_modifiers
from dashboard.ui.patient_header import header_section, variant_section
from dashboard.ui.shell import fragment
from models.columns import LOWER, SURVIVAL, UPPER, column

SAVED_KEY = "saved_analyses"  # session: analysis fingerprint → (saved id, label)
FIGURES_KEY, PRINTS_KEY = "analysis_figures", "analysis_fingerprints"  # session: figures per analysis, its print
KEEP_FIGURES = 3  # analyses whose figures a session keeps
TOP_FEATURES = 15  # bars in an explanation waterfall (the rest is one bar)


# ------------------------------------------------------------------------------------- figures, built once


def _fingerprint(a: PatientAnalysis) -> str:
    """The analysis' fingerprint, computed once per analysis object shown in this session."""
    prints = st.session_state.setdefault(PRINTS_KEY, {})
    held = prints.get(id(a))
    if held is None or held[0] is not a:
        while len(prints) >= KEEP_FIGURES:
            prints.pop(next(iter(prints)))
        held = prints[id(a)] = (a, fingerprint(a))  # the object is held, so its id is never reused meanwhile
    return held[1]


def _figure(a: PatientAnalysis, name: str, build):
    """The figure ``name`` of this analysis, built on first use and then reused by every rerun."""
    figures, name = st.session_state.setdefault(FIGURES_KEY, {}), f"{name}@{current_language()}"  # words differ
    key = _fingerprint(a)
    if key not in figures:
        while len(figures) >= KEEP_FIGURES:
            figures.pop(next(iter(figures)))
        figures[key] = {}
    if name not in figures[key]:
        figures[key][name] = build()
    return figures[key][name]


def _current(a: PatientAnalysis) -> str | None:
    """The patient's current or planned regimen (as entered)."""
    current = (a.risk or {}).get("regimen") or (a.assumptions or {}).get("regimen")
    return str(current) if current else None


# ----------------------------------------------------------------------------------------------- sections


def render_analysis(analysis: PatientAnalysis, *, key_prefix: str, saved_id: str | None = None,
                    saved_label: str | None = None) -> None:
    """The whole dashboard for one analysis. ``key_prefix`` keeps widget keys apart between pages;
    ``saved_id`` (History) says the analysis is already saved (as ``saved_label``), so no Save button is offered.

    The horizon switch with the options, the explanation tabs and Save are fragments: using them reruns only
    their own part, and every figure is built once per analysis."""
    header_section(analysis)
    for warning in analysis.warnings:
        st.warning(plain(translate_error(warning)), icon=":material/warning:")
    variant_section(analysis)
    _molecular(analysis)
    _risk(analysis)
    _options(analysis, key_prefix)
    _predict(analysis)
    _explanations(analysis, key_prefix)
    _caveats(analysis)
    _exports(analysis, key_prefix, saved_id, saved_label)


def _molecular(a: PatientAnalysis) -> None:
    st.subheader(tr("Molecular profile"), anchor=False)
    m = a.molecular or {}
    if not m and not a.embedding:
        st.info(tr("The molecular profile could not be computed for this input (see the warnings above)."))
        return
    cols = st.columns(3)
    pam50 = m.get("pam50") or {}
    if pam50:
        conf = as_number(pam50.get("confidence"))
        cols[0].metric(tr("PAM50 subtype"), str(pam50.get("subtype", "–")),
                       help=tr("Nearest-centroid PAM50 call (research approximation)."))
        cols[0].caption((tr("confidence {value}", value=f"{conf:.0%}") if conf is not None else tr("no confidence"))
                        + (tr(" · genes {coverage}", coverage=plain(pam50["coverage"])) if pam50.get("coverage") else ""))
    else:
        cols[0].metric(tr("PAM50 subtype"), "–", help=tr("Not available for this input."))
    rs = m.get("rs") or {}
    if rs:
        score = as_number(rs.get("score"))
        cols[1].metric(tr("Recurrence score (approximation)"), "–" if score is None else f"{score:.0f}",
                       help=tr("An approximation from public gene weights; not the commercial assay."))
        cols[1].caption(" · ".join(plain(tr(str(rs[k]))) for k in ("group", "label") if rs.get(k)))
    else:
        cols[1].metric(tr("Recurrence score (approximation)"), "–", help=tr("Not available for this input."))
    modules = m.get("modules") or {}
    if modules:
        cols[2].dataframe(pd.DataFrame({tr("module"): list(modules), tr("score (z)"): [round(float(v), 2) if as_number(v) is not None
                                                                               else None for v in modules.values()]}),
                          hide_index=True, width="stretch")
    left, right = st.columns([1, 2])
    with left:
        percentiles = m.get("percentiles") or {}
        if percentiles:
            st.markdown(tr("**Key genes: percentile in the cohort**"))
            frame = pd.DataFrame({tr("gene"): list(percentiles), tr("percentile"): [as_number(v) for v in percentiles.values()]})
            st.dataframe(frame, hide_index=True, width="stretch", column_config={
                tr("percentile"): st.column_config.ProgressColumn(tr("percentile"), min_value=0, max_value=100,
                                                              format="%.0f")})
        pathways = m.get("pathways") or {}
        if pathways:
            st.markdown(tr("**Pathway scores**"))
            frame = pd.DataFrame({tr("pathway"): [gene_set_label(k) for k in pathways],
                                  tr("score"): [as_number(v) for v in pathways.values()]})
            st.dataframe(frame.sort_values(tr("score"), key=abs, ascending=False), hide_index=True, width="stretch")
    with right:
        e = a.embedding or {}
        cohort = rows_frame(e.get("cohort"), ("x", "y"))
        if cohort.empty:
            st.info(tr("This patient could not be placed on the cohort map (see the warnings above)."))
            return
        if "label" in cohort.columns:
            cohort = cohort.rename(columns={"label": "subtype"})
        neighbours = rows_frame(e.get("neighbours"), ("x", "y"))
        kind = str(e.get("kind") or "UMAP")
        st.plotly_chart(_figure(a, "map", lambda: embedding_figure(
            cohort, patient=e.get("patient"), neighbours=neighbours, colour="subtype",
            caption=tr("{kind} of {cohort}, coloured by subtype; circles: nearest cohort patients", kind=kind,
                       cohort=a.cohort_name))),
            width="stretch")


def _risk(a: PatientAnalysis) -> None:
    st.subheader(tr("Risk under the current or planned regimen"), anchor=False)
    risk = a.risk or {}
    if not risk:
        st.info(tr("No survival estimate for this input (see the warnings above)."))
        return
    st.caption(tr("Regimen: {regimen} (as entered). Estimated {endpoint} with 90% intervals from the model ensemble.",
                  regimen=plain(regimen_label(str(risk.get("regimen", "none")))), endpoint=plain(a.endpoint)))
    horizons = [h for h in a.horizons if column(SURVIVAL, h) in risk]
    cols = st.columns(len(horizons) + 1)
    for col, h in zip(cols, horizons, strict=False):
        interval = percent_interval(risk.get(column(SURVIVAL, h, LOWER)), risk.get(column(SURVIVAL, h, UPPER)))
        shown = tr("interval {interval}", interval=interval) if interval else tr("no interval (single model)")
        col.metric(tr("{endpoint} at {when}", endpoint=a.endpoint, when=horizon_label(h)),
                   percent_text(risk.get(column(SURVIVAL, h))), help=shown)
        col.caption(shown)
    pct = as_number(risk.get("percentile"))
    cols[-1].metric(tr("Risk percentile in the cohort"), "–" if pct is None else f"{pct:.0f}",
                    help=tr("Share of cohort patients with a lower model risk score."))
    if pct is not None:
        cols[-1].caption(tr("higher risk than {percent}% of the cohort", percent=f"{pct:.0f}"))
    patient_risk = as_number(risk.get("risk"))
    st.plotly_chart(_figure(a, "risk", lambda: risk_percentile_figure(
        risk.get("cohort_risks") or [], patient_risk=float("nan") if patient_risk is None else patient_risk,
        caption=tr("{cohort} · model risk scores", cohort=a.cohort_name))), width="stretch")
    st.caption(tr("An estimate from observational data for research use: it informs options; it does not direct "
                  "treatment."))


@fragment
def _options(a: PatientAnalysis, key_prefix: str) -> None:
    st.subheader(tr("Treatment options"), anchor=False)
    st.warning(plain(tr(a.caveat or "Options, not directives. Research use only.")), icon=":material/balance:")
    if not a.options or not a.horizons:
        st.info(tr("Treatment options are not available for this input (see the warnings above)."))
        return
    horizons = list(a.horizons)
    default = horizons[-1]
    horizon = st.segmented_control(tr("Horizon"), horizons, default=default, format_func=horizon_label,
                                   key=f"{key_prefix}_horizon", required=True) or default
    table = options_table(a, horizon)
    st.dataframe(table.drop(columns=[tr("In plain words")]), hide_index=True, width="stretch",
                 key=f"{key_prefix}_options_table")
    st.markdown(tr("**In plain words** (readings at {when}):", when=horizon_label(horizon)) + "\n\n"
                + "\n".join(f"- **{plain(name)}**: {plain(words)}"
                            for name, words in zip(table[tr("Regimen")], table[tr("In plain words")], strict=True)))
    st.markdown(option_summary(a, horizon))
    render_guidance(a)
    st.caption(tr("Survival: estimated {endpoint} with its 90% interval. Benefit: difference from {baseline} in "
                  "percentage points (pp), with its interval. Reading: at {when}, against each regimen's worthwhile "
                  "threshold. Evidence: how many of this patient's nearest cohort patients received the regimen. NNT: "
                  "patients treated for one more alive (only for a worthwhile or small benefit). Cancer-specific: "
                  "survival counting deaths from the cancer only.", endpoint=plain(a.endpoint),
                  baseline=plain(regimen_label(a.baseline)), when=horizon_label(horizon)))
    caption = tr("{cohort} · model {model} · bands: 90% intervals", cohort=a.cohort_name, model=a.model_id)
    current = _current(a)
    st.plotly_chart(_figure(a, "curves", lambda: survival_curves_figure(
        curves_frame(a), baseline=a.baseline, horizons=horizons, caption=caption, highlight=highlighted(a),
        options=options_frame(a), current=current)), width="stretch")
    st.plotly_chart(_figure(a, f"benefit{horizon:g}", lambda: benefit_figure(
        options_frame(a), horizon=horizon, caption=caption, current=current)), width="stretch")


def _predict(a: PatientAnalysis) -> None:
    p = a.predict or {}
    if not p:
        return
    st.subheader(tr("PREDICT v2.1 beside the learned model"), anchor=False)
    if p.get("unavailable"):
        st.info(plain(str(p["unavailable"])))
        return
    st.caption(tr("PREDICT Breast v2.1 is the familiar clinical model (age, size, nodes, grade, ER, HER2, Ki-67); it "
                  "uses no gene expression. Each row adds one treatment to the row above, as PREDICT shows it; the "
                  "OncoTx columns are the learned model's estimates for the same regimen, with 90% intervals."))
    st.dataframe(predict_comparison(a), hide_index=True, width="stretch")
    st.caption(plain(tr("{caveat} Source: {citation}", caveat=tr(p.get("caveat", "")), citation=p.get("citation", ""))))


@fragment
def _explanations(a: PatientAnalysis, key_prefix: str) -> None:
    st.subheader(tr("What drives these estimates"), anchor=False)
    e = a.explanations or {}
    if not e:
        st.info(tr("No explanation is available for this input."))
        return
    # only the open tab runs and is sent: a tab switch reruns this fragment alone, so a tab's figures are built and
    # drawn when it is opened (each chart costs a browser without a GPU 0.1-0.35 s to draw)
    risk_tab, benefit_tab, similar_tab = st.tabs([tr("Risk"), tr("Benefit of each option"), tr("Similar patients")],
                                                 key=f"{key_prefix}_explanation_tab", on_change="rerun")
    if risk_tab.open:
        with risk_tab:
            _risk_drivers(a, e)
    if benefit_tab.open:
        with benefit_tab:
            _benefit_drivers(a, e, key_prefix)
    if similar_tab.open:
        with similar_tab:
            _similar(a, e, key_prefix)


def _risk_drivers(a: PatientAnalysis, e: dict) -> None:
    base = as_number(e.get("risk_base"))
    st.plotly_chart(_figure(a, "risk_drivers", lambda: contributions_figure(
        rows_frame(e.get("risk"), ("feature", "value")), base=base or 0.0, title=tr("What drives this patient's risk"),
        caption=tr(str(e.get("risk_unit") or "log hazard")), unit=tr("log hazard"), top=TOP_FEATURES)),
        width="stretch")
    st.caption(tr("Red raises the model's risk, blue lowers it, from the cohort average (base value). These "
                  "describe the model, not causes") + (tr("; method: {method}.", method=plain(e["method"]))
                                                       if e.get("method") else tr(".")))
    pathways = rows_frame(e.get("pathways_risk"), ("pathway", "value"))
    if not pathways.empty:
        st.markdown(tr("**Gene sets behind the risk** (sum of their genes' contributions; sets overlap)"))
        _gene_sets(pathways, unit=tr("log hazard"))


def _benefit_drivers(a: PatientAnalysis, e: dict, key_prefix: str) -> None:
    benefit = e.get("benefit") or {}
    choices = [str(r["regimen"]) for r in a.options if str(r.get("regimen")) in benefit] or list(benefit)
    if not choices:
        st.info(tr("No benefit explanation is available."))
        render_modifiers(a)
        return
    default = next((r for r in highlighted(a) if r in choices), choices[0])
    named = {regimen_label(r): r for r in choices}  # the widget holds the words shown, never a code
    regimen = named[st.selectbox(tr("Option"), list(named), index=choices.index(default),
                                 key=f"{key_prefix}_benefit_regimen")]
    base = as_number((e.get("benefit_base") or {}).get(regimen))
    st.plotly_chart(_figure(a, f"benefit_drivers:{regimen}", lambda: contributions_figure(
        rows_frame(benefit.get(regimen), ("feature", "value")), base=base or 0.0,
        title=tr("What drives the effect of {regimen} vs {baseline}", regimen=regimen_label(regimen),
                 baseline=regimen_label(a.baseline)),
        caption=tr(str(e.get("benefit_unit") or "log hazard ratio, regimen vs baseline")),
        unit=tr("log hazard ratio"), top=TOP_FEATURES)), width="stretch")
    st.caption(tr("Below zero the regimen lowers the hazard against the baseline for this patient; each bar "
                  "says how a feature shifts that effect from the cohort average."))
    pathways = rows_frame((e.get("pathways") or {}).get(regimen), ("pathway", "value"))
    if not pathways.empty:
        st.markdown(tr("**Gene sets behind this effect** (sums over their genes; sets overlap)"))
        _gene_sets(pathways, unit=tr("log hazard ratio"))
    render_modifiers(a)


def _similar(a: PatientAnalysis, e: dict, key_prefix: str) -> None:
    similar = e.get("similar") or {}
    if not similar:
        st.info(tr("Too few similar cohort patients with follow-up for any regimen."))
        return
    names = [str(r["regimen"]) for r in a.options if str(r.get("regimen")) in similar] or list(similar)
    named = {regimen_label(r): r for r in names}  # the widget holds the words shown, never a code
    shown = [named[n] for n in st.multiselect(
        tr("Regimens received"), list(named), default=[regimen_label(r) for r in similar_default(a) or names[:1]],
        key=f"{key_prefix}_similar_regimens")]
    km = {r: rows_frame((similar.get(r) or {}).get("km"), ("time", "survival")) for r in shown}
    st.plotly_chart(_figure(a, "similar:" + "|".join(shown), lambda: similar_patients_figure(
        km, caption=tr("nearest {cohort} patients who received each regimen · observed, not predicted",
                       cohort=a.cohort_name))),
        width="stretch")
    counts = pd.DataFrame([{tr("Regimen received"): regimen_label(r), tr("Similar patients"): (similar[r] or {})
                            .get("n"), tr("Cohort ids"): ", ".join(map(str, ((similar[r] or {}).get("ids")
                                                                         or [])[:10]))}
                           for r in names])
    st.dataframe(counts, hide_index=True, width="stretch")


def _gene_sets(frame: pd.DataFrame, *, unit: str) -> None:
    shown = frame.assign(pathway=frame["pathway"].map(gene_set_label)).rename(columns={
        "pathway": tr("Gene set"), "value": tr("Contribution ({unit})", unit=unit), "n_genes": tr("Genes")})
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config={tr("Contribution ({unit})", unit=unit): st.column_config.NumberColumn(format="%+.3f")})


def _caveats(a: PatientAnalysis) -> None:
    with st.container(border=True):
        st.markdown(tr("**Caveats**"))
        st.markdown("\n".join(f"- {plain(line)}" for line in caveat_lines(a)))


def _audit(analysis: PatientAnalysis, action: str, user, *, detail: str = "", subject: str = "") -> None:
    auth.log_action(action, user=user, cohort_id=analysis.cohort_id, model_id=analysis.model_id,
                    bundle_sha256=analysis.bundle_sha256, input_sha256=analysis.inputs_sha256.get("expression", ""),
                    subject=subject or analysis.patient_id, detail=detail)


def _save(analysis: PatientAnalysis, key: str, error_key: str, note_key: str, user) -> None:
    try:
        label = store.analysis_label(analysis, st.session_state.get(note_key))
        saved = store.save_analysis(analysis, label=label)
        _audit(analysis, "save", user, subject=saved)
        st.session_state.setdefault(SAVED_KEY, {})[key] = (saved, label)
        st.session_state.pop(error_key, None)
    except (store.StoreError, AuditError) as exc:
        st.session_state[error_key] = str(exc)


def _exported(render, analysis: PatientAnalysis, kind: str, user) -> bytes:
    """The export's bytes, made when the user downloads it, and audited then (the audit names the format only)."""
    data = render(analysis)
    _audit(analysis, "export", user, detail=f"{kind} report")
    return data


@fragment
def _exports(a: PatientAnalysis, key_prefix: str, saved_id: str | None, saved_label: str | None) -> None:
    demo = demo_mode_on()  # the public demo saves nothing: exports only
    st.subheader(tr("Export") if demo else tr("Save and export"), anchor=False)
    cols = st.columns(4)
    user = auth.current()  # captured now: a download runs outside this script run
    cols[0].download_button(tr("PDF report"), functools.partial(_exported, pdf_in(current_language()), a, "PDF", user),
                            file_name=report_filename(a, "pdf"), mime="application/pdf", key=f"{key_prefix}_pdf",
                            icon=":material/picture_as_pdf:", on_click="ignore")
    cols[1].download_button(tr("Options (CSV)"), functools.partial(_exported, report_csv, a, "CSV", user),
                            file_name=report_filename(a, "csv"), mime="text/csv", key=f"{key_prefix}_csv",
                            icon=":material/table:", on_click="ignore")
    cols[2].download_button(tr("Analysis (JSON)"), functools.partial(_exported, report_json, a, "JSON", user),
                            file_name=report_filename(a, "json"), mime="application/json", key=f"{key_prefix}_json",
                            icon=":material/data_object:", on_click="ignore")
    cols[2].download_button(tr("Analysis (FHIR R4)"), functools.partial(_exported, report_fhir_export, a, "FHIR", user),
                            file_name=report_filename(a, "json").replace(".json", ".fhir.json"),
                            mime="application/fhir+json",
                            key=f"{key_prefix}_fhir", icon=":material/share:", on_click="ignore")
    if demo:
        return
    key = _fingerprint(a)
    error_key, note_key = f"{key_prefix}_save_error", f"{key_prefix}_save_note"
    saved, label = (saved_id, saved_label) if saved_id else (st.session_state.get(SAVED_KEY) or {}).get(key, (None, None))
    if saved:
        st.success(tr("Saved to history as “{label}”", label=plain(label or tr("this analysis"))), icon=":material/bookmark_added:")
        if not saved_id:
            st.page_link("pages/clinician/history.py", label=tr("Open it in History"), icon=":material/history:",
                         query_params={"analysis": saved})
    else:
        with cols[3]:
            st.text_input(tr("Note for the history (optional)"), key=note_key, max_chars=store.NOTE_MAX,
                          placeholder=tr("e.g. tumour board 12 March"),
                          help=tr("Saved with the patient and the date as this analysis' name; History finds it "
                                  "by any of them."))
            st.button(tr("Save to history"), key=f"{key_prefix}_save", icon=":material/bookmark_add:", type="primary",
                      on_click=_save, args=(a, key, error_key, note_key, user))
    if st.session_state.get(error_key):
        st.error(plain(st.session_state[error_key]))
