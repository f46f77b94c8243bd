"""End to end in a real browser: `streamlit run app.py` driven by headless chromium through playwright.

Uploads a METABRIC patient and a bad file on the Patient page, opens the Cohort page, and leaves
screenshots in test-artifacts/ (git-ignored) for a person to look at.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench.serve import CHROMIUM_ARGS, VIEWPORT, streamlit_app
from tests.conftest import missing

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
METABRIC_TABLE = DATA / "metabric" / "metabric_1904_clinical_treatment_expr300.parquet"
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.realdata, pytest.mark.slow]


def _missing(reason: str) -> None:
    """Fail in CI (CI=true or ONCOTX_REQUIRE_REALDATA=1: the browser test must run there), skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required in CI: {reason}")
    missing(reason)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not METABRIC_TABLE.is_file():
        _missing(f"reference data not found at {DATA}")
    with streamlit_app(tmp_path_factory.mktemp("streamlit"), data=DATA) as (url, _log):
        yield url


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        _missing("chromium not found on PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def upload_files(tmp_path):
    patient = tmp_path / "metabric_patient.csv"
    pd.read_parquet(METABRIC_TABLE).iloc[[0]].to_csv(patient, index=False)
    bad = tmp_path / "two_unknown_genes.csv"
    bad.write_text("gene,value\nNOTAGENE1,1.5\nNOTAGENE2,2.5\n")
    return patient, bad


def _settled(page) -> None:
    """Wait until the script run is over and lazy widgets (skeleton placeholders) have rendered."""
    page.wait_for_function(
        """() => document.querySelectorAll('[data-testid="stSkeleton"]').length === 0
                 && !document.querySelector('[data-testid="stStatusWidget"]')"""
    )
    page.wait_for_timeout(500)  # let charts, data grids and fonts paint


def _shot(page, name: str) -> None:
    """A full-page screenshot. Streamlit scrolls inside its own container, so first make the
    viewport as tall as the content: ``full_page`` alone would cut the page at the window."""
    _settled(page)
    height = page.evaluate(
        """() => Math.max(...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stMainBlockContainer"]')]
                          .map(e => e.scrollHeight), document.body.scrollHeight)"""
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(max(height + 40, VIEWPORT["height"]), 6000)})
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    page.set_viewport_size(VIEWPORT)


def test_deep_link_on_fresh_server_keeps_shell(page, server):
    """Runs first in this module, so it is the server's first session: open /cohort directly."""
    page.set_default_timeout(30_000)
    page.goto(f"{server}/cohort")
    page.get_by_role("heading", name="Cohort: ", exact=False).wait_for()
    _settled(page)
    assert page.get_by_text("Research use only: OncoTx is not a medical device").count() == 1
    assert page.get_by_role("heading", name="Cohort: METABRIC").count() == 1
    assert page.get_by_text("Page not found").count() == 0


def test_patient_upload_and_cohort_page(page, server, upload_files):
    patient, bad = upload_files
    page.set_default_timeout(30_000)
    page.goto(server)
    page.get_by_text("Research use only: OncoTx is not a medical device").wait_for()
    page.get_by_role("heading", name="Patient").wait_for()

    expression_input = (
        page.locator('[data-testid="stFileUploader"]')
        .filter(has_text="Expression profile")
        .locator('input[type="file"]')
    )
    expression_input.set_input_files(str(patient))
    page.get_by_role("button", name="Check files").click()  # the uploaders sit in a form
    page.get_by_text("Validation passed").wait_for()
    page.get_by_role("heading", name="Clinical fields").wait_for()
    page.locator('[data-testid="stNumberInput"]').first.wait_for()
    page.get_by_role("button", name="Analyse").wait_for()
    assert page.get_by_text("Validation failed").count() == 0
    # Analyse: first use trains METABRIC's treatment-effect model and builds the cohort map (progress shown),
    # then S(5y)/S(10y) with intervals and the options
    page.get_by_role("button", name="Analyse").click()
    page.get_by_text("OS at 10 years").wait_for(timeout=600_000)
    assert page.get_by_text("interval ", exact=False).count() >= 2
    _shot(page, "patient_validation.png")

    expression_input.set_input_files(str(bad))
    page.get_by_role("button", name="Check files").click()
    page.get_by_text("Validation failed").wait_for()
    assert page.get_by_text("Validation passed").count() == 0
    _shot(page, "patient_invalid.png")

    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Cohort").click()
    page.get_by_role("heading", name="Cohort: METABRIC").wait_for()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
    page.get_by_text("Research use only: OncoTx is not a medical device").wait_for()
    assert page.locator('[data-testid="stMetricValue"]').filter(has_text="1,904").count() == 1
    assert page.locator('[data-testid="stMetricValue"]').filter(has_text="1,103").count() == 1
    _shot(page, "cohort_metabric.png")

    assert page.locator('[data-testid="stException"]').count() == 0
