"""The cohort explorer in a real browser: Kaplan-Meier by PAM50 subtype on METABRIC.

Checks the number of curves drawn (read from plotly's own figure data in the page), the log-rank p shown
against lifelines on the same table, and leaves screenshots in test-artifacts/ for a person to look at.
"""
from __future__ import annotations

import pandas as pd
import pytest
from lifelines.statistics import multivariate_logrank_test

from tests.test_browser import METABRIC_TABLE, _settled, _shot
from tests.test_browser import browser as browser  # noqa: F401 (fixtures)
from tests.test_browser import page as page  # noqa: F401
from tests.test_browser import server as server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.realdata, pytest.mark.slow]
NOTICE = "Research use only: OncoTx is not a medical device"

CURVES_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
    .map(gd => (gd.data || []).filter(t => t.meta === 'km-curve').map(t => t.name))"""


def test_km_by_pam50_subtype_metabric(page, server):  # noqa: F811
    table = pd.read_parquet(METABRIC_TABLE)
    expected = multivariate_logrank_test(table["os_months"], table["pam50_claudin_low"], table["os_event"]).p_value
    page.set_default_timeout(60_000)
    page.goto(f"{server}/cohort?view=Survival")  # a deep link to the tab, on a fresh server
    page.get_by_role("heading", name="Cohort: METABRIC").wait_for()
    page.get_by_text("Log-rank p =", exact=False).first.wait_for()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
    _settled(page)
    assert page.get_by_text(NOTICE).count() == 1
    assert page.get_by_role("tab", name="Survival").get_attribute("aria-selected") == "true"

    [names] = page.evaluate(CURVES_JS)
    assert len(names) == table["pam50_claudin_low"].nunique() == 7
    assert [n.split(" (")[0] for n in names] == sorted(table["pam50_claudin_low"].unique())
    assert any("reference" in n for n in names) and all("events=" in n for n in names)

    shown = page.get_by_text("Log-rank p =", exact=False).first.inner_text()
    assert f"Log-rank p = {expected:.3g}" in shown
    on_plot = page.locator('[data-testid="stPlotlyChart"] .annotation-text').filter(has_text="Log-rank p").text_content()
    assert on_plot.startswith(f"Log-rank p = {expected:.1e}")
    title = page.locator('[data-testid="stPlotlyChart"] .gtitle').first.text_content()
    assert "n=1,904" in title and "events=1,103" in title and "METABRIC" in title and "OS" in title
    assert page.locator('[data-testid="stPlotlyChart"] .annotation-text').filter(has_text="Number at risk").count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    _shot(page, "explorer_km_pam50_metabric.png")

    page.get_by_role("tab", name="Treatments").click()
    page.get_by_text("Patients (events) per regimen", exact=False).first.wait_for()
    _settled(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    _shot(page, "explorer_treatments_metabric.png")
