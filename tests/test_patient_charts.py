"""The Patient page's figure builders: trace counts, labels, data in the figures, empty input, serialisation."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.patient.charts import (
    benefit_figure,
    contributions_figure,
    embedding_figure,
    risk_percentile,
    risk_percentile_figure,
    similar_patients_figure,
    survival_curves_figure,
)
from dashboard.patient.figure_parts import MARGIN_LABEL, NOT_AVAILABLE, NOT_ENOUGH, feature_display, regimen_colour
from genomics.regimens import regimen_label

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "charts"
TREATMENTS = ("chemotherapy", "hormone_therapy", "radio_therapy")
REGIMENS = [
    "none", "chemotherapy", "hormone_therapy", "radio_therapy", "chemotherapy+hormone_therapy",
    "chemotherapy+radio_therapy", "hormone_therapy+radio_therapy", "chemotherapy+hormone_therapy+radio_therapy",
]
BASELINE = "hormone_therapy"


def _curves(regimens=REGIMENS, *, bands: bool = True) -> pd.DataFrame:
    months = np.arange(0, 181, 6, dtype=float)
    rows = []
    for i, regimen in enumerate(regimens):
        hazard = 0.004 + 0.0005 * i
        for m in months:
            s = float(np.exp(-hazard * m))
            lo, hi = (max(0.0, s - 0.05), min(1.0, s + 0.04)) if bands else (np.nan, np.nan)
            rows.append({"regimen": regimen, "month": m, "S": s, "S_lo": lo, "S_hi": hi})
    return pd.DataFrame(rows)


def _options() -> pd.DataFrame:
    b = {"none": -0.06, "chemotherapy": 0.01, "radio_therapy": 0.045, "chemotherapy+hormone_therapy": 0.03,
         "chemotherapy+radio_therapy": -0.01, "hormone_therapy+radio_therapy": 0.08,
         "chemotherapy+hormone_therapy+radio_therapy": 0.05, BASELINE: 0.0}
    evidence = {"chemotherapy+radio_therapy": "thin", "chemotherapy": "none"}
    readings = {"none": "possible harm", "chemotherapy": NOT_ENOUGH, "radio_therapy": "uncertain",
                "chemotherapy+hormone_therapy": "uncertain", "chemotherapy+radio_therapy": NOT_ENOUGH,
                "hormone_therapy+radio_therapy": "likely benefit",
                "chemotherapy+hormone_therapy+radio_therapy": "likely benefit", BASELINE: "reference"}
    rows = []
    for regimen, value in b.items():
        rows.append({
            "regimen": regimen, "S120": 0.7 + value, "B120": value, "B120_lo": value - 0.035, "B120_hi": value + 0.02,
            "evidence": evidence.get(regimen, "ok"), "is_baseline": regimen == BASELINE,
            "reading": readings[regimen],
        })
    frame = pd.DataFrame(rows)
    frame.loc[frame["is_baseline"], ["B120", "B120_lo", "B120_hi"]] = 0.0
    return frame


def _contributions(n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    features = ["age_at_diagnosis", "er_status=Positive", "er_status=Negative", "grade", "tumor_size_mm__missing",
                "hormone_therapy", "pam50=LumA"] + [f"gene:G{i}" for i in range(n - 7)]
    groups = ["clinical", "clinical", "clinical", "clinical", "clinical", "treatment", "clinical"] + ["gene"] * (n - 7)
    return pd.DataFrame({"feature": features, "group": groups, "value": rng.normal(0, 0.2, size=n)})


def _cohort(n: int, *, colour: str = "pam50", numeric: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n)})
    if numeric:
        frame[colour] = rng.uniform(0, 1, size=n)
    else:
        frame[colour] = rng.choice(["LumA", "LumB", "Basal", "Her2"], size=n)
        frame.loc[frame.index[:3], colour] = None
    return frame


def _km(n: int, hazard: float) -> pd.DataFrame:
    times = np.array([0.0, 12, 24, 48, 96, 144])
    survival = np.exp(-hazard * times)
    at_risk = np.round(n * np.exp(-0.01 * times)).astype(int)
    return pd.DataFrame({"time": times, "survival": survival, "lower": survival - 0.05, "upper": np.minimum(
        1.0, survival + 0.05), "at_risk": at_risk})


def _lines(fig: go.Figure) -> list:
    return [t for t in fig.data if t.showlegend is not False]


def _has_not_available(fig: go.Figure) -> bool:
    return any(a.text == NOT_AVAILABLE for a in fig.layout.annotations)


# --------------------------------------------------------------------------- labels and colours


def test_regimen_label_is_readable():
    assert regimen_label("chemotherapy+hormone_therapy+radio_therapy") == "Chemo + Hormone + Radio"
    assert regimen_label("hormone_therapy") == "Hormone"
    assert regimen_label("none") == "None (no treatment)"
    assert regimen_label("targeted_therapy") == "Targeted"
    assert regimen_label("immunotherapy+surgery") == "Immuno + Surgery"


def test_regimen_colours_are_stable_and_distinct():
    colours = [regimen_colour(r) for r in REGIMENS]
    assert len(set(colours)) == len(REGIMENS)
    assert regimen_colour("hormone_therapy+chemotherapy") == regimen_colour("chemotherapy+hormone_therapy")
    assert regimen_colour("surgery+targeted_therapy") == regimen_colour("surgery+targeted_therapy")
    assert regimen_colour("surgery").startswith("#")


def test_feature_display():
    assert feature_display("gene:ESR1") == "ESR1 (gene)"
    assert feature_display("er_status=Positive") == "ER status = Positive"
    assert feature_display("her2_status=Negative") == "HER2 status = Negative"
    assert feature_display("pam50=LumA") == "PAM50 = LumA"
    assert feature_display("pathway:HALLMARK_ESTROGEN_RESPONSE") == "HALLMARK_ESTROGEN_RESPONSE (pathway)"
    assert feature_display("age_at_diagnosis") == "Age at diagnosis"
    assert feature_display("tumor_size_mm__missing") == "Tumour size missing"
    assert feature_display("MKI67", "gene") == "MKI67 (gene)"


# --------------------------------------------------------------------------- 1. survival curves


def test_survival_curves_one_line_and_band_per_regimen():
    fig = survival_curves_figure(_curves(), baseline=BASELINE, horizons=[60.0, 120.0], caption="METABRIC · n=1")
    lines = [t for t in fig.data if t.mode == "lines" and t.fill is None]
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(lines) == 8 and len(bands) == 8
    assert lines[0].name == "Hormone (baseline)" and lines[0].line.dash == "dash"
    assert all(t.line.dash == "solid" for t in lines[1:])
    assert {t.name for t in lines[1:]} >= {"Chemo + Hormone + Radio", "None (no treatment)"}
    assert all(t.line.color == regimen_colour(t.legendgroup) for t in lines)
    # years on x, percent on y, dotted horizon lines at 5 and 10 years
    assert max(lines[0].x) == pytest.approx(15.0)
    assert max(lines[0].y) == pytest.approx(100.0)
    assert fig.layout.xaxis.title.text == "Years since diagnosis"
    assert tuple(fig.layout.yaxis.range) == (0, 100)
    assert sorted(s.x0 for s in fig.layout.shapes) == [5.0, 10.0]
    assert all(s.line.dash == "dot" for s in fig.layout.shapes)
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0
    assert "METABRIC · n=1" in fig.layout.title.text


def test_survival_curves_hover_text():
    curves = _curves(["none", BASELINE])
    curves.loc[(curves["regimen"] == BASELINE) & (curves["month"] == 120), ["S", "S_lo", "S_hi"]] = [0.78, 0.71, 0.84]
    fig = survival_curves_figure(curves, baseline=BASELINE, horizons=[120.0], caption="c")
    line = next(t for t in fig.data if t.name == "Hormone (baseline)")
    assert "Hormone (baseline): 78% (71–84%) at 10 y" in line.text


def test_survival_curves_highlight_and_missing_bands():
    fig = survival_curves_figure(_curves(bands=False), baseline=BASELINE, horizons=[120.0], caption="c",
                                 highlight=["hormone_therapy+radio_therapy"])
    assert not [t for t in fig.data if t.fill == "toself"]
    lines = {t.legendgroup: t for t in fig.data}
    assert lines["hormone_therapy+radio_therapy"].line.width > lines["chemotherapy"].line.width
    assert lines["chemotherapy"].opacity < 1
    assert "(" not in lines["chemotherapy"].text[0]  # no interval in the hover when there is none


# --------------------------------------------------------------------------- 2. benefit


def test_benefit_excludes_baseline_and_sorts():
    options = _options()
    fig = benefit_figure(options, horizon=120.0, caption="vs hormone")
    bars = [t for t in fig.data if isinstance(t, go.Bar)]
    labels = [y for t in bars for y in t.y]
    assert "Hormone" not in labels
    assert len(labels) == 5  # 8 regimens - baseline - 2 with not enough evidence
    values = dict(zip(labels, [x for t in bars for x in t.x], strict=True))
    order = [c for c in fig.layout.yaxis.categoryarray if c in values]
    assert [values[c] for c in order] == sorted(values.values())  # bottom to top: ascending benefit
    assert values["Hormone + Radio"] == pytest.approx(8.0)


def test_benefit_error_bars_are_asymmetric_in_points():
    options = _options().set_index("regimen")
    fig = benefit_figure(options.reset_index(), horizon=120, caption="c")
    for bar in (t for t in fig.data if isinstance(t, go.Bar)):
        for label, x, plus, minus in zip(bar.y, bar.x, bar.error_x.array, bar.error_x.arrayminus, strict=True):
            row = options.loc[next(r for r in options.index if regimen_label(r) == label)]
            assert x == pytest.approx(100 * row["B120"])
            assert plus == pytest.approx(100 * (row["B120_hi"] - row["B120"]))
            assert minus == pytest.approx(100 * (row["B120"] - row["B120_lo"]))
            assert plus != pytest.approx(minus)


def test_benefit_colours_margin_and_not_enough_evidence():
    fig = benefit_figure(_options(), horizon=120.0, caption="c", margin=0.02)
    by_name = {t.name: t for t in fig.data}
    assert by_name["likely benefit"].marker.color == "#2ca02c"
    assert by_name["possible harm"].marker.color == "#d62728"
    marker = by_name[NOT_ENOUGH]
    assert isinstance(marker, go.Scatter) and list(marker.text) == [NOT_ENOUGH, NOT_ENOUGH]
    assert set(marker.y) == {"Chemo", "Chemo + Radio"} and set(marker.x) == {0.0}
    band = next(s for s in fig.layout.shapes if s.type == "rect")
    assert (band.x0, band.x1) == (pytest.approx(-2.0), pytest.approx(2.0))
    assert any(MARGIN_LABEL in (a.text or "") for a in fig.layout.annotations)


def test_benefit_other_horizon_and_missing_column():
    options = _options().rename(columns=lambda c: c.replace("B120", "B60"))
    assert any(isinstance(t, go.Bar) for t in benefit_figure(options, horizon=60.0, caption="c").data)
    assert _has_not_available(benefit_figure(options, horizon=120.0, caption="c"))


# --------------------------------------------------------------------------- 3. contributions


def test_waterfall_total_is_base_plus_all_contributions():
    contributions = _contributions(30)
    base = -0.4
    fig = contributions_figure(contributions, base=base, title="Why this risk", caption="c", top=12)
    (waterfall,) = fig.data
    assert isinstance(waterfall, go.Waterfall)
    measures, values, labels = list(waterfall.measure), list(waterfall.x), list(waterfall.y)
    assert measures[0] == "absolute" and values[0] == base
    assert measures[-1] == "total" and labels[-1] == "This patient"
    assert len(values) == 1 + 12 + 1 + 1
    assert labels[-2] == "other 18 features"
    relative = [v for v, m in zip(values, measures, strict=True) if m == "relative"]
    expected = base + contributions["value"].sum()
    assert base + sum(relative) == pytest.approx(expected)
    assert values[-1] == pytest.approx(expected)
    top12 = contributions.reindex(contributions["value"].abs().sort_values(ascending=False).index).head(12)
    assert values[1:13] == pytest.approx(list(top12["value"]))
    assert waterfall.increasing.marker.color == "#d62728" and waterfall.decreasing.marker.color == "#1f77b4"


def test_waterfall_labels_and_small_input():
    contributions = pd.DataFrame({"feature": ["gene:ESR1", "er_status=Positive"], "group": ["gene", "clinical"],
                                  "value": [-0.3, 0.1]})
    fig = contributions_figure(contributions, base=0.0, title="t", caption="c")
    labels = list(fig.data[0].y)
    assert labels == ["Base value", "ESR1 (gene)", "ER status = Positive", "This patient"]
    assert fig.data[0].x[-1] == pytest.approx(-0.2)


# --------------------------------------------------------------------------- 4. embedding


def test_embedding_categorical_with_patient_and_neighbours():
    cohort = _cohort(500)
    neighbours = cohort.iloc[:10][["x", "y"]].assign(id=[f"MB-{i}" for i in range(10)])
    fig = embedding_figure(cohort, patient={"x": 0.1, "y": -0.2}, neighbours=neighbours, colour="pam50",
                           caption="METABRIC")
    assert all(isinstance(t, go.Scattergl) for t in fig.data)
    names = [t.name for t in fig.data]
    assert names[:5] == ["Basal", "Her2", "LumA", "LumB", "missing"]
    assert sum(len(t.x) for t in fig.data[:5]) == 500
    star = fig.data[-1]
    assert star.name == "This patient" and star.marker.symbol == "star" and star.marker.color == "#000000"
    assert list(star.text) == ["This patient"]
    assert fig.data[-2].marker.symbol == "circle-open" and len(fig.data[-2].x) == 10
    assert "downsampled" not in fig.layout.title.text


def test_embedding_numeric_colour_scale_and_downsampling():
    cohort = _cohort(2500, colour="risk", numeric=True)
    fig = embedding_figure(cohort, patient=None, neighbours=None, colour="risk", caption="METABRIC", max_points=1000)
    (points,) = fig.data
    assert len(points.x) == 1000 and points.marker.colorscale is not None
    assert "1,000 of 2,500" in fig.layout.title.text and "downsampled" in fig.layout.title.text
    again = embedding_figure(cohort, patient=None, neighbours=None, colour="risk", caption="METABRIC", max_points=1000)
    assert list(again.data[0].x) == list(points.x)  # seeded


def test_embedding_regimen_colours_match():
    cohort = _cohort(200, colour="regimen").assign(regimen=lambda f: np.resize(REGIMENS, len(f)))
    fig = embedding_figure(cohort, patient={"x": float("nan"), "y": 0.0}, neighbours=pd.DataFrame(),
                           colour="regimen", caption="c")
    assert len(fig.data) == 8  # no star for a non-finite position, no neighbours for an empty frame
    assert all(t.marker.color == regimen_colour(t.legendgroup) for t in fig.data)


# --------------------------------------------------------------------------- 5. risk percentile


def test_risk_percentile_figure():
    risks = list(np.linspace(0, 1, 101))
    assert risk_percentile(risks, 0.72) == pytest.approx(72.0, abs=0.6)
    fig = risk_percentile_figure(risks, patient_risk=0.72, caption="METABRIC")
    assert isinstance(fig.data[0], go.Histogram) and len(fig.data[0].x) == 101
    (line,) = fig.layout.shapes
    assert line.x0 == pytest.approx(0.72)
    assert any("higher risk than 72% of the cohort" in (a.text or "") for a in fig.layout.annotations)


# --------------------------------------------------------------------------- 6. similar patients


def test_similar_patients_one_curve_per_regimen():
    km = {"hormone_therapy": _km(40, 0.003), "chemotherapy+hormone_therapy": _km(25, 0.005), "none": pd.DataFrame()}
    fig = similar_patients_figure(km, caption="30 nearest")
    lines = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in lines] == ["Hormone (n=40)", "Chemo + Hormone (n=25)"]
    assert all(t.line.shape == "hv" for t in fig.data)
    assert lines[0].line.color == regimen_colour("hormone_therapy")
    assert max(lines[0].x) == pytest.approx(12.0) and lines[0].y[0] == pytest.approx(100.0)


# --------------------------------------------------------------------------- empty input, serialisation


EMPTY_CASES = {
    "survival": lambda: survival_curves_figure(pd.DataFrame(), baseline="none", horizons=[60], caption="c"),
    "survival_no_columns": lambda: survival_curves_figure(
        pd.DataFrame(columns=["regimen", "month", "S", "S_lo", "S_hi"]), baseline="none", horizons=[], caption="c"),
    "benefit": lambda: benefit_figure(pd.DataFrame(), horizon=120, caption="c"),
    "benefit_only_baseline": lambda: benefit_figure(_options().query("is_baseline"), horizon=120, caption="c"),
    "contributions": lambda: contributions_figure(pd.DataFrame(columns=["feature", "group", "value"]), base=0.0,
                                                  title="t", caption="c"),
    "embedding": lambda: embedding_figure(pd.DataFrame(), patient=None, neighbours=None, colour="pam50", caption="c"),
    "risk": lambda: risk_percentile_figure([], patient_risk=0.3, caption="c"),
    "risk_nan": lambda: risk_percentile_figure([float("nan")], patient_risk=float("nan"), caption="c"),
    "similar": lambda: similar_patients_figure({}, caption="c"),
    "similar_empty_frames": lambda: similar_patients_figure({"none": pd.DataFrame()}, caption="c"),
}


@pytest.mark.parametrize("case", list(EMPTY_CASES))
def test_empty_input_gives_an_annotation(case):
    fig = EMPTY_CASES[case]()
    assert _has_not_available(fig) and not fig.data
    json.loads(fig.to_json())


def _all_figures() -> dict[str, go.Figure]:
    cohort = _cohort(3000)
    return {
        "survival_curves": survival_curves_figure(_curves(), baseline=BASELINE, horizons=[60.0, 120.0],
                                                  caption="METABRIC (synthetic) · predicted for this patient",
                                                  highlight=["hormone_therapy+radio_therapy"]),
        "benefit": benefit_figure(_options(), horizon=120.0, caption="vs Hormone · ensemble percentile intervals"),
        "contributions": contributions_figure(_contributions(), base=-0.4, title="What drives this patient's risk",
                                              caption="SHAP values, log hazard"),
        "embedding": embedding_figure(cohort, patient={"x": 0.2, "y": 0.1}, neighbours=cohort.iloc[:15],
                                      colour="pam50", caption="METABRIC · UMAP", max_points=2000),
        "risk_percentile": risk_percentile_figure(np.random.default_rng(0).normal(size=1500), patient_risk=0.6,
                                                  caption="METABRIC · n=1500"),
        "similar_patients": similar_patients_figure(
            {"hormone_therapy": _km(40, 0.003), "chemotherapy+hormone_therapy": _km(25, 0.005)},
            caption="the 100 nearest cohort patients"),
    }


def test_figures_serialise_and_are_written():
    figures = _all_figures()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        import kaleido  # noqa: F401

        static = True
    except ImportError:
        static = False
    for name, fig in figures.items():
        parsed = json.loads(fig.to_json())
        assert parsed["data"] and parsed["layout"]["template"]
        if static:
            try:
                fig.write_image(ARTIFACTS / f"{name}.png")
                continue
            except Exception:  # kaleido without a browser: fall back to HTML
                static = False
        fig.write_html(ARTIFACTS / f"{name}.html", include_plotlyjs=True)
        assert (ARTIFACTS / f"{name}.html").stat().st_size > 0


def test_inputs_read_back_from_json_with_none_for_nan():
    """A saved analysis stores NaN as null: the frames rebuilt from it have None in numeric columns."""
    curves = pd.DataFrame(json.loads(_curves(["none", BASELINE], bands=False).to_json(orient="records")))
    assert curves["S_lo"].isna().all()
    fig = survival_curves_figure(curves, baseline=BASELINE, horizons=[120.0], caption="c")
    assert len(fig.data) == 2
    options = _options().astype({"B120_lo": object, "B120_hi": object})
    options.loc[options["regimen"] == "radio_therapy", ["B120_lo", "B120_hi"]] = None
    options.loc[options["regimen"] == "radio_therapy", "reading"] = "uncertain (no interval: single model)"
    fig = benefit_figure(options, horizon=120.0, caption="c")
    radio = next(t for t in fig.data if "Radio" in list(t.y or []) and isinstance(t, go.Bar))
    assert radio.marker.color == "#f0a202"
    km = _km(30, 0.004).astype({"upper": object})
    km.loc[0, "upper"] = None
    fig = similar_patients_figure({"none": km}, caption="c")
    assert fig.data[-1].name == "None (no treatment) (n=30)"
    json.loads(fig.to_json())
