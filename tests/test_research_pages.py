"""The researcher's pages headless (AppTest): the cohort explorer and the model lab, on the demo cohort and METABRIC.

Tabs run lazily; a test opens one by setting its ``view`` / ``lab_view`` state, as a ``?view=`` link does.
"""
from __future__ import annotations

import pytest
from lifelines.statistics import multivariate_logrank_test

from dashboard.modelling import jobs, preferences
from tests.test_app_pages import (
    DATA,
    assert_healthy,
    figure_title,
    open_page,
    plotly_figures,
    run_app,
    texts,
)
from tests.test_app_pages import _fresh_caches as _fresh_caches  # noqa: F401 (autouse fixture)
from tests.test_app_pages import demo_env as demo_env  # noqa: F401 (fixture)
from tests.test_app_pages import real_env as real_env  # noqa: F401 (fixture)

COHORT, LAB = "pages/research/cohort.py", "pages/research/models.py"


def view(at, name: str, *, key: str = "view"):
    at.session_state[key] = name
    at.run()
    assert_healthy(at)
    return at


def km_curves(fig: dict) -> list[dict]:
    return [t for t in fig["data"] if t.get("meta") == "km-curve"]


def n_points(values) -> int:
    """Length of a trace array in plotly JSON (plain list, or a base64 typed array)."""
    if isinstance(values, dict) and "bdata" in values:
        import base64

        import numpy as np

        return len(np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"])))
    return len(values)


def downloads(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


# --- cohort explorer: demo ---------------------------------------------------------------------------------------


def test_explorer_survival_demo(demo_env):
    from genomics.cohorts import load_cohort

    at = view(open_page(run_app(), COHORT), "Survival")
    assert "1,500 of 1,500 patients selected." in texts(at.caption)
    [fig] = plotly_figures(at)
    obs = load_cohort("demo").obs
    assert len(km_curves(fig)) == obs["subtype"].nunique()
    expected = multivariate_logrank_test(obs["os_months"], obs["subtype"].astype(str), obs["os_event"]).p_value
    assert "Log-rank p = " + f"{expected:.3g}".replace("-", "\\-").replace(".", "\\.") in texts(at.markdown)
    title = figure_title(fig)
    assert "SYNTHETIC" in title and "OS" in title and "n=1,500" in title and f"events={int(obs['os_event'].sum()):,}" in title
    assert len([t for t in fig["data"] if t.get("meta") == "at-risk"]) == len(km_curves(fig))
    assert downloads(at) == ["Table (CSV)", "Curves (CSV)"]
    # a continuous variable split in quartiles, another endpoint, a landmark
    at.selectbox(key="ex_group").set_value("age_at_diagnosis").run()
    at.radio(key="ex_split").set_value("quartiles").run()
    at.selectbox(key="ex_endpoint").set_value("RFS").run()
    at.number_input(key="ex_landmark").set_value(2.0).run()
    assert_healthy(at)
    [fig] = plotly_figures(at)
    assert len(km_curves(fig)) == 4 and "RFS" in figure_title(fig) and "landmark 2 years" in figure_title(fig)
    assert "HR per SD" in texts(at.caption)


def test_explorer_filters_and_other_tabs_demo(demo_env):
    at = view(open_page(run_app(), COHORT), "Survival")
    at.multiselect(key="ex_filter_fields").set_value(["er_status"]).run()
    at.multiselect(key="ex_filter_values_er_status").set_value(["Positive"]).run()
    assert_healthy(at)
    caption = next(c.value for c in at.caption if "patients selected" in c.value)
    n = int(caption.split(" of ")[0].replace(",", ""))
    assert 0 < n < 1500 and "ER status ∈ \\{Positive\\}" in caption
    assert f"n={n:,}" in figure_title(plotly_figures(at)[0])
    # the filter is kept when moving to another tab, and applies there too
    at = view(at, "Treatments")
    assert f"{n:,} of 1,500 patients selected" in texts(at.caption)
    [fig] = plotly_figures(at)
    assert "Patients (events) per regimen" in figure_title(fig) and f"n={n:,}" in figure_title(fig)
    assert "⚠ = fewer than 20 patients" in texts(at.caption)
    assert downloads(at) == ["Counts (CSV)"]
    at = view(at, "Expression")
    assert [s.value for s in at.subheader] == ["Differential expression", "Top genes by group",
                                               "Pathway scores by group"]
    figures = plotly_figures(at)
    assert "vs rest" in figure_title(figures[0]) and "Top 25 genes" in figure_title(figures[1])
    assert all("n=" in figure_title(f) for f in figures)
    de = next(df.value for df in at.dataframe if "log2_fold_change" in df.value.columns)
    assert len(de) == 1000 and de["p_value"].is_monotonic_increasing
    assert "Differential expression (CSV)" in downloads(at) and "Heatmap values (CSV)" in downloads(at)


@pytest.mark.slow
def test_explorer_embedding_demo(demo_env):
    """First use computes PCA/UMAP/Leiden (numba compiles: the slow test of this module)."""
    at = view(open_page(run_app(), COHORT), "Embedding")
    [fig] = plotly_figures(at)
    assert {t["type"] for t in fig["data"]} == {"scattergl"}
    assert sum(n_points(t["x"]) for t in fig["data"]) == 1500
    assert "UMAP" in figure_title(fig) and "n=1,500" in figure_title(fig)
    at.radio(key="ex_basis").set_value("PCA").run()
    at.selectbox(key="ex_colour").set_value("cluster").run()
    assert_healthy(at)
    [fig] = plotly_figures(at)
    assert "PCA" in figure_title(fig) and fig["layout"]["xaxis"]["title"]["text"].startswith("PC1")
    assert len(fig["data"]) >= 2  # one trace per cluster
    # the cluster is a grouping everywhere once computed
    at = view(at, "Survival")
    at.selectbox(key="ex_group").set_value("cluster").run()
    assert_healthy(at)
    assert len(km_curves(plotly_figures(at)[0])) == len(fig["data"])


def test_overview_unchanged_demo(demo_env):
    """The Overview tab is the page as it was (the assertions of test_app_pages hold), and links to the tabs."""
    at = open_page(run_app(), COHORT)
    assert [s.value for s in at.subheader] == ["Endpoints", "Model · OS", "Treatments", "Clinical fields"]
    assert "The Survival tab compares groups" in texts(at.caption)


# --- model lab: demo ---------------------------------------------------------------------------------------------


def test_model_lab_trains_compares_and_chooses_demo(demo_env):
    at = open_page(run_app(), LAB)
    assert [t.value for t in at.main.title] == ["Model lab"]
    assert "No training jobs for this cohort yet." in texts(at.caption)
    at.selectbox(key="lab_train_kind").set_value("xgb")
    at.get("form_submit_button")[0].click().run()
    assert_healthy(at)
    assert "queued" in texts(at.success)
    [job] = jobs.list_jobs("demo")
    done = jobs.wait(job.id, timeout=240)
    assert done.status == "done", done.error
    at.run()  # what a reload shows: the job from the database
    assert_healthy(at)
    table = next(df.value for df in at.dataframe if "status" in df.value.columns)
    assert table.loc[0, "status"] == "done" and table.loc[0, "model"] == "xgb"

    at = view(at, "Compare", key="lab_view")
    assert [s.value for s in at.subheader] == ["Side by side", "Calibration at 10 years", "By subgroup",
                                               "Model used on the Patient page"]
    figures = plotly_figures(at)
    assert len(figures) == 4
    n_test = int(0.2 * 1500)
    assert all(f"n={n_test}" in figure_title(f) and "events=" in figure_title(f) and "OS" in figure_title(f)
               for f in figures)
    wide = at.dataframe[0].value
    assert {"Harrell C", "Uno C", "AUC at 5 years", "AUC at 10 years", "Integrated Brier score"} <= set(wide.index)
    assert set(downloads(at)) == {"Metrics (CSV)", "Calibration (CSV)", "Subgroup metrics (CSV)"}
    at.select_slider(key="lab_horizon").set_value(60.0).run()
    assert_healthy(at)
    assert "Calibration at 5 years" in [s.value for s in at.subheader]

    assert preferences.preferred_bundle("demo", "OS") is None
    at.button(key="lab_set_preferred").click().run()
    assert_healthy(at)
    assert preferences.preferred_bundle("demo", "OS") == __import__("pathlib").Path(done.bundle_path)
    assert "(chosen here)" in texts(at.markdown)

    at = view(at, "Model card", key="lab_view")
    assert "Held-back patients" in [m.label for m in at.metric]
    assert downloads(at) == ["Model card (JSON)"]


# --- METABRIC ----------------------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_explorer_km_by_pam50_metabric(real_env):
    import pandas as pd

    at = view(open_page(run_app(), COHORT), "Survival")
    assert at.selectbox(key="ex_group").value == "pam50_claudin_low"
    [fig] = plotly_figures(at)
    table = pd.read_parquet(DATA / "metabric" / "metabric_1904_clinical_treatment_expr300.parquet")
    assert len(km_curves(fig)) == table["pam50_claudin_low"].nunique() == 7
    expected = multivariate_logrank_test(table["os_months"], table["pam50_claudin_low"], table["os_event"]).p_value
    assert f"{expected:.3g}".replace("-", "\\-").replace(".", "\\.") in texts(at.markdown)
    title = figure_title(fig)
    assert title.startswith("OS by Subtype") and "METABRIC" in title and "n=1,904" in title and "events=1,103" in title
    hr = next(df.value for df in at.dataframe if "hr" in df.value.columns).set_index("group")
    assert hr.loc["LumA", "note"] == "reference" and hr.loc["Her2", "hr"] > 1.3
    at.selectbox(key="ex_endpoint").set_value("DSS").run()
    assert_healthy(at)
    assert "events=622" in figure_title(plotly_figures(at)[0])
    at = view(at, "Treatments")
    assert "n=1,904" in figure_title(plotly_figures(at)[0])
    at = view(at, "Expression")
    figures = plotly_figures(at)
    assert len(figures) == 4  # volcano, heatmap, pathway heatmap, pathway box
    assert "Hallmark" in texts(at.caption)


@pytest.mark.realdata
def test_model_lab_metabric(real_env):
    at = open_page(run_app(), LAB)
    at = view(at, "Compare", key="lab_view")
    assert "No model for OS on this cohort yet" in texts(at.info)
    at = view(at, "Train", key="lab_view")
    at.selectbox(key="lab_train_kind").set_value("xgb")
    at.get("form_submit_button")[0].click().run()
    [job] = jobs.list_jobs("metabric")
    assert jobs.wait(job.id, timeout=240).status == "done"
    at = view(at, "Compare", key="lab_view")
    figures = plotly_figures(at)
    assert all("METABRIC" in figure_title(f) and "n=381" in figure_title(f) for f in figures)
    subgroups = next(df.value for df in at.dataframe if "subgrouping" in df.value.columns)
    assert set(subgroups["subgrouping"]) == {"Age band", "ER status", "Subtype"}
    assert subgroups.loc[subgroups["group"] == "NC", "note"].str.contains("fewer than 10 events").all()

    # SCAN-B as an external cohort (issue 15): the METABRIC model scored on RNA-seq, as it answers an upload
    at.sidebar.selectbox(key="cohort_id").set_value("scanb").run()
    at = view(at, "Compare", key="lab_view")
    assert_healthy(at)
    [chosen] = at.multiselect(key="lab_models_scanb").value  # its own selection per cohort, defaulted
    assert chosen.startswith("external (METABRIC)")
    scope = texts(at.caption).replace("\\", "")  # captions are markdown-escaped
    assert "all 196 patients (the model was trained on METABRIC; answered by the companion model on the shared genes" \
        in scope and "195 shared genes" in scope
    assert all("SCAN-B" in figure_title(f) and "n=196" in figure_title(f) for f in plotly_figures(at))


# --- model lab: PREDICT v2.1 (clinical reference) ----------------------------------------------------------------


def test_model_lab_predict_reference_demo(demo_env):
    """The PREDICT v2.1 tab renders on the demo cohort: C per endpoint, a 10-year calibration chart, the caveat."""
    from genomics.cohorts import load_cohort
    from models.predict_breast import predict_summary

    at = view(open_page(run_app(), LAB), "PREDICT v2.1", key="lab_view")
    assert "PREDICT v2.1 (clinical reference)" in [s.value for s in at.subheader]
    assert "Research use only" in texts(at.caption) and "docs/predict.md" in texts(at.caption)
    table = next(df.value for df in at.dataframe if "Harrell C" in df.value.columns)
    expected = predict_summary(load_cohort("demo"))
    assert list(table["endpoint"]) == list(expected["endpoint"]) == ["OS", "DSS", "RFS"]
    assert list(table["Harrell C"]) == [f"{c:.3f}" for c in expected["harrell_c"]]
    assert table.loc[2, "predicted at 10 y"] == "n/a"  # RFS: PREDICT predicts death, no calibration
    [fig] = plotly_figures(at)
    assert "PREDICT v2.1" in figure_title(fig) and "SYNTHETIC" in figure_title(fig)
    assert {t["name"] for t in fig["data"]} >= {"OS (PREDICT OS)", "DSS (PREDICT BCSS)"}
    assert downloads(at) == ["PREDICT per patient (CSV)"]
