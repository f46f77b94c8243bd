"""Exports of one saved or shown patient analysis: a PDF report, the options table as CSV, the analysis as JSON.

The PDF (fpdf2, charts drawn with matplotlib's Agg canvas) holds the audit trail (time, user, pseudonymised
patient id, input SHA-256s, model id and bundle SHA-256), the caveat in full, the treatment options with their
intervals and evidence, survival and benefit charts, the molecular profile, data quality and assumptions, the
risk explanation and a model-card summary. Every page carries the research-use notice in its header. Text is
set in the DejaVu fonts shipped with matplotlib, so any Unicode text prints; user-supplied text is printed as
plain text (no markup). A missing section prints a short "not available" line.

The CSV is the options table (one row per regimen) with formula-like cells neutralised
(:func:`genomics.export.to_safe_csv`); the JSON is the analysis itself, pretty-printed.
"""
from __future__ import annotations

import functools
import io
import json
import math
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from dashboard.analysis import PatientAnalysis
from dashboard.text import RESEARCH_NOTICE, field_label, regimen_label
from genomics.export import to_safe_csv

FONT = "DejaVu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_DASH = "–"
MISSING = "n/a"
FALLBACK_CAVEAT = (  # printed only for an analysis saved without its caveat (the engine's is models.treatment.CAVEAT)
    "Options, not directives. These estimates come from observational data, confounded by indication and by "
    "factors the cohort did not record. Research use only."
)
MAX_PERCENTILES = 60
MAX_CONTRIBUTIONS = 12
CSV_LEAD = ["patient_id", "model_id", "created"]
METRIC_LABELS = {
    "harrell_c": "Held-back C-index (Harrell)",
    "uno_c": "Held-back C-index (Uno, censoring-weighted)",
    "ibs": "Integrated Brier score (lower is better)",
    "calibration_slope": "Calibration slope (ideal 1)",
    "calibration_intercept": "Calibration intercept (ideal 0)",
    "calibration_in_the_large": "Mean predicted minus observed survival",
}
READING_COLOURS = {
    "likely benefit": "#2e7d32", "possible harm": "#c62828", "no expected benefit": "#757575",
    "uncertain": "#1f77b4", "not enough evidence": "#bdbdbd",
}
_MARGINS = 15.0  # mm
_LINE = 4.2  # mm per 8.5 pt text line


# ---------------------------------------------------------------------------------------------- small helpers


@functools.cache
def _printable() -> frozenset[int]:
    """Code points that every report font (regular, bold, oblique) can draw."""
    from fontTools.ttLib import TTFont

    sets = []
    for name in _FONT_FILES.values():
        with TTFont(str(_font_dir() / name), lazy=True) as font:
            sets.append(set(font.getBestCmap()))
    return frozenset(set.intersection(*sets))


def _t(value: object) -> str:
    """User or data text as printable plain text: control characters, lone surrogates and characters the report
    fonts cannot draw (e.g. CJK) become '?', so nothing silently disappears."""
    text = _CONTROL.sub("?", str(value).replace("\t", " ").replace("\r\n", "\n"))
    printable = _printable()
    return "".join(c if c == "\n" or ord(c) in printable else "?" for c in text)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _tag(h: float) -> str:
    return f"{h:g}"


def horizon_label(h: float) -> str:
    """60 → '5 y'; 18 → '18 mo' (horizons are in months)."""
    return f"{h / 12:g} y" if h % 12 == 0 else f"{h:g} mo"


def _survival_text(row: dict[str, Any], key: str) -> str:
    point, lo, hi = _num(row.get(key)), _num(row.get(f"{key}_lo")), _num(row.get(f"{key}_hi"))
    if point is None:
        return MISSING
    text = f"{100 * point:.1f}%"
    if lo is not None and hi is not None:
        text += f" ({100 * lo:.1f}{_DASH}{100 * hi:.1f})"
    return text


def _pp(value: float) -> str:
    return f"{100 * value:+.1f}".replace("-", "−")


def _benefit_text(row: dict[str, Any], key: str) -> str:
    point, lo, hi = _num(row.get(key)), _num(row.get(f"{key}_lo")), _num(row.get(f"{key}_hi"))
    if point is None:
        return MISSING
    text = f"{_pp(point)} pp"
    if lo is not None and hi is not None:
        text += f" ({_pp(lo)} to {_pp(hi)})"
    return text


def variant_lines(a: PatientAnalysis) -> list[str]:
    """Plain-words lines on which model variant answered, on which genes, and what that costs in C."""
    v = a.variant or {}
    if not v:
        return []
    lines = [str(v.get("summary") or "")]
    cost = _num(v.get("c_cost"))
    if v.get("variant") != "full" and cost is not None:
        lines.append(f"Cost of the missing genes: {-cost:+.3f} in held-back C against the full model, both measured "
                     "on the same held-back patients.")
    if v.get("expression_note"):
        lines.append(f"Expression: {v['expression_note']}.")
    return [line for line in lines if line]


def predict_comparison(a: PatientAnalysis) -> pd.DataFrame:
    """PREDICT v2.1's treatment ladder beside the learned model's survival under the same regimen."""
    ladder = (a.predict or {}).get("ladder") or []
    if not ladder:
        return pd.DataFrame()
    ours = {str(row.get("regimen")): row for row in a.options}

    def pct(value: Any) -> str:
        number = _num(value)
        return MISSING if number is None else f"{100 * number:.1f}%"

    rows = []
    for step in ladder:
        mine = ours.get(str(step.get("regimen")))
        row = {"Treatment": str(step.get("label", ""))}
        for h in a.horizons:  # PREDICT and OncoTx side by side at each horizon
            years = f"{h / 12:g}"
            row[f"PREDICT OS {years} y"] = pct(step.get(f"os_{years}y"))
            row[f"OncoTx {a.endpoint} {horizon_label(h)}"] = (_survival_text(mine, f"S{_tag(h)}") if mine
                                                              else "not a cohort regimen")
        row |= {"PREDICT BCSS 10 y": pct(step.get("bcss_10y")),
                "Other-cause deaths 10 y": pct(step.get("other_mortality_10y")),
                "PREDICT added OS 10 y": MISSING if _num(step.get("os_benefit_10y")) is None
                else f"{_pp(float(step['os_benefit_10y']))} pp",
                "PREDICT OS 15 y": pct(step.get("os_15y"))}
        rows.append(row)
    return pd.DataFrame(rows)


def _fraction_text(value: Any) -> str:
    number = _num(value)
    if number is None:
        return _t(value) if value not in (None, "") else MISSING
    return f"{100 * number:.1f}%" if 0 <= number <= 1 else f"{number:g}%"


def _any_text(value: Any) -> str:
    """A compact plain rendering of any JSON value."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(_any_text(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_any_text(v)}" for k, v in value.items()) if value else "none"
    return _t(value)


def _metric_text(value: Any) -> str | None:
    if isinstance(value, dict) and "value" in value:
        point, lo, hi = _num(value.get("value")), _num(value.get("lo")), _num(value.get("hi"))
        if point is None:
            return None
        return f"{point:.3f} [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else f"{point:.3f}"
    number = _num(value)
    return f"{number:.3f}" if number is not None else None


def _metric_label(name: str) -> str:
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    if name.startswith("td_auc_") and (h := _num(name.removeprefix("td_auc_"))) is not None:
        return f"Time-dependent AUC at {horizon_label(h)}"
    return name.replace("_", " ").capitalize()


def _created(analysis: PatientAnalysis) -> datetime | None:
    try:
        value = datetime.fromisoformat(str(analysis.created).strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _created_text(analysis: PatientAnalysis) -> str:
    when = _created(analysis)
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else _t(analysis.created)


def _regimens(analysis: PatientAnalysis) -> list[str]:
    names = [str(r.get("regimen")) for r in analysis.options if r.get("regimen") is not None]
    names += [str(c.get("regimen")) for c in analysis.curves if c.get("regimen") is not None]
    return list(dict.fromkeys(names))


def _is_baseline(analysis: PatientAnalysis, row: dict[str, Any]) -> bool:
    flag = row.get("is_baseline")
    return bool(flag) if flag is not None else row.get("regimen") == analysis.baseline


# ---------------------------------------------------------------------------------------------- charts


def _png(fig: Figure) -> tuple[bytes, float]:
    """PNG bytes of a figure (Agg canvas, no pyplot state) and its height/width ratio."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150)
    width, height = fig.get_size_inches()
    fig.clear()
    return buffer.getvalue(), float(height / width)


def _colours(names: Sequence[str]) -> dict[str, Any]:
    cmap = matplotlib.colormaps["tab10"]
    return {name: cmap(i % 10) for i, name in enumerate(names)}


def survival_chart(analysis: PatientAnalysis) -> tuple[bytes, float] | None:
    """Survival curves per regimen with their interval bands (PNG, height/width), or None without curves."""
    frame = pd.DataFrame(analysis.curves)
    if frame.empty or not {"regimen", "month", "S"} <= set(frame.columns):
        return None
    for col in ("month", "S", "S_lo", "S_hi"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce") if col in frame else float("nan")
    names = [n for n in _regimens(analysis) if n in set(frame["regimen"].astype(str))]
    colours = _colours(names)
    fig = Figure(figsize=(7.2, 4.4), layout="constrained")
    ax = fig.add_subplot()
    for name in names:
        part = frame[frame["regimen"].astype(str) == name].sort_values("month")
        baseline = name == analysis.baseline
        ax.plot(part["month"], 100 * part["S"], color="black" if baseline else colours[name],
                lw=2.0 if baseline else 1.4, ls="--" if baseline else "-",
                label=regimen_label(name) + (" (baseline)" if baseline else ""))
        band = part.dropna(subset=["S_lo", "S_hi"])
        if len(band):
            ax.fill_between(band["month"], 100 * band["S_lo"], 100 * band["S_hi"],
                            color="black" if baseline else colours[name], alpha=0.10, lw=0)
    for h in analysis.horizons:
        ax.axvline(h, color="#999999", lw=0.8, ls=":")
    ax.set_xlabel("Months since diagnosis")
    ax.set_ylabel(f"Estimated survival, % ({analysis.endpoint})")
    ax.set_ylim(0, 100)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.set_title("Estimated survival under each regimen (bands: interval)", fontsize=10)
    fig.legend(fontsize=7, loc="outside lower center", ncol=3, frameon=False)
    return _png(fig)


def benefit_chart(analysis: PatientAnalysis) -> tuple[bytes, float] | None:
    """Benefit against the baseline at the last horizon with its interval (PNG, height/width), or None."""
    if not analysis.options or not analysis.horizons:
        return None
    key = f"B{_tag(analysis.horizons[-1])}"
    rows = [r for r in analysis.options if not _is_baseline(analysis, r)]
    if not rows:
        return None
    labels, points, lows, highs, colours = [], [], [], [], []
    for row in rows:
        point = _num(row.get(key))
        lo, hi = _num(row.get(f"{key}_lo")), _num(row.get(f"{key}_hi"))
        labels.append(regimen_label(str(row.get("regimen"))))
        points.append(100 * point if point is not None else 0.0)
        lows.append(100 * (point - lo) if point is not None and lo is not None else 0.0)
        highs.append(100 * (hi - point) if point is not None and hi is not None else 0.0)
        colours.append(READING_COLOURS.get(str(row.get("reading")), "#1f77b4"))
    fig = Figure(figsize=(7.2, 1.3 + 0.32 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    y = list(range(len(rows)))[::-1]
    ax.barh(y, points, color=colours, height=0.6)
    ax.errorbar(points, y, xerr=[lows, highs], fmt="none", ecolor="black", elinewidth=1, capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(f"Benefit at {horizon_label(analysis.horizons[-1])} vs {regimen_label(analysis.baseline)} "
                  "(percentage points)", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Estimated benefit with interval", fontsize=10)
    shown = [r for r in READING_COLOURS if r in {str(row.get("reading")) for row in rows}]
    if shown:
        handles = [Patch(color=READING_COLOURS[r], label=r) for r in shown]
        fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncol=min(len(shown), 5), frameon=False)
    return _png(fig)


def risk_chart(analysis: PatientAnalysis) -> tuple[bytes, float] | None:
    """The largest contributions to the risk score as horizontal bars (PNG, height/width), or None."""
    items = [(str(c.get("feature")), _num(c.get("value"))) for c in analysis.explanations.get("risk") or []
             if isinstance(c, dict)]
    items = [(f, v) for f, v in items if v is not None]
    if not items:
        return None
    items = sorted(items, key=lambda fv: abs(fv[1]), reverse=True)[:MAX_CONTRIBUTIONS][::-1]
    fig = Figure(figsize=(7.2, 1.0 + 0.3 * len(items)), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(range(len(items)), [v for _, v in items],
            color=["#c62828" if v > 0 else "#1565c0" for _, v in items], height=0.6)
    ax.set_yticks(range(len(items)), [field_label(f) if "_" in f else f for f, _ in items], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("Contribution to the risk score (red raises risk, blue lowers it)", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Largest contributions to this patient's risk", fontsize=10)
    return _png(fig)


# ---------------------------------------------------------------------------------------------- PDF


def _font_dir() -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


class _ReportPDF(FPDF):
    """A4 portrait with the research-use notice as every page's header and a page footer."""

    def __init__(self, *, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        # a per-document alias for the page count, so that user text such as "{nb}" is never replaced
        self.nb_alias = f"{{pages-{secrets.token_hex(6)}}}"
        self.alias_nb_pages(self.nb_alias)
        for style, name in _FONT_FILES.items():
            self.add_font(FONT, style, str(_font_dir() / name))
        self.set_margins(_MARGINS, 14, _MARGINS)
        self.set_auto_page_break(auto=True, margin=16)

    def header(self) -> None:
        self.set_y(6)
        self.set_font(FONT, "B", 7.5)
        self.set_text_color(150, 20, 20)
        self.multi_cell(0, 3.6, RESEARCH_NOTICE, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(150, 20, 20)
        self.line(self.l_margin, self.get_y() + 0.8, self.w - self.r_margin, self.get_y() + 0.8)
        self.set_text_color(0, 0, 0)
        self.set_draw_color(0, 0, 0)
        self.set_y(self.get_y() + 3)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"{self.footer_text} · page {self.page_no()}/{self.nb_alias}", align="C")
        self.set_text_color(0, 0, 0)

    # layout helpers -----------------------------------------------------------------------------------

    @property
    def content_width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def ensure_space(self, height: float) -> None:
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    def heading(self, text: str, *, keep: float = 24.0) -> None:
        """A section title, on the same page as at least ``keep`` mm of what follows."""
        self.ensure_space(12 + keep)
        self.ln(3)
        self.set_font(FONT, "B", 12)
        self.set_text_color(20, 50, 100)
        self.cell(0, 7, _t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)

    def subheading(self, text: str) -> None:
        self.ensure_space(16)
        self.ln(1)
        self.set_font(FONT, "B", 9.5)
        self.cell(0, 5.5, _t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def para(self, text: str, *, size: float = 8.5, style: str = "", colour: tuple[int, int, int] = (0, 0, 0),
             fill: tuple[int, int, int] | None = None) -> None:
        self.set_font(FONT, style, size)
        self.set_text_color(*colour)
        if fill is not None:
            self.set_fill_color(*fill)
        self.multi_cell(0, size * 0.5, _t(text), align="L", fill=fill is not None, padding=1.5 if fill else 0,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.set_fill_color(255, 255, 255)

    def unavailable(self, what: str) -> None:
        self.para(f"{what}: not available.", style="I", colour=(110, 110, 110))

    def bullets(self, items: Iterable[object], *, size: float = 8.5) -> None:
        for item in items:
            self.para(f"• {_t(item)}", size=size)

    def table_rows(self, header: Sequence[str] | None, rows: Sequence[Sequence[object]], *,
                   widths: Sequence[float], size: float = 7.5, align: str = "LEFT") -> None:
        """A plain-text table (no markup); the header row repeats after a page break."""
        if not rows:
            return
        if len(rows) <= 16:  # a short table stays on one page
            self.ensure_space((len(rows) + (header is not None)) * size * 0.6 + 2)
        self.set_font(FONT, "", size)
        headings = FontFace(emphasis="BOLD", fill_color=(222, 228, 240))
        with self.table(col_widths=tuple(widths), width=sum(widths), align="LEFT", text_align=align,
                        first_row_as_headings=header is not None, headings_style=headings, markdown=False,
                        line_height=size * 0.48, padding=0.8, borders_layout="HORIZONTAL_LINES",
                        cell_fill_color=(245, 246, 250), cell_fill_mode="ROWS") as table:
            for values in ([header] if header is not None else []) + list(rows):
                line = table.row()
                for value in values:
                    line.cell(_t(value))
        self.ln(1.5)

    def key_values(self, pairs: Sequence[tuple[str, object]], *, key_width: float = 48.0, size: float = 8.0) -> None:
        rows = [(k, _any_text(v) if not isinstance(v, str) else _t(v)) for k, v in pairs]
        self.table_rows(None, rows, widths=(key_width, self.content_width - key_width), size=size)

    def chart(self, rendered: tuple[bytes, float] | None, *, what: str, title: str | None = None,
              width: float | None = None) -> None:
        """An image, kept on one page with its title; a "not available" line when there is none."""
        if rendered is None:
            if title:
                self.subheading(title)
            self.unavailable(what)
            return
        png, ratio = rendered
        width = width or self.content_width
        height = width * ratio
        self.ensure_space(height + (9 if title else 2))
        if title:
            self.subheading(title)
        self.image(io.BytesIO(png), x=self.l_margin + (self.content_width - width) / 2, w=width, h=height)
        self.set_y(self.get_y() + 1)


def _audit_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    pairs: list[tuple[str, object]] = [
        ("Created", _created_text(a)),
        ("User", a.user),
        ("Patient (pseudonymised id)", a.patient_id),
        ("Reference cohort", f"{_t(a.cohort_name)} ({_t(a.cohort_id)})"
         + (" — synthetic demo data" if a.synthetic_cohort else "")),
        ("Model", f"{_t(a.model_id)} ({_t(a.model_kind)})"),
        ("Endpoint", a.endpoint),
        ("Model bundle SHA-256", a.bundle_sha256 or MISSING),
    ]
    for name, digest in (a.inputs_sha256 or {}).items():
        pairs.append((f"{str(name).capitalize()} input SHA-256", digest or MISSING))
    pairs.append(("Horizons", ", ".join(horizon_label(h) for h in a.horizons) or MISSING))
    pairs.append(("Benefit measured against", regimen_label(a.baseline)))
    pdf.key_values(pairs)


def _options_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    pdf.heading("Treatment options")
    if not a.options:
        pdf.unavailable("Treatment options")
        return
    tags = [_tag(h) for h in a.horizons]
    header = (["Regimen"] + [f"Survival {horizon_label(h)}" for h in a.horizons]
              + [f"Benefit {horizon_label(h)}" for h in a.horizons] + ["Evidence", "Reading"])
    fixed = {"Regimen": 32.0, "Evidence": 24.0, "Reading": 24.0}
    share = (pdf.content_width - sum(fixed.values())) / max(2 * len(tags), 1)
    widths = [fixed["Regimen"]] + [share] * (2 * len(tags)) + [fixed["Evidence"], fixed["Reading"]]
    rows = []
    for row in a.options:
        baseline = _is_baseline(a, row)
        name = regimen_label(str(row.get("regimen")))
        evidence = _t(row.get("evidence") or MISSING)
        if (n := row.get("evidence_n")) is not None:
            evidence += f" (n={_any_text(n)}"
            prop = _num(row.get("propensity"))
            evidence += f", p={prop:.2f})" if prop is not None else ")"
        rows.append([name + (" (baseline)" if baseline else "")]
                    + [_survival_text(row, f"S{t}") for t in tags]
                    + ["reference" if baseline else _benefit_text(row, f"B{t}") for t in tags]
                    + [evidence, _t(row.get("reading") or MISSING)])
    pdf.table_rows(header, rows, widths=widths, size=7.0)
    pdf.para(f"Survival: estimated probability of {_t(a.endpoint)} survival with its interval (%). Benefit: "
             f"difference from {regimen_label(a.baseline)} in percentage points (pp), with its interval. Evidence: "
             "how many comparable cohort patients received the regimen (n) and its propensity (p). "
             "Readings are at the last horizon.", size=7, colour=(80, 80, 80))
    similar = a.explanations.get("similar") or {}
    if isinstance(similar, dict) and similar:
        counts = ", ".join(f"{regimen_label(str(r))}: {_any_text(v.get('n')) if isinstance(v, dict) else MISSING}"
                           for r, v in similar.items())
        pdf.para(f"Similar cohort patients per regimen: {counts}.", size=7, colour=(80, 80, 80))


def _variant_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    lines = variant_lines(a)
    if not lines:
        return
    pdf.heading("Which model answers")
    for line in lines:
        pdf.para(_t(line), size=8)
    missing = (a.variant or {}).get("genes_missing") or []
    if missing:
        pdf.para(_t(f"Genes of the full model not in this profile ({len(missing)}): {', '.join(map(str, missing))}"),
                 size=6.5, colour=(80, 80, 80))


def _predict_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    p = a.predict or {}
    if not p:
        return
    pdf.heading("PREDICT v2.1 beside the learned model")
    if p.get("unavailable"):
        pdf.para(_t(p["unavailable"]), size=8)
        return
    table = predict_comparison(a)
    keep = [c for c in table.columns if c not in ("PREDICT added OS 10 y", "PREDICT OS 15 y")]
    table = table[keep]
    first = 40.0
    share = (pdf.content_width - first) / (len(keep) - 1)
    pdf.table_rows([_t(c) for c in keep], [[_t(v) for v in row] for row in table.to_numpy().tolist()],
                   widths=[first] + [share] * (len(keep) - 1), size=6.5)
    pdf.para(_t(f"Each row adds one treatment to the row above (PREDICT's own display); OncoTx columns: the learned "
                f"model for the same regimen with its interval. {p.get('caveat', '')} Source: {p.get('citation', '')}"),
             size=7, colour=(80, 80, 80))


def _risk_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    pdf.heading("Risk and what drives it")
    if a.risk:
        pairs: list[tuple[str, object]] = []
        if a.risk.get("regimen") is not None:
            pairs.append(("Regimen", regimen_label(str(a.risk["regimen"]))))
        for h in a.horizons:
            if f"S{_tag(h)}" in a.risk:
                pairs.append((f"Survival at {horizon_label(h)}", _survival_text(a.risk, f"S{_tag(h)}")))
        if (pct := _num(a.risk.get("percentile"))) is not None:
            pairs.append(("Risk percentile in the cohort", f"{pct:.0f}"))
        if (score := _num(a.risk.get("risk"))) is not None:
            pairs.append(("Risk score", f"{score:.3f}"))
        if pairs:
            pdf.key_values(pairs)
    else:
        pdf.unavailable("Risk under the current regimen")
    pdf.chart(risk_chart(a), what="Risk contributions", title="What drives the risk estimate")
    if (base := _num(a.explanations.get("risk_base"))) is not None:
        pdf.para(f"Contributions are additive on the model's log-hazard scale from a cohort average of {base:.3f}; "
                 "they describe the model, not causes.", size=7, colour=(80, 80, 80))


def _molecular_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    pdf.heading("Molecular profile")
    m = a.molecular or {}
    if not m:
        pdf.unavailable("Molecular profile")
        return
    pairs: list[tuple[str, object]] = []
    pam50 = m.get("pam50") or {}
    if pam50:
        text = _t(pam50.get("subtype", MISSING))
        if (conf := _num(pam50.get("confidence"))) is not None:
            text += f" (confidence {_fraction_text(conf)})"
        pairs.append(("PAM50 subtype", text))
    rs = m.get("rs") or {}
    if rs:
        score = _num(rs.get("score"))
        text = f"{score:.0f}" if score is not None else MISSING
        if rs.get("group"):
            text += f", {_t(rs['group'])}"
        pairs.append(("Recurrence score (approximation)", text))
        if rs.get("label"):
            pairs.append(("", _t(rs["label"])))
    if pairs:
        pdf.key_values(pairs)
    for key, title, columns in (("modules", "Module scores (z)", 3), ("pathways", "Pathway scores", 2)):
        values = m.get(key) or {}
        if values:
            pdf.subheading(title)
            _grid(pdf, [(str(k), f"{v:+.2f}" if (v := _num(val)) is not None else MISSING)
                        for k, val in values.items()], columns=columns)
    percentiles = m.get("percentiles") or {}
    if percentiles:
        pdf.subheading("Key gene expression percentiles (in the reference cohort)")
        items = list(percentiles.items())
        _grid(pdf, [(str(k), f"{v:.0f}" if (v := _num(val)) is not None else MISSING)
                    for k, val in items[:MAX_PERCENTILES]], columns=4)
        if len(items) > MAX_PERCENTILES:
            pdf.para(f"{len(items) - MAX_PERCENTILES} more genes in the JSON export.", size=7, colour=(80, 80, 80))


def _grid(pdf: _ReportPDF, items: list[tuple[str, str]], *, columns: int) -> None:
    """Name/value pairs laid out ``columns`` pairs per table row."""
    pair = pdf.content_width / columns
    rows = []
    for start in range(0, len(items), columns):
        chunk = items[start: start + columns]
        chunk += [("", "")] * (columns - len(chunk))
        rows.append([x for item in chunk for x in item])
    pdf.table_rows(None, rows, widths=[pair * 0.7, pair * 0.3] * columns, size=7.0)


def _quality_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    pdf.heading("Data quality and assumptions")
    shown = False
    assumptions = dict(a.assumptions or {})
    pairs: list[tuple[str, object]] = []
    if "gene_coverage" in assumptions:
        pairs.append(("Model gene coverage", _fraction_text(assumptions.pop("gene_coverage"))))
    if "scale" in assumptions:
        pairs.append(("Expression scale detected", assumptions.pop("scale")))
    if "expression_mode" in assumptions:
        pairs.append(("Expression standardisation", assumptions.pop("expression_mode")))
    if "filled" in assumptions:
        filled = assumptions.pop("filled") or []
        pairs.append(("Clinical fields filled with defaults",
                      ", ".join(field_label(str(f)) for f in filled) if filled else "none"))
    pairs += [(str(k).replace("_", " ").capitalize(), v) for k, v in assumptions.items()]
    if (ood := _num((a.embedding or {}).get("ood_percentile"))) is not None:
        pairs.append(("Distance from the cohort (percentile)", f"{ood:.0f}"))
    facts = (a.validation or {}).get("facts") or {}
    pairs += [(f"Input: {str(k).replace('_', ' ')}", v) for k, v in facts.items()] if isinstance(facts, dict) else []
    if pairs:
        pdf.key_values(pairs, key_width=58)
        shown = True
    for key, title in (("errors", "Validation errors"), ("warnings", "Validation warnings")):
        items = (a.validation or {}).get(key) or []
        if items:
            pdf.subheading(title)
            pdf.bullets(items, size=8)
            shown = True
    if a.warnings:
        pdf.subheading("Warnings")
        pdf.bullets(a.warnings, size=8)
        shown = True
    if not shown:
        pdf.unavailable("Data quality and assumptions")


def _model_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    card = dict(a.model_card or {})
    if not card:
        pdf.heading("Model card", keep=8)
        pdf.unavailable("Model card")
        return
    pairs: list[tuple[str, object]] = []
    labels = [("model_id", "Model id"), ("model_kind", "Kind"), ("cohort_name", "Training cohort"),
              ("cohort_id", "Cohort id"), ("endpoint", "Endpoint"), ("endpoint_description", "Endpoint definition"),
              ("n_features", "Features"), ("feature_groups", "Feature groups"), ("device", "Trained on"),
              ("created", "Trained"), ("synthetic_cohort", "Synthetic cohort"), ("cohort_licence", "Cohort licence"),
              ("cohort_attribution", "Attribution")]
    for key, label in labels:
        if key in card:
            pairs.append((label, card[key]))
    for n, events, label in (("n_train", "events_train", "Training patients"),
                             ("n_test", "events_test", "Held-back patients")):
        if n in card:
            pairs.append((label, f"{_any_text(card[n])}" + (f" ({_any_text(card[events])} events)"
                                                              if card.get(events) is not None else "")))
    pdf.heading("Model card", keep=min(len(pairs), 12) * 4.5)
    pdf.key_values(pairs)
    metrics = card.get("metrics") or {}
    rows = [(_metric_label(str(k)), text) for k, v in metrics.items() if (text := _metric_text(v)) is not None]
    if rows:
        pdf.subheading("Held-back performance")
        pdf.table_rows(["Metric", "Value [interval]"], rows, widths=(100, 80), size=7.5)
    if card.get("intended_use"):
        pdf.para(f"Intended use: {_t(card['intended_use'])}", size=8)
    limits = card.get("limits") or []
    if limits:
        pdf.subheading("Limits")
        pdf.bullets(limits, size=8)


def _caveat(a: PatientAnalysis) -> str:
    """The analysis' caveat, or :data:`FALLBACK_CAVEAT` when it has none (a caveat is never left out)."""
    return a.caveat if a.caveat and a.caveat.strip() else FALLBACK_CAVEAT


def report_pdf(analysis: PatientAnalysis, *, compress: bool = True) -> bytes:
    """The analysis as a PDF report (bytes); ``compress=False`` leaves page streams readable (tests)."""
    a = analysis
    pdf = _ReportPDF(footer_text=f"OncoTx · patient {_t(a.patient_id)} · {_created_text(a)}")
    pdf.set_compression(compress)
    pdf.set_title("OncoTx patient report")
    pdf.set_creator("OncoTx")
    if (when := _created(a)) is not None:
        pdf.set_creation_date(when)
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 9, "OncoTx patient report", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    pdf.cell(0, 5, f"Patient {_t(a.patient_id)} · {_created_text(a)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    if a.synthetic_cohort:
        pdf.para("Synthetic demo cohort: every number below is illustrative only.", style="B", size=9,
                 colour=(150, 20, 20))
    pdf.para(_caveat(a), size=8.5, fill=(255, 243, 224))
    pdf.ln(2)
    _audit_section(pdf, a)
    _variant_section(pdf, a)
    _options_section(pdf, a)
    _predict_section(pdf, a)
    pdf.chart(survival_chart(a), what="Survival curves", title="Survival curves")
    pdf.chart(benefit_chart(a), what="Benefit chart", title="Benefit against the baseline")
    _risk_section(pdf, a)
    _molecular_section(pdf, a)
    _quality_section(pdf, a)
    _model_section(pdf, a)
    pdf.heading("Caveat", keep=12)
    pdf.para(_caveat(a), size=8.5)
    return bytes(pdf.output())


# ---------------------------------------------------------------------------------------------- CSV / JSON


def options_frame(analysis: PatientAnalysis) -> pd.DataFrame:
    """The options table, one row per regimen, led by patient_id, model_id, created; warnings and caveat last."""
    columns = list(dict.fromkeys(k for row in analysis.options for k in row)) or ["regimen"]
    frame = pd.DataFrame(analysis.options, columns=columns)
    lead = {"patient_id": analysis.patient_id, "model_id": analysis.model_id, "created": analysis.created}
    for position, (name, value) in enumerate(lead.items()):
        if name in frame.columns:
            frame = frame.drop(columns=name)
        frame.insert(position, name, [value] * len(frame))
    frame["warnings"] = ["; ".join(map(str, analysis.warnings))] * len(frame)
    frame["caveat"] = [analysis.caveat] * len(frame)
    return frame


def report_csv(analysis: PatientAnalysis) -> bytes:
    """The options table as CSV bytes (UTF-8), formula-like cells neutralised."""
    return to_safe_csv(options_frame(analysis))


def report_json(analysis: PatientAnalysis) -> bytes:
    """The analysis as pretty-printed UTF-8 JSON (reads back with :meth:`PatientAnalysis.from_json`)."""
    return (json.dumps(json.loads(analysis.to_json()), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def report_filename(analysis: PatientAnalysis, ext: str) -> str:
    """A safe download name: ``oncotx-<patient_id>-<yyyymmdd-HHMM>.<ext>`` (ASCII letters, digits, _ and - only)."""
    decomposed = unicodedata.normalize("NFKD", str(analysis.patient_id))
    ascii_id = "".join(c for c in decomposed if not unicodedata.combining(c))
    patient = _UNSAFE_NAME.sub("_", ascii_id).strip("._-")[:64] or "patient"
    when = _created(analysis) or datetime.now(UTC)
    suffix = re.sub(r"[^a-z0-9]", "", str(ext).lower().lstrip(".")) or "bin"
    return f"oncotx-{patient}-{when:%Y%m%d-%H%M}.{suffix}"
