"""Clinician language: no environment variable, snake_case token or code identifier in any clinician page text.

The Patient page is walked through a clinician's flows on the synthetic demo cohort (the first view, an
example patient analysed, a partial-panel upload answered by a companion model, a refused file, a record
alone), and the History page with a saved analysis; every text on each page (see
:mod:`tests.clinician_text`) is checked. The detector is tested first, so a token it should catch is caught.
"""
from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.platform import store
from tests.clinician_text import developer_tokens, offending, page_texts
from tests.test_app_pages import APP, BAD_CSV

TIMEOUT = 600
HISTORY = "pages/clinician/history.py"


# --- the detector -------------------------------------------------------------------------------


@pytest.mark.parametrize("text, token", [
    ("Set ONCOTX_DATA to the data folder", "ONCOTX_DATA"),
    ("Options vs chemotherapy+hormone_therapy", "chemotherapy+hormone_therapy"),
    ("radio_therapy: 1", "radio_therapy"),
    ("Where are the genes? genes_as_rows", "genes_as_rows"),
    ("Traceback (most recent call last):", "Traceback"),
    ("failed in genomics.validate.check_upload()", "genomics.validate.check_upload("),
])
def test_detector_finds_developer_tokens(text, token):
    assert token in developer_tokens(text)


@pytest.mark.parametrize("text", [
    "Chemo + Radio", "None (no treatment)", "Patient DEMO-00040", "ER+ HER2- · PAM50 LumA", "Tumour size (mm)",
    "Download example-rnaseq.tsv", "see https://example.org/a_b", "model demo-os-ensemble-20261203",
    "Likely small benefit: +0.5 pp (90%: +0.1 to +3.9), below the 1-point worthwhile threshold",
])
def test_detector_passes_clinician_words(text):
    assert developer_tokens(text) == []


# --- the pages ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("language-home")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield home
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def _demo_env(monkeypatch, tmp_path, module_home):
    monkeypatch.delenv("ONCOTX_DATA", raising=False)
    monkeypatch.setenv("ONCOTX_HOME", str(module_home))
    monkeypatch.setenv("ONCOTX_CONFIG", str(tmp_path / "no-such-oncotx.toml"))
    monkeypatch.setenv("ONCOTX_DATABASE_URL", f"sqlite:///{tmp_path / 'oncotx.sqlite'}")
    st.cache_data.clear()


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _clean(at: AppTest, where: str) -> None:
    texts = page_texts(at)
    assert len(texts) > 10, f"{where}: too little text collected ({len(texts)})"
    bad = offending(texts)
    assert not bad, f"{where}: developer language on a clinician page: {bad}"


def _button(at: AppTest, *words: str):
    for button in at.button:
        if all(w.lower() in button.label.lower() for w in words):
            return button
    raise AssertionError(f"no button with {words} among {[b.label for b in at.button]}")


def _has_button(at: AppTest, *words: str) -> bool:
    return any(all(w.lower() in b.label.lower() for w in words) for b in at.button)


def _example_patient(at: AppTest) -> AppTest:
    """Load an example patient (the primary first step) and analyse it."""
    _button(at, "example").click()
    _run(at)
    if not _has_button(at, "analyse"):  # a picker of example patients before the form
        at.selectbox(key="example_patient").select_index(0)
        _run(at)
    _button(at, "analyse").click()
    return _run(at)


def _upload(at: AppTest, content: bytes, name: str, key: str = "expression_file") -> AppTest:
    at.file_uploader(key=key).set_value((name, content, "text/csv"))
    at.button(key="check_files").click()  # the uploaders sit in a form, submitted by its own button
    return _run(at)


def test_patient_page_first_view_and_example_patient():
    at = _run(AppTest.from_file(APP, default_timeout=TIMEOUT))
    _clean(at, "first view")
    _example_patient(at)
    assert any("Treatment options" in s.value for s in at.subheader), [s.value for s in at.subheader]
    _clean(at, "example patient analysed")


def test_patient_page_partial_panel_and_refused_file(demo_genes_csv):
    at = _run(AppTest.from_file(APP, default_timeout=TIMEOUT))
    _upload(at, demo_genes_csv, "panel.csv")
    _clean(at, "partial panel uploaded")
    if _has_button(at, "analyse"):
        confirm = [c for c in at.checkbox if "confirm" in (c.key or "") or "fewer" in c.label.lower()]
        for c in confirm:
            c.check()
        _button(at, "analyse").click()
        _run(at)
        _clean(at, "partial panel analysed")
    at = _run(AppTest.from_file(APP, default_timeout=TIMEOUT))
    _upload(at, BAD_CSV, "bad.csv")
    assert at.error, "a refused file shows why"
    _clean(at, "refused file")


def test_history_page_with_a_saved_analysis():
    at = _run(AppTest.from_file(APP, default_timeout=TIMEOUT))
    _example_patient(at)
    _button(at, "save").click()
    _run(at)
    assert store.list_analyses().shape[0] == 1
    at.switch_page(HISTORY)
    _run(at)
    _clean(at, "history list")


@pytest.fixture(scope="module")
def demo_genes_csv() -> bytes:
    """A 30-gene panel of one demo patient (a companion model answers it)."""
    from genomics.cohorts import load_cohort

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ONCOTX_DATA", raising=False)
        genes = load_cohort("demo").to_df()
    return genes.iloc[[3], :30].to_csv(index_label="patient_id").encode()
