"""The Patient dashboard, drawn from one :class:`~dashboard.analysis.PatientAnalysis` and nothing else.

:func:`render_analysis` is shared by the Patient page (a fresh analysis) and the History page (a saved one), so
reopening a saved analysis shows exactly what was shown when it was saved: no model is re-run here. The
section order follows a consultation: who and with what (header, data quality, warnings), the tumour's
molecular profile, the risk under the current or planned regimen, the options with their benefit and
evidence, why (explanations), the caveats, then export and save.

The pure helpers (:func:`options_table`, :func:`reading_words`, :func:`caveat_lines`, ...) take plain data and
return plain data, so they are tested without Streamlit. All text that came from a user or a data file goes
through :func:`dashboard.text.plain` before it reaches markdown.
"""
from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import store
from dashboard.analysis import PatientAnalysis
from dashboard.patient_charts import (
    benefit_figure,
    contributions_figure,
    embedding_figure,
    regimen_label,
    risk_percentile_figure,
    similar_patients_figure,
    survival_curves_figure,
)
from dashboard.report import (
    predict_comparison,
    report_csv,
    report_filename,
    report_json,
    report_pdf,
    variant_lines,
)
from dashboard.text import field_label, plain

DEMO_USER = "demo"
USER_KEY = "user"
SAVED_KEY = "saved_analyses"  # session: analysis fingerprint → saved id
MARGIN = 0.02  # the engine's reading margin (models.treatment.reading), in survival probability
READING_TITLES = {
    "reference": "Reference",
    "likely benefit": "Likely benefit",
    "possible harm": "Possible harm",
    "no expected benefit": "No expected benefit",
    "uncertain": "Uncertain",
    "not enough evidence": "Not enough evidence",
}
EVIDENCE_WORDS = {"ok": "adequate", "thin": "thin", "none": "none"}
MAX_SIMILAR_DEFAULT = 4
TOP_FEATURES = 15  # bars in an explanation waterfall (the rest is one bar)


# ----------------------------------------------------------------------------------------------- pure helpers


def current_user() -> str:
    """Who is using the app (dashboard.auth sets it at sign-in; the demo user in demo mode)."""
    return str(st.session_state.get(USER_KEY) or DEMO_USER)


def tag(horizon: float) -> str:
    """The column suffix of a horizon in months: 60.0 → '60'."""
    return f"{float(horizon):g}"


def years_label(horizon: float) -> str:
    """60.0 → '5 years'; 18.0 → '1.5 years'."""
    years = float(horizon) / 12.0
    text = f"{years:.0f}" if abs(years - round(years)) < 1e-9 else f"{years:.1f}"
    return f"{text} year" + ("" if text == "1" else "s")


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _pct(value: Any) -> str:
    number = _num(value)
    return "–" if number is None else f"{100 * number:.0f}%"


def _interval_pct(lo: Any, hi: Any) -> str | None:
    a, b = _num(lo), _num(hi)
    return None if a is None or b is None else f"{100 * a:.0f}–{100 * b:.0f}%"


def _pp(value: float) -> str:
    return f"{100 * value:+.1f}"


def survival_text(row: Mapping[str, Any], key: str) -> str:
    """'86% (81–90%)' from row[key], row[key_lo], row[key_hi]; '86%' without an interval; '–' when missing."""
    point = _num(row.get(key))
    if point is None:
        return "–"
    interval = _interval_pct(row.get(f"{key}_lo"), row.get(f"{key}_hi"))
    return f"{100 * point:.0f}%" + (f" ({interval})" if interval else "")


def benefit_text(row: Mapping[str, Any], key: str) -> str:
    """'+3.1 pp (+1.0 to +5.2)' in percentage points; 'reference' for the baseline."""
    if bool(row.get("is_baseline")):
        return "reference"
    point = _num(row.get(key))
    if point is None:
        return "–"
    lo, hi = _num(row.get(f"{key}_lo")), _num(row.get(f"{key}_hi"))
    return f"{_pp(point)} pp" + (f" ({_pp(lo)} to {_pp(hi)})" if lo is not None and hi is not None else "")


def reading_words(row: Mapping[str, Any], *, horizon: float, baseline: str) -> str:
    """The row's reading in plain words, as an option to discuss (never a directive)."""
    reading = str(row.get("reading") or "")
    base = regimen_label(baseline)
    when = years_label(horizon)
    b = _num(row.get(f"B{tag(horizon)}"))
    lo, hi = _num(row.get(f"B{tag(horizon)}_lo")), _num(row.get(f"B{tag(horizon)}_hi"))
    per_100 = None if b is None else abs(round(100 * b))
    interval = (f" (interval {100 * lo:+.0f} to {100 * hi:+.0f} in 100)" if lo is not None and hi is not None
                else "")
    if bool(row.get("is_baseline")) or reading == "reference":
        return "Reference: the other options are compared with this one."
    if reading == "not enough evidence":
        n = row.get("evidence_n")
        among = f" (n={n} among this patient's nearest cohort patients)" if n is not None else ""
        return (f"Too few comparable cohort patients received this regimen{among}: no benefit is read from the "
                "model for it.")
    if reading == "likely benefit":
        text = (f"An option to discuss: about {per_100} more in 100 patients like this one alive at {when} than "
                f"with {base}{interval}.")
        needed = _num(row.get("min_benefit"))
        if needed is not None and b is not None and b < needed:
            text += f" Smaller than the {100 * needed:.0f} points often taken as worth this regimen's burden."
        return text
    if reading == "possible harm":
        return (f"Estimated survival is lower than with {base}: about {per_100} fewer in 100 at {when}"
                f"{interval}; worth understanding why before considering it.")
    if reading == "no expected benefit":
        return f"No meaningful difference from {base} expected (within ±{100 * MARGIN:.0f} in 100){interval}."
    if reading.startswith("uncertain"):
        if "no interval" in reading:
            return "A point estimate only (single model, no interval): too little to judge the benefit."
        return f"Uncertain: the interval is too wide to say whether it helps{interval}."
    return plain(reading) if reading else "–"


def options_table(analysis: PatientAnalysis, horizon: float) -> pd.DataFrame:
    """The options as the page shows them at ``horizon`` (months): one row per regimen, text cells."""
    t = tag(horizon)
    last = tag(analysis.horizons[-1]) if analysis.horizons else t
    has_css = any(f"CSS{t}" in row for row in analysis.options)
    rows = []
    for row in analysis.options:
        name = regimen_label(str(row.get("regimen"))) + (" (baseline)" if row.get("is_baseline") else "")
        evidence = EVIDENCE_WORDS.get(str(row.get("evidence")), str(row.get("evidence") or "–"))
        if row.get("evidence_n") is not None:
            evidence += f" (n={row['evidence_n']})"
        nnt = _num(row.get(f"nnt{t}"))
        out = {
            "Regimen": name,
            f"Survival at {years_label(horizon)}": survival_text(row, f"S{t}"),
            "Benefit (pp)": benefit_text(row, f"B{t}"),
            "Reading": READING_TITLES.get(str(row.get("reading")), str(row.get("reading") or "–")),
            "Evidence": evidence,
            "NNT": "–" if nnt is None else f"{nnt:.0f}",
            "In plain words": reading_words(row, horizon=float(last), baseline=analysis.baseline),
        }
        if has_css:
            out["Cancer-specific"] = survival_text(row, f"CSS{t}")
        rows.append(out)
    return pd.DataFrame(rows)


def curves_frame(analysis: PatientAnalysis) -> pd.DataFrame:
    frame = pd.DataFrame(analysis.curves, columns=["regimen", "month", "S", "S_lo", "S_hi"])
    for column in ("month", "S", "S_lo", "S_hi"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def options_frame(analysis: PatientAnalysis) -> pd.DataFrame:
    return pd.DataFrame(analysis.options)


def highlighted(analysis: PatientAnalysis) -> list[str]:
    """Regimens drawn thick in the curves: those read as a likely benefit."""
    return [str(r["regimen"]) for r in analysis.options if r.get("reading") == "likely benefit"]


def similar_default(analysis: PatientAnalysis) -> list[str]:
    """Regimens whose similar patients are shown first: baseline, current regimen, then likely benefits."""
    similar = (analysis.explanations or {}).get("similar") or {}
    order = [analysis.baseline, str((analysis.risk or {}).get("regimen") or ""), *highlighted(analysis)]
    return [r for r in dict.fromkeys(order) if r in similar][:MAX_SIMILAR_DEFAULT]


def option_summary(analysis: PatientAnalysis) -> str:
    """One markdown line about the options as a whole (escaped): an option to discuss only where its reading is
    a likely benefit, else why none stands out."""
    rows = {str(r.get("regimen")): r for r in analysis.options}
    base = plain(regimen_label(analysis.baseline))
    when = years_label(analysis.horizons[-1]) if analysis.horizons else "the last horizon"
    recommended = str((analysis.risk or {}).get("recommended") or "")
    likely = highlighted(analysis)
    if recommended in likely and recommended != analysis.baseline:
        return (f"**An option to discuss:** {plain(regimen_label(recommended))}: the largest expected benefit over "
                f"{base} at {when}, net of each treatment's usual burden, among regimens with adequate evidence.")
    if likely:
        names = ", ".join(plain(regimen_label(r)) for r in likely)
        return f"**Options to discuss:** {names} (a likely benefit over {base} at {when})."
    text = (f"**No option shows a likely benefit over {base} at {when}:** the intervals are too wide or the "
            "evidence too thin to say.")
    if recommended in rows and recommended != analysis.baseline:
        reading = READING_TITLES.get(str(rows[recommended].get("reading")), "–").lower()
        text += (f" The largest point estimate net of burden is for {plain(regimen_label(recommended))} (reading: "
                 f"{plain(reading)}).")
    return text


def caveat_lines(analysis: PatientAnalysis) -> list[str]:
    """The caveats that apply to this analysis, in plain words (plain text, not yet escaped)."""
    lines = [
        "Observational data: treatment was not randomised. The benefits are differences the model associates "
        "with each regimen after the recorded factors, and they are confounded by indication and by what the "
        "cohort did not record.",
    ]
    coverage = _num((analysis.assumptions or {}).get("gene_coverage"))
    if coverage is not None:
        lines.append(f"Gene coverage: {coverage:.0%} of the model's genes were in this profile"
                     + ("; missing genes were filled with cohort values." if coverage < 1 else "."))
    filled = (analysis.assumptions or {}).get("filled") or []
    if filled:
        lines.append("Clinical fields filled from the cohort (missing here): "
                     + ", ".join(field_label(str(f)) for f in filled) + ".")
    ood = _num((analysis.embedding or {}).get("ood_percentile"))
    if ood is not None:
        lines.append(f"Distance from the cohort: this profile is further from its nearest cohort patients than "
                     f"{ood:.0f}% of cohort patients are from theirs"
                     + (" (out of distribution: read every comparison with care)." if ood >= 95 else "."))
    lines.append("Similar patients are observed outcomes of a handful of cohort patients, not a matched control "
                 "group.")
    if analysis.synthetic_cohort:
        lines.append("Synthetic demo cohort: every number here is illustrative only.")
    return lines


def created_text(created: str) -> str:
    """'2026-03-14T09:26:53+00:00' → '2026-03-14 09:26 UTC' (the text as given when it is not a time)."""
    when = store.parse_created(created)
    return f"{when:%Y-%m-%d %H:%M} UTC" if when is not None else str(created)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def form_values(spec: Any, obs: Mapping[str, Any]) -> dict[str, Any]:
    """The Patient form's widget values (keys ``clin_<field>``, ``regimen_<treatment>``) for one patient's
    clinical fields and treatments as read from the upload: None / 'unknown' where missing or out of range."""
    values: dict[str, Any] = {}
    for f in spec.clinical:
        raw = obs.get(f.name)
        if f.kind == "numeric":
            number = None if _missing(raw) else _num(raw)
            if number is not None and ((f.min_value is not None and number < f.min_value)
                                       or (f.max_value is not None and number > f.max_value)):
                number = None
            values[f"clin_{f.name}"] = number
        else:
            text = "unknown" if _missing(raw) else str(raw).removesuffix(".0")
            values[f"clin_{f.name}"] = text if text in f.categories else "unknown"
    for t in spec.treatments:
        raw = obs.get(t)
        values[f"regimen_{t}"] = bool(not _missing(raw) and _num(raw))
    return values


def fingerprint(analysis: PatientAnalysis) -> str:
    return hashlib.sha256(analysis.to_json().encode()).hexdigest()


def _frame(rows: Any, columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows if isinstance(rows, list) else [])
    return frame if all(c in frame.columns for c in columns) else pd.DataFrame(columns=list(columns))


# ----------------------------------------------------------------------------------------------- sections


def render_analysis(analysis: PatientAnalysis, *, key_prefix: str, saved_id: str | None = None) -> None:
    """The whole dashboard for one analysis. ``key_prefix`` keeps widget keys apart between pages;
    ``saved_id`` (History) says the analysis is already saved, so no Save button is offered."""
    _header(analysis)
    for warning in analysis.warnings:
        st.warning(plain(warning), icon=":material/warning:")
    _variant(analysis)
    _molecular(analysis)
    _risk(analysis)
    _options(analysis, key_prefix)
    _predict(analysis)
    _explanations(analysis, key_prefix)
    _caveats(analysis)
    _exports(analysis, key_prefix, saved_id)


def _header(a: PatientAnalysis) -> None:
    st.header(f"Patient {plain(a.patient_id)}", anchor=False)
    synthetic = a.synthetic_cohort and "SYNTHETIC" not in a.cohort_name.upper()
    cohort = plain(a.cohort_name) + (" (SYNTHETIC demo data)" if synthetic else "")
    st.markdown(f"Reference cohort **{cohort}** · model **{plain(a.model_id)}** ({plain(a.model_kind)}, endpoint "
                f"{plain(a.endpoint)}) · analysed {plain(created_text(a.created))} by {plain(a.user)}")
    st.caption("Research use only: options to discuss with the treating team, never treatment directives.")
    assumptions = a.assumptions or {}
    cols = st.columns(4)
    coverage = _num((a.variant or {}).get("coverage", assumptions.get("gene_coverage")))
    cols[0].metric("Model gene coverage", "–" if coverage is None else f"{coverage:.0%}",
                   help="Share of the full model's genes present in the uploaded profile. Below 80% a companion "
                        "model fitted on the shared genes answers: missing genes are never filled in.")
    filled = assumptions.get("filled") or []
    cols[1].metric("Clinical fields filled", f"{len(filled)}",
                   help="Filled from the cohort because they were missing: "
                        + (", ".join(field_label(str(f)) for f in filled) or "none"))
    ood = _num((a.embedding or {}).get("ood_percentile"))
    cols[2].metric("Distance from cohort (percentile)", "–" if ood is None else f"{ood:.0f}",
                   help="How far the profile is from its nearest cohort patients, as a percentile of the cohort's "
                        "own distances (above 95: unusual for this cohort).")
    validation = a.validation or {}
    n_warn = len(validation.get("warnings") or [])
    cols[3].metric("Validation", "passed" if not validation.get("errors") else "failed",
                   help=f"{n_warn} validation warning(s)")
    with st.expander("Data quality and assumptions"):
        rows = [("Expression scale detected", assumptions.get("scale")),
                ("Expression standardisation", assumptions.get("expression_mode")),
                ("Model gene coverage", None if coverage is None else f"{coverage:.1%}"),
                ("Clinical fields filled from the cohort",
                 ", ".join(field_label(str(f)) for f in filled) or "none"),
                ("Regimen the risk is for", regimen_label(str((a.risk or {}).get("regimen") or assumptions.get(
                    "regimen") or "–"))),
                ("Benefit measured against", regimen_label(a.baseline))]
        clinical = assumptions.get("clinical") or {}
        rows += [(f"Clinical: {field_label(str(k))}", "missing" if v is None else v) for k, v in clinical.items()]
        facts = validation.get("facts") or {}
        rows += [(f"Input: {k}", v) for k, v in facts.items()] if isinstance(facts, dict) else []
        table = pd.DataFrame([(k, str(v)) for k, v in rows if v not in (None, "")], columns=["item", "value"])
        st.dataframe(table, hide_index=True, width="stretch")
        for warning in validation.get("warnings") or []:
            st.caption(f"Validation warning: {plain(warning)}")
    with st.expander("Model card"):
        _model_card(a.model_card or {})


VARIANT_SHORT = {"full": "Full model", "companion": "Companion", "robust": "Platform-robust", "clinical": "Clinical only"}


def _variant(a: PatientAnalysis) -> None:
    v = a.variant or {}
    if not v:
        return
    st.subheader("Which model answers", anchor=False)
    cols = st.columns(3)
    cols[0].metric("Model variant", VARIANT_SHORT.get(str(v.get("variant")), str(v.get("variant"))),
                   help="full model; companion model on the genes this profile shares with the training cohort; "
                        "or clinical fields only (see the model card)")
    cols[1].metric("Genes used", f"{int(v.get('n_genes_used') or 0):,}",
                   help=f"{int(v.get('n_genes_missing') or 0):,} of the full model's genes are not in this profile")
    c = _num(v.get("c_index"))
    full = _num(v.get("full_c_index"))
    cols[2].metric("Held-back C-index", "–" if c is None else f"{c:.3f}",
                   delta=None if c is None or full is None or v.get("variant") == "full" else f"{c - full:+.3f} vs full",
                   help="Harrell's C on held-back training-cohort patients; the full model's on the same patients "
                        "is the reference")
    for line in variant_lines(a):
        st.caption(plain(line))
    if v.get("genes_missing"):
        with st.expander(f"Genes of the full model not in this profile ({len(v['genes_missing'])})"):
            st.write(plain(", ".join(map(str, v["genes_missing"]))))


def _model_card(card: Mapping[str, Any]) -> None:
    if not card:
        st.caption("No model card was saved with this analysis.")
        return
    cohort = card.get("cohort_name") or card.get("cohort") or "–"
    st.markdown(f"**{plain(card.get('model_kind', 'model'))}** `{plain(card.get('model_id', '–'))}` trained on "
                f"{plain(cohort)} · {plain(card.get('endpoint', ''))} "
                f"({plain(card.get('endpoint_description', ''))})")
    cols = st.columns(3)
    for col, (n_key, e_key, label) in zip(cols, (("n_train", "events_train", "Training patients"),
                                                 ("n_test", "events_test", "Held-back patients")), strict=False):
        if card.get(n_key) is not None:
            col.metric(label, f"{card[n_key]:,}" if isinstance(card[n_key], int) else str(card[n_key]),
                       help=f"{card.get(e_key, '–')} events")
    c = card.get("harrell_c")
    metrics = card.get("metrics") or {}
    if c is None and isinstance(metrics.get("harrell_c"), dict):
        c, lo, hi = (metrics["harrell_c"].get(k) for k in ("value", "lo", "hi"))
    else:
        lo, hi = card.get("harrell_c_lo"), card.get("harrell_c_hi")
    if _num(c) is not None:
        interval = f" [{lo:.3f}, {hi:.3f}]" if _num(lo) is not None and _num(hi) is not None else ""
        cols[2].metric("Held-back C-index", f"{c:.3f}", help=f"Harrell's C on held-back patients{interval}")
        if interval:
            cols[2].caption(f"95% interval{interval}")
    if card.get("intended_use"):
        st.caption(f"Intended use: {plain(card['intended_use'])}")
    for limit in card.get("limits") or []:
        st.caption(f"Limit: {plain(limit)}")
    if card.get("created"):
        st.caption(f"Trained {plain(card['created'])}.")


def _molecular(a: PatientAnalysis) -> None:
    st.subheader("Molecular profile", anchor=False)
    m = a.molecular or {}
    if not m and not a.embedding:
        st.info("The molecular profile could not be computed for this input (see the warnings above).")
        return
    cols = st.columns(3)
    pam50 = m.get("pam50") or {}
    if pam50:
        conf = _num(pam50.get("confidence"))
        cols[0].metric("PAM50 subtype", str(pam50.get("subtype", "–")),
                       help="Nearest-centroid PAM50 call (research approximation).")
        cols[0].caption(("confidence " + f"{conf:.0%}" if conf is not None else "no confidence")
                        + (f" · genes {plain(pam50['coverage'])}" if pam50.get("coverage") else ""))
    else:
        cols[0].metric("PAM50 subtype", "–", help="Not available for this input.")
    rs = m.get("rs") or {}
    if rs:
        score = _num(rs.get("score"))
        cols[1].metric("Recurrence score (approximation)", "–" if score is None else f"{score:.0f}",
                       help="An approximation from public gene weights; not the commercial assay.")
        cols[1].caption(" · ".join(plain(str(rs[k])) for k in ("group", "label") if rs.get(k)))
    else:
        cols[1].metric("Recurrence score (approximation)", "–", help="Not available for this input.")
    modules = m.get("modules") or {}
    if modules:
        cols[2].dataframe(pd.DataFrame({"module": list(modules), "score (z)": [round(float(v), 2) if _num(v) is not None
                                                                               else None for v in modules.values()]}),
                          hide_index=True, width="stretch")
    left, right = st.columns([1, 2])
    with left:
        percentiles = m.get("percentiles") or {}
        if percentiles:
            st.markdown("**Key genes: percentile in the cohort**")
            frame = pd.DataFrame({"gene": list(percentiles), "percentile": [_num(v) for v in percentiles.values()]})
            st.dataframe(frame, hide_index=True, width="stretch", column_config={
                "percentile": st.column_config.ProgressColumn("percentile", min_value=0, max_value=100,
                                                              format="%.0f")})
        pathways = m.get("pathways") or {}
        if pathways:
            st.markdown("**Pathway scores**")
            frame = pd.DataFrame({"pathway": list(pathways), "score": [_num(v) for v in pathways.values()]})
            st.dataframe(frame.sort_values("score", key=abs, ascending=False), hide_index=True, width="stretch")
    with right:
        e = a.embedding or {}
        cohort = _frame(e.get("cohort"), ("x", "y"))
        if cohort.empty:
            st.info("This patient could not be placed on the cohort map (see the warnings above).")
            return
        if "label" in cohort.columns:
            cohort = cohort.rename(columns={"label": "subtype"})
        neighbours = _frame(e.get("neighbours"), ("x", "y"))
        kind = str(e.get("kind") or "UMAP")
        st.plotly_chart(embedding_figure(cohort, patient=e.get("patient"), neighbours=neighbours, colour="subtype",
                                         caption=f"{kind} of {a.cohort_name}, coloured by subtype; circles: "
                                                 "nearest cohort patients"),
                        width="stretch")


def _risk(a: PatientAnalysis) -> None:
    st.subheader("Risk under the current or planned regimen", anchor=False)
    risk = a.risk or {}
    if not risk:
        st.info("No survival estimate for this input (see the warnings above).")
        return
    st.caption(f"Regimen: {plain(regimen_label(str(risk.get('regimen', 'none'))))} (as entered). Estimated "
               f"{plain(a.endpoint)} with 90% intervals from the model ensemble.")
    horizons = [h for h in a.horizons if f"S{tag(h)}" in risk]
    cols = st.columns(len(horizons) + 1)
    for col, h in zip(cols, horizons, strict=False):
        interval = _interval_pct(risk.get(f"S{tag(h)}_lo"), risk.get(f"S{tag(h)}_hi"))
        col.metric(f"{a.endpoint} at {years_label(h)}", _pct(risk.get(f"S{tag(h)}")),
                   help=f"interval {interval}" if interval else "no interval (single model)")
        col.caption(f"interval {interval}" if interval else "no interval (single model)")
    pct = _num(risk.get("percentile"))
    cols[-1].metric("Risk percentile in the cohort", "–" if pct is None else f"{pct:.0f}",
                    help="Share of cohort patients with a lower model risk score.")
    if pct is not None:
        cols[-1].caption(f"higher risk than {pct:.0f}% of the cohort")
    st.plotly_chart(risk_percentile_figure(risk.get("cohort_risks") or [], patient_risk=_num(risk.get("risk"))
                                           if _num(risk.get("risk")) is not None else float("nan"),
                                           caption=f"{a.cohort_name} · model risk scores"),
                    width="stretch")
    st.caption("An estimate from observational data for research use: it informs options; it does not direct "
               "treatment.")


def _options(a: PatientAnalysis, key_prefix: str) -> None:
    st.subheader("Treatment options", anchor=False)
    st.warning(plain(a.caveat or "Options, not directives. Research use only."), icon=":material/balance:")
    if not a.options or not a.horizons:
        st.info("Treatment options are not available for this input (see the warnings above).")
        return
    horizons = list(a.horizons)
    default = horizons[-1]
    horizon = st.segmented_control("Horizon", horizons, default=default, format_func=years_label,
                                   key=f"{key_prefix}_horizon", required=True) or default
    table = options_table(a, horizon)
    st.dataframe(table.drop(columns=["In plain words"]), hide_index=True, width="stretch",
                 key=f"{key_prefix}_options_table")
    st.markdown(f"**In plain words** (readings at {years_label(horizons[-1])}):\n\n"
                + "\n".join(f"- **{plain(name)}**: {plain(words)}"
                            for name, words in zip(table["Regimen"], table["In plain words"], strict=True)))
    st.markdown(option_summary(a))
    st.caption(f"Survival: estimated {plain(a.endpoint)} with its 90% interval. Benefit: difference from "
               f"{plain(regimen_label(a.baseline))} in percentage points (pp), with its interval. Reading: at "
               f"{years_label(horizons[-1])}. Evidence: how many of this patient's nearest cohort patients received "
               "the regimen. NNT: patients treated for one more alive (only where the whole interval shows a "
               "benefit). Cancer-specific: survival counting deaths from the cancer only.")
    caption = f"{a.cohort_name} · model {a.model_id} · bands: 90% intervals"
    st.plotly_chart(survival_curves_figure(curves_frame(a), baseline=a.baseline, horizons=horizons,
                                           caption=caption, highlight=highlighted(a)), width="stretch")
    st.plotly_chart(benefit_figure(options_frame(a), horizon=horizon, caption=caption, margin=MARGIN),
                    width="stretch")


def _predict(a: PatientAnalysis) -> None:
    p = a.predict or {}
    if not p:
        return
    st.subheader("PREDICT v2.1 beside the learned model", anchor=False)
    if p.get("unavailable"):
        st.info(plain(str(p["unavailable"])))
        return
    st.caption("PREDICT Breast v2.1 is the familiar clinical model (age, size, nodes, grade, ER, HER2, Ki-67); it "
               "uses no gene expression. Each row adds one treatment to the row above, as PREDICT shows it; the "
               "OncoTx columns are the learned model's estimates for the same regimen, with 90% intervals.")
    st.dataframe(predict_comparison(a), hide_index=True, width="stretch")
    st.caption(plain(f"{p.get('caveat', '')} Source: {p.get('citation', '')}"))


def _explanations(a: PatientAnalysis, key_prefix: str) -> None:
    st.subheader("What drives these estimates", anchor=False)
    e = a.explanations or {}
    if not e:
        st.info("No explanation is available for this input.")
        return
    risk_tab, benefit_tab, similar_tab = st.tabs(["Risk", "Benefit of each option", "Similar patients"])
    with risk_tab:
        base = _num(e.get("risk_base"))
        st.plotly_chart(contributions_figure(_frame(e.get("risk"), ("feature", "value")), base=base or 0.0,
                                             title="What drives this patient's risk",
                                             caption=str(e.get("risk_unit") or "log hazard"), unit="log hazard",
                                             top=TOP_FEATURES),
                        width="stretch")
        st.caption("Red raises the model's risk, blue lowers it, from the cohort average (base value). These "
                   "describe the model, not causes" + (f"; method: {plain(e['method'])}." if e.get("method") else "."))
        pathways = _frame(e.get("pathways_risk"), ("pathway", "value"))
        if not pathways.empty:
            st.markdown("**Gene sets behind the risk** (sum of their genes' contributions; sets overlap)")
            _gene_sets(pathways, unit="log hazard")
    with benefit_tab:
        benefit = e.get("benefit") or {}
        choices = [str(r["regimen"]) for r in a.options if str(r.get("regimen")) in benefit] or list(benefit)
        if not choices:
            st.info("No benefit explanation is available.")
        else:
            default = next((r for r in highlighted(a) if r in choices), choices[0])
            regimen = st.selectbox("Option", choices, index=choices.index(default), format_func=regimen_label,
                                   key=f"{key_prefix}_benefit_regimen")
            base = _num((e.get("benefit_base") or {}).get(regimen))
            st.plotly_chart(contributions_figure(
                _frame(benefit.get(regimen), ("feature", "value")), base=base or 0.0,
                title=f"What drives the effect of {regimen_label(regimen)} vs {regimen_label(a.baseline)}",
                caption=str(e.get("benefit_unit") or "log hazard ratio, regimen vs baseline"),
                unit="log hazard ratio", top=TOP_FEATURES), width="stretch")
            st.caption("Below zero the regimen lowers the hazard against the baseline for this patient; each bar "
                       "says how a feature shifts that effect from the cohort average.")
            pathways = _frame((e.get("pathways") or {}).get(regimen), ("pathway", "value"))
            if not pathways.empty:
                st.markdown("**Gene sets behind this effect** (sums over their genes; sets overlap)")
                _gene_sets(pathways, unit="log hazard ratio")
    with similar_tab:
        similar = e.get("similar") or {}
        if not similar:
            st.info("Too few similar cohort patients with follow-up for any regimen.")
        else:
            names = [str(r["regimen"]) for r in a.options if str(r.get("regimen")) in similar] or list(similar)
            shown = st.multiselect("Regimens received", names, default=similar_default(a) or names[:1],
                                   format_func=regimen_label, key=f"{key_prefix}_similar_regimens")
            km = {r: _frame((similar.get(r) or {}).get("km"), ("time", "survival")) for r in shown}
            st.plotly_chart(similar_patients_figure(km, caption=f"nearest {a.cohort_name} patients who received "
                                                                 "each regimen · observed, not predicted"),
                            width="stretch")
            counts = pd.DataFrame([{"Regimen received": regimen_label(r), "Similar patients": (similar[r] or {})
                                    .get("n"), "Cohort ids": ", ".join(map(str, ((similar[r] or {}).get("ids")
                                                                                 or [])[:10]))}
                                   for r in names])
            st.dataframe(counts, hide_index=True, width="stretch")


def _gene_sets(frame: pd.DataFrame, *, unit: str) -> None:
    shown = frame.rename(columns={"pathway": "Gene set", "value": f"Contribution ({unit})", "n_genes": "Genes"})
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config={f"Contribution ({unit})": st.column_config.NumberColumn(format="%+.3f")})


def _caveats(a: PatientAnalysis) -> None:
    with st.container(border=True):
        st.markdown("**Caveats**")
        st.markdown("\n".join(f"- {plain(line)}" for line in caveat_lines(a)))


def _audit(analysis: PatientAnalysis, action: str, user, *, detail: str = "", subject: str = "") -> None:
    from dashboard import auth

    auth.log_action(action, user=user, cohort_id=analysis.cohort_id, model_id=analysis.model_id,
                    bundle_sha256=analysis.bundle_sha256, input_sha256=analysis.inputs_sha256.get("expression", ""),
                    subject=subject or analysis.patient_id, detail=detail)


def _save(analysis: PatientAnalysis, key: str, error_key: str, user) -> None:
    from dashboard.audit import AuditError

    try:
        saved = store.save_analysis(analysis)
        _audit(analysis, "save", user, subject=saved)
        st.session_state.setdefault(SAVED_KEY, {})[key] = saved
        st.session_state.pop(error_key, None)
    except (store.StoreError, AuditError) as exc:
        st.session_state[error_key] = str(exc)


def _exported(render, analysis: PatientAnalysis, kind: str, user) -> bytes:
    """The export's bytes, made when the user downloads it, and audited then (the audit names the format only)."""
    data = render(analysis)
    _audit(analysis, "export", user, detail=f"{kind} report")
    return data


def _exports(a: PatientAnalysis, key_prefix: str, saved_id: str | None) -> None:
    st.subheader("Save and export", anchor=False)
    cols = st.columns(4)
    from dashboard import auth

    user = auth.current()  # captured now: a download runs outside this script run
    cols[0].download_button("PDF report", functools.partial(_exported, report_pdf, a, "PDF", user),
                            file_name=report_filename(a, "pdf"), mime="application/pdf", key=f"{key_prefix}_pdf",
                            icon=":material/picture_as_pdf:", on_click="ignore")
    cols[1].download_button("Options (CSV)", functools.partial(_exported, report_csv, a, "CSV", user),
                            file_name=report_filename(a, "csv"), mime="text/csv", key=f"{key_prefix}_csv",
                            icon=":material/table:", on_click="ignore")
    cols[2].download_button("Analysis (JSON)", functools.partial(_exported, report_json, a, "JSON", user),
                            file_name=report_filename(a, "json"), mime="application/json", key=f"{key_prefix}_json",
                            icon=":material/data_object:", on_click="ignore")
    key = fingerprint(a)
    error_key = f"{key_prefix}_save_error"
    saved = saved_id or (st.session_state.get(SAVED_KEY) or {}).get(key)
    if saved:
        st.success(f"Saved to history as {plain(saved)}", icon=":material/bookmark_added:")
        if not saved_id:
            st.page_link("pages/clinician/history.py", label="Open it in History", icon=":material/history:",
                         query_params={"analysis": saved})
    else:
        cols[3].button("Save to history", key=f"{key_prefix}_save", icon=":material/bookmark_add:", type="primary",
                       on_click=_save, args=(a, key, error_key, user))
    if st.session_state.get(error_key):
        st.error(plain(st.session_state[error_key]))
