"""The Patient page in Chinese in a real browser, on the synthetic demo cohort: switch the sidebar's language to
简体中文, a bad upload's validation error in Chinese, the example patient analysed, the page's words and a chart's
labels (plotly's text in the DOM) in Chinese, and the downloaded PDF report in Chinese (pdftotext reads it; page 1 is
rendered with pdftoppm to test-artifacts/i18n_report_page1.png). One server, one browser.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.serve import streamlit_app
from dashboard.patient.report.wording import cjk_font_file
from tests.test_browser import ARTIFACTS, _settled, _shot
from tests.test_browser import browser as browser  # noqa: F401 (fixtures)
from tests.test_browser import page as page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdftoppm") and cjk_font_file()),
                                 reason="needs poppler-utils and fonts-wqy-microhei (installed by .ci/run)")]
ANALYSIS_S = 600  # the first analysis of a fresh server trains the demo treatment model
NOTICE_ZH = "仅供研究使用：OncoTx 不是医疗器械"
BAD_CSV = b"gene,value\nNOTAGENE1,1.5\nNOTAGENE2,2.5\n"
CHART_TEXT_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
    .map(gd => gd.querySelector('.main-svg') ? [...gd.querySelectorAll('text')].map(t => t.textContent).join(' ') : '')"""


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    with streamlit_app(tmp_path_factory.mktemp("streamlit-i18n"), data=None) as running:
        yield running


def test_patient_page_and_report_in_chinese(page, demo_server, tmp_path):  # noqa: F811
    url, log = demo_server
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_role("heading", name="Patient").wait_for()
    _settled(page)

    # 1. the sidebar's language switch
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Language").click()
    page.get_by_role("option", name="简体中文").click()
    page.get_by_role("heading", name="患者").wait_for()
    page.get_by_text(NOTICE_ZH).wait_for()
    assert "language=zh_CN" in page.url  # a reload keeps it

    # 2. a bad upload: the validation error in Chinese
    expression = tmp_path / "two_unknown_genes.csv"
    expression.write_bytes(BAD_CSV)
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="表达谱")
    uploader.locator('input[type="file"]').set_input_files(str(expression))
    uploader.get_by_text(re.compile(r"\.csv$")).wait_for()
    page.get_by_role("button", name="检查文件").click()
    error = page.locator('[data-testid="stAlert"]').filter(has_text="校验失败")
    error.wait_for()
    assert re.search(r"[\u4e00-\u9fff]", error.inner_text().split("校验失败", 1)[1]), error.inner_text()
    _shot(page, "i18n_01_error.png")

    # 3. the example patient, analysed: the page and its charts in Chinese
    page.get_by_role("button", name="试用示例患者").click()
    page.get_by_role("button", name="分析", exact=True).click(timeout=ANALYSIS_S * 1000)
    page.get_by_role("heading", name="治疗选项").wait_for(timeout=ANALYSIS_S * 1000)
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
    _settled(page)
    assert page.locator('[data-testid="stException"]').count() == 0, log.read_text()[-3000:]
    assert page.get_by_text("分析完成").count() == 1
    steps = page.locator('[data-testid="stExpander"]').filter(has_text="分析完成").first.text_content()
    assert "的治疗模型和参考数据" in steps and "loading the treatment" not in steps, steps  # the progress lines too
    assert page.get_by_text(NOTICE_ZH).count() == 1
    charts = " ".join(page.evaluate(CHART_TEXT_JS))
    for words in ("各方案下的预测生存", "诊断后年数", "（基准）"):
        assert words in charts, charts[:2000]
    _shot(page, "i18n_02_dashboard.png")

    # 4. the PDF report, in Chinese
    with page.expect_download(timeout=120_000) as download_info:
        page.get_by_role("button", name="PDF 报告").click()
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(Path(download_info.value.path()).read_bytes())
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                              check=True).stdout)
    for words in ("OncoTx患者报告", "仅供研究使用：OncoTx不是医疗器械", "治疗选项", "注意事项"):
        assert words in text, text[:2000]
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(ARTIFACTS / "i18n_report_page1")], check=True)
