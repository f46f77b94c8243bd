"""The Patient dashboard and the History page, run headless with AppTest on the synthetic demo cohort.

A valid upload gives the options table and charts; an invalid one only the validation report; a profile with
low gene coverage warns and still shows what can be given; an out-of-distribution profile warns; a saved
analysis reopens from History with the same numbers. The demo treatment model is trained once for the
module (one ONCOTX_HOME for all tests, Streamlit's resource cache kept between them); each test gets its own
database. The renderer's own tests (``render_analysis`` on a hand-made analysis) need no model at all.
"""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.patient.presentation import (
    READING_TITLES,
    baseline_note,
    caveat_lines,
    evidence_text,
    history_summary,
    interval_note,
    lopsided,
    option_summary,
    options_table,
    reading_at,
    reading_words,
)
from dashboard.patient.record import PatientAnalysis
from dashboard.platform import store
from dashboard.text import plain
from dashboard.ui import model_cache
from models.columns import horizon_years_label as years_label
from tests.test_app_pages import APP, BAD_CSV, RESEARCH, texts
from tests.test_report import INJECTION, make_analysis

TIMEOUT = 600  # the first analysis of the module trains the demo treatment model
HISTORY = "pages/clinician/history.py"


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_home(tmp_path_factory):
    """One ONCOTX_HOME for the module: the demo treatment model and cohort map are built once."""
    home = tmp_path_factory.mktemp("patient-home")
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
    monkeypatch.setenv("ONCOTX_DATABASE_URL", f"sqlite:///{tmp_path / 'oncotx.sqlite'}")  # own saved analyses
    st.cache_data.clear()  # the cohort list depends on the environment


@pytest.fixture(scope="module")
def demo_genes() -> pd.DataFrame:
    from genomics.cohorts import load_cohort

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ONCOTX_DATA", raising=False)
        return load_cohort("demo").to_df()


# --- helpers ------------------------------------------------------------------------------------


def healthy(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert any(RESEARCH in info.value for info in at.info), "research-use notice missing"
    return at


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    return healthy(at)


def upload(at: AppTest, content: bytes, name: str = "patient.csv") -> AppTest:
    at.file_uploader(key="expression_file").set_value((name, content, "text/csv"))
    at.button(key="check_files").click()  # the uploaders sit in a form: nothing is read before it is submitted
    at.run()
    return healthy(at)


def analyse(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == "Analyse").click()
    at.run()
    return healthy(at)


def subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


def figures(at: AppTest) -> dict[str, dict]:
    out = {}
    for element in at.get("plotly_chart"):
        fig = json.loads(element.proto.spec)
        out[fig["layout"]["title"]["text"].split("<br>")[0]] = fig
    return out


def options_frame(at: AppTest) -> pd.DataFrame:
    [frame] = [df.value for df in at.dataframe if "Regimen" in df.value.columns and "Evidence" in df.value.columns]
    return frame


def csv_of(genes: pd.DataFrame) -> bytes:
    return genes.to_csv(index_label="patient_id").encode()


def is_warned(at: AppTest, *words: str) -> bool:
    return any(all(w in w_el.value for w in words) for w_el in at.warning)


# --- the Patient page: real analyses ------------------------------------------------------------


def test_valid_upload_gives_options_and_charts(demo_genes):
    at = upload(start(), csv_of(demo_genes.iloc[[7]]))
    assert "Validation passed" in texts(at.success)
    assert "Treatment options" not in subheaders(at)  # the validation report and the form come first
    at = analyse(at)
    assert not at.error, texts(at.error)
    assert [s.label for s in at.status] == ["Analysis ready"]
    [header] = [h.value for h in at.header]
    assert header.startswith("Patient PT\\-")  # pseudonymised, escaped for markdown
    assert {"Molecular profile", "Risk under the current or planned regimen", "Treatment options",
            "What drives these estimates", "Save and export"} <= set(subheaders(at))
    table = options_frame(at)
    assert len(table) == 8 and table["Regimen"].iloc[0] == "None (no treatment) (baseline)"
    assert "Survival at 10 years" in table.columns
    assert all(text.endswith("%") or ")" in text for text in table["Survival at 10 years"])
    shown = figures(at)
    assert {"Predicted survival under each regimen", "Benefit over the baseline at 10 years",
            "What drives this patient's risk", "Where this patient sits in the cohort"} <= set(shown)
    assert shown["What drives this patient's risk"]["data"][0]["type"] == "waterfall"
    metric_labels = [m.label for m in at.metric]
    assert "OS at 5 years" in metric_labels and "OS at 10 years" in metric_labels
    assert any("Options, not directives" in w.value for w in at.warning)  # the caveat next to the options
    assert any("Observational data" in m.value for m in at.markdown)  # the caveat box
    assert [d.label for d in at.get("download_button")][-4:] == ["PDF report", "Options (CSV)", "Analysis (JSON)",
                                                            "Analysis (FHIR R4)"]

    # another horizon: the table and the benefit chart follow, nothing is recomputed
    at.segmented_control(key="patient_horizon").set_value(60.0).run()
    healthy(at)
    assert "Survival at 5 years" in options_frame(at).columns
    assert "Benefit over the baseline at 5 years" in figures(at)


def _progress_lines(at: AppTest) -> list[str]:
    return [m.value for m in at.status[0].markdown]


def _without_time(analysis) -> dict:
    return {k: v for k, v in json.loads(analysis.to_json()).items() if k != "created"}


def test_the_form_is_analysed_while_it_is_read_and_used_only_for_the_same_inputs(demo_genes):
    """The validated upload's form is analysed in the background; Analyse with the same inputs shows that result
    (identical to a fresh analysis), and a changed form is analysed afresh."""
    at = upload(start(), csv_of(demo_genes.iloc[[7]]))
    key, future = at.session_state[model_cache.PREPARED_KEY]
    prepared = future.result(timeout=TIMEOUT)
    assert "patient_analysis" not in at.session_state  # nothing is shown (or audited) before Analyse
    at = analyse(at)
    assert any("analysed while the form was being read" in line for line in _progress_lines(at))
    shown = at.session_state["patient_analysis"]
    assert _without_time(shown) == _without_time(prepared)
    assert shown.created >= prepared.created
    assert model_cache.PREPARED_KEY not in at.session_state  # taken over: used once

    at = upload(start(), csv_of(demo_genes.iloc[[9]]))
    prepared = at.session_state[model_cache.PREPARED_KEY][1].result(timeout=TIMEOUT)
    at.number_input(key="clin_age_at_diagnosis").set_value(77.0)  # the clinician edits the form before Analyse
    at = analyse(at)
    assert not any("analysed while the form was being read" in line for line in _progress_lines(at))
    assert _without_time(at.session_state["patient_analysis"]) != _without_time(prepared)


def test_the_public_demo_prepares_nothing(demo_genes, monkeypatch):
    """ONCOTX_DEMO=1: the per-session analysis limit bounds a visitor's use of the server, so nothing is analysed
    before Analyse is pressed."""
    monkeypatch.setenv("ONCOTX_DEMO", "1")
    at = upload(start(), csv_of(demo_genes.iloc[[7]]))
    assert "Validation passed" in texts(at.success)
    assert [b for b in at.button if b.label == "Analyse"]
    assert model_cache.PREPARED_KEY not in at.session_state


def test_invalid_upload_shows_only_the_validation_report():
    at = upload(start(), BAD_CSV, name="two_unknown_genes.csv")
    assert "Validation failed" in texts(at.error)
    assert not at.success
    assert subheaders(at) == []  # no clinical form, no analysis sections
    assert not [b for b in at.button if b.label == "Analyse"]
    assert not at.get("plotly_chart") and not at.metric and not at.status
    assert not at.header


def test_low_gene_coverage_is_answered_by_a_companion_model(demo_genes):
    """30% of the model's genes: a companion model fitted on those genes answers, and the page says so."""
    at = upload(start(), csv_of(demo_genes.iloc[[11], :300]))
    confirm = [c for c in at.checkbox if c.key == "coverage_confirm"]
    for c in confirm:  # below the coverage floor the page asks for an explicit confirmation
        c.check()
    at = analyse(at)
    assert not at.error, texts(at.error)
    assert is_warned(at, "companion model on the shared genes", "300 genes")  # which model, on which genes
    assert "Molecular profile" in subheaders(at)
    assert "Which model answers" in subheaders(at)
    assert any(m.label == "Model variant" and m.value == "Companion" for m in at.metric)
    assert [m.value for m in at.metric if m.label == "Genes used"] == ["300"]
    assert any(m.label == "Recurrence score (approximation)" and m.value != "–" for m in at.metric)
    assert "Treatment options" in subheaders(at)  # survival and options now, not a refusal
    assert "No survival estimate for this input" not in texts(at.info)
    assert [m.value for m in at.metric if m.label == "Model gene coverage"] == ["30%"]


def test_out_of_distribution_patient_is_warned(demo_genes):
    rng = np.random.default_rng(3)
    noise = pd.DataFrame(rng.normal(demo_genes.values.mean(), demo_genes.values.std(), size=(1, demo_genes.shape[1])),
                         index=["noise"], columns=demo_genes.columns)
    at = analyse(upload(start(), csv_of(noise)))
    assert not at.error, texts(at.error)
    assert is_warned(at, "unlike every patient in the cohort")
    assert [m.value for m in at.metric if m.label == "Distance from cohort (percentile)"] == ["100"]
    assert any("out of distribution" in m.value for m in at.markdown)  # in the caveats too
    assert "Treatment options" in subheaders(at)  # still shown, with the warning above


def test_save_then_reopen_from_history_shows_the_same_numbers(demo_genes):
    at = analyse(upload(start(), csv_of(demo_genes.iloc[[21]])))
    before = options_frame(at)
    before_metrics = {m.label: m.value for m in at.metric}
    at.button(key="patient_save").click().run()
    healthy(at)
    [saved] = [s.value for s in at.success if "Saved to history as" in s.value]
    assert not [b for b in at.button if b.key == "patient_save"]  # saved once, no second copy
    [row] = store.list_analyses(user="demo").itertuples()
    analysis_id = row.id
    assert row.label and row.label.replace("-", "\\-") in saved  # named by its label (escaped), never by the id
    assert analysis_id not in saved

    at.switch_page(HISTORY).run()
    healthy(at)
    assert [t.value for t in at.main.title] == ["History"]
    assert at.selectbox(key="history_choice").value is None
    at.selectbox(key="history_choice").set_value(analysis_id).run()
    healthy(at)
    pd.testing.assert_frame_equal(options_frame(at), before)
    assert {m.label: m.value for m in at.metric} == before_metrics
    assert not [b for b in at.button if b.key in ("patient_save", "history_save")]
    assert at.query_params["analysis"] in (analysis_id, [analysis_id])  # a deep link to what is shown

    at.button(key="history_delete").click().run()
    healthy(at)
    assert store.list_analyses(user="demo").empty
    assert "No saved analyses yet" in texts(at.info)


def test_example_patient_is_a_held_back_patient():
    from dashboard.ui import model_cache
    from genomics.cohorts import list_cohorts

    at = start()
    at.button(key="try_example").click().run()
    healthy(at)
    choices = at.selectbox(key="example_patient").options
    spec = list_cohorts()[0]
    held_back = set(model_cache.treatment_bundle(spec).card.test_patient_ids)
    assert choices and set(choices) <= held_back  # never a patient the model trained on
    at.selectbox(key="example_patient").set_value(choices[0]).run()
    healthy(at)
    assert "Validation passed" in texts(at.success)
    at = analyse(at)
    assert not at.error, texts(at.error)
    assert len(options_frame(at)) == 8


# --- the History page without a model -----------------------------------------------------------


def test_history_lists_only_the_users_own():
    store.save_analysis(make_analysis(user="dr.alice"))
    at = start()
    at.switch_page(HISTORY).run()
    healthy(at)
    assert "No saved analyses yet" in texts(at.info)
    mine = store.save_analysis(make_analysis(user="demo", patient_id="PT-mine"))
    at.run()
    healthy(at)
    assert len(at.selectbox(key="history_choice").options) == 1
    assert "PT-mine" in at.selectbox(key="history_choice").options[0]
    at.selectbox(key="history_choice").set_value(mine).run()
    healthy(at)
    assert [h.value for h in at.header] == ["Patient PT\\-mine"]
    [saved] = [s.value for s in at.success if "Saved to history as" in s.value]
    assert "PT" in saved and mine not in saved  # named by patient and date, never by the id


def test_history_deep_link_to_another_users_analysis_opens_nothing():
    theirs = store.save_analysis(make_analysis(user="dr.alice"))
    store.save_analysis(make_analysis(user="demo"))
    at = start()
    at.query_params["analysis"] = theirs
    at.switch_page(HISTORY).run()
    healthy(at)
    assert at.selectbox(key="history_choice").value is None
    assert not at.header


# --- the renderer on a hand-made analysis (no model) --------------------------------------------


def _render(analysis: PatientAnalysis, *, tab: str | None = None) -> AppTest:
    """The dashboard of ``analysis``; ``tab``: the explanation tab open (the first when None)."""
    def script(payload: str) -> None:
        from dashboard.patient.record import PatientAnalysis
        from dashboard.ui.patient_view import render_analysis

        render_analysis(PatientAnalysis.from_json(payload), key_prefix="t")

    at = AppTest.from_function(script, args=(analysis.to_json(),), default_timeout=60)
    if tab is not None:
        at.session_state["t_explanation_tab"] = tab
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_render_hand_made_analysis_escapes_data_text():
    analysis = make_analysis()
    at = _render(analysis)
    warnings = [w.value for w in at.warning]
    assert plain(INJECTION) in warnings  # shown literally, never as markup
    assert not any(INJECTION in w for w in warnings)
    table = options_frame(at)
    assert list(table["Regimen"])[:2] == ["None (no treatment) (baseline)", "Chemo"]
    row = next(r for r in analysis.options if r["regimen"] == "chemotherapy")
    chemo = table.set_index("Regimen").loc["Chemo"]
    assert chemo["Survival at 10 years"] == (f"{100 * row['S120']:.0f}% ({100 * row['S120_lo']:.0f}–"
                                             f"{100 * row['S120_hi']:.0f}%)")
    assert chemo["Reading"] == {"likely benefit": "Likely benefit", "uncertain": "Uncertain",  # an old saved code
                                "no expected benefit": "No expected benefit"}[row["reading"]]
    assert "Cancer-specific" in table.columns
    assert at.segmented_control(key="t_horizon").options == ["5 years", "10 years"]
    assert at.button(key="t_save")
    # the explanation tabs run lazily: only the open one (Risk) is drawn until another is chosen
    charts = {json.loads(c.proto.spec)["layout"]["title"]["text"].split("<br>")[0] for c in at.get("plotly_chart")}
    assert "What drives this patient's risk" in charts
    assert not any(title.startswith("What drives the effect") for title in charts)
    assert not [s for s in at.selectbox if s.key == "t_benefit_regimen"]
    at = _render(analysis, tab="Benefit of each option")
    assert at.selectbox(key="t_benefit_regimen").value == "Chemo"  # the first option read as a benefit
    assert any(title.startswith("What drives the effect of Chemo")
               for title in (json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")))


def test_render_empty_analysis_says_what_is_missing():
    empty = PatientAnalysis(
        patient_id="PT-empty", created="2026-03-14T09:26:53Z", user="u", cohort_id="demo", cohort_name="Demo",
        synthetic_cohort=True, model_id="m", model_kind="k", bundle_sha256="", endpoint="OS", horizons=[],
        baseline="none", inputs_sha256={}, caveat="")
    at = _render(empty)
    info = texts(at.info)
    assert "molecular profile could not be computed" in info
    assert "Treatment options are not available" in info
    assert "No explanation is available" in info
    assert any("Options, not directives" in w.value for w in at.warning)  # a caveat even without one saved


# --- pure helpers -------------------------------------------------------------------------------


def test_readings_are_options_never_directives():
    row = {"regimen": "hormone_therapy", "B120": 0.005, "B120_lo": 0.001, "B120_hi": 0.039, "reading120": "small benefit",
           "reading": "small benefit", "min_benefit": 0.01, "interval_level": 0.9, "is_baseline": False}
    text = reading_words(row, horizon=120.0, baseline="none")
    assert text.startswith("Likely small benefit: +0.5 pp (90%: +0.1 to +3.9) at 10 years")  # issue 17's example
    assert "below the 1-point worthwhile threshold for Hormone" in text
    chemo = {**row, "regimen": "chemotherapy", "B120": 0.051, "B120_lo": 0.031, "B120_hi": 0.08, "min_benefit": 0.03,
             "reading120": "worthwhile benefit"}
    assert "at or above the 3-point worthwhile threshold for Chemo" in reading_words(chemo, horizon=120.0,
                                                                                     baseline="none")
    for code in ("likely harm", "no worthwhile benefit", "uncertain", "not enough evidence",
                 "uncertain (no interval: single model)", "reference", "likely benefit", "possible harm",
                 "no expected benefit", "something new"):
        words = reading_words({**row, "reading120": code}, horizon=120.0, baseline="none").lower()
        assert words and not any(d in words for d in ("you should", "must", "recommended", "give "))
    assert years_label(60.0) == "5 years" and years_label(12.0) == "1 year" and years_label(18.0) == "1.5 years"


def test_options_table_reads_at_the_shown_horizon():
    analysis = make_analysis(codes="current")
    for h in analysis.horizons:
        table = options_table(analysis, h)
        for row, (_, shown) in zip(analysis.options, table.iterrows(), strict=True):
            code = reading_at(row, h)
            assert shown["Reading"] == READING_TITLES[code]
            assert (shown["NNT"] != "–") == (code in ("worthwhile benefit", "small benefit"))
            assert f"at {years_label(h)}" in shown["In plain words"] or code in ("reference", "not enough evidence")
    # an analysis saved before readings per horizon: its one reading, worded where it was read (the last horizon)
    old = options_table(make_analysis(), 60.0)
    assert old.iloc[1]["Reading"] == "Likely benefit" and "at 10 years" in old.iloc[1]["In plain words"]


def test_evidence_phrase_flags_a_low_propensity_and_a_thin_baseline():
    row = {"evidence": "ok", "evidence_n": 12, "evidence_k": 100, "propensity": 0.031}
    assert evidence_text(row) == "adequate (12 of 100 similar patients), rarely given to similar patients (propensity 3%)"
    assert evidence_text({**row, "evidence": "thin", "evidence_n": 3, "propensity": 0.2}) == \
        "thin (3 of 100 similar patients)"
    assert evidence_text({"evidence": "none", "evidence_n": 0, "propensity": 0.0}) == "none (0 of the most similar patients)"
    analysis = make_analysis(codes="current")
    assert baseline_note(analysis) is None
    thin = replace(analysis, options=[{**analysis.options[0], "evidence": "thin", "evidence_n": 4}, *analysis.options[1:]])
    note = baseline_note(thin)
    assert "every benefit here is measured against a thinly supported reference" in note
    assert note in caveat_lines(thin)


def test_lopsided_intervals_are_explained():
    assert lopsided(0.787, 0.453, 0.868) == "below" and lopsided(0.1, 0.09, 0.2) == "above"
    assert lopsided(0.5, 0.4, 0.6) is None and lopsided(0.5, 0.48, 0.54) is None  # 3x but the long arm under 5 pp
    analysis = make_analysis(codes="current")
    assert interval_note(analysis) is None
    rows = [dict(r) for r in analysis.options]
    rows[2].update(S120=0.787, S120_lo=0.453, S120_hi=0.868)
    note = interval_note(replace(analysis, options=rows))
    assert "Hormone, survival at 10 years: 79% (45–87%)" in note and "ensemble members or bootstrap refits" in note
    assert note in caveat_lines(replace(analysis, options=rows))
    rows[2].update(B120_lo=rows[2]["B120"] - 0.08)
    assert "lopsided" in reading_words(rows[2], horizon=120.0, baseline="none")


def test_options_table_without_intervals_or_css():
    analysis = make_analysis()
    bare = [{k: v for k, v in r.items() if not k.endswith(("_lo", "_hi")) and not k.startswith("CSS")}
            for r in analysis.options]
    table = options_table(replace(analysis, options=bare), 60.0)
    assert "Cancer-specific" not in table.columns
    assert all("(" not in s for s in table["Survival at 5 years"])
    assert table.iloc[0]["Benefit (pp)"] == "reference"


def test_caveats_name_coverage_filled_fields_and_distance():
    analysis = make_analysis()
    lines = caveat_lines(replace(analysis, embedding={**analysis.embedding, "ood_percentile": 99.0}))
    text = " ".join(lines)
    assert "Observational data" in text and "94%" in text and "Menopausal state" in text
    assert "out of distribution" in text


def test_option_summary_follows_the_readings():
    analysis = make_analysis(codes="current")
    assert option_summary(analysis).startswith("**Options to discuss\\:** Hormone, Chemo \\+ Hormone")
    assert "A small benefit" in option_summary(analysis) and "Chemo\\." in option_summary(analysis)
    assert option_summary(replace(analysis, risk={**analysis.risk, "recommended": "hormone_therapy"})).startswith(
        "**An option to discuss\\:** Hormone")
    only_small = [{**r, "reading120": "small benefit"} if r["regimen"] == "radio_therapy" else
                  ({**r, "reading120": "uncertain"} if not r["is_baseline"] else r) for r in analysis.options]
    text = option_summary(replace(analysis, options=only_small))
    assert text.startswith("**A small benefit over None \\(no treatment\\) at 10 years\\:** Radio")
    assert "no option shows a benefit" not in text.lower()
    unclear = [{**r, "reading120": "uncertain"} if not r["is_baseline"] else r for r in analysis.options]
    text = option_summary(replace(analysis, options=unclear, risk={**analysis.risk, "recommended": "chemotherapy"}))
    assert text.startswith("**No option shows a benefit over None \\(no treatment\\) at 10 years\\:**")
    assert "7 uncertain" in text and plain("Chemo (reading: uncertain)") in text
    assert option_summary(analysis, 60.0).startswith("**Options to discuss\\:**")  # at another horizon
    assert history_summary(analysis) == ("vs None (no treatment): 2 worthwhile, 1 small, 1 likely harm, 2 uncertain, "
                                         "1 not enough evidence")
    old = make_analysis()  # saved before the rule: old codes, still summarised
    assert option_summary(old).startswith("**Options to discuss\\:**") and "likely benefit" in option_summary(old)
    assert history_summary(old).startswith("vs None (no treatment): 3 likely benefit")


def test_render_names_the_gene_modifiers_and_the_guided_policy():
    """The Patient page names the single genes behind this patient's benefit estimates and says whether the
    model's evidence departs from the guideline's regimen; without modifiers it says none passed the screen."""
    from dataclasses import replace

    analysis = make_analysis(codes="current")
    modifiers = [{"treatment": "chemotherapy", "gene": "B4GALT1", "z": -5.3, "q": 0.0002, "stability": 0.64,
                  "benefit_falls_with_gene": False, "patient_value": 1.24}]
    risk = {**analysis.risk, "guideline": "hormone_therapy", "best_option": "chemotherapy+hormone_therapy",
            "departure_confidence": 0.93, "presented": "chemotherapy+hormone_therapy"}
    at = _render(replace(analysis, risk=risk, explanations={**analysis.explanations, "modifiers": modifiers}),
                 tab="Benefit of each option")
    text = " ".join(m.value for m in at.markdown) + " " + " ".join(i.value for i in at.info)
    assert "B4GALT1" in text and "more benefit as B4GALT1 expression rises" in text.replace("\\", "")
    assert "Guideline rule" in text and "93%" in text
    plain_at = _render(replace(analysis, explanations={**analysis.explanations, "modifiers": []}),
                       tab="Benefit of each option")
    assert any("No single gene passed the modifier screen" in c.value for c in plain_at.caption)
