"""Every page of the Streamlit app, run headless with streamlit.testing.v1.AppTest.

Demo-cohort tests need no data. ``realdata`` tests read ``../shared/data`` (ONCOTX_DATA) and check
the pages against the published METABRIC numbers (1,904 patients, 1,103 deaths).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import missing

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
DATA = REPO.parent / "shared" / "data"
METABRIC_TABLE = DATA / "metabric" / "metabric_1904_clinical_treatment_expr300.parquet"
TIMEOUT = 120
RESEARCH = "Research use only"
BAD_CSV = b"gene,value\nNOTAGENE1,1.5\nNOTAGENE2,2.5\n"


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_caches(monkeypatch, tmp_path):
    """Streamlit caches live for the whole process: clear them so each test sees its own env."""
    monkeypatch.setenv("ONCOTX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ONCOTX_CONFIG", str(tmp_path / "no-such-oncotx.toml"))  # ignore a local oncotx.toml
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def demo_env(monkeypatch):
    monkeypatch.delenv("ONCOTX_DATA", raising=False)


@pytest.fixture
def real_env(monkeypatch):
    if not METABRIC_TABLE.is_file():
        message = f"reference data not found at {DATA}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"required in CI: {message}")
        missing(message)  # skips locally, fails with ONCOTX_REQUIRE_REALDATA=1
    monkeypatch.setenv("ONCOTX_DATA", str(DATA))


# --- helpers ------------------------------------------------------------------------------------


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert_healthy(at)
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert_healthy(at)
    return at


def assert_healthy(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert any(RESEARCH in info.value for info in at.info), "research-use notice missing"
    assert "OncoTx" in [t.value for t in at.sidebar.title]


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.main.title]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def plotly_figures(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def figure_title(fig: dict) -> str:
    return fig["layout"]["title"]["text"]


def facts(at: AppTest) -> dict[str, str]:
    frames = [t.value for t in at.table if list(t.value.columns) == ["fact", "value"]]
    assert frames, "validation facts table missing"
    return dict(zip(frames[0]["fact"], frames[0]["value"], strict=True))


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    """Choose the file, then press the upload form's "Check files" (nothing is read before)."""
    uploader = next(u for u in at.file_uploader if u.key == "expression_file")
    uploader.set_value((name, content, "text/csv"))
    at.button(key="check_files").click().run()
    assert_healthy(at)
    return at


def demo_row_csv() -> bytes:
    """One synthetic demo patient, genes and clinical fields as columns (like a single-row export)."""
    from genomics.cohorts import load_cohort

    adata = load_cohort("demo")
    row = adata.to_df().iloc[[0]]
    clinical = adata.obs.iloc[[0]][["age_at_diagnosis", "tumor_size_mm", "grade", "er_status"]]
    return pd.concat([clinical, row], axis=1).to_csv(index_label="patient_id").encode()


def metabric_row() -> pd.DataFrame:
    return pd.read_parquet(METABRIC_TABLE).iloc[[0]]


# --- demo cohort (no data needed) ---------------------------------------------------------------


def test_patient_page_demo(demo_env):
    at = run_app()
    assert titles(at) == ["Patient"]
    assert at.sidebar.selectbox(key="cohort_id").options == ["Synthetic demo cohort (SYNTHETIC)"]
    assert any("SYNTHETIC" in w.value for w in at.sidebar.warning)
    assert "administrator connects a data folder" in texts(at.sidebar.caption)
    assert [u.key for u in at.file_uploader] == ["expression_file", "records_file"]
    assert "Upload a profile, a clinical record, or both to begin" in texts(at.markdown)
    assert not at.success and not at.error
    # the first step: a primary "Try an example patient" beside the upload, and the synthetic example files
    [example] = [b for b in at.button if b.label == "Try an example patient"]
    assert example.proto.type == "primary"
    assert [b.label for b in at.button if b.key == "check_files"] == ["Check files"]
    assert at.radio(key="orientation").options == ["Detect", "Rows", "Columns"]  # never "genes_as_rows"
    downloads = [d.label for d in at.get("download_button")]
    assert any(label.startswith("RNA-seq profile") for label in downloads), downloads
    assert any(label.startswith("Microarray profile") for label in downloads), downloads


def test_file_chosen_is_not_read_before_check_files(demo_env):
    """An upload waits in the form until "Check files" (a rerun meanwhile does not read it); once checked, later
    reruns keep it (the browser keeps a staged file across reruns; AppTest re-stages it after each run)."""
    at = run_app()
    at.file_uploader(key="expression_file").set_value(("demo_patient.csv", demo_row_csv(), "text/csv"))
    at.run()
    assert "Validation passed" not in texts(at.success) and not at.table
    at.file_uploader(key="expression_file").set_value(("demo_patient.csv", demo_row_csv(), "text/csv"))
    at.button(key="check_files").click().run()
    assert_healthy(at)
    assert "Validation passed" in texts(at.success)
    at.run()  # another rerun (another widget, another user's load): the checked upload stays
    at.run()
    assert "Validation passed" in texts(at.success)


def test_cohort_page_demo(demo_env):
    from genomics.cohorts import load_cohort
    from genomics.summary import summarise_cohort

    at = open_page(run_app(), "pages/research/cohort.py")
    [title] = titles(at)
    assert title.startswith("Cohort:") and "SYNTHETIC" in title
    assert any("SYNTHETIC" in w.value for w in at.sidebar.warning)
    summary = summarise_cohort(load_cohort("demo"))
    expected = {"Patients": f"{summary.n_patients:,}", "Genes": f"{summary.n_genes:,}"}
    expected |= {f"{ep.name} events": f"{ep.events:,}" for ep in summary.endpoints}
    assert metrics(at) == expected
    assert [s.value for s in at.subheader] == ["Endpoints", "Model · OS", "Treatments", "Clinical fields"]
    figures = plotly_figures(at)
    assert len(figures) == 2  # overall KM + patients per treatment
    assert figure_title(figures[0]).startswith("Overall OS")
    assert "Patients per treatment" in figure_title(figures[1])


def test_cohort_page_km_endpoint_switch_demo(demo_env):
    at = open_page(run_app(), "pages/research/cohort.py")
    at.selectbox(key="cohort_km_endpoint").set_value("RFS").run()
    assert_healthy(at)
    assert figure_title(plotly_figures(at)[0]).startswith("Overall RFS")


def test_patient_upload_passes_demo(demo_env):
    at = upload(run_app(), "demo_patient.csv", demo_row_csv())
    assert not at.error, texts(at.error)
    assert "Validation passed" in texts(at.success)
    table = facts(at)
    assert table["samples"] == "1"
    assert int(table["genes recognised"]) >= 30
    assert "Clinical fields" in [s.value for s in at.subheader]
    assert len(at.number_input) >= 3  # the clinical form rendered (no StreamlitMixedNumericTypesError)
    assert at.selectbox(key="clin_er_status").value == "Positive"  # pre-filled from the file
    assert "OS at 5 years" not in [m.label for m in at.metric]  # nothing is analysed before "Analyse"
    # Analyse: the treatment model is trained on first use and gives S(5y), S(10y) with intervals
    next(b for b in at.button if b.label == "Analyse").click().run()
    assert_healthy(at)
    assert not at.error, texts(at.error)
    labels = [m.label for m in at.metric]
    assert "OS at 5 years" in labels and "OS at 10 years" in labels
    five = next(m for m in at.metric if m.label == "OS at 5 years")
    assert five.value.endswith("%") and 0 <= int(five.value.rstrip("%")) <= 100
    assert any(c.value.startswith("interval ") and "–" in c.value for c in at.caption)
    assert any("does not direct treatment" in c.value for c in at.caption)
    # changing the planned regimen and analysing again: the risk is for the new regimen
    at.checkbox(key="regimen_chemotherapy").check()
    next(b for b in at.button if b.label == "Analyse").click().run()
    assert not at.exception and "OS at 5 years" in [m.label for m in at.metric]
    assert any("Regimen: Chemo" in c.value for c in at.caption)


def test_patient_upload_prefills_numeric_clinical_demo(demo_env):
    at = upload(run_app(), "demo_patient.csv", demo_row_csv())
    assert facts(at)["genes recognised"] == "1000"
    age = at.number_input(key="clin_age_at_diagnosis").value
    assert age is not None and 0 < age < 120


def test_patient_upload_fails_demo(demo_env):
    at = upload(run_app(), "two_unknown_genes.csv", BAD_CSV)
    assert not at.success
    assert "Validation failed" in texts(at.error)
    # the shipped gene map knows neither id (no data folder needed): refused, saying no human gene was recognised
    assert "recognised human gene identifiers" in texts(at.error)
    assert "Clinical fields" not in [s.value for s in at.subheader]
    assert not at.number_input


def test_patient_upload_replaced_by_bad_file_demo(demo_env):
    """A second upload replaces the first report (no stale "passed" after a bad file)."""
    at = upload(run_app(), "demo_patient.csv", demo_row_csv())
    assert "Validation passed" in texts(at.success)
    at = upload(at, "two_unknown_genes.csv", BAD_CSV)
    assert not at.success
    assert "Validation failed" in texts(at.error)


# --- METABRIC (real data) -----------------------------------------------------------------------


@pytest.mark.realdata
def test_patient_page_metabric(real_env):
    at = run_app()
    assert titles(at) == ["Patient"]
    selector = at.sidebar.selectbox(key="cohort_id")
    assert selector.value == "metabric"  # the real cohort is the default when present
    assert len(selector.options) == 5  # demo, METABRIC, SCAN-B, VDX, GSE7390
    assert not at.sidebar.warning  # no SYNTHETIC banner for real data
    attribution = texts(at.sidebar.caption)
    assert "METABRIC" in attribution and "ODbL" in attribution
    assert "METABRIC" in texts(at.caption)


@pytest.mark.realdata
def test_cohort_page_metabric_published_numbers(real_env):
    at = open_page(run_app(), "pages/research/cohort.py")
    assert titles(at) == ["Cohort: METABRIC"]
    shown = metrics(at)
    assert shown["Patients"] == "1,904"
    assert shown["OS events"] == "1,103"
    assert shown["DSS events"] == "622"
    assert shown["RFS events"] == "771"
    assert shown["Genes"] == "300"
    figures = plotly_figures(at)
    assert len(figures) == 2
    assert "n=1904" in figure_title(figures[0]) and "events=1103" in figure_title(figures[0])
    assert "confounded by indication" in texts(at.caption)


@pytest.mark.realdata
@pytest.mark.parametrize("cohort_id", ["vdx", "gse7390"])
def test_cohort_page_other_real_cohorts(real_env, cohort_id):
    at = open_page(run_app(), "pages/research/cohort.py")
    at.sidebar.selectbox(key="cohort_id").set_value(cohort_id).run()
    assert_healthy(at)
    [title] = titles(at)
    assert title != "Cohort: METABRIC"
    assert int(metrics(at)["Patients"].replace(",", "")) == {"vdx": 150, "gse7390": 198}[cohort_id]
    assert "Treatments" not in [s.value for s in at.subheader]  # untreated cohorts
    assert len(plotly_figures(at)) == 1


@pytest.mark.realdata
def test_patient_upload_passes_metabric(real_env):
    row = metabric_row()
    at = upload(run_app(), "metabric_patient.csv", row.to_csv(index=False).encode())
    assert not at.error, texts(at.error)
    assert "Validation passed" in texts(at.success)
    table = facts(at)
    assert table["samples"] == "1"
    assert table["genes recognised"] == "300"
    assert table["orientation"] == "genes as columns"
    assert table["scale"].startswith("zscore")
    assert any(e.label.endswith("warning(s)") for e in at.expander)  # e.g. renamed alias symbols
    age = at.number_input(key="clin_age_at_diagnosis").value
    assert age == pytest.approx(float(row["age_at_diagnosis"].iloc[0]))  # pre-filled from the file


@pytest.mark.realdata
def test_patient_upload_fails_metabric(real_env):
    at = upload(run_app(), "two_unknown_genes.csv", BAD_CSV)
    assert "Validation failed" in texts(at.error)
    assert not at.success
    assert "two\\_unknown\\_genes\\.csv" in texts(at.error)  # the file name, escaped for markdown
    assert not at.number_input


@pytest.mark.realdata
def test_patient_report_follows_cohort_switch(real_env):
    at = upload(run_app(), "metabric_patient.csv", metabric_row().to_csv(index=False).encode())
    assert facts(at)["reference gene coverage"].startswith("METABRIC")
    at.sidebar.selectbox(key="cohort_id").set_value("vdx").run()
    assert_healthy(at)
    assert "VDX" in texts(at.caption)
    assert not facts(at)["reference gene coverage"].startswith("METABRIC")


@pytest.mark.realdata
def test_cohort_page_scanb_rnaseq(real_env):
    """SCAN-B (RNA-seq, issue 15) in the Cohort explorer: its own spec, with treatments and overall survival."""
    at = open_page(run_app(), "pages/research/cohort.py")
    at.sidebar.selectbox(key="cohort_id").set_value("scanb").run()
    assert_healthy(at)
    [title] = titles(at)
    assert "SCAN-B" in title
    assert int(metrics(at)["Patients"].replace(",", "")) == 196
    assert "Treatments" in [s.value for s in at.subheader]  # chemotherapy and endocrine therapy are recorded
    assert "GSE96058" in texts(at.sidebar.caption)  # attribution shown where the data are used
