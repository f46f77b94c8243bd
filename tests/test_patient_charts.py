"""The Patient page's figure builders: trace counts, labels, data in the figures, empty input, serialisation."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.patient.charts import (
    SVG_MAX_POINTS,
    benefit_figure,
    contributions_figure,
    default_regimens,
    embedding_figure,
    risk_percentile,
    risk_percentile_figure,
    similar_patients_figure,
    survival_curves_figure,
)
from dashboard.patient.figure_parts import (
    BASELINE_COLOUR,
    NOT_AVAILABLE,
    NOT_ENOUGH,
    READING_COLOURS,
    ROLE_COLOURS,
    feature_display,
    reading_class,
    regimen_colour,
    wrap_text,
)
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


def _options(*, old_codes: bool = False) -> pd.DataFrame:
    b = {"none": -0.06, "chemotherapy": 0.01, "radio_therapy": 0.045, "chemotherapy+hormone_therapy": 0.03,
         "chemotherapy+radio_therapy": -0.01, "hormone_therapy+radio_therapy": 0.08,
         "chemotherapy+hormone_therapy+radio_therapy": 0.05, BASELINE: 0.0}
    evidence = {"chemotherapy+radio_therapy": "thin", "chemotherapy": "none"}
    readings = {"none": "likely harm", "chemotherapy": NOT_ENOUGH, "radio_therapy": "small benefit",
                "chemotherapy+hormone_therapy": "uncertain", "chemotherapy+radio_therapy": NOT_ENOUGH,
                "hormone_therapy+radio_therapy": "worthwhile benefit",
                "chemotherapy+hormone_therapy+radio_therapy": "no worthwhile benefit", BASELINE: "reference"}
    old = {"likely harm": "possible harm", "worthwhile benefit": "likely benefit", "small benefit": "uncertain",
           "no worthwhile benefit": "no expected benefit"}
    thresholds = {"chemotherapy": 0.03, "radio_therapy": 0.01, "none": 0.0}  # T against the Hormone baseline
    rows = []
    for regimen, value in b.items():
        code = old.get(readings[regimen], readings[regimen]) if old_codes else readings[regimen]
        t = max(thresholds.get(p, 0.0) for p in regimen.split("+"))
        rows.append({
            "regimen": regimen, "S120": 0.7 + value, "B120": value, "B120_lo": value - 0.035, "B120_hi": value + 0.02,
            "evidence": evidence.get(regimen, "ok"), "is_baseline": regimen == BASELINE,
            "reading": code, **({} if old_codes else {"reading120": code, "min_benefit": t}),
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


def _visible_lines(fig: go.Figure) -> list:
    return [t for t in fig.data if t.mode == "lines" and t.fill is None and t.visible is not False
            and t.visible != "legendonly"]


def test_default_regimens_baseline_current_and_two_best():
    options = _options()
    assert default_regimens(options, baseline=BASELINE, current="none") == [
        BASELINE, "none", "hormone_therapy+radio_therapy", "radio_therapy"]  # worthwhile, then small benefit
    # no current regimen (or the current one is the baseline): the baseline and the two best
    assert default_regimens(options, baseline=BASELINE, current=BASELINE) == [
        BASELINE, "hormone_therapy+radio_therapy", "radio_therapy"]
    assert default_regimens(options.to_dict("records"), baseline=BASELINE, current=None) == [
        BASELINE, "hormone_therapy+radio_therapy", "radio_therapy"]
    # the class wins over the point: an uncertain +9 pp ranks below a small benefit of +4.5 pp
    bigger = options.assign(B120=np.where(options["regimen"] == "chemotherapy+hormone_therapy", 0.09, options["B120"]))
    assert default_regimens(bigger, baseline=BASELINE, current=None)[1:] == [
        "hormone_therapy+radio_therapy", "radio_therapy"]
    # within a class, the largest point first
    same = options.assign(reading120="uncertain", reading="uncertain")
    assert default_regimens(same, baseline=BASELINE, current="chemotherapy")[2:] == [
        "hormone_therapy+radio_therapy", "chemotherapy+hormone_therapy+radio_therapy"]
    # old saved analyses (likely benefit / possible harm codes, no reading120): still ranked
    old = default_regimens(_options(old_codes=True), baseline=BASELINE, current=None)
    assert old[:2] == [BASELINE, "hormone_therapy+radio_therapy"] and len(old) == 3
    assert default_regimens([], baseline="none", current="chemotherapy") == ["none", "chemotherapy"]


def test_survival_curves_default_view_has_at_most_four_regimens():
    options = _options()
    fig = survival_curves_figure(_curves(), baseline=BASELINE, horizons=[60.0, 120.0], caption="METABRIC · n=1",
                                 options=options, current="none")
    lines = [t for t in fig.data if t.mode == "lines" and t.fill is None]
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(lines) == 8 and len(bands) == 8  # every regimen is there, as a legend toggle at least
    visible = _visible_lines(fig)
    assert [t.legendgroup for t in visible] == [BASELINE, "none", "hormone_therapy+radio_therapy", "radio_therapy"]
    visible_bands = [t for t in bands if t.visible is True]
    assert sorted(t.legendgroup for t in visible_bands) == sorted(t.legendgroup for t in visible)
    assert all(t.visible == "legendonly" for t in lines if t not in visible)
    # colours: dark grey dashed baseline, blue current, then the best options; at most four strong colours
    assert visible[0].name == "Hormone (baseline)" and visible[0].line.dash == "dash"
    assert visible[0].line.color == BASELINE_COLOUR
    assert visible[1].name == "None (no treatment) (current)" and visible[1].line.color == ROLE_COLOURS[0]
    assert [t.line.color for t in visible[2:]] == list(ROLE_COLOURS[1:])
    assert len({t.line.color for t in visible}) == 4
    assert not {t.line.color for t in lines if t not in visible} & {t.line.color for t in visible}
    # years on x, percent on y, dotted horizon lines at 5 and 10 years, legend below
    assert max(lines[0].x) == pytest.approx(15.0)
    assert max(lines[0].y) == pytest.approx(100.0)
    assert fig.layout.xaxis.title.text == "Years since diagnosis"
    assert tuple(fig.layout.yaxis.range) == (0, 100)
    assert sorted(s.x0 for s in fig.layout.shapes) == [5.0, 10.0]
    assert all(s.line.dash == "dot" for s in fig.layout.shapes)
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0
    assert "METABRIC · n=1" in fig.layout.title.text and "legend" in fig.layout.title.text


def test_survival_curves_old_call_signature_still_limits_the_default_view():
    fig = survival_curves_figure(_curves(), baseline=BASELINE, horizons=[60.0, 120.0], caption="c",
                                 highlight=["hormone_therapy+radio_therapy"])
    visible = _visible_lines(fig)
    assert len(visible) <= 4
    assert [t.legendgroup for t in visible[:2]] == [BASELINE, "hormone_therapy+radio_therapy"]


def test_survival_curves_hover_text():
    curves = _curves(["none", BASELINE])
    curves.loc[(curves["regimen"] == BASELINE) & (curves["month"] == 120), ["S", "S_lo", "S_hi"]] = [0.78, 0.71, 0.84]
    fig = survival_curves_figure(curves, baseline=BASELINE, horizons=[120.0], caption="c")
    line = next(t for t in fig.data if t.name == "Hormone (baseline)")
    assert "Hormone (baseline): 78% (71–84%) at 10 y" in line.text
    assert all(t.visible is True for t in fig.data)  # two regimens: both shown, nothing to toggle
    assert "legend" not in fig.layout.title.text


def test_survival_curves_missing_bands():
    fig = survival_curves_figure(_curves(bands=False), baseline=BASELINE, horizons=[120.0], caption="c",
                                 options=_options(), current="chemotherapy")
    assert not [t for t in fig.data if t.fill == "toself"]
    lines = {t.legendgroup: t for t in fig.data}
    assert lines["chemotherapy"].visible is True and lines["chemotherapy+radio_therapy"].visible == "legendonly"
    assert lines["hormone_therapy+radio_therapy"].line.width > lines["chemotherapy+radio_therapy"].line.width
    assert lines["chemotherapy"].text[0] == "Chemo (current): 100% at 0 y"  # no interval when there is none


# --------------------------------------------------------------------------- 2. benefit


def _bars(fig: go.Figure) -> dict[str, tuple]:
    """{regimen label: (x, y position, colour)} from the benefit figure's bars and their label annotations."""
    labels = {round(a.y - 0.22, 6): re.sub(r"<[^>]+>|■", "", a.text).strip().split("  ")[0]
              for a in fig.layout.annotations if a.yref == "y"}
    return {labels[round(y, 6)]: (x, y, bar.marker.color) for bar in fig.data if isinstance(bar, go.Bar)
            for x, y in zip(bar.x, bar.y, strict=True)}


def test_benefit_excludes_baseline_and_sorts():
    fig = benefit_figure(_options(), horizon=120.0, caption="vs hormone")
    bars = _bars(fig)
    assert "Hormone" not in bars
    assert len(bars) == 7  # 8 regimens - baseline; not-enough-evidence ones are drawn too (pale, hatched)
    weak = {"Chemo", "Chemo + Radio"}
    ranked = sorted((y, x) for label, (x, y, _) in bars.items() if label not in weak)
    assert [x for _, x in ranked] == sorted(x for _, x in ranked)  # bottom to top: ascending benefit
    assert max(bars[label][1] for label in weak) < min(y for y, _ in ranked)  # not enough evidence at the bottom
    assert bars["Hormone + Radio"][0] == pytest.approx(8.0)
    assert fig.layout.yaxis.showticklabels is False  # the labels sit above the bars, not beside them
    assert all(a.xanchor == "left" and a.x == 0 for a in fig.layout.annotations if a.yref == "y")


def test_benefit_error_bars_are_asymmetric_in_points():
    options = _options().set_index("regimen")
    fig = benefit_figure(options.reset_index(), horizon=120, caption="c")
    by_position = {y: label for label, (_, y, _) in _bars(fig).items()}
    for bar in (t for t in fig.data if isinstance(t, go.Bar)):
        for y, x, plus, minus in zip(bar.y, bar.x, bar.error_x.array, bar.error_x.arrayminus, strict=True):
            row = options.loc[next(r for r in options.index if regimen_label(r) == by_position[y])]
            assert x == pytest.approx(100 * row["B120"])
            assert plus == pytest.approx(100 * (row["B120_hi"] - row["B120"]))
            assert minus == pytest.approx(100 * (row["B120"] - row["B120_lo"]))
            assert plus != pytest.approx(minus)


def test_benefit_colour_per_reading_and_no_margin_band():
    fig = benefit_figure(_options(), horizon=120.0, caption="c", margin=0.02)  # margin: accepted, ignored
    bars = _bars(fig)
    assert bars["Hormone + Radio"][2] == READING_COLOURS["worthwhile benefit"]
    assert bars["Radio"][2] == READING_COLOURS["small benefit"]
    assert bars["None (no treatment)"][2] == READING_COLOURS["likely harm"]
    assert bars["Chemo + Hormone"][2] == READING_COLOURS["uncertain"]
    assert bars["Chemo + Hormone + Radio"][2] == READING_COLOURS["no worthwhile benefit"]
    assert bars["Chemo"][2] == READING_COLOURS[NOT_ENOUGH]
    assert len({bars[k][2] for k in ("Hormone + Radio", "Radio", "None (no treatment)", "Chemo + Hormone")}) == 4
    pale = next(t for t in fig.data if t.name == "Not enough evidence")
    assert pale.marker.pattern.shape == "/"
    names = {t.name for t in fig.data}
    assert {"Worthwhile benefit", "Small benefit", "Likely harm", "Uncertain", "No worthwhile benefit"} <= names
    assert not [s for s in fig.layout.shapes if s.type == "rect"]  # no ±2 pp band any more
    assert not any("±" in (a.text or "") for a in fig.layout.annotations)


def test_benefit_reading_at_the_shown_horizon():
    options = _options().rename(columns=lambda c: c.replace("120", "60"))
    options["reading"] = "uncertain"  # the last horizon's reading; the 5-year one must colour the 5-year bars
    fig = benefit_figure(options, horizon=60.0, caption="c")
    assert _bars(fig)["Hormone + Radio"][2] == READING_COLOURS["worthwhile benefit"]
    # without reading<h>, the plain reading is used; old codes get the nearest colour
    old = benefit_figure(_options(old_codes=True), horizon=120.0, caption="c")
    assert _bars(old)["Hormone + Radio"][2] == READING_COLOURS["worthwhile benefit"]
    assert _bars(old)["None (no treatment)"][2] == READING_COLOURS["likely harm"]
    assert reading_class("uncertain (no interval: single model)") == "uncertain"


def test_benefit_threshold_marks_each_regimen_at_its_min_benefit():
    options = _options()
    fig = benefit_figure(options, horizon=120.0, caption="c")
    ticks = next(t for t in fig.data if t.name == "Worthwhile threshold")
    assert ticks.marker.symbol == "line-ns"
    positions = {label: y for label, (_, y, _) in _bars(fig).items()}
    by_y = dict(zip(ticks.y, ticks.x, strict=True))
    expected = {regimen_label(r): 100 * t for r, t, base in zip(options["regimen"], options["min_benefit"],
                                                                options["is_baseline"], strict=True) if not base}
    assert {label: by_y[positions[label]] for label in expected} == pytest.approx(expected)
    assert by_y[positions["Chemo + Hormone"]] == pytest.approx(3.0)  # chemotherapy's 3 pp in the combination
    assert by_y[positions["Radio"]] == pytest.approx(1.0)
    # no min_benefit column (an old saved analysis): no ticks, no error
    assert "Worthwhile threshold" not in {t.name for t in benefit_figure(
        options.drop(columns="min_benefit"), horizon=120.0, caption="c").data}


def test_benefit_regimen_colours_match_the_survival_chart():
    options = _options()
    survival = survival_curves_figure(_curves(), baseline=BASELINE, horizons=[120.0], caption="c",
                                      options=options, current="none")
    colours = {regimen_label(t.legendgroup): t.line.color for t in _visible_lines(survival)}
    benefit = benefit_figure(options, horizon=120.0, caption="c", current="none")
    swatches = {re.sub(r"<[^>]+>|■", "", a.text).strip().split("  ")[0]: re.search(r"color:(#\w+)", a.text).group(1)
                for a in benefit.layout.annotations if "■" in (a.text or "")}
    assert swatches == {k: v for k, v in colours.items() if k != "Hormone"}


def test_benefit_other_horizon_and_missing_column():
    options = _options().rename(columns=lambda c: c.replace("B120", "B60"))
    assert any(isinstance(t, go.Bar) for t in benefit_figure(options, horizon=60.0, caption="c").data)
    assert _has_not_available(benefit_figure(options, horizon=120.0, caption="c"))


# --------------------------------------------------------------------------- legibility at 390 px


def test_titles_wrap_for_a_phone():
    long = "METABRIC (synthetic) · model 0123456789abcdef · bands: 90% intervals · tap a regimen in the legend"
    assert all(len(line) <= 54 for line in wrap_text(long, 54).split("<br>"))
    for name, fig in _all_figures().items():
        title = fig.layout.title
        lines = [re.sub(r"<[^>]+>", "", line) for line in title.text.split("<br>")]
        assert max(len(line) for line in lines) <= 54, name
        assert title.xanchor == "left" and title.font.size >= 11
        assert fig.layout.font.size >= 11 and fig.layout.margin.r <= 20 and fig.layout.margin.l <= 48, name
        if fig.layout.showlegend is not False and len(fig.data) > 1:
            assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0, name


def test_margins_are_fixed_except_where_labels_vary():
    """Fixed margins (no automargin: plotly lays each chart out once); only the waterfall, whose feature labels
    vary in length, grows its left margin to fit them."""
    for name, fig in _all_figures().items():
        automargins = {fig.layout.xaxis.automargin, fig.layout.yaxis.automargin}
        if fig.data and isinstance(fig.data[0], go.Waterfall):
            assert fig.layout.yaxis.automargin is True, name
        else:
            assert automargins == {False}, name


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
    assert all(isinstance(t, go.Scatter) for t in fig.data)  # SVG: up to SVG_MAX_POINTS cohort patients
    names = [t.name for t in fig.data]
    assert names[:5] == ["Basal", "Her2", "LumA", "LumB", "missing"]
    assert sum(len(t.x) for t in fig.data[:5]) == 500
    star = fig.data[-1]
    assert star.name == "This patient" and star.marker.symbol == "star" and star.marker.color == "#000000"
    assert list(star.text) == ["This patient"]
    assert fig.data[-2].marker.symbol == "circle-open" and len(fig.data[-2].x) == 10
    assert "random sample" not in fig.layout.title.text


def test_embedding_numeric_colour_scale_and_downsampling():
    cohort = _cohort(2500, colour="risk", numeric=True)
    fig = embedding_figure(cohort, patient=None, neighbours=None, colour="risk", caption="METABRIC", max_points=1000)
    (points,) = fig.data
    assert len(points.x) == 1000 and points.marker.colorscale is not None
    caption = fig.layout.title.text.replace("<br>", " ")
    assert "1,000 of 2,500 cohort patients drawn" in caption and "fixed random sample" in caption
    again = embedding_figure(cohort, patient=None, neighbours=None, colour="risk", caption="METABRIC", max_points=1000)
    assert list(again.data[0].x) == list(points.x)  # seeded


def test_embedding_draws_large_cohorts_with_webgl():
    """SVG up to SVG_MAX_POINTS cohort patients (drawn at once without a GPU), WebGL above (faster for many)."""
    small = embedding_figure(_cohort(SVG_MAX_POINTS), patient={"x": 0.0, "y": 0.0}, neighbours=None, colour="pam50",
                             caption="c")
    large = embedding_figure(_cohort(SVG_MAX_POINTS + 1), patient={"x": 0.0, "y": 0.0}, neighbours=None,
                             colour="pam50", caption="c")
    assert {t.type for t in small.data} == {"scatter"}
    assert {t.type for t in large.data} == {"scattergl"}
    assert sum(len(t.x) for t in large.data[:-1]) == SVG_MAX_POINTS + 1


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
    assert any("higher risk than 72% of the cohort" in (a.text or "").replace("<br>", " ")
               for a in fig.layout.annotations)


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
                                                  caption="METABRIC (synthetic) · model 0123456789ab · bands: 90% "
                                                  "intervals", options=_options(), current="none"),
        "benefit": benefit_figure(_options(), horizon=120.0, caption="vs Hormone · ensemble percentile intervals",
                                  current="none"),
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
    options.loc[options["regimen"] == "radio_therapy", ["reading", "reading120"]] = \
        "uncertain (no interval: single model)"
    fig = benefit_figure(options, horizon=120.0, caption="c")
    assert _bars(fig)["Radio"][2] == READING_COLOURS["uncertain"]
    km = _km(30, 0.004).astype({"upper": object})
    km.loc[0, "upper"] = None
    fig = similar_patients_figure({"none": km}, caption="c")
    assert fig.data[-1].name == "None (no treatment) (n=30)"
    json.loads(fig.to_json())


# --------------------------------------------------------------------------- the PDF's charts (matplotlib)


def _pdf_analysis(*, old_codes: bool = False):
    from tests.test_report import make_analysis  # noqa: PLC0415 (lazy: the report tests' realistic analysis)

    analysis = make_analysis()  # current regimen: Hormone + Radio; baseline: None
    if not old_codes:
        codes = {"chemotherapy": "worthwhile benefit", "hormone_therapy": "small benefit",
                 "radio_therapy": "uncertain", "chemotherapy+hormone_therapy": "no worthwhile benefit",
                 "chemotherapy+radio_therapy": "likely harm", "hormone_therapy+radio_therapy": "uncertain",
                 "chemotherapy+hormone_therapy+radio_therapy": NOT_ENOUGH, "none": "reference"}
        for row in analysis.options:
            row["reading"] = row["reading120"] = codes[row["regimen"]]
            row["min_benefit"] = 0.0 if row["is_baseline"] else (0.03 if "chemo" in row["regimen"] else 0.01)
    return analysis


def test_pdf_survival_chart_draws_the_default_set_in_the_screen_colours():
    from dashboard.patient.report.charts import survival_chart, survival_figure  # noqa: PLC0415 (lazy: matplotlib)

    analysis = _pdf_analysis()
    fig = survival_figure(analysis)
    lines = {line.get_label(): line.get_color() for line in fig.axes[0].get_lines()
             if not line.get_label().startswith("_")}
    assert list(lines) == ["None (no treatment) (baseline)", "Hormone + Radio (current)", "Chemo", "Hormone"]
    assert list(lines.values()) == [BASELINE_COLOUR, *ROLE_COLOURS]
    assert "4 other regimens" in fig.axes[0].get_title()
    png, ratio = survival_chart(analysis)
    assert png.startswith(b"\x89PNG") and 0.4 < ratio < 1
    old = survival_figure(_pdf_analysis(old_codes=True))  # old codes: still four curves, no error
    assert len([line for line in old.axes[0].get_lines() if not line.get_label().startswith("_")]) == 4


def test_pdf_benefit_chart_colours_by_reading_and_marks_thresholds():
    from matplotlib.colors import to_hex  # noqa: PLC0415 (lazy: matplotlib only here)

    from dashboard.patient.report.charts import benefit_chart, benefit_figure  # noqa: PLC0415 (lazy: matplotlib)

    analysis = _pdf_analysis()
    ax = benefit_figure(analysis).axes[0]
    label_at = {round(float(y)): t.get_text() for y, t in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)}
    colours = {label_at[round(p.get_y() + p.get_height() / 2)]: to_hex(p.get_facecolor()) for p in ax.patches}
    assert colours["Chemo"] == READING_COLOURS["worthwhile benefit"]
    assert colours["Hormone"] == READING_COLOURS["small benefit"]
    assert colours["Chemo + Radio"] == READING_COLOURS["likely harm"]
    assert colours["Chemo + Hormone + Radio"] == READING_COLOURS[NOT_ENOUGH]
    (ticks,) = ax.collections[-1:]
    xs = sorted(round(float(x), 6) for x, _ in ticks.get_offsets())
    assert xs == sorted([3.0] * 4 + [1.0] * 3)  # each regimen's own threshold in points
    assert benefit_chart(analysis)[0].startswith(b"\x89PNG")
    assert benefit_chart(_pdf_analysis(old_codes=True))[0].startswith(b"\x89PNG")
