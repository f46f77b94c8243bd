"""The PDF report of one saved or shown patient analysis (fpdf2).

The PDF holds the audit trail (time, user, pseudonymised patient id, input SHA-256s, model id and bundle
SHA-256), the caveat in full, the treatment options with their intervals and evidence, survival and benefit
charts (:mod:`dashboard.patient.report.charts`), the molecular profile, data quality and assumptions, the risk
explanation and a model-card summary. Every page carries the research-use notice in its header. User-supplied
text is printed as plain text (no markup; :func:`~dashboard.patient.report.wording.printable`). A missing
section prints a short "not available" line.
"""
from __future__ import annotations

import functools
import io
import secrets
from collections.abc import Iterable, Sequence

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from dashboard.i18n import N_, horizon_label, horizon_short, language_scope, regimen_label, tr
from dashboard.patient.guidance import guidance_text, modifier_lines
from dashboard.patient.presentation import (
    READING_TITLES,
    baseline_note,
    evidence_text,
    interval_note,
    nnt_at,
    reading_at,
    reading_words,
    rule_text,
    summary_text,
)
from dashboard.patient.record import PatientAnalysis
from dashboard.patient.report.charts import benefit_chart, risk_chart, survival_chart
from dashboard.patient.report.pdf_sections import model_section, molecular_section, quality_section
from dashboard.patient.report.wording import (
    CJK_FONT,
    CJK_FONT_MISSING,
    FONT,
    FONT_FILES,
    MISSING,
    any_text,
    benefit_cell,
    cjk_font_file,
    created_text,
    created_time,
    finite_number,
    font_dir,
    is_baseline,
    predict_comparison,
    printable,
    survival_cell,
    uses_cjk_font,
    variant_lines,
)
from dashboard.text import RESEARCH_NOTICE
from models.columns import BENEFIT, SURVIVAL, column

INPUT_LABELS = {"expression": N_("Expression"), "records": N_("Records")}
FALLBACK_CAVEAT = N_(  # printed only for an analysis saved without its caveat (the engine's is models.treatment.CAVEAT)
    "Options, not directives. These estimates come from observational data, confounded by indication and by "
    "factors the cohort did not record. Research use only."
)
_MARGINS = 15.0  # mm


class _ReportPDF(FPDF):
    """A4 portrait with the research-use notice as every page's header and a page footer."""

    def __init__(self, *, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        # a per-document alias for the page count, so that user text such as "{nb}" is never replaced
        self.nb_alias = f"{{pages-{secrets.token_hex(6)}}}"
        self.alias_nb_pages(self.nb_alias)
        for style, name in FONT_FILES.items():
            self.add_font(FONT, style, str(font_dir() / name))
        if uses_cjk_font():  # Chinese words: DejaVu first, the system's CJK font for what DejaVu lacks
            if (cjk := cjk_font_file()) is None:
                raise ReportFontError(CJK_FONT_MISSING)
            for style in FONT_FILES:
                self.add_font(CJK_FONT, style, str(cjk))
            self.set_fallback_fonts([CJK_FONT], exact_match=False)
        self.set_margins(_MARGINS, 14, _MARGINS)
        self.set_auto_page_break(auto=True, margin=16)

    def header(self) -> None:
        self.set_y(6)
        self.set_font(FONT, "B", 7.5)
        self.set_text_color(150, 20, 20)
        self.multi_cell(0, 3.6, tr(RESEARCH_NOTICE), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(150, 20, 20)
        self.line(self.l_margin, self.get_y() + 0.8, self.w - self.r_margin, self.get_y() + 0.8)
        self.set_text_color(0, 0, 0)
        self.set_draw_color(0, 0, 0)
        self.set_y(self.get_y() + 3)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"{self.footer_text} · " + tr("page {page}/{pages}", page=self.page_no(), pages=self.nb_alias), align="C")
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
        self.cell(0, 7, printable(tr(text)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)

    def subheading(self, text: str) -> None:
        self.ensure_space(16)
        self.ln(1)
        self.set_font(FONT, "B", 9.5)
        self.cell(0, 5.5, printable(tr(text)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def para(self, text: str, *, size: float = 8.5, style: str = "", colour: tuple[int, int, int] = (0, 0, 0),
             fill: tuple[int, int, int] | None = None) -> None:
        self.set_font(FONT, style, size)
        self.set_text_color(*colour)
        if fill is not None:
            self.set_fill_color(*fill)
        self.multi_cell(0, size * 0.5, printable(text), align="L", fill=fill is not None, padding=1.5 if fill else 0,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.set_fill_color(255, 255, 255)

    def unavailable(self, what: str) -> None:
        self.para(tr("{what}: not available.", what=tr(what)), style="I", colour=(110, 110, 110))

    def bullets(self, items: Iterable[object], *, size: float = 8.5) -> None:
        for item in items:
            self.para(f"• {printable(item)}", size=size)

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
                    line.cell(printable(value))
        self.ln(1.5)

    def key_values(self, pairs: Sequence[tuple[str, object]], *, key_width: float = 48.0, size: float = 8.0) -> None:
        rows = [(tr(k), any_text(v) if not isinstance(v, str) else printable(v)) for k, v in pairs]
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
        (N_("Created"), created_text(a)),
        (N_("User"), a.user),
        (N_("Patient (pseudonymised id)"), a.patient_id),
        (N_("Reference cohort"), f"{printable(a.cohort_name)} ({printable(a.cohort_id)})"
         + (tr(" — synthetic demo data") if a.synthetic_cohort else "")),
        (N_("Model"), f"{printable(a.model_id)} ({printable(a.model_kind)})"),
        (N_("Endpoint"), a.endpoint),
        (N_("Model bundle SHA-256"), a.bundle_sha256 or MISSING),
    ]
    for name, digest in (a.inputs_sha256 or {}).items():
        label = tr(INPUT_LABELS[str(name)]) if str(name) in INPUT_LABELS else str(name).capitalize()
        pairs.append((tr("{name} input SHA-256", name=label), digest or MISSING))
    pairs.append((N_("Horizons"), tr(", ").join(horizon_short(h) for h in a.horizons) or MISSING))
    pairs.append((N_("Benefit measured against"), regimen_label(a.baseline)))
    pdf.key_values(pairs)


def options_rows(a: PatientAnalysis) -> tuple[list[str], list[list[str]]]:
    """The PDF's options table (header, rows): the same reading titles, evidence phrase and NNT rule as the page
    (:mod:`dashboard.patient.presentation`), with survival, benefit and reading at every horizon, NNT at the last."""
    last = a.horizons[-1] if a.horizons else None
    header = ([tr("Regimen")] + [tr("Survival {when}", when=horizon_short(h)) for h in a.horizons]
              + [tr("Benefit {when}", when=horizon_short(h)) for h in a.horizons]
              + [tr("Reading {when}", when=horizon_short(h)) for h in a.horizons]
              + ([tr("NNT {when}", when=horizon_short(last))] if last is not None else []) + [tr("Evidence")])
    rows = []
    for row in a.options:
        baseline = is_baseline(a, row)
        name = regimen_label(str(row.get("regimen")))
        titles = [tr(READING_TITLES[code]) if code in READING_TITLES else code or MISSING
                  for code in (reading_at(row, h) for h in a.horizons)]
        nnt = nnt_at(row, last) if last is not None else None
        rows.append([name + (tr(" (baseline)") if baseline else "")]
                    + [survival_cell(row, column(SURVIVAL, h)) for h in a.horizons]
                    + [tr("reference") if baseline else benefit_cell(row, column(BENEFIT, h)) for h in a.horizons]
                    + titles + ([MISSING if nnt is None else f"{nnt:.0f}"] if last is not None else [])
                    + [evidence_text(row)])
    return header, rows


def _options_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    """The options as on screen (:func:`options_rows`), the summary line, the words, the rule and its notes."""
    pdf.heading(N_("Treatment options"))
    if not a.options:
        pdf.unavailable(N_("Treatment options"))
        return
    last = a.horizons[-1] if a.horizons else None
    header, rows = options_rows(a)
    fixed = {"Regimen": 25.0, "NNT": 10.0 if last is not None else 0.0, "Evidence": 31.0}
    share = (pdf.content_width - sum(fixed.values())) / max(3 * len(a.horizons), 1)
    widths = ([fixed["Regimen"]] + [share] * (3 * len(a.horizons)) + ([fixed["NNT"]] if last is not None else [])
              + [fixed["Evidence"]])
    pdf.table_rows(header, rows, widths=widths, size=6.8)
    pdf.para(summary_text(a), size=8, style="B")
    if guided := guidance_text(a.risk):
        pdf.para(guided, size=7.5)
    if last is not None:
        pdf.subheading(tr("In plain words (at {when})", when=horizon_label(last)))
        pdf.bullets([f"{regimen_label(str(row.get('regimen')))}: "
                     f"{reading_words(row, horizon=last, baseline=a.baseline)}" for row in a.options], size=7.5)
    notes = [rule_text(a), *(note for note in (baseline_note(a), interval_note(a)) if note)]
    pdf.para(tr("Survival: estimated probability of {endpoint} survival with its interval (%). Benefit: difference "
                "from {baseline} in percentage points (pp), with its interval. NNT: patients treated for one more "
                "alive, only for a worthwhile or small benefit. Evidence: how many of this patient's most similar "
                "cohort patients received the regimen. ", endpoint=printable(a.endpoint),
                baseline=regimen_label(a.baseline)) + " ".join(notes),
             size=7, colour=(80, 80, 80))
    similar = a.explanations.get("similar") or {}
    if isinstance(similar, dict) and similar:
        counts = tr(", ").join(f"{regimen_label(str(r))}: {any_text(v.get('n')) if isinstance(v, dict) else MISSING}"
                               for r, v in similar.items())
        pdf.para(tr("Similar cohort patients per regimen: {counts}.", counts=counts), size=7, colour=(80, 80, 80))
    if lines := modifier_lines(a.explanations.get("modifiers")):
        pdf.subheading(tr("Single genes that modify a treatment's benefit (found in the reference cohort)"))
        pdf.bullets(lines, size=7.5)


def _variant_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    lines = variant_lines(a)
    if not lines:
        return
    pdf.heading(N_("Which model answers"))
    for line in lines:
        pdf.para(printable(line), size=8)
    missing = (a.variant or {}).get("genes_missing") or []
    if missing:
        pdf.para(printable(tr("Genes of the full model not in this profile ({count})", count=len(missing))
                           + f": {', '.join(map(str, missing))}"),
                 size=6.5, colour=(80, 80, 80))


def _predict_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    p = a.predict or {}
    if not p:
        return
    pdf.heading(N_("PREDICT v2.1 beside the learned model"))
    if p.get("unavailable"):
        pdf.para(printable(p["unavailable"]), size=8)
        return
    table = predict_comparison(a)
    keep = [c for c in table.columns if c not in (tr("PREDICT added OS {years} y", years=10),
                                                   tr("PREDICT OS {years} y", years=15))]
    table = table[keep]
    first = 40.0
    share = (pdf.content_width - first) / (len(keep) - 1)
    pdf.table_rows([printable(c) for c in keep], [[printable(v) for v in row] for row in table.to_numpy().tolist()],
                   widths=[first] + [share] * (len(keep) - 1), size=6.5)
    pdf.para(printable(tr("Each row adds one treatment to the row above (PREDICT's own display); OncoTx columns: the "
                          "learned model for the same regimen with its interval. {caveat} Source: {citation}",
                          caveat=tr(p.get("caveat", "")), citation=p.get("citation", ""))),
             size=7, colour=(80, 80, 80))


def _risk_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    pdf.heading(N_("Risk and what drives it"))
    if a.risk:
        pairs: list[tuple[str, object]] = []
        if a.risk.get("regimen") is not None:
            pairs.append((N_("Regimen"), regimen_label(str(a.risk["regimen"]))))
        for h in a.horizons:
            if column(SURVIVAL, h) in a.risk:
                pairs.append((tr("Survival at {horizon}", horizon=horizon_short(h)),
                              survival_cell(a.risk, column(SURVIVAL, h))))
        if (pct := finite_number(a.risk.get("percentile"))) is not None:
            pairs.append((N_("Risk percentile in the cohort"), f"{pct:.0f}"))
        if (score := finite_number(a.risk.get("risk"))) is not None:
            pairs.append((N_("Risk score"), f"{score:.3f}"))
        if pairs:
            pdf.key_values(pairs)
    else:
        pdf.unavailable(N_("Risk under the current regimen"))
    pdf.chart(risk_chart(a), what=N_("Risk contributions"), title=N_("What drives the risk estimate"))
    if (base := finite_number(a.explanations.get("risk_base"))) is not None:
        pdf.para(tr("Contributions are additive on the model's log-hazard scale from a cohort average of {base}; they "
                    "describe the model, not causes.", base=f"{base:.3f}"), size=7, colour=(80, 80, 80))


def _caveat(a: PatientAnalysis) -> str:
    """The analysis' caveat, or :data:`FALLBACK_CAVEAT` when it has none (a caveat is never left out)."""
    return tr(a.caveat) if a.caveat and a.caveat.strip() else tr(FALLBACK_CAVEAT)


class ReportFontError(RuntimeError):
    """The report's language needs a font this server lacks (the message says which package to install)."""


def report_pdf(analysis: PatientAnalysis, *, compress: bool = True, language: str | None = None) -> bytes:
    """The analysis as a PDF report (bytes) in ``language`` (None: the current one); ``compress=False`` leaves page
    streams readable (tests). A Chinese report without the CJK font raises ReportFontError."""
    with language_scope(language):
        return _report_pdf(analysis, compress=compress)


def pdf_in(language: str):
    """report_pdf in ``language``, for a download whose bytes are made after the page's run."""
    return functools.partial(report_pdf, language=language)


def _report_pdf(analysis: PatientAnalysis, *, compress: bool) -> bytes:
    a = analysis
    pdf = _ReportPDF(footer_text=tr("OncoTx · patient {patient} · {when}", patient=printable(a.patient_id),
                                    when=created_text(a)))
    pdf.set_compression(compress)
    pdf.set_title("OncoTx patient report")
    pdf.set_creator("OncoTx")
    if (when := created_time(a)) is not None:
        pdf.set_creation_date(when)
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 9, tr("OncoTx patient report"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    pdf.cell(0, 5, tr("Patient {patient}", patient=printable(a.patient_id)) + f" · {created_text(a)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    if a.synthetic_cohort:
        pdf.para(tr("Synthetic demo cohort: every number below is illustrative only."), style="B", size=9,
                 colour=(150, 20, 20))
    pdf.para(tr("Research use only: options to discuss with the treating team, never treatment directives."),
             size=8.5, style="B")
    pdf.para(_caveat(a), size=8.5, fill=(255, 243, 224))
    pdf.ln(2)
    _audit_section(pdf, a)
    _variant_section(pdf, a)
    _options_section(pdf, a)
    _predict_section(pdf, a)
    pdf.chart(survival_chart(a), what=N_("Survival curves"), title=N_("Survival curves"))
    pdf.chart(benefit_chart(a), what=N_("Benefit chart"), title=N_("Benefit against the baseline"))
    _risk_section(pdf, a)
    molecular_section(pdf, a)
    quality_section(pdf, a)
    model_section(pdf, a)
    pdf.heading(N_("Caveat"), keep=12)
    pdf.para(_caveat(a), size=8.5)
    return bytes(pdf.output())
