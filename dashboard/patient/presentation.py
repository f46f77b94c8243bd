"""The Patient dashboard's words and tables, from one :class:`~dashboard.patient.record.PatientAnalysis`.

Plain data in, plain data out (no Streamlit): the options table at a horizon, a reading in plain words (an
option to discuss, never a directive), the caveats that apply, the form values of an uploaded patient. The
Streamlit renderer (:mod:`dashboard.ui.patient_view`) and the tests call these. Text is returned unescaped:
the renderer passes it through :func:`dashboard.text.plain` before it reaches markdown.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from dashboard.patient.record import PatientAnalysis, parse_created
from dashboard.text import field_label, plain
from genomics.regimens import regimen_label
from models.columns import (
    BENEFIT,
    CANCER_SPECIFIC,
    LOWER,
    NNT,
    SURVIVAL,
    UPPER,
    bounded,
    column,
    horizon_years_label,
)

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


def as_number(value: Any) -> float | None:
    """A finite float, or None (missing, not a number, NaN or infinite)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def percent_text(value: Any) -> str:
    """0.86 → '86%'; '–' when missing."""
    number = as_number(value)
    return "–" if number is None else f"{100 * number:.0f}%"


def percent_interval(lo: Any, hi: Any) -> str | None:
    """(0.81, 0.90) → '81–90%'; None when a bound is missing."""
    a, b = as_number(lo), as_number(hi)
    return None if a is None or b is None else f"{100 * a:.0f}–{100 * b:.0f}%"


def _pp(value: float) -> str:
    return f"{100 * value:+.1f}"


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
        return "reference"
    point = as_number(row.get(key))
    if point is None:
        return "–"
    lo, hi = as_number(row.get(bounded(key, LOWER))), as_number(row.get(bounded(key, UPPER)))
    return f"{_pp(point)} pp" + (f" ({_pp(lo)} to {_pp(hi)})" if lo is not None and hi is not None else "")


def reading_words(row: Mapping[str, Any], *, horizon: float, baseline: str) -> str:
    """The row's reading in plain words, as an option to discuss (never a directive)."""
    reading = str(row.get("reading") or "")
    base = regimen_label(baseline)
    when = horizon_years_label(horizon)
    b = as_number(row.get(column(BENEFIT, horizon)))
    lo, hi = as_number(row.get(column(BENEFIT, horizon, LOWER))), as_number(row.get(column(BENEFIT, horizon, UPPER)))
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
        needed = as_number(row.get("min_benefit"))
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
    last = analysis.horizons[-1] if analysis.horizons else horizon
    has_css = any(column(CANCER_SPECIFIC, horizon) in row for row in analysis.options)
    rows = []
    for row in analysis.options:
        name = regimen_label(str(row.get("regimen"))) + (" (baseline)" if row.get("is_baseline") else "")
        evidence = EVIDENCE_WORDS.get(str(row.get("evidence")), str(row.get("evidence") or "–"))
        if row.get("evidence_n") is not None:
            evidence += f" (n={row['evidence_n']})"
        nnt = as_number(row.get(column(NNT, horizon)))
        out = {
            "Regimen": name,
            f"Survival at {horizon_years_label(horizon)}": survival_text(row, column(SURVIVAL, horizon)),
            "Benefit (pp)": benefit_text(row, column(BENEFIT, horizon)),
            "Reading": READING_TITLES.get(str(row.get("reading")), str(row.get("reading") or "–")),
            "Evidence": evidence,
            "NNT": "–" if nnt is None else f"{nnt:.0f}",
            "In plain words": reading_words(row, horizon=float(last), baseline=analysis.baseline),
        }
        if has_css:
            out["Cancer-specific"] = survival_text(row, column(CANCER_SPECIFIC, horizon))
        rows.append(out)
    return pd.DataFrame(rows)


def curves_frame(analysis: PatientAnalysis) -> pd.DataFrame:
    frame = pd.DataFrame(analysis.curves, columns=["regimen", "month", "S", "S_lo", "S_hi"])
    for name in ("month", "S", "S_lo", "S_hi"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
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
    when = horizon_years_label(analysis.horizons[-1]) if analysis.horizons else "the last horizon"
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
    coverage = as_number((analysis.assumptions or {}).get("gene_coverage"))
    if coverage is not None:
        lines.append(f"Gene coverage: {coverage:.0%} of the model's genes were in this profile"
                     + ("; missing genes were filled with cohort values." if coverage < 1 else "."))
    filled = (analysis.assumptions or {}).get("filled") or []
    if filled:
        lines.append("Clinical fields filled from the cohort (missing here): "
                     + ", ".join(field_label(str(f)) for f in filled) + ".")
    ood = as_number((analysis.embedding or {}).get("ood_percentile"))
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
