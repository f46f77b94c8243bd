"""The Patient page on a phone (390 × 844, the width of a common phone) in a real browser, on the demo cohort.

One analysis from "Try an example patient": the page must not scroll sideways, each chart must fit the width,
the survival chart must show at most four regimens (baseline, current regimen, two best options) with the rest as
legend toggles, and the benefit chart's labels must not overlap. Full-page screenshots go to
test-artifacts/mobile_*.png, one per chart as well, for a person to look at.
"""
from __future__ import annotations

import pytest

from bench.serve import streamlit_app
from tests.test_browser import ARTIFACTS, _settled
from tests.test_browser import browser as browser  # noqa: F401 (fixtures)
from tests.test_browser_patient import ANALYSIS_S, analyse

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"width": 390, "height": 844}
TOLERANCE_PX = 2  # sub-pixel rounding

OVERFLOW_JS = """() => ({page: document.documentElement.scrollWidth,
    widest: Math.max(0, ...[...document.querySelectorAll('[data-testid="stMain"] *')]
        .filter(e => e.getBoundingClientRect().width > 0)
        .map(e => e.getBoundingClientRect().right)),
    main: Math.max(...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stMainBlockContainer"]')]
        .map(e => e.scrollWidth))})"""
# plotly's own data per chart: title, width, and the legend groups drawn by default (not "legendonly")
CHARTS_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')].map(gd => ({
    title: (((gd.layout || {}).title || {}).text || '').replace(/<[^>]+>/g, ''),  // the theme adds <b>
    width: gd.getBoundingClientRect().width, right: gd.getBoundingClientRect().right,
    visible: [...new Set((gd.data || []).filter(t => t.visible !== 'legendonly' && t.visible !== false)
        .map(t => t.legendgroup || t.name || ''))],
    groups: [...new Set((gd.data || []).map(t => t.legendgroup || t.name || ''))]}))"""
# the benefit chart's label annotations as drawn: their boxes must not overlap one another
LABEL_BOXES_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
    .filter(gd => (((gd.layout || {}).title || {}).text || '').includes('Benefit over the baseline'))
    .map(gd => [...gd.querySelectorAll('.annotation')].map(a => {
        const r = a.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, a.textContent]; }))"""


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """``streamlit run app.py`` on the demo cohort (ONCOTX_DATA unset), its own ONCOTX_HOME."""
    with streamlit_app(tmp_path_factory.mktemp("streamlit-mobile"), data=None) as running:
        yield running


@pytest.fixture
def phone(browser):  # noqa: F811
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
    try:
        yield context.new_page()
    finally:
        context.close()


def _phone_shot(page, name: str) -> None:
    """A full-page screenshot at phone width (Streamlit scrolls in its own container: grow the window first)."""
    _settled(page)
    height = page.evaluate(
        """() => Math.max(...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stMainBlockContainer"]')]
                          .map(e => e.scrollHeight), document.body.scrollHeight)""")
    page.set_viewport_size({"width": PHONE["width"], "height": min(max(height + 40, PHONE["height"]), 16000)})
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    page.set_viewport_size(PHONE)


def _no_sideways_scroll(page, where: str) -> None:
    sizes = page.evaluate(OVERFLOW_JS)
    assert sizes["page"] <= PHONE["width"] + TOLERANCE_PX, (where, sizes)
    assert sizes["main"] <= PHONE["width"] + TOLERANCE_PX, (where, sizes)


def _overlaps(boxes) -> list[tuple[str, str]]:
    clashes = []
    for i, (l1, t1, r1, b1, text1) in enumerate(boxes):
        for l2, t2, r2, b2, text2 in boxes[i + 1:]:
            if min(r1, r2) - max(l1, l2) > 1 and min(b1, b2) - max(t1, t2) > 1:
                clashes.append((text1, text2))
    return clashes


def test_patient_page_on_a_phone(phone, demo_server):
    url, log = demo_server
    page = phone
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_role("heading", name="Patient").wait_for()
    start = page.get_by_role("button", name="Try an example patient")
    start.wait_for()
    _settled(page)
    _no_sideways_scroll(page, "start")
    _phone_shot(page, "mobile_01_start.png")

    start.click()
    page.get_by_text("Validation passed").wait_for(timeout=ANALYSIS_S * 1000)
    page.get_by_role("heading", name="Clinical fields").wait_for()
    _settled(page)
    _no_sideways_scroll(page, "example loaded")
    _phone_shot(page, "mobile_02_loaded.png")

    analyse(page, log, timeout_s=ANALYSIS_S)
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
        .some(gd => (((gd.layout || {}).title || {}).text || '').includes('Benefit over the baseline'))""")
    _settled(page)
    _no_sideways_scroll(page, "dashboard")
    _phone_shot(page, "mobile_03_dashboard.png")

    charts = page.evaluate(CHARTS_JS)
    assert charts, "no chart on the dashboard"
    for chart in charts:  # every chart fits the phone's width
        assert chart["right"] <= PHONE["width"] + TOLERANCE_PX, chart["title"][:60]
    survival = next((c for c in charts if c["title"].startswith("Predicted survival")), None)
    assert survival is not None, [c["title"][:50] for c in charts]
    assert 1 <= len(survival["visible"]) <= 4, survival  # baseline, current regimen, two best options
    assert len(survival["groups"]) > len(survival["visible"]), survival  # the others are there, as toggles
    boxes = page.evaluate(LABEL_BOXES_JS)
    assert boxes and boxes[0], "benefit chart not drawn"
    assert not _overlaps(boxes[0]), _overlaps(boxes[0])  # its labels above the bars never collide

    for i, chart in enumerate(page.locator('[data-testid="stPlotlyChart"]:visible').all()):  # not in hidden tabs
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        chart.screenshot(path=str(ARTIFACTS / f"mobile_chart_{i + 1}.png"))

    page.get_by_role("tab", name="Similar patients").click()
    page.get_by_text("Regimens received").wait_for()
    _settled(page)
    _no_sideways_scroll(page, "similar patients")
    similar = page.locator('[data-testid="stPlotlyChart"]:visible').last
    similar.scroll_into_view_if_needed()
    similar.screenshot(path=str(ARTIFACTS / "mobile_chart_similar.png"))
    assert page.locator('[data-testid="stException"]').count() == 0
