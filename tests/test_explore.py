"""The cohort explorer's numbers: Kaplan-Meier, log-rank and Cox by group against lifelines (and against an
independent log-rank and statsmodels' Cox), on real METABRIC and the demo cohort; groupings and their edges."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from scipy.stats import chi2

from dashboard.cohort import explore
from dashboard.cohort.charts import embedding_figure, km_groups_figure
from dashboard.plotly_style import chart_caption
from genomics.errors import InputError
from genomics.survival import landmark, number_at_risk

# --- helpers --------------------------------------------------------------------------------------------------


def independent_logrank(time, event, groups) -> tuple[float, int, float]:
    """The k-group log-rank test written out (observed - expected, hypergeometric covariance)."""
    time, event, groups = np.asarray(time, float), np.asarray(event, int), np.asarray(groups, object)
    levels = sorted(set(groups))
    k = len(levels)
    u, v = np.zeros(k), np.zeros((k, k))
    for tj in np.unique(time[event == 1]):
        at_risk = time >= tj
        n = at_risk.sum()
        d = ((time == tj) & (event == 1)).sum()
        n_g = np.array([(at_risk & (groups == g)).sum() for g in levels], dtype=float)
        d_g = np.array([((time == tj) & (event == 1) & (groups == g)).sum() for g in levels], dtype=float)
        u += d_g - d * n_g / n
        if n > 1:
            factor = d * (n - d) / (n - 1) / n
            v += factor * (np.diag(n_g) - np.outer(n_g, n_g) / n)
    stat = float(u[:-1] @ np.linalg.solve(v[:-1, :-1], u[:-1]))
    return stat, k - 1, float(chi2.sf(stat, k - 1))


def lifelines_cox(time, event, groups, reference) -> pd.DataFrame:
    """HR per group vs reference with lifelines' own formula coding (an independent dummy coding)."""
    frame = pd.DataFrame({"T": time, "E": event, "g": pd.Categorical(groups)})
    levels = [reference] + sorted(set(groups) - {reference})
    frame["g"] = frame["g"].cat.reorder_categories(levels)
    cph = CoxPHFitter().fit(frame, "T", "E", formula="g")  # formulaic: the first category is the reference
    out = cph.summary[["exp(coef)", "exp(coef) lower 95%", "exp(coef) upper 95%", "p"]].copy()
    out.index = [name.split("[T.")[1].rstrip("]") for name in out.index]
    return out


@pytest.fixture(scope="module")
def demo():
    from genomics.demo import make_demo_cohort

    return make_demo_cohort(n_patients=800, n_genes=200, seed=3)


# --- real METABRIC --------------------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("engine", ["lifelines", "grouped"])
def test_km_logrank_cox_by_pam50_agree_with_lifelines(metabric, engine):
    obs = metabric.obs
    groups = explore.split_groups(obs["pam50_claudin_low"])
    result = explore.compare_groups(obs["os_months"], obs["os_event"], groups, reference="LumA", cox_engine=engine)
    assert result.n == 1904 and result.events == 1103 and result.excluded == 0
    assert result.groups == ["Basal", "Her2", "LumA", "LumB", "NC", "Normal", "claudin-low"]
    t, e = obs["os_months"].to_numpy(float), obs["os_event"].to_numpy(float)
    g = obs["pam50_claudin_low"].to_numpy(object)
    # Kaplan-Meier per group, point by point, and the median
    for name in result.groups:
        kmf = KaplanMeierFitter().fit(t[g == name], e[g == name])
        mine = result.curves[result.curves["group"] == name]
        np.testing.assert_allclose(mine["survival"], kmf.survival_function_.iloc[:, 0].to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(mine["time"], kmf.survival_function_.index.to_numpy(), rtol=1e-12)
        row = result.summary.set_index("group").loc[name]
        assert row["n"] == (g == name).sum() and row["events"] == e[g == name].sum()
        if np.isfinite(kmf.median_survival_time_):
            assert row["median"] == pytest.approx(kmf.median_survival_time_)
    # log-rank: lifelines, and the test written out here
    expected = multivariate_logrank_test(t, g, e)
    assert result.logrank_p == pytest.approx(expected.p_value, rel=1e-9)
    assert result.logrank_statistic == pytest.approx(expected.test_statistic, rel=1e-9)
    assert result.logrank_df == 6
    stat, df, p = independent_logrank(t, e, g)
    assert (result.logrank_statistic, result.logrank_df) == (pytest.approx(stat, rel=1e-6), df)
    assert result.logrank_p == pytest.approx(p, rel=1e-6)
    assert result.logrank_p < 1e-8  # PAM50 subtypes separate overall survival in METABRIC
    # hazard ratios: lifelines with its own (formula) coding
    hr = result.summary.set_index("group")
    reference = lifelines_cox(t, e, g, "LumA")
    for name in reference.index:  # lifelines stops Newton-Raphson at ~1e-7: agreement to 1e-5
        assert hr.loc[name, "hr"] == pytest.approx(reference.loc[name, "exp(coef)"], rel=1e-5)
        assert hr.loc[name, "hr_lo"] == pytest.approx(reference.loc[name, "exp(coef) lower 95%"], rel=1e-5)
        assert hr.loc[name, "hr_hi"] == pytest.approx(reference.loc[name, "exp(coef) upper 95%"], rel=1e-5)
        assert hr.loc[name, "hr_p"] == pytest.approx(reference.loc[name, "p"], rel=1e-4)
    assert hr.loc["LumA", "hr"] == 1.0 and hr.loc["LumA", "note"] == "reference"
    assert hr.loc["Her2", "hr"] > 1.3  # Her2 and LumB do worse than LumA
    # numbers at risk = patients with follow-up at least that long
    for col in result.at_risk.columns:
        assert result.at_risk.loc["LumA", col] == ((g == "LumA") & (t >= float(col))).sum()


@pytest.mark.realdata
def test_cox_hazard_ratio_agrees_with_statsmodels(metabric):
    """Two groups (ER status): the same HR from lifelines here and from statsmodels' Efron Cox model."""
    from statsmodels.duration.hazard_regression import PHReg

    obs = metabric.obs
    groups = explore.split_groups(obs["er_status"])
    result = explore.compare_groups(obs["os_months"], obs["os_event"], groups, reference="Positive")
    known = obs["er_status"].notna().to_numpy()
    assert result.excluded == int((~known).sum())
    t, e = obs["os_months"].to_numpy(float)[known], obs["os_event"].to_numpy(float)[known]
    x = (obs["er_status"].to_numpy(object)[known] == "Negative").astype(float)
    fit = PHReg(t, x[:, None], status=e, ties="efron").fit()
    negative = result.summary.set_index("group").loc["Negative"]
    assert negative["hr"] == pytest.approx(np.exp(fit.params[0]), rel=1e-4)
    lo, hi = np.exp(fit.conf_int()[0])
    assert (negative["hr_lo"], negative["hr_hi"]) == (pytest.approx(lo, rel=1e-3), pytest.approx(hi, rel=1e-3))
    assert result.logrank_p == pytest.approx(logrank_test(t[x == 1], t[x == 0], e[x == 1], e[x == 0]).p_value)


@pytest.mark.realdata
def test_continuous_split_and_landmark_on_metabric(metabric):
    obs = metabric.obs
    groups = explore.split_groups(obs["age_at_diagnosis"], "tertiles")
    assert list(groups.cat.categories) == [c for c in groups.cat.categories if c[:2] in ("T1", "T2", "T3")]
    assert groups.value_counts().max() - groups.value_counts().min() <= 2
    result = explore.compare_groups(obs["os_months"], obs["os_event"], groups, landmark_at=60.0)
    kept = obs["os_months"].to_numpy(float) > 60
    assert result.n == kept.sum() and result.landmark == 60.0
    t, e = obs["os_months"].to_numpy(float)[kept] - 60, obs["os_event"].to_numpy(float)[kept]
    expected = multivariate_logrank_test(t, groups.to_numpy(object)[kept], e)
    assert result.logrank_p == pytest.approx(expected.p_value, rel=1e-9)
    assert result.curves.groupby("group")["time"].min().eq(60.0).all()  # curves start at the landmark
    assert result.at_risk.columns[0] == "60"
    per_sd = explore.hazard_ratio_per_sd(obs["os_months"], obs["os_event"], obs["age_at_diagnosis"])
    assert 1.3 < per_sd["hr"] < 1.9 and per_sd["hr_lo"] < per_sd["hr"] < per_sd["hr_hi"] and per_sd["n"] == 1904


@pytest.mark.realdata
def test_treatment_counts_flag_thin_evidence(metabric):
    from genomics.cohorts import METABRIC_SPEC

    obs = metabric.obs
    groups = explore.split_groups(obs["pam50_claudin_low"])
    table = explore.treatment_counts(obs, METABRIC_SPEC, groups, event=obs["os_event"])
    assert table["patients"].sum() == 1904
    assert table.groupby("group")["share"].sum().round(9).eq(1.0).all()
    assert table["events"].sum() == 1103
    assert len(table) == 7 * 8  # every regimen for every subtype, zero counts included
    assert table["thin"].equals(table["patients"] < explore.THIN_EVIDENCE)
    nc = table[table["group"] == "NC"]
    assert nc["thin"].all()  # 6 patients: every cell is thin


# --- demo cohort ----------------------------------------------------------------------------------------------


def test_demo_km_by_subtype_agrees_with_lifelines(demo):
    obs = demo.obs
    groups = explore.split_groups(obs["subtype"])
    result = explore.compare_groups(obs["os_months"], obs["os_event"], groups)
    assert result.groups == [c for c in obs["subtype"].cat.categories if (obs["subtype"] == c).any()]
    assert result.reference == obs["subtype"].value_counts().idxmax()
    expected = multivariate_logrank_test(obs["os_months"], obs["subtype"].astype(str), obs["os_event"])
    assert result.logrank_p == pytest.approx(expected.p_value, rel=1e-9)
    reference = lifelines_cox(obs["os_months"].to_numpy(), obs["os_event"].to_numpy(), obs["subtype"].astype(str),
                              result.reference)
    hr = result.summary.set_index("group")
    for name in reference.index:
        assert hr.loc[name, "hr"] == pytest.approx(reference.loc[name, "exp(coef)"], rel=1e-5)


def test_large_cohort_uses_the_grouped_cox_fit_with_the_same_numbers():
    from genomics.demo import make_demo_cohort

    obs = make_demo_cohort(n_patients=12_000, n_genes=185, seed=5).obs
    groups = explore.split_groups(obs["subtype"])
    auto = explore.compare_groups(obs["os_months"], obs["os_event"], groups)
    assert any("per-group counts" in n for n in auto.notes)  # above LIFELINES_COX_MAX
    exact = explore.compare_groups(obs["os_months"], obs["os_event"], groups, cox_engine="lifelines")
    for column, rtol in (("hr", 1e-5), ("hr_lo", 1e-5), ("hr_hi", 1e-5), ("hr_p", 1e-3)):  # lifelines' tolerance
        np.testing.assert_allclose(auto.summary[column], exact.summary[column], rtol=rtol)


def test_demo_gene_median_split(demo):
    gene = demo.var_names[0]
    values = explore.variable_values(demo, _spec(demo), f"gene:{gene}")
    groups = explore.split_groups(values, "median")
    assert [c.split(" ")[0] for c in groups.cat.categories] == ["low", "high"]
    assert abs(int((groups == groups.cat.categories[0]).sum()) - len(values) / 2) <= 1
    result = explore.compare_groups(demo.obs["rfs_months"], demo.obs["rfs_event"], groups)
    assert result.n == demo.n_obs and len(result.groups) == 2


def _spec(adata):
    from genomics.spec import spec_of

    return spec_of(adata)


# --- edge cases -----------------------------------------------------------------------------------------------


def _toy(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return rng.exponential(30, n).round(1), rng.integers(0, 2, n), rng.choice(["a", "b", "c"], n)


def test_all_patients_in_one_group():
    t, e, _ = _toy()
    result = explore.compare_groups(t, e, pd.Series(["all"] * len(t)))
    assert result.groups == ["all"] and np.isnan(result.logrank_p) and result.logrank_df == 0
    assert any("Only one group" in n for n in result.notes)
    assert result.summary.loc[0, "hr"] == 1.0
    kmf = KaplanMeierFitter().fit(t, e)
    np.testing.assert_allclose(result.curves["survival"], kmf.survival_function_.iloc[:, 0])


def test_missing_groups_times_and_events_are_left_out_and_counted():
    t, e, g = _toy(80)
    t = t.astype(float)
    e = e.astype(float)
    t[:5], e[5:8] = np.nan, np.nan
    g = pd.Series(g, dtype=object)
    g[10:14] = None
    t[20] = -1.0  # a negative time is not a follow-up time
    result = explore.compare_groups(t, e, g)
    ok = np.isfinite(t) & np.isfinite(e) & g.notna().to_numpy() & (t >= 0)
    assert result.excluded == 80 - ok.sum() == 13 and result.n == ok.sum()
    expected = multivariate_logrank_test(t[ok], g[ok].to_numpy(), e[ok])
    assert result.logrank_p == pytest.approx(expected.p_value, rel=1e-9)


@pytest.mark.parametrize("engine", ["lifelines", "grouped"])
def test_group_of_one_patient(engine):
    t, e, g = _toy(50, seed=2)
    e[0], g = 1, g.astype(object)
    g[0] = "single"
    result = explore.compare_groups(t, e, pd.Series(g), reference="a", cox_engine=engine)
    row = result.summary.set_index("group").loc["single"]
    assert row["n"] == 1 and row["events"] == 1
    assert any("Small group" in n and "single" in n for n in result.notes)
    expected = multivariate_logrank_test(t, g, e)
    assert result.logrank_p == pytest.approx(expected.p_value, rel=1e-9)
    hr = result.summary.set_index("group")
    if engine == "lifelines":
        # lifelines refuses an indicator of one patient (near-zero variance: "singular"); that group says so and
        # the others keep their hazard ratios, from a fit without it
        assert np.isnan(row["hr"]) and "too few patients" in row["note"]
        keep = g != "single"
        reference = lifelines_cox(t[keep], e[keep], g[keep], "a")
        for name in ("b", "c"):
            assert hr.loc[name, "hr"] == pytest.approx(reference.loc[name, "exp(coef)"], rel=1e-5)
    else:
        # the maximum-likelihood estimate exists (finite, very wide interval): scikit-survival finds the same one
        from sksurv.linear_model import CoxPHSurvivalAnalysis
        from sksurv.util import Surv

        x = np.stack([(g == name).astype(float) for name in ("b", "c", "single")], axis=1)
        fit = CoxPHSurvivalAnalysis(ties="efron").fit(x, Surv.from_arrays(e.astype(bool), t))
        for name, beta in zip(("b", "c", "single"), fit.coef_, strict=True):
            assert hr.loc[name, "hr"] == pytest.approx(np.exp(beta), rel=1e-4)
        assert row["hr_lo"] < row["hr"] < row["hr_hi"] and row["hr_hi"] / row["hr_lo"] > 50


@pytest.mark.parametrize("engine", ["lifelines", "grouped"])
def test_heavily_tied_times_match_lifelines(engine):
    t, e, g = _toy(300, seed=4)
    t = np.ceil(t / 12) * 12  # whole years: many ties, events and censorings at the same times
    result = explore.compare_groups(t, e, pd.Series(g), reference="a", cox_engine=engine)
    expected = multivariate_logrank_test(t, g, e)
    assert result.logrank_p == pytest.approx(expected.p_value, rel=1e-9)
    stat, _, _ = independent_logrank(t, e, g)
    assert result.logrank_statistic == pytest.approx(stat, rel=1e-6)
    reference = lifelines_cox(t, e, g, "a")
    hr = result.summary.set_index("group")
    for name in ("b", "c"):
        assert hr.loc[name, "hr"] == pytest.approx(reference.loc[name, "exp(coef)"], rel=1e-5)
        assert hr.loc[name, "hr_hi"] == pytest.approx(reference.loc[name, "exp(coef) upper 95%"], rel=1e-5)
    for name in ("a", "b", "c"):
        kmf = KaplanMeierFitter().fit(t[g == name], e[g == name])
        np.testing.assert_allclose(result.curves.loc[result.curves["group"] == name, "survival"],
                                   kmf.survival_function_.iloc[:, 0])


@pytest.mark.parametrize("engine", ["lifelines", "grouped"])
def test_group_without_events_gets_no_hazard_ratio(engine):
    t, e, g = _toy(90, seed=5)
    g = g.astype(object)
    g[:6] = "quiet"
    e[:6] = 0
    result = explore.compare_groups(t, e, pd.Series(g), reference="a", cox_engine=engine)
    quiet = result.summary.set_index("group").loc["quiet"]
    assert np.isnan(quiet["hr"]) and "no events" in quiet["note"]
    keep = g != "quiet"
    reference = lifelines_cox(t[keep], e[keep], g[keep], "a")
    hr = result.summary.set_index("group")
    assert hr.loc["b", "hr"] == pytest.approx(reference.loc["b", "exp(coef)"], rel=1e-5)


def test_no_usable_patient_is_a_clear_error():
    with pytest.raises(InputError, match="No patient"):
        explore.compare_groups([np.nan, np.nan], [1, 0], pd.Series(["a", "b"]))


def test_splits_at_median_quantiles_and_cuts():
    values = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8, np.nan])
    median = explore.split_groups(values, "median")
    assert list(median.cat.categories) == ["low (≤ 4.5)", "high (> 4.5)"]
    assert median.isna().sum() == 1 and (median == "low (≤ 4.5)").sum() == 4
    quartiles = explore.split_groups(values, "quartiles")
    assert quartiles.value_counts().tolist() == [2, 2, 2, 2]
    cut = explore.split_groups(values, "cut", cuts=[3, 6])
    assert list(cut.cat.categories) == ["≤ 3", "3–6", "> 6"]
    assert cut.value_counts().reindex(cut.cat.categories).tolist() == [3, 3, 2]  # a value equal to a cut goes below
    with pytest.raises(InputError):
        explore.split_groups(values, "cut", cuts=[])


def test_ties_at_the_median_and_constant_values():
    tied = pd.Series([1.0, 1, 1, 1, 2, 3])
    groups = explore.split_groups(tied, "median")
    assert (groups == groups.cat.categories[0]).sum() == 4  # tied values never straddle two groups
    constant = explore.split_groups(pd.Series([5.0] * 6), "tertiles")
    assert len(constant.cat.categories) == 1 and constant.notna().all()
    assert explore.split_groups(pd.Series([np.nan, np.nan]), "median").isna().all()


def test_categorical_grouping_keeps_order_and_text_of_numbers():
    grade = pd.Series([3.0, 1.0, np.nan, 2.0, 3.0])
    groups = explore.split_groups(grade)
    assert list(groups.cat.categories) == ["1", "2", "3"] and groups.isna().sum() == 1
    cat = pd.Series(pd.Categorical(["Post", "Pre", None], categories=["Pre", "Post"]))
    assert list(explore.split_groups(cat).cat.categories) == ["Pre", "Post"]
    flags = pd.Series([True, False, True])
    assert explore.category_order(flags) == sorted(explore.as_text(flags).unique())


def test_filters():
    frame = pd.DataFrame({"er": ["Positive", "Negative", None, "Positive"], "age": [40.0, 55.0, 70.0, np.nan]})
    rules = [explore.Rule("er", values=("Positive",))]
    assert explore.filter_mask(frame, rules).tolist() == [True, False, False, True]
    rules = [explore.Rule("age", lo=50, hi=80)]
    assert explore.filter_mask(frame, rules).tolist() == [False, True, True, False]
    rules.append(explore.Rule("er", values=("Positive", "Negative"), keep_missing=True))
    assert explore.filter_mask(frame, rules).tolist() == [False, True, True, False]
    assert explore.filter_mask(frame, []).all()


def test_number_at_risk_and_landmark_helpers():
    t = np.array([1.0, 2, 2, 5, 8])
    assert number_at_risk(t, [0, 2, 2.5, 8, 9]).tolist() == [5, 4, 2, 1, 0]
    kmf = KaplanMeierFitter().fit(t, np.ones(5))
    assert kmf.event_table.loc[2.0, "at_risk"] == number_at_risk(t, [2.0])[0]
    shifted, event, kept = landmark(t, np.ones(5), 2.0)
    assert shifted.tolist() == [3.0, 6.0] and kept.sum() == 2
    assert landmark(t, np.ones(5), 0.0)[2].all()


def test_thin_curve_keeps_true_steps_and_ends():
    t = np.sort(np.random.default_rng(0).exponential(50, 20_000))
    km = explore.compare_groups(t, np.ones_like(t), pd.Series(["x"] * len(t))).curves
    thin = explore.thin_curve(km, 400)
    assert len(thin) <= 400 + 2
    assert thin["time"].iloc[0] == km["time"].iloc[0] and thin["time"].iloc[-1] == km["time"].iloc[-1]
    merged = km.merge(thin, on=["time"], suffixes=("", "_thin"))
    np.testing.assert_allclose(merged["survival"], merged["survival_thin"])  # kept points are exact
    assert explore.thin_curve(km.head(10), 400).equals(km.head(10))


def test_sample_rows():
    assert explore.sample_rows(10, 20).tolist() == list(range(10))
    rows = explore.sample_rows(100_000, 20_000, seed=1)
    assert len(rows) == 20_000 and len(set(rows)) == 20_000 and (np.diff(rows) > 0).all()


def test_top_genes_and_scores_by_group():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 30))
    groups = pd.Series(pd.Categorical(np.repeat(["a", "b", "c"], 40)))
    x[:40, 7] += 3.0  # gene 7 marks group a
    table, f_stat = explore.top_genes_by_group(x, [f"G{i}" for i in range(30)], groups, n_top=5)
    assert table.index[0] == "G7" and list(table.columns) == ["a", "b", "c"]
    assert table.loc["G7", "a"] > 1 and f_stat.iloc[0] == f_stat.max()
    means = explore.scores_by_group(pd.DataFrame({"s": x[:, 7]}), groups)
    assert means["n"].tolist() == [40, 40, 40] and means.loc["a", "s"] > means.loc["b", "s"]
    with pytest.raises(InputError):
        explore.top_genes_by_group(x, [f"G{i}" for i in range(30)], pd.Series(["a"] * 120))
    a, b = explore.two_groups(groups, "a")
    assert a.sum() == 40 and b.sum() == 80 and not (a & b).any()


def test_cohort_variables_skip_outcomes_and_ids(demo):
    variables = explore.cohort_variables(demo, _spec(demo), extra={"risk": ("Model risk", "continuous")})
    keys = [v.key for v in variables]
    assert keys[0] == "subtype" and "regimen" in keys and keys[-1] == "risk"
    assert not {"os_months", "os_event", "rfs_event", "patient_id"} & set(keys)
    kinds = {v.key: v.kind for v in variables}
    assert kinds["age_at_diagnosis"] == "continuous" and kinds["grade"] == "categorical"
    regimen = explore.variable_values(demo, _spec(demo), "regimen")
    assert regimen.notna().all() and "none" in set(regimen)
    with pytest.raises(InputError):
        explore.variable_values(demo, _spec(demo), "gene:NOT_A_GENE")


# --- figures --------------------------------------------------------------------------------------------------


def test_km_figure_draws_one_curve_per_group_with_at_risk_table_and_p(demo):
    obs = demo.obs
    result = explore.compare_groups(obs["os_months"], obs["os_event"], explore.split_groups(obs["subtype"]))
    caption = chart_caption("Demo", endpoint="OS", n=result.n, events=result.events)
    fig = json.loads(km_groups_figure(result, title="OS by subtype", caption=caption).to_json())
    curves = [t for t in fig["data"] if t.get("meta") == "km-curve"]
    assert len(curves) == len(result.groups)
    assert len([t for t in fig["data"] if t.get("meta") == "at-risk"]) == len(result.groups)
    assert any("Log-rank p" in a["text"] for a in fig["layout"]["annotations"])
    assert f"n={result.n:,}" in fig["layout"]["title"]["text"] and "events=" in fig["layout"]["title"]["text"]
    assert all("n=" in c["name"] and "events=" in c["name"] for c in curves)


def test_km_figure_thins_large_curves_and_says_so():
    rng = np.random.default_rng(1)
    t = rng.exponential(60, 50_000)
    e = rng.integers(0, 2, 50_000)
    result = explore.compare_groups(t, e, pd.Series(rng.choice(["x", "y"], 50_000)))
    fig = km_groups_figure(result, title="big", caption="c", max_points=300)
    assert all(len(tr.x) <= 302 for tr in fig.data if tr.meta == "km-curve")
    assert "≤300 time points" in fig.layout.title.text


def test_embedding_figure_categorical_and_continuous():
    frame = pd.DataFrame({"x": [0.0, 1, 2, 3], "y": [1.0, 0, 1, 0], "value": ["a", "b", None, "a"]})
    fig = embedding_figure(frame, kind="categorical", colour_label="g", title="t", caption="c", order=["a", "b"])
    assert [tr.type for tr in fig.data] == ["scattergl"] * 3 and fig.data[-1].name.startswith("missing")
    frame["value"] = [0.1, 0.2, np.nan, 0.4]
    fig = embedding_figure(frame, kind="continuous", colour_label="risk", title="t", caption="c")
    assert len(fig.data) == 2 and fig.data[0].marker.colorscale is not None
