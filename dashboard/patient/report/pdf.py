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

from dashboard.i18n import N_, language_scope, tr
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
    fraction_text,
    is_baseline,
    metric_label,
    metric_text,
    predict_comparison,
    printable,
    survival_cell,
    uses_cjk_font,
    variant_lines,
)
from dashboard.text import RESEARCH_NOTICE, field_label, gene_set_label
from genomics.regimens import regimen_label
from models.columns import BENEFIT, SURVIVAL, column, horizon_short_label, horizon_years_label

FALLBACK_CAVEAT = (  # printed only for an analysis saved without its caveat (the engine's is models.treatment.CAVEAT)
    "Options, not directives. These estimates come from observational data, confounded by indication and by "
    "factors the cohort did not record. Research use only."
)
MAX_PERCENTILES = 60
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
        self.para(f"{what}: not available.", style="I", colour=(110, 110, 110))

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
        rows = [(k, any_text(v) if not isinstance(v, str) else printable(v)) for k, v in pairs]
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
        ("Created", created_text(a)),
        ("User", a.user),
        ("Patient (pseudonymised id)", a.patient_id),
        ("Reference cohort", f"{printable(a.cohort_name)} ({printable(a.cohort_id)})"
         + (" — synthetic demo data" if a.synthetic_cohort else "")),
        ("Model", f"{printable(a.model_id)} ({printable(a.model_kind)})"),
        ("Endpoint", a.endpoint),
        ("Model bundle SHA-256", a.bundle_sha256 or MISSING),
    ]
    for name, digest in (a.inputs_sha256 or {}).items():
        pairs.append((f"{str(name).capitalize()} input SHA-256", digest or MISSING))
    pairs.append(("Horizons", ", ".join(horizon_short_label(h) for h in a.horizons) or MISSING))
    pairs.append(("Benefit measured against", regimen_label(a.baseline)))
    pdf.key_values(pairs)


def options_rows(a: PatientAnalysis) -> tuple[list[str], list[list[str]]]:
    """The PDF's options table (header, rows): the same reading titles, evidence phrase and NNT rule as the page
    (:mod:`dashboard.patient.presentation`), with survival, benefit and reading at every horizon, NNT at the last."""
    last = a.horizons[-1] if a.horizons else None
    header = (["Regimen"] + [f"Survival {horizon_short_label(h)}" for h in a.horizons]
              + [f"Benefit {horizon_short_label(h)}" for h in a.horizons]
              + [f"Reading {horizon_short_label(h)}" for h in a.horizons]
              + ([f"NNT {horizon_short_label(last)}"] if last is not None else []) + ["Evidence"])
    rows = []
    for row in a.options:
        baseline = is_baseline(a, row)
        name = regimen_label(str(row.get("regimen")))
        titles = [READING_TITLES.get(code, code or MISSING) for code in (reading_at(row, h) for h in a.horizons)]
        nnt = nnt_at(row, last) if last is not None else None
        rows.append([name + (" (baseline)" if baseline else "")]
                    + [survival_cell(row, column(SURVIVAL, h)) for h in a.horizons]
                    + ["reference" if baseline else benefit_cell(row, column(BENEFIT, h)) for h in a.horizons]
                    + titles + ([MISSING if nnt is None else f"{nnt:.0f}"] if last is not None else [])
                    + [evidence_text(row)])
    return header, rows


def _options_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    """The options as on screen (:func:`options_rows`), the summary line, the words, the rule and its notes."""
    pdf.heading(N_("Treatment options"))
    if not a.options:
        pdf.unavailable("Treatment options")
        return
    last = a.horizons[-1] if a.horizons else None
    header, rows = options_rows(a)
    fixed = {"Regimen": 25.0, "NNT": 10.0 if last is not None else 0.0, "Evidence": 31.0}
    share = (pdf.content_width - sum(fixed.values())) / max(3 * len(a.horizons), 1)
    widths = ([fixed["Regimen"]] + [share] * (3 * len(a.horizons)) + ([fixed["NNT"]] if last is not None else [])
              + [fixed["Evidence"]])
    pdf.table_rows(header, rows, widths=widths, size=6.8)
    pdf.para(summary_text(a), size=8, style="B")
    if last is not None:
        pdf.subheading(f"In plain words (at {horizon_years_label(last)})")
        pdf.bullets([f"{regimen_label(str(row.get('regimen')))}: "
                     f"{reading_words(row, horizon=last, baseline=a.baseline)}" for row in a.options], size=7.5)
    notes = [rule_text(a), *(note for note in (baseline_note(a), interval_note(a)) if note)]
    pdf.para(f"Survival: estimated probability of {printable(a.endpoint)} survival with its interval (%). Benefit: "
             f"difference from {regimen_label(a.baseline)} in percentage points (pp), with its interval. NNT: "
             "patients treated for one more alive, only for a worthwhile or small benefit. Evidence: how many of "
             "this patient's most similar cohort patients received the regimen. " + " ".join(notes),
             size=7, colour=(80, 80, 80))
    similar = a.explanations.get("similar") or {}
    if isinstance(similar, dict) and similar:
        counts = ", ".join(f"{regimen_label(str(r))}: {any_text(v.get('n')) if isinstance(v, dict) else MISSING}"
                           for r, v in similar.items())
        pdf.para(f"Similar cohort patients per regimen: {counts}.", size=7, colour=(80, 80, 80))


def _variant_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    lines = variant_lines(a)
    if not lines:
        return
    pdf.heading(N_("Which model answers"))
    for line in lines:
        pdf.para(printable(line), size=8)
    missing = (a.variant or {}).get("genes_missing") or []
    if missing:
        pdf.para(printable(f"Genes of the full model not in this profile ({len(missing)}): {', '.join(map(str, missing))}"),
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
    keep = [c for c in table.columns if c not in ("PREDICT added OS 10 y", "PREDICT OS 15 y")]
    table = table[keep]
    first = 40.0
    share = (pdf.content_width - first) / (len(keep) - 1)
    pdf.table_rows([printable(c) for c in keep], [[printable(v) for v in row] for row in table.to_numpy().tolist()],
                   widths=[first] + [share] * (len(keep) - 1), size=6.5)
    pdf.para(printable(f"Each row adds one treatment to the row above (PREDICT's own display); OncoTx columns: the learned "
                f"model for the same regimen with its interval. {p.get('caveat', '')} Source: {p.get('citation', '')}"),
             size=7, colour=(80, 80, 80))


def _risk_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    pdf.heading(N_("Risk and what drives it"))
    if a.risk:
        pairs: list[tuple[str, object]] = []
        if a.risk.get("regimen") is not None:
            pairs.append(("Regimen", regimen_label(str(a.risk["regimen"]))))
        for h in a.horizons:
            if column(SURVIVAL, h) in a.risk:
                pairs.append((f"Survival at {horizon_short_label(h)}", survival_cell(a.risk, column(SURVIVAL, h))))
        if (pct := finite_number(a.risk.get("percentile"))) is not None:
            pairs.append(("Risk percentile in the cohort", f"{pct:.0f}"))
        if (score := finite_number(a.risk.get("risk"))) is not None:
            pairs.append(("Risk score", f"{score:.3f}"))
        if pairs:
            pdf.key_values(pairs)
    else:
        pdf.unavailable("Risk under the current regimen")
    pdf.chart(risk_chart(a), what="Risk contributions", title=N_("What drives the risk estimate"))
    if (base := finite_number(a.explanations.get("risk_base"))) is not None:
        pdf.para(f"Contributions are additive on the model's log-hazard scale from a cohort average of {base:.3f}; "
                 "they describe the model, not causes.", size=7, colour=(80, 80, 80))


def _molecular_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    pdf.heading(N_("Molecular profile"))
    m = a.molecular or {}
    if not m:
        pdf.unavailable("Molecular profile")
        return
    pairs: list[tuple[str, object]] = []
    pam50 = m.get("pam50") or {}
    if pam50:
        text = printable(pam50.get("subtype", MISSING))
        if (conf := finite_number(pam50.get("confidence"))) is not None:
            text += f" (confidence {fraction_text(conf)})"
        pairs.append(("PAM50 subtype", text))
    rs = m.get("rs") or {}
    if rs:
        score = finite_number(rs.get("score"))
        text = f"{score:.0f}" if score is not None else MISSING
        if rs.get("group"):
            text += f", {printable(rs['group'])}"
        pairs.append(("Recurrence score (approximation)", text))
        if rs.get("label"):
            pairs.append(("", printable(rs["label"])))
    if pairs:
        pdf.key_values(pairs)
    for key, title, columns in (("modules", "Module scores (z)", 3), ("pathways", "Pathway scores", 2)):
        values = m.get(key) or {}
        if values:
            pdf.subheading(title)
            _grid(pdf, [(gene_set_label(k), f"{v:+.2f}" if (v := finite_number(val)) is not None else MISSING)
                        for k, val in values.items()], columns=columns)
    percentiles = m.get("percentiles") or {}
    if percentiles:
        pdf.subheading(N_("Key gene expression percentiles (in the reference cohort)"))
        items = list(percentiles.items())
        _grid(pdf, [(str(k), f"{v:.0f}" if (v := finite_number(val)) is not None else MISSING)
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
    pdf.heading(N_("Data quality and assumptions"))
    shown = False
    assumptions = dict(a.assumptions or {})
    pairs: list[tuple[str, object]] = []
    if "gene_coverage" in assumptions:
        pairs.append(("Model gene coverage", fraction_text(assumptions.pop("gene_coverage"))))
    if "scale" in assumptions:
        pairs.append(("Expression scale detected", assumptions.pop("scale")))
    if "expression_mode" in assumptions:
        pairs.append(("Expression standardisation", assumptions.pop("expression_mode")))
    if assumptions.get("record_corrections"):
        pairs.append(("Corrected by the clinician", assumptions.pop("record_corrections")))
    if "filled" in assumptions:
        filled = assumptions.pop("filled") or []
        pairs.append(("Clinical fields filled with defaults",
                      ", ".join(field_label(str(f)) for f in filled) if filled else "none"))
    pairs += [(str(k).replace("_", " ").capitalize(), v) for k, v in assumptions.items()]
    if (ood := finite_number((a.embedding or {}).get("ood_percentile"))) is not None:
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
        pdf.subheading(N_("Warnings"))
        pdf.bullets(a.warnings, size=8)
        shown = True
    if not shown:
        pdf.unavailable("Data quality and assumptions")


def _model_section(pdf: _ReportPDF, a: PatientAnalysis) -> None:
    card = dict(a.model_card or {})
    if not card:
        pdf.heading(N_("Model card"), keep=8)
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
            pairs.append((label, f"{any_text(card[n])}" + (f" ({any_text(card[events])} events)"
                                                              if card.get(events) is not None else "")))
    pdf.heading(N_("Model card"), keep=min(len(pairs), 12) * 4.5)
    pdf.key_values(pairs)
    metrics = card.get("metrics") or {}
    rows = [(metric_label(str(k)), text) for k, v in metrics.items() if (text := metric_text(v)) is not None]
    if rows:
        pdf.subheading(N_("Held-back performance"))
        pdf.table_rows(["Metric", "Value [interval]"], rows, widths=(100, 80), size=7.5)
    if card.get("intended_use"):
        pdf.para(f"Intended use: {printable(card['intended_use'])}", size=8)
    limits = card.get("limits") or []
    if limits:
        pdf.subheading(N_("Limits"))
        pdf.bullets(limits, size=8)


def _caveat(a: PatientAnalysis) -> str:
    """The analysis' caveat, or :data:`FALLBACK_CAVEAT` when it has none (a caveat is never left out)."""
    return a.caveat if a.caveat and a.caveat.strip() else FALLBACK_CAVEAT


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
    pdf = _ReportPDF(footer_text=f"OncoTx · patient {printable(a.patient_id)} · {created_text(a)}")
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
        pdf.para("Synthetic demo cohort: every number below is illustrative only.", style="B", size=9,
                 colour=(150, 20, 20))
    pdf.para(tr("Research use only: options to discuss with the treating team, never treatment directives."),
             size=8.5, style="B")
    pdf.para(_caveat(a), size=8.5, fill=(255, 243, 224))
    pdf.ln(2)
    _audit_section(pdf, a)
    _variant_section(pdf, a)
    _options_section(pdf, a)
    _predict_section(pdf, a)
    pdf.chart(survival_chart(a), what="Survival curves", title=N_("Survival curves"))
    pdf.chart(benefit_chart(a), what="Benefit chart", title=N_("Benefit against the baseline"))
    _risk_section(pdf, a)
    _molecular_section(pdf, a)
    _quality_section(pdf, a)
    _model_section(pdf, a)
    pdf.heading(N_("Caveat"), keep=12)
    pdf.para(_caveat(a), size=8.5)
    return bytes(pdf.output())
