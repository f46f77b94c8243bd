"""The report's words: plain printable text, number and interval cells, labels, and the tables the PDF and the
Patient page share (which model variant answered, PREDICT beside the learned model).

Report text is set in the DejaVu fonts shipped with matplotlib (:func:`font_dir`), so any character those
fonts can draw prints; :func:`printable` turns the rest into '?' so that nothing silently disappears. A Chinese
report adds the system's WenQuanYi Micro Hei (Debian package fonts-wqy-microhei, found at run time, never shipped) as
the fallback font, and CJK characters print too.
"""
from __future__ import annotations

import functools
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd

from dashboard.i18n import N_, current_language, horizon_short, tr, translate_error
from dashboard.patient.presentation import as_number
from dashboard.patient.record import PatientAnalysis, parse_created
from dashboard.text import field_label
from models.columns import LOWER, SURVIVAL, UPPER, bounded, column, years_tag

FONT = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
CJK_FONT = "WenQuanYi"
CJK_FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc")
CJK_FONT_MISSING = ("The Chinese PDF report needs the WenQuanYi Micro Hei font, which this server lacks: install the "
                    "fonts-wqy-microhei package (apt-get install fonts-wqy-microhei), or download the report in English.")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
DASH = "–"
MISSING = "n/a"
#: The model variants' labels (models.variants.VARIANT_LABELS) for the catalogue: the "Answered by the ..." and plan
#: sentences are translated with them (dashboard.i18n.translate_error).
VARIANT_WORDS = {"full": N_("full model"), "companion": N_("companion model on the shared genes"),
                 "robust": N_("platform-robust model (gene-set rank scores)"), "clinical": N_("clinical-only model")}
#: PREDICT's treatment ladder labels (models.predict_breast.ladder.LADDER_LABELS) for the catalogue.
LADDER_WORDS = {"surgery": N_("Surgery only"), "endocrine": N_("+ Endocrine therapy (5 years)"),
                "radiotherapy": N_("+ Radiotherapy"), "chemotherapy": N_("+ Chemotherapy"),
                "trastuzumab": N_("+ Trastuzumab"), "bisphosphonates": N_("+ Bisphosphonates")}
METRIC_LABELS = {
    "harrell_c": N_("Held-back C-index (Harrell)"),
    "uno_c": N_("Held-back C-index (Uno, censoring-weighted)"),
    "ibs": N_("Integrated Brier score (lower is better)"),
    "calibration_slope": N_("Calibration slope (ideal 1)"),
    "calibration_intercept": N_("Calibration intercept (ideal 0)"),
    "calibration_in_the_large": N_("Mean predicted minus observed survival"),
}


def font_dir() -> Path:
    """The folder of the DejaVu fonts shipped with matplotlib."""
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@functools.cache
def _printable_code_points() -> frozenset[int]:
    """Code points that every report font (regular, bold, oblique) can draw."""
    from fontTools.ttLib import TTFont  # lazy: start-up cost (read once, on the first report)

    sets = []
    for name in FONT_FILES.values():
        with TTFont(str(font_dir() / name), lazy=True) as font:
            sets.append(set(font.getBestCmap()))
    return frozenset(set.intersection(*sets))


@functools.cache
def cjk_font_file() -> Path | None:
    """The system's WenQuanYi Micro Hei file (a known path, else fontconfig's fc-match), or None when absent."""
    for name in CJK_FONT_FILES:
        if Path(name).is_file():
            return Path(name)
    if (fc_match := shutil.which("fc-match")) is None:
        return None
    found = subprocess.run([fc_match, "-f", "%{file}", "WenQuanYi Micro Hei"], capture_output=True, text=True,  # noqa: S603 (fixed arguments)
                           timeout=10, check=False).stdout.strip()
    return Path(found) if "wqy" in found.lower() and Path(found).is_file() else None


@functools.cache
def _cjk_code_points() -> frozenset[int]:
    from fontTools.ttLib import TTFont  # lazy: start-up cost (read once, on the first Chinese report)

    with TTFont(str(cjk_font_file()), lazy=True, fontNumber=0) as font:
        return frozenset(font.getBestCmap())


def uses_cjk_font() -> bool:
    """True for a report in a CJK language (the CJK fallback font is then required)."""
    return current_language() == "zh_CN"


def printable(value: object) -> str:
    """User or data text as printable plain text: control characters, lone surrogates and characters the report
    fonts cannot draw (e.g. CJK in an English report) become '?', so nothing silently disappears."""
    text = _CONTROL.sub("?", str(value).replace("\t", " ").replace("\r\n", "\n"))
    drawable = _printable_code_points() | (_cjk_code_points() if uses_cjk_font() and cjk_font_file() else frozenset())
    return "".join(c if c == "\n" or ord(c) in drawable else "?" for c in text)


def finite_number(value: Any) -> float | None:
    """A finite float, or None (missing, a bool, not a number, NaN or infinite)."""
    return None if isinstance(value, bool) else as_number(value)


def _bounds(row: dict[str, Any], key: str) -> tuple[float | None, float | None, float | None]:
    """The point and its interval bounds of ``key`` in a result row (None where missing or not finite)."""
    return (finite_number(row.get(key)), finite_number(row.get(bounded(key, LOWER))),
            finite_number(row.get(bounded(key, UPPER))))


def survival_cell(row: dict[str, Any], key: str) -> str:
    point, lo, hi = _bounds(row, key)
    if point is None:
        return MISSING
    text = f"{100 * point:.1f}%"
    if lo is not None and hi is not None:
        text += f" ({100 * lo:.1f}{DASH}{100 * hi:.1f})"
    return text


def pp_text(value: float) -> str:
    return f"{100 * value:+.1f}".replace("-", "−")


def benefit_cell(row: dict[str, Any], key: str) -> str:
    point, lo, hi = _bounds(row, key)
    if point is None:
        return MISSING
    text = f"{pp_text(point)} pp"
    if lo is not None and hi is not None:
        text += tr(" ({lo} to {hi})", lo=pp_text(lo), hi=pp_text(hi))
    return text


def variant_lines(a: PatientAnalysis) -> list[str]:
    """Plain-words lines on which model variant answered, on which genes, and what that costs in C."""
    v = a.variant or {}
    if not v:
        return []
    lines = [translate_error(str(v.get("summary") or ""))]
    cost = finite_number(v.get("c_cost"))
    if v.get("variant") != "full" and cost is not None:
        lines.append(tr("Cost of the missing genes: {cost} in held-back C against the full model, both measured on "
                        "the same held-back patients.", cost=f"{-cost:+.3f}"))
    if v.get("expression_note"):
        lines.append(tr("Expression: {note}.", note=translate_error(str(v["expression_note"]))))
    return [line for line in lines if line]


def predict_comparison(a: PatientAnalysis) -> pd.DataFrame:
    """PREDICT v2.1's treatment ladder beside the learned model's survival under the same regimen."""
    ladder = (a.predict or {}).get("ladder") or []
    if not ladder:
        return pd.DataFrame()
    ours = {str(row.get("regimen")): row for row in a.options}

    def pct(value: Any) -> str:
        number = finite_number(value)
        return MISSING if number is None else f"{100 * number:.1f}%"

    rows = []
    for step in ladder:
        mine = ours.get(str(step.get("regimen")))
        row = {tr("Treatment"): tr(str(step.get("label", "")))}
        for h in a.horizons:  # PREDICT and OncoTx side by side at each horizon
            years = years_tag(h)
            row[tr("PREDICT OS {years} y", years=years)] = pct(step.get(f"os_{years}y"))
            row[f"OncoTx {a.endpoint} {horizon_short(h)}"] = (survival_cell(mine, column(SURVIVAL, h)) if mine
                                                              else tr("not a cohort regimen"))
        row |= {tr("PREDICT BCSS {years} y", years=10): pct(step.get("bcss_10y")),
                tr("Other-cause deaths {years} y", years=10): pct(step.get("other_mortality_10y")),
                tr("PREDICT added OS {years} y", years=10): MISSING if finite_number(step.get("os_benefit_10y")) is None
                else f"{pp_text(float(step['os_benefit_10y']))} pp",
                tr("PREDICT OS {years} y", years=15): pct(step.get("os_15y"))}
        rows.append(row)
    return pd.DataFrame(rows)


def fraction_text(value: Any) -> str:
    number = finite_number(value)
    if number is None:
        return printable(value) if value not in (None, "") else MISSING
    return f"{100 * number:.1f}%" if 0 <= number <= 1 else f"{number:g}%"


def corrections_text(corrections: list[dict[str, Any]]) -> str:
    """The clinician's corrections of the record in the review step, in one sentence for the screen and the PDF."""
    parts = [f"{field_label(c['field'])}: read {c['read']}, corrected to {c['entered']}" for c in corrections]
    return "Corrected in the review step: " + "; ".join(parts) + "." if parts else ""


def any_text(value: Any) -> str:
    """A compact plain rendering of any JSON value."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return tr("yes") if value else tr("no")
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(any_text(v) for v in value) if value else tr("none")
    if isinstance(value, dict):
        return "; ".join(f"{k}: {any_text(v)}" for k, v in value.items()) if value else tr("none")
    return printable(value)


def metric_text(value: Any) -> str | None:
    if isinstance(value, dict) and "value" in value:
        point, lo, hi = finite_number(value.get("value")), finite_number(value.get("lo")), finite_number(value.get("hi"))
        if point is None:
            return None
        return f"{point:.3f} [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else f"{point:.3f}"
    number = finite_number(value)
    return f"{number:.3f}" if number is not None else None


def metric_label(name: str) -> str:
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    if name.startswith("td_auc_") and (h := finite_number(name.removeprefix("td_auc_"))) is not None:
        return tr("Time-dependent AUC at {when}", when=horizon_short(h))
    return name.replace("_", " ").capitalize()


def created_time(analysis: PatientAnalysis) -> datetime | None:
    """When the analysis was made (aware UTC), or None when its time does not read as one."""
    return parse_created(analysis.created)


def created_text(analysis: PatientAnalysis) -> str:
    when = created_time(analysis)
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else printable(analysis.created)


def regimen_names(analysis: PatientAnalysis) -> list[str]:
    names = [str(r.get("regimen")) for r in analysis.options if r.get("regimen") is not None]
    names += [str(c.get("regimen")) for c in analysis.curves if c.get("regimen") is not None]
    return list(dict.fromkeys(names))


def is_baseline(analysis: PatientAnalysis, row: dict[str, Any]) -> bool:
    flag = row.get("is_baseline")
    return bool(flag) if flag is not None else row.get("regimen") == analysis.baseline
