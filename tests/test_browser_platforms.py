"""A real RNA-seq upload in a real browser (issue 15): one SCAN-B sample with an HL7 mCODE FHIR record.

The reference cohort is METABRIC (Illumina arrays, 300 genes); the upload is RNA-seq (log2 FPKM, 10,000
genes, 195 of METABRIC's). The page must answer without a refusal: the model that answers is named (a
companion on the shared genes), the survival chart and the options table are there, the PAM50 call with
its confidence, and PREDICT v2.1 beside the learned model. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from bench.serve import streamlit_app
from tests.test_browser import ARTIFACTS, DATA, _shot
from tests.test_browser import browser as browser  # noqa: F401 (fixtures)
from tests.test_browser import page as page  # noqa: F401
from tests.test_browser_patient import _figures, _no_exception, _to_top, analyse, upload_pair

pytestmark = [pytest.mark.browser, pytest.mark.realdata, pytest.mark.slow]
NOTICE = "Research use only: OncoTx is not a medical device"
MCODE = Path(__file__).parent / "data" / "records" / "mcode_bundle.json"
ANALYSIS_S = 900  # a fresh server trains METABRIC's treatment model and the companion for these genes


@pytest.fixture(scope="module")
def metabric_server(tmp_path_factory):
    with streamlit_app(tmp_path_factory.mktemp("streamlit-platforms"), data=DATA) as running:
        yield running


@pytest.fixture
def scanb_sample(tmp_path) -> Path:
    """One SCAN-B patient as a lab sends it: a two-column gene, value TSV (log2 FPKM)."""
    expr = pd.read_csv(DATA / "scanb" / "scanb_dev_expr_log2fpkm_196x10000.csv.gz", index_col=0)
    path = tmp_path / "scanb_F2974_log2fpkm.tsv"
    expr.iloc[0].rename("value").rename_axis("gene").to_frame().to_csv(path, sep="\t")
    return path


def test_scanb_rnaseq_sample_with_mcode_record(page, metabric_server, scanb_sample):  # noqa: F811
    url, log = metabric_server
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_text(NOTICE).wait_for()
    page.get_by_role("heading", name="Patient").wait_for()
    upload_pair(page, scanb_sample, MCODE)
    _no_exception(page)
    analyse(page, log, timeout_s=ANALYSIS_S)
    body = page.locator("body").inner_text()

    # no refusal anywhere: survival and options are given
    for refusal in ("Survival and options not available", "No survival estimate for this input",
                    "Treatment options are not available", "at least 80% needed"):
        assert refusal not in body
    # the model that answers, named, with the genes it used and its C
    page.get_by_role("heading", name="Which model answers").wait_for()
    variant = page.locator('[data-testid="stMetric"]').filter(has_text="Model variant")
    assert variant.locator('[data-testid="stMetricValue"]').inner_text().strip() == "Companion"
    assert re.search(r"Answered by the companion model on the shared genes \(195 genes", body), body[:3000]
    assert "held-back C" in body
    # the survival chart: one curve per regimen
    curves = _figures(page)["Predicted survival under each regimen"]
    assert len({n for n in curves["names"] if not n.endswith("interval")}) == 8
    assert page.locator('[data-testid="stDataFrame"]').filter(has_text="Regimen").count() >= 1
    # the PAM50 call with its confidence, from the RNA-seq platform reference
    pam50 = page.locator('[data-testid="stMetric"]').filter(has_text="PAM50 subtype")
    value = pam50.locator('[data-testid="stMetricValue"]').inner_text().strip()
    assert value in ("LumA", "LumB", "Her2", "Basal", "Normal"), value
    assert re.search(r"confidence \d+%", body)
    # PREDICT v2.1 beside the learned model
    page.get_by_role("heading", name="PREDICT v2.1 beside the learned model").wait_for()
    predict = page.locator('[data-testid="stDataFrame"]').filter(has_text="PREDICT OS 10 y")
    if predict.count() == 0:  # PREDICT needs size, nodes and ER: the page must then say which is missing
        assert "PREDICT v2.1 needs" in body
    _shot(page, "platforms_01_scanb_dashboard.png")
    _to_top(page.get_by_role("heading", name="Which model answers"))
    page.screenshot(path=str(ARTIFACTS / "platforms_02_which_model.png"))
    _to_top(page.get_by_role("heading", name="PREDICT v2.1 beside the learned model"))
    page.screenshot(path=str(ARTIFACTS / "platforms_03_predict.png"))
