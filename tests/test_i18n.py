"""The message catalogue: every tr()/N_() literal in the dashboard has a Chinese translation, the catalogue has no
stale keys, placeholders agree, and the InputError lines the Patient page shows come out in Chinese."""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from dashboard.i18n import format_date, format_years, language_scope, regimen_label, tr, translate_error
from dashboard.i18n.catalogue import catalogue
from dashboard.patient.readings import READING_TITLES
from dashboard.patient.report.wording import cjk_font_file
from dashboard.platform.demo_mode import PUBLIC_DEMO_NOTICE
from dashboard.text import FIELD_LABELS, RESEARCH_NOTICE, RS_GROUP_WORDS
from dashboard.ui.auth import DEMO_NOTICE
from genomics.regimens import NONE_LABEL, TREATMENT_LABELS
from genomics.signatures.recurrence import RS_LABEL
from models.guideline import GUIDELINE_RULE
from models.predict_breast import CAVEAT as PREDICT_CAVEAT
from models.treatment import CAVEAT

ROOT = Path(__file__).resolve().parents[1]
ZH = "zh_CN"
EXTERNAL = {RESEARCH_NOTICE, CAVEAT, PREDICT_CAVEAT, RS_LABEL, DEMO_NOTICE, PUBLIC_DEMO_NOTICE, NONE_LABEL, GUIDELINE_RULE, *TREATMENT_LABELS.values(), *FIELD_LABELS.values()}


def used_messages() -> set[str]:
    """Literals passed to tr() or N_() in app.py, pages/ and dashboard/."""
    files = [ROOT / "app.py", *(ROOT / "pages").rglob("*.py"), *(ROOT / "dashboard").rglob("*.py")]
    found = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node, "func", None)
            name = getattr(name, "id", getattr(name, "attr", None))
            if (isinstance(node, ast.Call) and name in ("tr", "N_") and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    return found


def test_every_message_has_a_translation():
    messages = catalogue(ZH)["messages"]
    missing = sorted(m for m in used_messages() | EXTERNAL if not messages.get(m))
    assert not missing, f"{len(missing)} message(s) lack a {ZH} translation: {missing[:10]}"


def test_no_stale_keys():
    stale = sorted(set(catalogue(ZH)["messages"]) - used_messages() - EXTERNAL)
    assert not stale, f"catalogue keys no longer used: {stale[:10]}"


def test_placeholders_agree():
    fields = re.compile(r"\{(\w*)\}")
    wrong = [k for k, v in catalogue(ZH)["messages"].items() if set(fields.findall(k)) != set(fields.findall(v))]
    assert not wrong, wrong


def test_english_is_the_source_text():
    assert tr("Check files", language="en") == "Check files"
    assert tr("Patient {patient}", language="en", patient="P1") == "Patient P1"
    assert regimen_label("chemotherapy+radio_therapy", language="en") == "Chemo + Radio"


def test_chinese_terms_and_formats():
    assert tr("PAM50 subtype", language=ZH) == "PAM50 分子分型"
    assert regimen_label("chemotherapy+hormone_therapy+radio_therapy", language=ZH) == "化疗 + 内分泌治疗 + 放疗"
    assert regimen_label("none", language=ZH) == "无治疗"
    assert format_date(date(2026, 12, 3), language=ZH) == "2026年12月3日"
    assert format_years(10, language=ZH) == "10 年"


# the InputError / validation lines the Patient page shows most often (genomics' English wording)
PAGE_ERRORS = [
    ("p.csv is empty.", "空文件"),
    ("p.csv looks like a PNG image (png), not a text table.", "不是文本表格"),
    ("p.csv: no recognised human gene identifiers in the first row or the first column (expected HGNC symbols, "
     "Ensembl or Entrez ids).", "人类基因标识符"),
    ("Only 3 of 200 gene identifiers were recognised as human genes; at least 1000 and half of them are needed.",
     "人类基因"),
    ("Clinical record: r.csv: 1 value(s) could not be read: Age at diagnosis: not a number.", "不是数字"),
    ("Clinical record: Age at diagnosis must be between 0 and 120 years.", "必须在 0 到 120 岁之间"),
]


@pytest.mark.parametrize(("english", "chinese"), PAGE_ERRORS)
def test_input_errors_in_chinese(english, chinese):
    assert chinese in translate_error(english, language=ZH)
    assert translate_error(english, language="en") == english


def test_real_validation_errors_match_a_template():
    from genomics.validate import check_upload  # lazy: start-up cost

    for data, name in ((b"", "p.csv"), (b"\x89PNG\r\n\x1a\n" + bytes(100), "p.csv")):
        errors = check_upload(data, name=name).report.errors
        assert errors and all(translate_error(e, language=ZH) != e for e in errors), errors


def test_unknown_error_falls_back_to_english():
    assert translate_error("Something new went wrong.", language=ZH) == "Something new went wrong."


# the Patient page's option sentences and the PDF's tables in Chinese (tests/test_report.py builds the analysis)
@pytest.fixture(scope="module")
def analysis():
    from tests.test_report import make_analysis  # lazy: a test module's fixture builder

    return make_analysis(codes="current")


def test_option_readings_in_chinese(analysis):
    from dashboard.patient.presentation import caveat_lines, options_table, summary_text  # lazy: pandas start-up

    last = analysis.horizons[-1]
    table = options_table(analysis, last)
    with language_scope(ZH):
        zh = options_table(analysis, last)
        summary, caveats = summary_text(analysis), caveat_lines(analysis)
    assert list(zh.columns[:6]) == ["方案", "10 年生存率", "获益（百分点）", "解读", "证据", "需治疗人数 NNT"]
    words = list(zh["通俗解读"])
    assert words[0] == "基准：其他选项均与此方案比较。"
    assert any(w.startswith("可能有值得考虑的获益，可供讨论的选项：10 年时") for w in words), words
    assert any(w.startswith("不确定：10 年时") for w in words), words
    assert set(zh["解读"]) <= {tr(t, language=ZH) for t in READING_TITLES.values()}
    assert "可供讨论的选项" in summary and caveats[0].startswith("观察性数据：治疗并非随机分配")
    assert all(not re.search(r"[a-z]{4,} [a-z]{4,}", w) for w in words), words  # no English sentence left
    assert list(table.columns[:2]) == ["Regimen", "Survival at 10 years"]  # English unchanged


@pytest.mark.skipif(not shutil.which("pdftotext") or cjk_font_file() is None, reason="needs pdftotext and the CJK font")
def test_chinese_pdf_tables_in_chinese(analysis, tmp_path):
    from dashboard.patient.report.pdf import report_pdf  # lazy: fpdf start-up

    path = tmp_path / "zh.pdf"
    path.write_bytes(report_pdf(analysis, language="zh_CN"))
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                             check=True).stdout)
    for words in ("创建时间", "患者（假名化ID）", "参考队列", "生存率5年", "获益10年", "解读10年", "需治疗人数NNT10年",
                  "证据", "通俗解读（10年）", "数据质量与假设", "综合Brier评分", "5年时间依赖AUC", "指标", "值[区间]", "基准：其他选项均与此方案比较。"):
        assert words in text, words
    for english in ("Created", "Survival 5 y", "In plain words", "Benefit measured against", "Metric"):
        assert re.sub(r"\s+", "", english) not in text, english


MODEL_LINES = [  # the model's and the analysis' English sentences the Patient page shows (models.variants, service)
    ("The full model will answer: this profile has 1,000 of its 1,000 genes (100%; 80% needed).", "将由完整模型作答"),
    ("The clinical-only model will answer: no expression profile was given. Fitted without the clinical field(s) not "
     "given: Grade.", "拟合时不含未提供的临床字段：分级。"),
    ("Answered by the full model (1000 of the model's 1000 genes; 0 of the full model's genes missing); held-back C "
     "0.697.", "由完整模型作答"),
    ("Not enough comparable patients received: Chemo + Hormone, Radio (no benefit reading for them).",
     "化疗 + 内分泌治疗、放疗"),
    ("Filled from the cohort (missing in the record): Grade, Tumour size.", "分级、肿瘤大小"),
]


@pytest.mark.parametrize(("english", "chinese"), MODEL_LINES)
def test_model_sentences_in_chinese(english, chinese):
    assert chinese in translate_error(english, language=ZH)
    assert translate_error(english, language="en") == english


def test_variant_words_are_the_models_labels():
    from dashboard.patient.report.wording import VARIANT_WORDS  # lazy: matplotlib start-up
    from models.variants import VARIANT_LABELS  # lazy: models stack

    assert VARIANT_WORDS == VARIANT_LABELS


def test_rs_group_words_are_the_signatures_groups():
    import pandas as pd  # lazy: test-only

    from genomics.signatures.recurrence import RS_CUTOFFS, rs_groups  # lazy: start-up cost

    groups = rs_groups(pd.Series([RS_CUTOFFS[0] - 1, RS_CUTOFFS[0], RS_CUTOFFS[1]]))
    assert list(groups.categories) == list(RS_GROUP_WORDS) == list(groups.astype(str))


def test_ladder_words_are_predicts_labels():
    from dashboard.patient.report.wording import LADDER_WORDS  # lazy: matplotlib start-up
    from models.predict_breast.ladder import LADDER_LABELS  # lazy: models stack

    assert LADDER_WORDS == LADDER_LABELS


def test_a_fragment_rerun_draws_in_the_session_language():
    """A fragment's own rerun (Analyse, a tab, the horizon, Save) runs without the page script that sets the
    language: dashboard.ui.shell.fragment sets it again from the session, so the words stay Chinese."""
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        import streamlit as st

        from dashboard.i18n import set_language, tr
        from dashboard.ui.shell import fragment

        st.session_state["language"] = "zh_CN"
        set_language("en")  # what a fragment's rerun starts from: no page script has set this session's language

        @fragment
        def part() -> None:
            st.markdown(tr("Patient"))
            st.button("again", key="again")  # pressing it reruns the fragment alone

        part()

    at = AppTest.from_function(script, default_timeout=30)
    at.run()
    assert [m.value for m in at.markdown] == ["患者"]
    at.button(key="again").click().run()
    assert [m.value for m in at.markdown] == ["患者"]


def test_the_held_modifiers_warning_in_chinese():
    line = ("This profile lies beyond every cohort patient on 18 of the treatment model's effect modifiers: they are "
            "held at the edge of the cohort's range, so its estimates rest partly on the cohort's values.")
    assert translate_error(line, language="zh_CN").startswith("该表达谱在治疗模型的 18 个效应修饰因子上")
