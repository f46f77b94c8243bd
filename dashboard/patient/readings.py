"""The decision rule in words: a reading's title, its plain-words sentence, the evidence phrase, the number
needed to treat, for one option row (screen, PDF, History and charts all use these).

The rule itself is :mod:`models.decision`; an option row is one row of
:attr:`models.treatment.TreatmentOptions.table` as saved in a :class:`~dashboard.patient.record.PatientAnalysis`
(old saved rows, with the codes of :data:`models.decision.OLD_READINGS` and no reading per horizon, still read).
Plain text out (not escaped).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dashboard.i18n import N_, horizon_label, regimen_label, tr
from models.columns import BENEFIT, LOWER, NNT, READING, UPPER, bounded, column
from models.decision import (
    BENEFIT_READINGS,
    HARM,
    LOW_PROPENSITY,
    NO_INTERVAL,
    NO_WORTHWHILE,
    NOT_ENOUGH,
    REFERENCE,
    SMALL,
    UNCERTAIN,
    WORTHWHILE,
    number_needed_to_treat,
)

#: The title of every reading code (models.decision), and of the codes of analyses saved before it.
READING_TITLES = {
    REFERENCE: N_("Reference"),
    WORTHWHILE: N_("Worthwhile benefit"),
    SMALL: N_("Small benefit"),
    HARM: N_("Likely harm"),
    NO_WORTHWHILE: N_("No worthwhile benefit"),
    UNCERTAIN: N_("Uncertain"),
    NO_INTERVAL: N_("Uncertain (no interval)"),
    NOT_ENOUGH: N_("Not enough evidence"),
    "likely benefit": N_("Likely benefit"),  # saved before the per-treatment thresholds (a ±2-point margin)
    "possible harm": N_("Possible harm"),
    "no expected benefit": N_("No expected benefit"),
}
#: Reading codes that are a benefit (the whole interval above zero): where a number needed to treat is shown.
BENEFIT_CODES = (*BENEFIT_READINGS, "likely benefit")
#: The History line's word per reading code (current codes first, then those of older analyses), in this order.
HISTORY_WORDS = {
    WORTHWHILE: N_("worthwhile"), SMALL: N_("small"), "likely benefit": N_("likely benefit"), HARM: N_("likely harm"),
    "possible harm": N_("possible harm"), NO_WORTHWHILE: N_("no worthwhile benefit"), "no expected benefit":
    N_("no expected benefit"), UNCERTAIN: N_("uncertain"), NO_INTERVAL: N_("uncertain"),
    NOT_ENOUGH: N_("not enough evidence"),
}
EVIDENCE_WORDS = {"ok": N_("adequate"), "thin": N_("thin"), "none": N_("none")}
LOPSIDED_RATIO = 3.0  # one arm of an interval more than 3 times the other ...
LOPSIDED_MIN = 0.05  # ... and the longer arm more than 5 points: the interval is called lopsided

def as_number(value: Any) -> float | None:
    """A finite float, or None (missing, not a number, NaN or infinite)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def pp_signed(value: float) -> str:
    return f"{100 * value:+.1f}"


def reading_at(row: Mapping[str, Any], horizon: float | None = None) -> str:
    """The row's reading code at ``horizon`` months: column reading<h>, else (an analysis saved before readings
    per horizon, or ``horizon`` None) its plain "reading", which is the last horizon's; the baseline row is always
    the reference."""
    if bool(row.get("is_baseline")):
        return REFERENCE
    if horizon is not None:
        value = row.get(column(READING, horizon))
        if isinstance(value, str) and value.strip():
            return value.strip()
    value = row.get(READING)
    return value.strip() if isinstance(value, str) else ""


def is_benefit(code: str) -> bool:
    """Whether a reading code is a benefit (worthwhile or small; a saved 'likely benefit' too)."""
    return code in BENEFIT_CODES


def _row_horizons(row: Mapping[str, Any]) -> list[float]:
    out = []
    for key in row:
        if isinstance(key, str) and key.startswith(BENEFIT) and key[len(BENEFIT):].replace(".", "", 1).isdigit():
            out.append(float(key[len(BENEFIT):]))
    return sorted(out)


def _read_horizon(row: Mapping[str, Any], horizon: float) -> float:
    """The horizon the row's reading at ``horizon`` was read at: ``horizon`` itself, or (an analysis saved before
    readings per horizon) the row's last horizon, where its plain reading was read."""
    if isinstance(row.get(column(READING, horizon)), str) and str(row.get(column(READING, horizon))).strip():
        return float(horizon)
    known = _row_horizons(row)
    return known[-1] if known else float(horizon)


def threshold_of(row: Mapping[str, Any]) -> float | None:
    """The row's worthwhile threshold ``T`` (column min_benefit, floored at 0), or None when it has none."""
    t = as_number(row.get("min_benefit"))
    return None if t is None else max(t, 0.0)


def points_text(value: float) -> str:
    text = f"{100 * value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def threshold_text(row: Mapping[str, Any], baseline: str) -> str:
    """'the 1-point worthwhile threshold for Hormone' (over a baseline other than none: '... for Chemo + Hormone
    over Hormone'); the threshold is the regimen's minimum worthwhile benefit less the baseline's."""
    t = threshold_of(row)
    label = regimen_label(str(row.get("regimen")))
    over = "" if baseline in ("", "none") else tr(" over {baseline}", baseline=regimen_label(baseline))
    if t is None:
        return tr("the worthwhile threshold for {label}{over}", label=label, over=over)
    if t == 0:
        return tr("the 0-point worthwhile threshold for {label}{over} (no treatment burden added)", label=label, over=over)
    return tr("the {points}-point worthwhile threshold for {label}{over}", points=points_text(t), label=label, over=over)


def interval_label(row: Mapping[str, Any]) -> str:
    level = as_number(row.get("interval_level"))
    return f"{100 * level:.0f}%" if level is not None and 0 < level < 1 else tr("interval")


def benefit_number_text(row: Mapping[str, Any], horizon: float) -> str:
    """'+0.5 pp (90%: +0.1 to +3.9)' at ``horizon``; without an interval, the point alone; '–' when missing."""
    key = column(BENEFIT, horizon)
    point = as_number(row.get(key))
    if point is None:
        return "–"
    lo, hi = as_number(row.get(bounded(key, LOWER))), as_number(row.get(bounded(key, UPPER)))
    interval = (tr(" ({level}: {lo} to {hi})", level=interval_label(row), lo=pp_signed(lo), hi=pp_signed(hi))
                if lo is not None and hi is not None else "")
    return f"{pp_signed(point)} pp{interval}"


def lopsided(point: Any, lo: Any, hi: Any) -> str | None:
    """'below' or 'above' where an interval is lopsided (one arm more than :data:`LOPSIDED_RATIO` times the other,
    the longer more than :data:`LOPSIDED_MIN`): on which side of the point its long arm lies; else None."""
    p, a, b = as_number(point), as_number(lo), as_number(hi)
    if p is None or a is None or b is None:
        return None
    down, up = max(p - a, 0.0), max(b - p, 0.0)
    longer, shorter = max(down, up), min(down, up)
    if longer <= LOPSIDED_MIN or longer <= LOPSIDED_RATIO * shorter:
        return None
    return "below" if down > up else "above"


def _lopsided_clause(row: Mapping[str, Any], horizon: float) -> str:
    key = column(BENEFIT, horizon)
    side = lopsided(row.get(key), row.get(bounded(key, LOWER)), row.get(bounded(key, UPPER)))
    if side is None:
        return ""
    if side == "below":
        return tr(" The interval is lopsided: most of the model's ensemble members or bootstrap refits estimate less "
                  "benefit than the full model's own estimate (the point).")
    return tr(" The interval is lopsided: most of the model's ensemble members or bootstrap refits estimate more "
              "benefit than the full model's own estimate (the point).")


def evidence_text(row: Mapping[str, Any]) -> str:
    """The one evidence phrase, on screen and in the PDF: 'adequate (12 of 100 similar patients)', 'thin (3 of 100
    similar patients)', with ', rarely given to similar patients (propensity 3%)' where the propensity is under
    :data:`~models.decision.LOW_PROPENSITY`."""
    level = str(row.get("evidence") or "")
    text = tr(EVIDENCE_WORDS[level]) if level in EVIDENCE_WORDS else level or "–"
    n = as_number(row.get("evidence_n"))
    if n is not None:
        k = as_number(row.get("evidence_k"))
        text += (tr(" ({n} of {k} similar patients)", n=f"{n:.0f}", k=f"{k:.0f}") if k
                 else tr(" ({n} of the most similar patients)", n=f"{n:.0f}"))
    prop = as_number(row.get("propensity"))
    if prop is not None and prop < LOW_PROPENSITY and (n is None or n > 0):
        shown = tr("under 1%") if prop < 0.005 else f"{100 * prop:.0f}%"
        text += tr(", rarely given to similar patients (propensity {shown})", shown=shown)
    return text


def reading_words(row: Mapping[str, Any], *, horizon: float, baseline: str) -> str:
    """The row's reading at ``horizon`` in plain words, with its number, interval and the regimen's own worthwhile
    threshold, as an option to discuss (never a directive). An analysis saved before readings per horizon is
    worded at the horizon its reading was read at."""
    code = reading_at(row, horizon)
    h = _read_horizon(row, horizon)
    base = regimen_label(baseline)
    when = horizon_label(h)
    number = benefit_number_text(row, h)
    threshold = threshold_text(row, baseline)
    t = threshold_of(row)
    b = as_number(row.get(column(BENEFIT, h)))
    skew = _lopsided_clause(row, h)
    f = {"number": number, "when": when, "base": base, "threshold": threshold, "skew": skew}
    if code == REFERENCE:
        return tr("Reference: the other options are compared with this one.")
    if code == NOT_ENOUGH:
        return tr("Not enough evidence: too few comparable cohort patients received this regimen, so no benefit is "
                  "read from the model for it. Evidence: {evidence}.", evidence=evidence_text(row))
    if code == NO_INTERVAL:
        return tr("Uncertain: a point estimate only ({number} at {when} over {base}; single model, no interval), "
                  "too little to judge the benefit.", **f)
    if code == WORTHWHILE:
        return tr("Likely worthwhile benefit, an option to discuss: {number} at {when} over {base}; the whole "
                  "interval is at or above {threshold}.{skew}", **f)
    if code == SMALL:
        where = (tr("below {threshold}", threshold=threshold) if b is not None and t is not None and b < t
                 else tr("its lower end below {threshold}", threshold=threshold))
        return tr("Likely small benefit: {number} at {when} over {base}, {where} (the whole interval is above zero, "
                  "not all of it above the threshold).{skew}", where=where, **f)
    if code == HARM:
        return tr("Likely harm: {number} at {when} against {base}: the whole interval is below zero; worth "
                  "understanding why before considering it.{skew}", **f)
    if code == NO_WORTHWHILE:
        return tr("No worthwhile benefit: {number} at {when} over {base}; the whole interval is below "
                  "{threshold}.{skew}", **f)
    if code == UNCERTAIN:
        spans = (tr("is too wide to say whether it helps") if t is None else tr("includes zero") if t == 0
                 else tr("spans both no benefit and {threshold}", threshold=threshold))
        return tr("Uncertain: {number} at {when} over {base}; the interval {spans}.{skew}", spans=spans, **f)
    if code == "likely benefit":
        return tr("Likely benefit (read by an earlier rule: the whole interval at least 2 points above {base}), an "
                  "option to discuss: {number} at {when}.", **f)
    if code == "possible harm":
        return tr("Possible harm (read by an earlier rule: the whole interval at least 2 points below {base}): "
                  "{number} at {when}; worth understanding why before considering it.", **f)
    if code == "no expected benefit":
        return tr("No expected benefit (read by an earlier rule: the whole interval within 2 points of {base}): "
                  "{number} at {when}.", **f)
    return code.capitalize() if code else "–"


def nnt_at(row: Mapping[str, Any], horizon: float) -> float | None:
    """The number needed to treat at ``horizon``, exactly where the reading there is a benefit (else None)."""
    if not is_benefit(reading_at(row, horizon)):
        return None
    nnt = as_number(row.get(column(NNT, horizon)))
    if nnt is None:
        b = as_number(row.get(column(BENEFIT, _read_horizon(row, horizon))))
        nnt = float(number_needed_to_treat(b)) if b is not None else None
    return None if nnt is None or not math.isfinite(nnt) else nnt


