"""The Patient dashboard's words and tables, from one :class:`~dashboard.patient.record.PatientAnalysis`.

Plain data in, plain data out (no Streamlit): the options table at a horizon, the summary line and the History
line, the caveats that apply (the decision rule, a thinly supported baseline, lopsided intervals), the form
values of an uploaded patient. One option row's reading in words (title, sentence, evidence phrase, NNT) is
:mod:`dashboard.patient.readings`, re-exported here; every consumer (screen, PDF, History, charts) reads the
rule of :mod:`models.decision` through these, so they cannot disagree. The Streamlit renderer
(:mod:`dashboard.ui.patient_view`) and the tests call these. Text is returned unescaped (except
:func:`option_summary`, markdown): the renderer passes it through :func:`dashboard.text.plain`.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from dashboard.i18n import horizon_label, regimen_label, tr
from dashboard.patient.readings import (  # noqa: F401  (re-exported: the page, the PDF and the tests read them here)
    BENEFIT_CODES,
    EVIDENCE_WORDS,
    HISTORY_WORDS,
    READING_TITLES,
    as_number,
    benefit_number_text,
    evidence_text,
    is_benefit,
    lopsided,
    nnt_at,
    points_text,
    pp_signed,
    reading_at,
    reading_words,
    threshold_of,
    threshold_text,
)
from dashboard.patient.record import PatientAnalysis, parse_created
from dashboard.text import field_label, plain
from models.columns import (
    BENEFIT,
    CANCER_SPECIFIC,
    LOWER,
    SURVIVAL,
    UPPER,
    bounded,
    column,
)
from models.decision import LOW_PROPENSITY, MIN_WORTHWHILE_BENEFIT, SMALL, WORTHWHILE

MAX_SIMILAR_DEFAULT = 4


def percent_text(value: Any) -> str:
    """0.86 → '86%'; '–' when missing."""
    number = as_number(value)
    return "–" if number is None else f"{100 * number:.0f}%"


def percent_interval(lo: Any, hi: Any) -> str | None:
    """(0.81, 0.90) → '81–90%'; None when a bound is missing."""
    a, b = as_number(lo), as_number(hi)
    return None if a is None or b is None else f"{100 * a:.0f}–{100 * b:.0f}%"


def survival_text(row: Mapping[str, Any], key: str) -> str:
    """'86% (81–90%)' from row[key], row[key_lo], row[key_hi]; '86%' without an interval; '–' when missing."""
    point = as_number(row.get(key))
    if point is None:
        return "–"
    interval = percent_interval(row.get(bounded(key, LOWER)), row.get(bounded(key, UPPER)))
    return f"{100 * point:.0f}%" + (f" ({interval})" if interval else "")


def benefit_text(row: Mapping[str, Any], key: str) -> str:
    """'+3.1 pp (+1.0 to +5.2)' in percentage points; 'reference' for the baseline."""
    if bool(row.get("is_baseline")):
        return tr("reference")
    point = as_number(row.get(key))
    if point is None:
        return "–"
    lo, hi = as_number(row.get(bounded(key, LOWER))), as_number(row.get(bounded(key, UPPER)))
    return f"{pp_signed(point)} pp" + (tr(" ({lo} to {hi})", lo=pp_signed(lo), hi=pp_signed(hi))
                                       if lo is not None and hi is not None else "")


def options_table(analysis: PatientAnalysis, horizon: float) -> pd.DataFrame:
    """The options as the page shows them at ``horizon`` (months): one row per regimen, text cells. Reading, NNT
    and the words all follow the reading at ``horizon`` (:func:`reading_at`)."""
    has_css = any(column(CANCER_SPECIFIC, horizon) in row for row in analysis.options)
    rows = []
    for row in analysis.options:
        name = regimen_label(str(row.get("regimen"))) + (tr(" (baseline)") if row.get("is_baseline") else "")
        code = reading_at(row, horizon)
        nnt = nnt_at(row, horizon)
        out = {
            tr("Regimen"): name,
            tr("Survival at {horizon}", horizon=horizon_label(horizon)): survival_text(row, column(SURVIVAL, horizon)),
            tr("Benefit (pp)"): benefit_text(row, column(BENEFIT, horizon)),
            tr("Reading"): tr(READING_TITLES[code]) if code in READING_TITLES else code.capitalize() if code else "–",
            tr("Evidence"): evidence_text(row),
            tr("NNT"): "–" if nnt is None else f"{nnt:.0f}",
            tr("In plain words"): reading_words(row, horizon=float(horizon), baseline=analysis.baseline),
        }
        if has_css:
            out[tr("Cancer-specific")] = survival_text(row, column(CANCER_SPECIFIC, horizon))
        rows.append(out)
    return pd.DataFrame(rows)


def curves_frame(analysis: PatientAnalysis) -> pd.DataFrame:
    frame = pd.DataFrame(analysis.curves, columns=["regimen", "month", "S", "S_lo", "S_hi"])
    for name in ("month", "S", "S_lo", "S_hi"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
    return frame


def options_frame(analysis: PatientAnalysis) -> pd.DataFrame:
    return pd.DataFrame(analysis.options)


def _last(analysis: PatientAnalysis) -> float | None:
    return float(analysis.horizons[-1]) if analysis.horizons else None


def highlighted(analysis: PatientAnalysis, horizon: float | None = None) -> list[str]:
    """Regimens read as a benefit at ``horizon`` (default: the last), worthwhile ones first: drawn thick in the
    curves."""
    h = _last(analysis) if horizon is None else horizon
    coded = [(reading_at(r, h), str(r.get("regimen"))) for r in analysis.options]
    order = {c: i for i, c in enumerate(BENEFIT_CODES)}
    return [name for code, name in sorted((c for c in coded if is_benefit(c[0])), key=lambda c: order[c[0]])]


def similar_default(analysis: PatientAnalysis) -> list[str]:
    """Regimens whose similar patients are shown first: baseline, current regimen, then benefits."""
    similar = (analysis.explanations or {}).get("similar") or {}
    order = [analysis.baseline, str((analysis.risk or {}).get("regimen") or ""), *highlighted(analysis)]
    return [r for r in dict.fromkeys(order) if r in similar][:MAX_SIMILAR_DEFAULT]


def _names(regimens: Sequence[str]) -> str:
    return tr(", ").join(regimen_label(r) for r in regimens)


def _counts_text(codes: Sequence[str], language: str | None = None) -> str:
    counts: dict[str, int] = {}
    for code in codes:
        word = tr(HISTORY_WORDS[code], language=language) if code in HISTORY_WORDS else code or tr(
            "no reading", language=language)
        counts[word] = counts.get(word, 0) + 1
    order = list(dict.fromkeys(tr(w, language=language) for w in HISTORY_WORDS.values()))
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return tr(", ", language=language).join(tr("{count} {word}", language=language, count=counts[k], word=k)
                                            for k in keys)


def summary_parts(analysis: PatientAnalysis, horizon: float | None = None) -> tuple[str, str]:
    """The summary line about the options as a whole at ``horizon`` (default: the last) as (lead, rest), plain text:
    an option to discuss only where its reading is a benefit, else how the options read."""
    h = _last(analysis) if horizon is None else float(horizon)
    base = regimen_label(analysis.baseline)
    when = horizon_label(h) if h is not None else tr("the last horizon")
    rows = {str(r.get("regimen")): r for r in analysis.options if not bool(r.get("is_baseline"))}
    codes = {name: reading_at(r, h) for name, r in rows.items()}
    worthwhile = [n for n, c in codes.items() if c in (WORTHWHILE, "likely benefit")]
    small = [n for n, c in codes.items() if c == SMALL]
    recommended = str((analysis.risk or {}).get("recommended") or "")
    at_last = h is not None and h == _last(analysis)
    small_text = (tr(" A small benefit (the whole interval above zero, not all of it above the regimen's worthwhile "
                     "threshold): {names}.", names=_names(small)) if small else "")
    kind = tr("worthwhile") if all(codes[n] == WORTHWHILE for n in worthwhile) else tr("likely")
    if worthwhile:
        if at_last and recommended in worthwhile:
            others = [n for n in worthwhile if n != recommended]
            rest = (tr("{regimen}: the largest expected benefit over {base} at {when}, net of each treatment's "
                       "worthwhile threshold, among regimens with adequate evidence.",
                       regimen=regimen_label(recommended), base=base, when=when)
                    + (tr(" Also a {kind} benefit: {names}.", kind=kind, names=_names(others)) if others else ""))
            return tr("An option to discuss:"), rest + small_text
        return tr("Options to discuss:"), tr("{names} (a {kind} benefit over {base} at {when}).", names=_names(
            worthwhile), kind=kind, base=base, when=when) + small_text
    if small:
        return (tr("A small benefit over {base} at {when}:", base=base, when=when),
                tr("{names} (the whole interval above zero, not all of it above the regimen's worthwhile "
                   "threshold); no option shows a worthwhile benefit.", names=_names(small)))
    if not rows:
        return tr("No option to compare with {base}.", base=base), ""
    rest = tr("the options read {counts}.", counts=_counts_text(list(codes.values())))
    if at_last and recommended in rows:
        code = codes[recommended]
        title = (tr(READING_TITLES[code]) if code in READING_TITLES else code or "–").lower()
        rest += tr(" The largest point estimate net of burden is for {regimen} (reading: {title}).",
                   regimen=regimen_label(recommended), title=title)
    return tr("No option shows a benefit over {base} at {when}:", base=base, when=when), rest


def summary_text(analysis: PatientAnalysis, horizon: float | None = None) -> str:
    """:func:`option_summary` as plain text (the PDF's line)."""
    lead, rest = summary_parts(analysis, horizon)
    return f"{lead} {rest}".strip()


def option_summary(analysis: PatientAnalysis, horizon: float | None = None) -> str:
    """One markdown line about the options as a whole at ``horizon`` (default: the last), escaped; consistent
    with every row's reading there (:func:`summary_parts`)."""
    lead, rest = summary_parts(analysis, horizon)
    return f"**{plain(lead)}** {plain(rest)}".strip()


def history_summary(analysis: PatientAnalysis) -> str:
    """One short plain line for the History list, at the last horizon: 'vs None (no treatment): 1 worthwhile,
    2 small, 3 uncertain'."""
    codes = [reading_at(r, _last(analysis)) for r in analysis.options if not bool(r.get("is_baseline"))]
    if not codes:
        return "No treatment options"
    return f"vs {regimen_label(analysis.baseline, language='en')}: {_counts_text(codes, 'en')}"  # saved: English


def rule_text(analysis: PatientAnalysis) -> str:
    """The decision rule in one paragraph, with this analysis' minimum worthwhile benefit per treatment."""
    table = {**MIN_WORTHWHILE_BENEFIT, **((analysis.assumptions or {}).get("worthwhile_benefit") or {})}
    each = tr(", ").join(f"{regimen_label(t)} {points_text(float(v))}" for t, v in table.items()
                         if as_number(v) is not None)
    return tr("How the readings are made: each regimen has a worthwhile threshold, the sum of its treatments' minimum "
              "worthwhile benefits in points of survival ({each}) less the baseline's, never below 0. A benefit is "
            "worthwhile when its whole interval is at or above that threshold, small when the whole interval is "
            "above zero but not all of it above the threshold; likely harm when the whole interval is below zero; "
            "no worthwhile benefit when the interval stays below the threshold; uncertain otherwise. A number "
            "needed to treat is given only for a worthwhile or small benefit.", each=each)


def baseline_note(analysis: PatientAnalysis) -> str | None:
    """One sentence when the baseline itself is thinly supported (its evidence not adequate, or rarely given)."""
    base = next((r for r in analysis.options if bool(r.get("is_baseline"))), None)
    if base is None:
        return None
    prop = as_number(base.get("propensity"))
    if str(base.get("evidence") or "") == "ok" and (prop is None or prop >= LOW_PROPENSITY):
        return None
    return tr("The reference, {regimen}, is itself thinly supported (evidence: {evidence}): every benefit here is "
              "measured against a thinly supported reference.", regimen=regimen_label(analysis.baseline),
              evidence=evidence_text(base))


def interval_note(analysis: PatientAnalysis, *, limit: int = 4) -> str | None:
    """One sentence naming the lopsided intervals (survival and benefit, every horizon) and why they are."""
    found: list[str] = []
    for row in analysis.options:
        name = regimen_label(str(row.get("regimen")))
        for h in analysis.horizons:
            key = column(SURVIVAL, h)
            if lopsided(row.get(key), row.get(bounded(key, LOWER)), row.get(bounded(key, UPPER))):
                found.append(tr("{name}, survival at {when}: {value}", name=name, when=horizon_label(h),
                                value=survival_text(row, key)))
            key = column(BENEFIT, h)
            if not bool(row.get("is_baseline")) and lopsided(row.get(key), row.get(bounded(key, LOWER)),
                                                             row.get(bounded(key, UPPER))):
                found.append(tr("{name}, benefit at {when}: {value}", name=name, when=horizon_label(h),
                                value=benefit_number_text(row, h)))
    if not found:
        return None
    shown = tr("; ").join(found[:limit]) + (tr("; and {count} more", count=len(found) - limit)
                                            if len(found) > limit else "")
    return tr("Some intervals are lopsided ({shown}). The point is the full model's own estimate; the interval is "
            "the spread of its ensemble members or bootstrap refits, so a point near one edge of its interval means "
            "most members estimate less (point near the top) or more (point near the bottom) than the full model.",
              shown=shown)


def caveat_lines(analysis: PatientAnalysis) -> list[str]:
    """The caveats that apply to this analysis, in plain words (plain text, not yet escaped)."""
    lines = [
        tr("Observational data: treatment was not randomised. The benefits are differences the model associates "
           "with each regimen after the recorded factors, and they are confounded by indication and by what the "
           "cohort did not record."),
    ]
    if analysis.options:
        lines.append(rule_text(analysis))
    lines += [note for note in (baseline_note(analysis), interval_note(analysis)) if note]
    coverage = as_number((analysis.assumptions or {}).get("gene_coverage"))
    if coverage is not None:
        lines.append(tr("Gene coverage: {coverage} of the model's genes were in this profile", coverage=f"{coverage:.0%}")
                     + (tr("; missing genes were filled with cohort values.") if coverage < 1 else tr(".")))
    filled = (analysis.assumptions or {}).get("filled") or []
    if filled:
        lines.append(tr("Clinical fields filled from the cohort (missing here): {fields}.",
                        fields=tr(", ").join(tr(field_label(str(f))) for f in filled)))
    ood = as_number((analysis.embedding or {}).get("ood_percentile"))
    if ood is not None:
        lines.append(tr("Distance from the cohort: this profile is further from its nearest cohort patients than "
                        "{percent}% of cohort patients are from theirs", percent=f"{ood:.0f}")
                     + (tr(" (out of distribution: read every comparison with care).") if ood >= 95 else tr(".")))
    lines.append(tr("Similar patients are observed outcomes of a handful of cohort patients, not a matched control "
                    "group."))
    if analysis.synthetic_cohort:
        lines.append(tr("Synthetic demo cohort: every number here is illustrative only."))
    return lines


def created_text(created: str) -> str:
    """'2026-03-14T09:26:53+00:00' → '2026-03-14 09:26 UTC' (the text as given when it is not a time)."""
    when = parse_created(created)
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
            number = None if _missing(raw) else as_number(raw)
            if number is not None and ((f.min_value is not None and number < f.min_value)
                                       or (f.max_value is not None and number > f.max_value)):
                number = None
            values[f"clin_{f.name}"] = number
        else:
            text = "unknown" if _missing(raw) else str(raw).removesuffix(".0")
            values[f"clin_{f.name}"] = text if text in f.categories else "unknown"
    for t in spec.treatments:
        raw = obs.get(t)
        values[f"regimen_{t}"] = bool(not _missing(raw) and as_number(raw))
    return values


def fingerprint(analysis: PatientAnalysis) -> str:
    return hashlib.sha256(analysis.to_json().encode()).hexdigest()


def rows_frame(rows: Any, columns: Sequence[str]) -> pd.DataFrame:
    """A table from a list of row dicts; an empty table with ``columns`` when it lacks any of them."""
    frame = pd.DataFrame(rows if isinstance(rows, list) else [])
    return frame if all(c in frame.columns for c in columns) else pd.DataFrame(columns=list(columns))
