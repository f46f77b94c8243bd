"""Exports of a patient analysis: PDF report (notice on every page, charts, Unicode, missing sections), safe CSV,
JSON round trip and download file names. ``make_analysis`` builds a realistic analysis (also used by test_store)."""
from __future__ import annotations

import csv
import io
import math
import re
import shutil
import subprocess
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from dashboard.patient.record import PatientAnalysis
from dashboard.patient.report.exports import report_csv, report_filename, report_json
from dashboard.patient.report.pdf import report_pdf
from dashboard.patient.report.wording import cjk_font_file
from dashboard.text import RESEARCH_NOTICE
from models.decision import BENEFIT_READINGS, REFERENCE, worthwhile_threshold
from models.decision import reading as decision_reading

TREATMENTS = ("chemotherapy", "hormone_therapy", "radio_therapy")
REGIMENS = ["none", "chemotherapy", "hormone_therapy", "radio_therapy", "chemotherapy+hormone_therapy",
            "chemotherapy+radio_therapy", "hormone_therapy+radio_therapy", "chemotherapy+hormone_therapy+radio_therapy"]
INJECTION = "=cmd|' /C calc'!A0"
CAVEAT = ("Options, not directives. These estimates come from observational data: treatment was not randomised, so "
          "they are confounded by indication and by factors the cohort did not record (hidden confounding). "
          "Discuss with the treating team; research use only.")


def make_analysis(*, patient_id: str = "PT-Ünïcødé–01", user: str = "dr.alice",
                  created: str = "2026-03-14T09:26:53+00:00", codes: str = "old") -> PatientAnalysis:
    """A realistic analysis: 8 regimens, horizons 5/10 years, curves 0..180 months, explanations, a model card.

    ``codes="old"``: option rows as saved before the per-treatment thresholds (one reading, the ±2-point codes);
    ``codes="current"``: rows as :func:`models.treatment.treatment_options` writes them now (min_benefit,
    reading<h> per horizon by :func:`models.decision.reading`, NNT only for a benefit reading)."""
    horizons = [60.0, 120.0]
    multipliers = [1.0, 0.85, 0.75, 0.97, 0.65, 1.2, 1.0, 0.6]  # hazard ratio of each regimen against none
    options, curves = [], []
    for j, regimen in enumerate(REGIMENS):
        hazard = 0.004 * multipliers[j]
        evidence = "ok" if j < 7 else "thin"
        row: dict = {"regimen": regimen}
        for h in horizons:
            s, s0 = math.exp(-hazard * h), math.exp(-0.004 * h)
            row[f"S{h:g}"], row[f"S{h:g}_lo"], row[f"S{h:g}_hi"] = s, s - 0.05, min(s + 0.04, 1.0)
            row[f"CSS{h:g}"], row[f"CSS{h:g}_lo"], row[f"CSS{h:g}_hi"] = s + 0.02, s - 0.02, min(s + 0.06, 1.0)
            b = s - s0
            row[f"B{h:g}"], row[f"B{h:g}_lo"], row[f"B{h:g}_hi"] = b, b - 0.02 * (j > 0), b + 0.02 * (j > 0)
            row[f"nnt{h:g}"] = math.ceil(1 / b) if b > 0.02 else None
        lo, hi = row["B120_lo"], row["B120_hi"]
        reading = ("reference" if j == 0 else "not enough evidence" if evidence != "ok" else "likely benefit"
                   if lo >= 0.02 else "possible harm" if hi <= -0.02 else "no expected benefit"
                   if lo >= -0.02 and hi <= 0.02 else "uncertain")
        row.update(evidence_n=40 - 4 * j, propensity=round(0.3 - 0.03 * j, 3), evidence=evidence,
                   is_baseline=j == 0, reading=reading)
        if codes == "current":
            threshold = worthwhile_threshold(regimen, "none", TREATMENTS)
            row.update(min_benefit=threshold, evidence_k=100, interval_level=0.9)
            for h in horizons:
                tag = f"{h:g}"
                code = REFERENCE if j == 0 else decision_reading(row[f"B{tag}_lo"], row[f"B{tag}_hi"], evidence,
                                                                 threshold=threshold)
                row[f"reading{tag}"] = code
                row[f"nnt{tag}"] = math.ceil(1 / row[f"B{tag}"] - 1e-9) if code in BENEFIT_READINGS else None
            row["reading"] = row["reading120"]
        options.append(row)
        for month in range(0, 181, 6):
            s = math.exp(-hazard * month)
            curves.append({"regimen": regimen, "month": float(month), "S": s,
                           "S_lo": max(s - 0.0004 * month, 0.0), "S_hi": min(s + 0.0003 * month, 1.0)})
    return PatientAnalysis(
        patient_id=patient_id, created=created, user=user, cohort_id="metabric", cohort_name="METABRIC (cBioPortal)",
        synthetic_cohort=False, model_id="xgb-cox-metabric-OS-20260301", model_kind="xgboost-cox",
        bundle_sha256="ab" * 32, endpoint="OS", horizons=horizons, baseline="none",
        inputs_sha256={"expression": "cd" * 32, "records": "ef" * 32}, caveat=CAVEAT,
        validation={"errors": [], "warnings": ["312 genes unmapped (old symbols)"],
                    "facts": {"genes": 18234, "orientation": "genes as rows"}},
        assumptions={"scale": "log2 intensity", "gene_coverage": 0.94, "expression_mode": "platform reference",
                     "filled": ["menopausal_state", "tumor_stage"]},
        warnings=["Evidence is thin for Chemo + Hormone + Radio", INJECTION, "Résumé ± 2 – check ≥ 5%"],
        molecular={"pam50": {"subtype": "LumA", "confidence": 0.87},
                   "rs": {"score": 18.0, "group": "intermediate", "label": "RS-like approximation (not Oncotype DX)"},
                   "modules": {"proliferation": -0.62, "estrogen": 1.31, "her2": -0.15, "invasion": 0.2},
                   "percentiles": {"ESR1": 91.0, "PGR": 77.0, "ERBB2": 34.0, "MKI67": 18.0, "AURKA": 22.0,
                                   "BCL2": 85.0},
                   "pathways": {"HALLMARK_E2F_TARGETS": -0.8, "HALLMARK_ESTROGEN_RESPONSE_EARLY": 1.2}},
        embedding={"cohort": [{"x": 0.1, "y": 0.2, "label": "LumA"}], "patient": {"x": 0.0, "y": 0.1},
                   "neighbours": [{"x": 0.05, "y": 0.15, "id": "MB-0001"}], "ood_percentile": 42.0},
        risk={"regimen": "hormone_therapy+radio_therapy", "S60": 0.86, "S60_lo": 0.81, "S60_hi": 0.9,
              "S120": 0.7, "S120_lo": 0.62, "S120_hi": 0.77, "percentile": 35.0, "cohort_risks": [0.1, 0.5],
              "risk": -0.21},
        options=options, curves=curves,
        explanations={"risk": [{"feature": "age_at_diagnosis", "group": "clinical", "value": 0.31},
                               {"feature": "lymph_nodes_positive", "group": "clinical", "value": 0.22},
                               {"feature": "ESR1", "group": "genes", "value": -0.18},
                               {"feature": "MKI67", "group": "genes", "value": -0.09},
                               {"feature": "tumor_size_mm", "group": "clinical", "value": 0.05}],
                      "risk_base": -0.4,
                      "benefit": {"chemotherapy": [{"feature": "chemotherapy", "group": "treatment", "value": -0.1}]},
                      "benefit_base": {"chemotherapy": 0.0},
                      "similar": {"none": {"n": 40, "ids": ["MB-0001"], "km": []}}},
        model_card={"model_id": "xgb-cox-metabric-OS-20260301", "model_kind": "xgboost-cox",
                    "cohort_id": "metabric", "cohort_name": "METABRIC (cBioPortal)", "endpoint": "OS",
                    "endpoint_description": "overall survival (months)", "n_train": 1522, "events_train": 870,
                    "n_test": 381, "events_test": 219, "n_features": 74,
                    "metrics": {"harrell_c": {"value": 0.683, "lo": 0.651, "hi": 0.714}, "ibs": 0.171,
                                "td_auc_60": {"value": 0.72, "lo": 0.68, "hi": 0.76}, "notes": ["x"],
                                "sample": {"n": 381}},
                    "intended_use": "Research use only.", "limits": ["Trained on one array platform."],
                    "created": "2026-03-01T10:00:00+00:00"},
    )


def empty_analysis() -> PatientAnalysis:
    """Only the required fields: every optional section is empty."""
    return PatientAnalysis(
        patient_id="PT-empty", created="2026-03-14T09:26:53Z", user="u", cohort_id="demo", cohort_name="Demo",
        synthetic_cohort=True, model_id="m", model_kind="k", bundle_sha256="", endpoint="OS", horizons=[],
        baseline="none", inputs_sha256={}, caveat="")


# ------------------------------------------------------------------------------ a minimal PDF text reader
# fpdf2 writes Unicode TrueType text as hex glyph codes; with compression off, each font's ToUnicode CMap and each
# page's content stream are plain, so the visible text of a page can be decoded without a PDF library.


def _objects(pdf: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)\s*endobj", pdf, re.S)}


def _stream(body: bytes) -> bytes:
    data = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S).group(1)
    return zlib.decompress(data) if b"/FlateDecode" in body.split(b"stream", 1)[0] else data


def _cmap(stream: bytes) -> dict[int, str]:
    table: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            table[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            start = int(dst, 16)
            for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                table[code] = chr(start + offset)
    return table


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page, in page order (uncompressed fpdf2 output)."""
    objs = _objects(pdf)
    pages_root = next(b for b in objs.values() if re.search(rb"/Type\s*/Pages\b", b))
    kids = [int(k) for k in re.findall(rb"(\d+) 0 R", re.search(rb"/Kids\s*\[(.*?)\]", pages_root, re.S).group(1))]
    texts = []
    for kid in kids:
        page = objs[kid]
        resources = page
        if (ref := re.search(rb"/Resources\s+(\d+) 0 R", page)) is not None:
            resources = objs[int(ref.group(1))]
        fonts_dict = re.search(rb"/Font\s*<<(.*?)>>", resources, re.S).group(1)
        fonts = {}
        for name, num in re.findall(rb"/(\w+)\s+(\d+) 0 R", fonts_dict):
            font = objs[int(num)]
            ref = re.search(rb"/ToUnicode\s+(\d+) 0 R", font)
            width = 2 if re.search(rb"/Subtype\s*/Type0", font) else 1  # Type0 (Identity-H): 2-byte codes
            fonts[name] = (width, _cmap(_stream(objs[int(ref.group(1))])) if ref else {})
        content_refs = re.search(rb"/Contents\s+(\d+) 0 R", page)
        content = _stream(objs[int(content_refs.group(1))])
        texts.append(_decode_content(content, fonts))
    return texts


_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}


def _literal(content: bytes, i: int) -> tuple[bytes, int]:
    """The bytes of the PDF literal string starting at ``content[i] == '('`` and the index after it."""
    out, depth, i = bytearray(), 1, i + 1
    while True:
        c = content[i]
        if c == ord("\\"):
            nxt = content[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
            elif chr(nxt) in "01234567":
                digits = re.match(rb"[0-7]{1,3}", content[i + 1: i + 4]).group(0)
                out.append(int(digits, 8) & 0xFF)
                i += 1 + len(digits)
            elif nxt in (10, 13):
                i += 2
            else:
                out.append(nxt)
                i += 2
            continue
        if c == ord("("):
            depth += 1
        elif c == ord(")"):
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out.append(c)
        i += 1


def _decode_content(content: bytes, fonts: dict[bytes, tuple[int, dict[int, str]]]) -> str:
    """Text shown by a content stream (literal and hex strings, 2-byte codes for Type0 fonts)."""
    out: list[str] = []
    width, cmap = 1, {}
    i = 0
    font_re = re.compile(rb"/(\w+)\s+[\d.]+\s+Tf")
    while i < len(content):
        c = content[i]
        if c == ord("/") and (m := font_re.match(content, i)):
            width, cmap = fonts.get(m.group(1), (1, {}))
            i = m.end()
            continue
        if c == ord("(") or (c == ord("<") and content[i + 1: i + 2] != b"<"):
            if c == ord("("):
                raw, i = _literal(content, i)
            else:
                end = content.index(b">", i)
                raw, i = bytes.fromhex(content[i + 1: end].decode()), end + 1
            out.append("".join(cmap.get(int.from_bytes(raw[k: k + width], "big"), chr(raw[k]) if width == 1 else "?")
                               for k in range(0, len(raw), width)))
            continue
        if content[i: i + 2] == b"ET":
            out.append(" ")
        i += 1
    return re.sub(r"\s+", " ", "".join(out))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# ------------------------------------------------------------------------------ PDF


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return report_pdf(make_analysis(), compress=False)


def test_pdf_is_a_pdf_with_charts(pdf_bytes):
    assert pdf_bytes.startswith(b"%PDF-")
    assert pdf_bytes.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Subtype\s*/Image", pdf_bytes)) >= 3  # survival, benefit, risk contributions


def test_pdf_notice_on_every_page_and_audit_trail(pdf_bytes):
    texts = page_texts(pdf_bytes)
    assert len(texts) >= 2
    for text in texts:
        assert _squash(RESEARCH_NOTICE) in _squash(text)
    everything = _squash(" ".join(texts))
    a = make_analysis()
    for needle in (a.patient_id, a.user, a.model_id, a.bundle_sha256, a.inputs_sha256["expression"],
                   a.inputs_sha256["records"], a.caveat, "2026-03-1409:26UTC", "LumA", "Held-backC-index",
                   "0.683[0.651,0.714]", "Chemo+Hormone+Radio", "Likelybenefit", INJECTION, "Résumé±2–check≥5%"):
        assert _squash(needle) in everything, needle


def test_pdf_options_speak_as_the_screen_does():
    """The same reading titles, evidence phrase, NNT, words and summary line as the page's options table."""
    from dashboard.patient.presentation import (
        baseline_note,
        interval_note,
        options_table,
        summary_text,
    )

    a = make_analysis(codes="current")
    a.options[0].update(evidence="thin", evidence_n=3, propensity=0.03)  # a thinly supported baseline
    a.options[1].update(B120_lo=a.options[1]["B120"] - 0.09)  # a lopsided benefit interval (9 pp below, 2 above)
    pages = [_squash(t).replace(_squash(RESEARCH_NOTICE), "") for t in page_texts(report_pdf(a, compress=False))]
    everything = re.sub(r"OncoTx·patient.*?·page\d+/\d+", "", "".join(pages))  # text runs on across pages
    for h in a.horizons:
        table = options_table(a, h)
        for column in ("Reading", "Evidence"):
            for text in table[column]:
                assert _squash(text) in everything, text
    last = options_table(a, a.horizons[-1])
    for words in last["In plain words"]:
        assert _squash(words) in everything, words
    for nnt in last["NNT"]:
        assert nnt == "–" or _squash(nnt) in everything
    for needle in (summary_text(a), baseline_note(a), interval_note(a), "rarely given to similar patients (propensity 3%)",
                   "thin (3 of 100 similar patients)", "the 3-point worthwhile threshold for Chemo"):
        assert needle and _squash(needle) in everything, needle
    assert "ok(n=" not in everything and "p=0." not in everything  # the old PDF-only evidence words are gone


def test_csv_has_readings_per_horizon_and_thresholds():
    a = make_analysis(codes="current")
    rows = list(csv.DictReader(io.StringIO(report_csv(a).decode("utf-8"))))
    assert [r["reading60"] for r in rows] == [o["reading60"] for o in a.options]
    assert [r["reading120"] for r in rows] == [r["reading"] for r in rows]
    assert [float(r["min_benefit"]) for r in rows] == pytest.approx([o["min_benefit"] for o in a.options])
    assert rows[7]["evidence_words"] == "thin (12 of 100 similar patients)"
    old = list(csv.DictReader(io.StringIO(report_csv(make_analysis()).decode("utf-8"))))  # saved before the rule
    assert [r["reading120"] for r in old] == [r["reading"] for r in old] and {r["reading60"] for r in old[1:]} == {""}


def test_pdf_compressed_default_is_smaller_and_valid(pdf_bytes):
    compressed = report_pdf(make_analysis())
    assert compressed.startswith(b"%PDF-") and len(compressed) < len(pdf_bytes)


def test_pdf_with_empty_sections():
    pdf = report_pdf(empty_analysis(), compress=False)
    assert pdf.startswith(b"%PDF-")
    text = _squash(" ".join(page_texts(pdf)))
    for needle in ("Treatment options: not available", "Survival curves: not available", "Model card: not available",
                   "Molecular profile: not available", "Synthetic demo cohort", "Options, not directives."):
        assert _squash(needle) in text, needle


def test_pdf_partial_values_do_not_crash():
    a = make_analysis()
    a.options[1].update(B120=None, B120_lo=None, B120_hi=None, S60_lo=float("nan"), evidence_n=None)
    a.curves = [c for c in a.curves if c["regimen"] != "none"] + [{"regimen": "none", "month": 0.0, "S": 1.0}]
    a.explanations = {"risk": [{"feature": "x", "value": None}]}
    a.molecular = {"pam50": {"subtype": "Basal"}, "percentiles": {f"G{i}": i for i in range(100)}}
    a.model_card = {"model_id": "m", "metrics": {"harrell_c": {"value": None}}}
    assert report_pdf(a).startswith(b"%PDF-")


def test_pdf_prints_user_text_literally():
    hostile = "<script>alert(1)</script> **bold** _x_ \x00\x07 \ud800 ☃ 漢字 {nb} page"
    a = replace(make_analysis(patient_id="<b>PT</b>**2**"), user=hostile, warnings=[hostile])
    text = " ".join(page_texts(report_pdf(a, compress=False)))
    assert "<b>PT</b>**2**" in text
    assert "<script>alert(1)</script> **bold** _x_ ?? ? ☃ ?? {nb} page" in text  # undrawable characters: '?'
    assert re.search(r"page 1/\d+ ", text)  # the page count alias still works


# ------------------------------------------------------------------------------ CSV / JSON / names


def test_csv_rows_are_regimens_and_cells_are_neutralised():
    a = make_analysis()
    a.options[2]["reading"] = "@SUM(A1:A9)"
    rows = list(csv.reader(io.StringIO(report_csv(a).decode("utf-8"))))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["patient_id", "model_id", "created", "regimen"]
    assert [r[3] for r in body] == REGIMENS
    assert {r[0] for r in body} == {"PT-Ünïcødé–01"}
    cells = [c for r in body for c in r]
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert all(not c.startswith("-") or _is_number(c) for c in cells)  # numbers stay numbers
    assert "'@SUM(A1:A9)" in cells
    assert any(INJECTION in c for c in cells)
    col = header.index("B120")
    assert float(body[0][col]) == 0.0 and float(body[1][col]) > 0


def test_csv_neutralises_leading_ids_and_handles_no_options():
    a = replace(empty_analysis(), patient_id="=HYPERLINK(\"x\")", model_id="+1", warnings=["-2"])
    text = report_csv(a).decode("utf-8")
    assert text.splitlines()[0].startswith("patient_id,model_id,created,regimen")
    assert len(text.splitlines()) == 1
    b = replace(make_analysis(), patient_id="=HYPERLINK(\"x\")", model_id="+1", warnings=["-2"])
    body = list(csv.reader(io.StringIO(report_csv(b).decode("utf-8"))))[1:]
    assert body[0][0] == "'=HYPERLINK(\"x\")" and body[0][1] == "'+1"
    assert body[0][-2] == "'-2"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_json_round_trips():
    a = make_analysis()
    data = report_json(a)
    assert data.decode("utf-8").startswith("{\n")
    assert "PT-Ünïcødé–01" in data.decode("utf-8")
    assert PatientAnalysis.from_json(data.decode("utf-8")).to_json() == a.to_json()


def test_filenames_are_safe():
    a = make_analysis()
    assert report_filename(a, "pdf") == "oncotx-PT-Unic_de_01-20260314-0926.pdf"
    hostile = replace(a, patient_id="../../etc/passwd\x00; rm -rf /", created="not a time")
    name = report_filename(hostile, ".CSV")
    assert re.fullmatch(r"oncotx-[A-Za-z0-9._-]+-\d{8}-\d{4}\.csv", name)
    assert "/" not in name and ".." not in name
    assert report_filename(replace(a, patient_id="///"), "json").startswith("oncotx-patient-")


@pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdftoppm") and cjk_font_file()),
                    reason="needs poppler-utils and fonts-wqy-microhei (installed by .ci/run)")
def test_pdf_in_chinese_has_chinese_text_and_renders(tmp_path):
    """The Chinese report: pdftotext reads the Chinese notice and headings (CJK glyphs embedded, not '?'), and page 1
    renders (test-artifacts/report_zh_page1.png, to look at)."""
    path = tmp_path / "report_zh.pdf"
    path.write_bytes(report_pdf(make_analysis(), language="zh_CN"))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    squashed = re.sub(r"\s+", "", text)
    for words in ("OncoTx患者报告", "仅供研究使用", "治疗选项", "生存曲线", "注意事项"):
        assert words in squashed, words
    assert squashed.count("仅供研究使用：OncoTx不是医疗器械") == text.count("\f")  # the notice on every page
    out = Path("test-artifacts")
    out.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(out / "report_zh_page1")], check=True)
    assert (out / "report_zh_page1.png").stat().st_size > 10_000


def test_pdf_states_the_clinicians_corrections():
    text = "Corrected in the review step: Positive lymph nodes: read 2, corrected to 15."
    a = make_analysis()
    a = replace(a, assumptions={**(a.assumptions or {}), "record_corrections": text})
    pages = _squash(" ".join(page_texts(report_pdf(a, compress=False))))
    assert _squash("Corrected by the clinician") in pages and _squash(text) in pages


def test_pdf_names_the_gene_modifiers_and_the_guided_policy():
    a = make_analysis()
    modifiers = [{"treatment": "radio_therapy", "gene": "ACSS1", "z": 4.1, "q": 0.03, "stability": 0.4,
                  "benefit_falls_with_gene": True, "patient_value": -0.8}]
    a = replace(a, explanations={**a.explanations, "modifiers": modifiers},
                risk={**a.risk, "guideline": "hormone_therapy", "best_option": "chemotherapy+hormone_therapy",
                      "departure_confidence": 0.62, "presented": "hormone_therapy"})
    pages = _squash(" ".join(page_texts(report_pdf(a, compress=False))))
    assert _squash("less benefit as ACSS1 expression rises") in pages and _squash("-0.8 SD") in pages
    assert _squash("not enough to depart from the guideline's regimen") in pages
