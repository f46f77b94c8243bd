"""The review step of the Patient page in a real browser (demo cohort): the fields read from the record are shown
with their source; correcting one (positive lymph nodes) before Analyse changes the survival estimate, and the
analysis states the correction. Screenshots go to test-artifacts/."""
from __future__ import annotations

import json

import pytest

from bench.serve import streamlit_app
from tests.test_browser import ARTIFACTS, _settled, _shot
from tests.test_browser import browser as browser  # noqa: F401 (fixtures)
from tests.test_browser import page as page  # noqa: F401
from tests.test_browser_patient import ANALYSIS_S, NOTICE, analyse, upload_pair
from tests.test_browser_patient import patient_files as patient_files  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NODES_ROW = 3  # provenance order: age, tumour size, grade, positive lymph nodes, ...
ROW_PX = 35  # the table's rows (header first)
VALUE_X = 0.42  # Field | Value | Source | Why: the Value column spans about 0.31-0.54 of the width


@pytest.fixture(scope="module")
def review_server(tmp_path_factory):
    with streamlit_app(tmp_path_factory.mktemp("streamlit-review"), data=None) as running:
        yield running


def _estimate(page) -> str:  # noqa: F811
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="10 years").first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def test_review_step_correction_changes_the_estimate(page, review_server, patient_files):  # noqa: F811
    url, log = review_server
    expression, record = patient_files
    nodes = json.loads(record.read_text())["clinical"]["lymph_nodes_positive"]
    corrected = "0" if nodes >= 4 else "15"
    page.set_default_timeout(60_000)
    page.set_viewport_size({"width": 1400, "height": 3000})  # the table on screen without scrolling
    page.goto(url)
    page.get_by_text(NOTICE).wait_for()
    upload_pair(page, expression, record)
    page.get_by_role("heading", name="Review the clinical record").wait_for()
    assert page.get_by_text("from the file").count() >= 0  # the source column is drawn in the grid canvas
    analyse(page, log, timeout_s=ANALYSIS_S)
    before = _estimate(page)

    # correct positive lymph nodes in the review table: select its Value cell, open the editor, type, commit
    page.evaluate("() => document.querySelectorAll('[data-testid=\"stMain\"]').forEach(e => e.scrollTop = 0)")
    _settled(page)
    grid = page.locator('.st-key-record_review [data-testid="stDataFrame"]')
    box = grid.bounding_box()
    assert box["y"] + box["height"] < 3000, box
    header = grid.locator('[role="columnheader"]').filter(has_text="Value").first.bounding_box()
    x = header["x"] + header["width"] / 2 if header and header["width"] > 0 else box["x"] + VALUE_X * box["width"]
    cell = (x, box["y"] + ROW_PX * (NODES_ROW + 1) + ROW_PX / 2)
    for _ in range(2):  # the first click focuses the grid, the second selects the cell
        page.mouse.click(*cell)
        page.wait_for_timeout(400)
    page.keyboard.type(corrected, delay=150)  # typing on a selected cell opens its editor with the text
    page.locator("textarea.gdg-input, input.gdg-input").first.fill(corrected)
    page.screenshot(path=str(ARTIFACTS / "review_00_typing.png"), clip=box)
    page.keyboard.press("Enter")  # commits the cell: the page reruns and puts the value into the form
    nodes_input = page.locator('[data-testid="stNumberInput"]').filter(has_text="Positive lymph nodes").locator("input")
    for _ in range(40):  # the rerun starts a moment after the commit
        page.wait_for_timeout(500)
        if float(nodes_input.input_value() or "nan") == float(corrected):
            break
    _settled(page)
    assert float(nodes_input.input_value()) == float(corrected), log.read_text()[-2000:]  # it reached the form
    _shot(page, "review_01_corrected.png")
    # Analyse again: the dashboard of the first analysis is still on screen, so wait for the new one's correction line
    page.get_by_role("button", name="Analyse").click()
    page.get_by_text("Corrected in the review step").wait_for(timeout=ANALYSIS_S * 1000)
    _settled(page)
    assert page.get_by_text("Analysis ready").count() == 1, log.read_text()[-3000:]
    after = _estimate(page)
    assert after != before, (before, after)
    _shot(page, "review_02_reanalysed.png")
    page.screenshot(path=str(ARTIFACTS / "review_02_view.png"))
