"""Issue 19 on a fresh machine: no data folder, and the public demo mode, in a real browser (and the CLI).

(a) With ONCOTX_DATA unset, the Ensembl-keyed RNA-seq example (gene ids through the shipped gene map) is uploaded
and gets survival, options, a PAM50 call and a recurrence score (shipped centroids). (b) With ONCOTX_DEMO=1 there is
no sign-in, no History and no Save; after the session nothing is left under ONCOTX_HOME. Both servers are started
as a deployment starts them (``python -m dashboard.serve``, through bench.serve). Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys

import pandas as pd
import pytest

from bench.serve import streamlit_app
from genomics.demo.examples import example_path
from tests.test_browser import _shot
from tests.test_browser import browser as browser  # noqa: F401 (fixtures)
from tests.test_browser import page as page  # noqa: F401
from tests.test_browser_patient import ANALYSIS_S, NOTICE, _figures, _no_exception, analyse, upload_pair

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBTYPES = ("LumA", "LumB", "Her2", "Basal", "Normal")


def _no_data_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ONCOTX_DATA", "ONCOTX_DEMO")}
    return env | {"ONCOTX_HOME": str(tmp_path / "home"), "ONCOTX_CONFIG": str(tmp_path / "none.toml")}


def test_signatures_cli_calls_pam50_on_the_ensembl_example_without_data(tmp_path):
    """The README's one-liner on a fresh machine: no data folder, no --cohort, no --out; one sample still gets a
    PAM50 call, against the synthetic demo cohort, and the command says so."""
    env = _no_data_env(tmp_path)
    assert "ONCOTX_DATA" not in env
    done = subprocess.run(  # noqa: S603 (fixed command line)
        [sys.executable, "-m", "genomics", "signatures", str(example_path("rnaseq_ensembl"))],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    table = pd.read_csv(io.StringIO(done.stdout))  # the table on standard output, the messages on standard error
    assert len(table) == 1 and table["pam50"].iloc[0] in SUBTYPES, table.to_dict("records")
    assert table["rs_approx"].notna().all() and "demo" in table["pam50_reference"].iloc[0]
    assert "SYNTHETIC demo cohort" in done.stderr and "PAM50 reference: the reference cohort demo" in done.stderr


def _upload_ensembl_example(page) -> None:  # noqa: F811
    upload_pair(page, example_path("rnaseq_ensembl"), example_path("rnaseq_record"))
    _no_exception(page)


def _molecular_and_options(page) -> None:  # noqa: F811
    """Survival chart, options table, a PAM50 call and a recurrence score on the page."""
    assert "Predicted survival under each regimen" in _figures(page)
    assert page.locator('[data-testid="stDataFrame"]').filter(has_text="Regimen").count() >= 1
    metric = page.locator('[data-testid="stMetric"]')
    pam50 = metric.filter(has_text="PAM50 subtype").locator('[data-testid="stMetricValue"]').inner_text().strip()
    assert pam50 in SUBTYPES, pam50
    rs = metric.filter(has_text="Recurrence score").locator('[data-testid="stMetricValue"]').inner_text().strip()
    assert rs.isdigit(), rs


@pytest.mark.browser
@pytest.mark.slow
def test_ensembl_rnaseq_example_without_the_data_folder(page, tmp_path):  # noqa: F811
    with streamlit_app(tmp_path / "nodata", data=None) as (url, log):
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_text(NOTICE).wait_for()
        _upload_ensembl_example(page)
        analyse(page, log, timeout_s=ANALYSIS_S)
        _molecular_and_options(page)
        _shot(page, "demo_01_ensembl_no_data.png")


@pytest.mark.browser
@pytest.mark.slow
def test_public_demo_mode_keeps_nothing(page, tmp_path):  # noqa: F811
    home = tmp_path / "public" / "home"  # the ONCOTX_HOME streamlit_app gives the server
    with streamlit_app(tmp_path / "public", data=None, env={"ONCOTX_DEMO": "1"}) as (url, log):
        started = log.read_text()  # the deployment's start command (python -m dashboard.serve), with its demo limit
        assert "oncotx: -m streamlit run app.py" in started and "--server.maxUploadSize 10" in started, started
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_text(NOTICE).wait_for()
        page.get_by_text("Public demo: synthetic data", exact=False).first.wait_for()
        assert page.get_by_role("heading", name="Sign in").count() == 0
        assert page.locator('input[type="password"]').count() == 0
        nav = page.locator('[data-testid="stSidebarNav"]')
        for hidden in ("History", "Model lab", "Audit trail", "Users"):
            assert nav.get_by_role("link", name=hidden).count() == 0, hidden
        _upload_ensembl_example(page)
        analyse(page, log, timeout_s=ANALYSIS_S)
        _molecular_and_options(page)
        assert page.get_by_role("button", name="Save to history").count() == 0
        assert page.get_by_text("Note for the history").count() == 0
        _shot(page, "demo_02_public_demo.png")
        page.context.close()  # the browser session ends, then the server stops
    left = [p for p in home.rglob("*") if p.is_file()] if home.exists() else []
    assert not left, left
