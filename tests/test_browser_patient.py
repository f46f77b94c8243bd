"""The Patient dashboard end to end in a real browser, on the synthetic demo cohort (no data folder needed).

The first step a new user takes: one click on "Try an example patient", Analyse, the options table; then save it
with a note and find it again in History by searching that note. And the upload path: a patient's expression file
and clinical record checked in the upload form, analysed, the options table, the survival-curve chart and the
explanation chart, the PDF report, saved and reopened from the History page (the reopened charts must hold the same
numbers). Screenshots of each step go to test-artifacts/.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bench.serve import streamlit_app
from tests.test_browser import ARTIFACTS, _settled, _shot
from tests.test_browser import browser as browser  # noqa: F401 (fixtures)
from tests.test_browser import page as page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NOTICE = "Research use only: OncoTx is not a medical device"
ANALYSIS_S = 600  # the first analysis of a fresh server trains the demo treatment model and builds the cohort map
PATIENT_INDEX = 1437  # a demo patient (any works: the demo cohort is synthetic)

# plotly's own figure data, read from the page: {title: [trace names]} and the benefit bars' numbers
FIGURES_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
    .map(gd => ({title: ((gd.layout || {}).title || {}).text || '',
                 types: (gd.data || []).map(t => t.type || 'scatter'),
                 names: (gd.data || []).map(t => t.name || '')}))"""
BENEFIT_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
    .filter(gd => (((gd.layout || {}).title || {}).text || '').includes('Benefit over the baseline'))
    .map(gd => (gd.data || []).filter(t => t.type === 'bar').map(t => [t.y, t.x]))"""


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """``streamlit run app.py`` on the demo cohort (ONCOTX_DATA unset), its own ONCOTX_HOME."""
    with streamlit_app(tmp_path_factory.mktemp("streamlit-demo"), data=None) as running:
        yield running


@pytest.fixture
def patient_files(tmp_path) -> tuple[Path, Path]:
    """A demo patient as a clinic would send it: expression (genes as rows, TSV) and a JSON clinical record."""
    from genomics.cohorts import load_cohort

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ONCOTX_DATA", raising=False)
        cohort = load_cohort("demo")
    row = cohort[PATIENT_INDEX]
    expression = tmp_path / "patient_expression.tsv"
    row.to_df().T.rename_axis("gene").to_csv(expression, sep="\t", header=["value"])
    obs = row.obs.iloc[0]
    clinical = {k: (v.item() if hasattr(v, "item") else v) for k, v in obs.items()
                if k in ("age_at_diagnosis", "tumor_size_mm", "grade", "lymph_nodes_positive", "er_status",
                         "pr_status", "her2_status", "menopausal_state")}
    treatments = {t: int(obs[t]) for t in ("chemotherapy", "hormone_therapy", "radio_therapy")}
    record = tmp_path / "patient_record.json"
    record.write_text(json.dumps({"patient_id": "clinic-ref-17", "clinical": clinical, "treatments": treatments}))
    return expression, record


def _no_exception(page) -> None:  # noqa: F811
    assert page.locator('[data-testid="stException"]').count() == 0


def _to_top(locator) -> None:
    """Scroll so that the element is at the top of the window (for a screenshot of what follows it)."""
    locator.evaluate("e => e.scrollIntoView({block: 'start'})")
    locator.page.wait_for_timeout(400)


def upload_pair(page, expression: Path, record: Path) -> None:  # noqa: F811
    """Choose the expression file and the record in the upload form, then press "Check files"."""
    uploaders = page.locator('[data-testid="stFileUploader"]')
    uploaders.filter(has_text="Expression profile").locator('input[type="file"]').set_input_files(str(expression))
    uploaders.filter(has_text="Clinical record").locator('input[type="file"]').set_input_files(str(record))
    for name, path in (("Expression profile", expression), ("Clinical record", record)):  # both staged in the form
        uploaders.filter(has_text=name).get_by_text(re.compile(re.escape(path.suffix) + "$")).wait_for()
    assert page.get_by_text("Validation passed").count() == 0  # nothing is read before "Check files"
    page.get_by_role("button", name="Check files").click()
    page.get_by_text("Validation passed").wait_for()
    page.get_by_role("heading", name="Clinical fields").wait_for()
    _settled(page)


def analyse(page, log: Path, *, timeout_s: float) -> None:  # noqa: F811
    """Press Analyse and wait for the whole dashboard (options, first chart, no exception)."""
    page.get_by_role("button", name="Analyse").click()
    page.get_by_role("heading", name="Treatment options").wait_for(timeout=timeout_s * 1000)
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
    _settled(page)
    _no_exception(page)
    assert page.get_by_text("Analysis ready").count() == 1, log.read_text()[-3000:]


def _figures(page) -> dict[str, dict]:  # noqa: F811
    """{title without its caption and markup: figure} (a long title is wrapped over lines; its caption lines are
    the grey spans after it)."""
    return {re.sub(r"<[^>]+>", "", f["title"].split("<br><span")[0].replace("<br>", " ")): f
            for f in page.evaluate(FIGURES_JS)}


def test_patient_dashboard_upload_to_history(page, demo_server, patient_files):  # noqa: F811
    url, log = demo_server
    expression, record = patient_files
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_text(NOTICE).wait_for()
    page.get_by_role("heading", name="Patient").wait_for()
    _shot(page, "patient_01_start.png")

    # 1. upload expression and record: the validation report comes first
    upload_pair(page, expression, record)
    clinical = json.loads(record.read_text())["clinical"]
    er = page.locator('[data-testid="stSelectbox"]').filter(has_text="ER status").locator("input")
    expect(er).to_have_value(clinical["er_status"])  # the form is filled from the record
    _settled(page)
    assert page.get_by_text("Validation failed").count() == 0
    assert page.get_by_role("heading", name="Treatment options").count() == 0  # nothing analysed yet
    _no_exception(page)
    _shot(page, "patient_02_validated.png")

    # 2. analyse: progress while it runs (the first run trains the demo treatment model), then the dashboard
    analyse(page, log, timeout_s=ANALYSIS_S)
    assert page.get_by_role("heading", name="Patient PT-").count() == 1  # pseudonymised: never the clinic's id
    assert page.get_by_text("clinic-ref-17").count() == 0
    filled = page.locator('[data-testid="stAlert"]').filter(has_text="Filled from the cohort (missing")
    assert filled.count() == 0  # the record gave every field
    assert page.get_by_text(NOTICE).count() == 1
    assert page.get_by_text("Options, not directives", exact=False).count() >= 1  # the caveat near the options
    options = page.locator('[data-testid="stDataFrame"]').filter(has_text="Regimen")
    assert options.count() >= 1
    figures = _figures(page)
    curves = figures["Predicted survival under each regimen"]
    assert len({n for n in curves["names"] if not n.endswith("interval")}) == 8  # every regimen has a curve
    assert "None (no treatment) (baseline)" in curves["names"]
    assert "waterfall" in figures["What drives this patient's risk"]["types"]  # the explanation chart
    benefit_before = page.evaluate(BENEFIT_JS)
    assert benefit_before and benefit_before[0]
    _shot(page, "patient_03_dashboard.png")
    _to_top(page.get_by_role("heading", name="Treatment options"))
    page.screenshot(path=str(ARTIFACTS / "patient_04_options_view.png"))

    # 3. the benefit explanation for one option, in its tab
    page.get_by_role("tab", name="Benefit of each option").click()
    page.get_by_text("What drives the effect of", exact=False).first.wait_for()
    _settled(page)
    _to_top(page.get_by_role("heading", name="What drives these estimates"))
    page.screenshot(path=str(ARTIFACTS / "patient_05_benefit_explanation.png"))
    page.get_by_role("tab", name="Similar patients").click()
    page.get_by_text("Regimens received").wait_for()
    _settled(page)
    _no_exception(page)
    assert "Observed survival of similar cohort patients" in _figures(page)
    _to_top(page.get_by_role("heading", name="What drives these estimates"))
    page.screenshot(path=str(ARTIFACTS / "patient_05b_similar_patients.png"))

    # 4. the PDF report
    with page.expect_download(timeout=120_000) as download_info:
        page.get_by_role("button", name="PDF report").click()
    download = download_info.value
    assert download.suggested_filename.startswith("oncotx-PT-") and download.suggested_filename.endswith(".pdf")
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    (ARTIFACTS / "patient_report.pdf").write_bytes(pdf)

    # 5. save, then reopen from the History page (sidebar, list, choose): the same numbers
    page.get_by_role("button", name="Save to history").click()
    page.get_by_text("Saved to history as", exact=False).wait_for()
    _no_exception(page)
    _to_top(page.get_by_text("Caveats", exact=True))
    page.screenshot(path=str(ARTIFACTS / "patient_06_saved.png"))
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="History").click()
    page.get_by_role("heading", name="History").wait_for()
    page.get_by_text("Open a saved analysis").wait_for()
    _settled(page)
    _shot(page, "patient_07_history_list.png")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Open a saved analysis").click()
    page.get_by_role("option").first.click()
    page.get_by_role("heading", name="Treatment options").wait_for()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
    _settled(page)
    _no_exception(page)
    assert page.get_by_text("Saved analysis", exact=False).count() >= 1
    assert page.evaluate(BENEFIT_JS) == benefit_before
    assert page.get_by_text(NOTICE).count() == 1
    _shot(page, "patient_08_history_reopened.png")


def test_example_patient_first_step_then_found_by_its_note(page, demo_server):  # noqa: F811
    """One click on the primary "Try an example patient", Analyse, the options; saved with a note, found again in
    History by searching the note, and opened from there."""
    url, log = demo_server
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_role("heading", name="Patient").wait_for()
    start = page.get_by_role("button", name="Try an example patient")
    start.wait_for()
    assert start.get_attribute("data-testid") == "stBaseButton-primary"  # the first step nobody can miss
    _settled(page)
    _shot(page, "patient_example_01_start.png")

    start.click()  # the first time the demo treatment model is trained: a spinner says so meanwhile
    page.get_by_text("Validation passed").wait_for(timeout=ANALYSIS_S * 1000)
    page.get_by_role("heading", name="Clinical fields").wait_for()
    page.get_by_text("Which model will answer", exact=False).wait_for()
    assert page.locator('[data-testid="stSelectbox"]').filter(has_text="Example patient").count() == 1
    _settled(page)
    _no_exception(page)
    _shot(page, "patient_example_02_loaded.png")

    analyse(page, log, timeout_s=ANALYSIS_S)
    options = page.locator('[data-testid="stDataFrame"]').filter(has_text="Regimen")
    expect(options.first).to_be_visible()
    _to_top(page.get_by_role("heading", name="Treatment options"))
    page.screenshot(path=str(ARTIFACTS / "patient_example_03_options.png"))
    guided = page.get_by_text("Guideline rule (", exact=False)  # the guided policy, stated beside the options
    expect(guided.first).to_be_visible()
    _to_top(guided.first)
    page.screenshot(path=str(ARTIFACTS / "patient_example_03b_guideline.png"))
    page.get_by_role("tab", name="Benefit of each option").click()
    modifiers = page.get_by_text("Single genes that modify a treatment's benefit", exact=False)
    expect(modifiers.first).to_be_visible()
    _to_top(modifiers.first)
    page.screenshot(path=str(ARTIFACTS / "patient_example_03c_modifiers.png"))

    note = "tumour board example 17"
    box = page.get_by_role("textbox", name="Note for the history (optional)")
    box.fill(note)
    box.press("Enter")
    _settled(page)
    page.get_by_role("button", name="Save to history").click()
    page.get_by_text("Saved to history as", exact=False).wait_for()
    saved_text = page.get_by_text("Saved to history as", exact=False).inner_text()
    assert note in saved_text and "PT-" in saved_text, saved_text  # named by patient, date and note
    assert not re.search(r"[0-9a-f]{32}", saved_text)  # never by a hash
    _no_exception(page)

    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="History").click()
    page.get_by_role("heading", name="History").wait_for()
    search = page.get_by_role("textbox", name="Search")
    search.fill("board example")
    search.press("Enter")
    _settled(page)
    listing = page.locator('[data-testid="stDataFrame"]').first
    expect(listing).to_be_visible()
    chooser = page.locator('[data-testid="stSelectbox"]').filter(has_text="Open a saved analysis")
    found = page.get_by_role("option").filter(has_text=note)
    for _ in range(20):  # under load the search's rerun can land after the list was opened: reopen until it has
        chooser.click()
        expect(found).to_have_count(1)
        if page.get_by_role("option").count() == 1:
            break
        page.keyboard.press("Escape")
        page.wait_for_timeout(1000)
    assert page.get_by_role("option").count() == 1  # the search left only this one
    found.click()
    page.get_by_role("heading", name="Treatment options").wait_for()
    _settled(page)
    _no_exception(page)
    assert page.get_by_text(note, exact=False).count() >= 1
    _shot(page, "patient_example_04_history_found.png")
