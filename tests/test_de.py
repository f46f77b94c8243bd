"""Differential expression: ER-associated genes top METABRIC's ER+ vs ER- comparison, p-values agree with
scipy's Mann-Whitney U and Welch t-test, the input is never modified, and bad groups are refused clearly."""
from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from genomics.de import COLUMNS, differential_expression, differential_expression_masks
from genomics.errors import InputError

realdata = pytest.mark.realdata




@pytest.fixture(scope="module")
def er_wilcoxon(metabric) -> pd.DataFrame:
    return differential_expression(metabric, groupby="er_status", group="Positive", method="wilcoxon")


def _by_er(adata: ad.AnnData, gene: str) -> tuple[np.ndarray, np.ndarray]:
    x = adata[:, gene].X.ravel().astype(float)
    er = adata.obs["er_status"].astype(str).to_numpy()
    return x[er == "Positive"], x[er == "Negative"]


@realdata
def test_metabric_er_positive_vs_negative(metabric, er_wilcoxon):
    table = er_wilcoxon
    assert tuple(table.columns) == COLUMNS and len(table) == 300
    assert "ESR1" not in metabric.var_names  # not among METABRIC's 300 z-scored genes; GATA3 is
    top = table.head(5).set_index("gene")
    assert "GATA3" in top.index
    assert top.loc["GATA3", "log2_fold_change"] > 1.0 and top.loc["GATA3", "p_adj"] < 1e-10  # 1.90, 2e-201
    assert np.all(np.diff(table["p_value"]) >= 0)
    np.testing.assert_allclose(table["p_adj"], stats.false_discovery_control(table["p_value"]), rtol=1e-9)
    np.testing.assert_allclose(table["log2_fold_change"], table["mean_group"] - table["mean_reference"])
    assert table.attrs["n_group"] == 1459 and table.attrs["n_reference"] == 445
    assert table.attrs["effect"].startswith("difference of mean z-scores")


@realdata
@pytest.mark.parametrize("gene", ["GATA3", "KDM6A"])  # KDM6A: p ~ 4e-6 and tied (median-imputed) values
def test_wilcoxon_agrees_with_mannwhitneyu(metabric, er_wilcoxon, gene):
    pos, neg = _by_er(metabric, gene)
    expected = stats.mannwhitneyu(pos, neg, method="asymptotic", use_continuity=False).pvalue
    got = er_wilcoxon.set_index("gene").loc[gene, "p_value"]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@realdata
def test_t_test_is_welch(metabric):
    table = differential_expression(metabric, groupby="er_status", group="Positive", method="t-test")
    row = table.set_index("gene").loc["GATA3"]
    pos, neg = _by_er(metabric, "GATA3")
    welch = stats.ttest_ind(pos, neg, equal_var=False)
    np.testing.assert_allclose(row["p_value"], welch.pvalue, rtol=1e-6)
    np.testing.assert_allclose(row["statistic"], welch.statistic, rtol=1e-6)
    student = stats.ttest_ind(pos, neg, equal_var=True)
    assert not np.isclose(row["statistic"], student.statistic, rtol=1e-3)


def test_input_is_not_modified(demo):
    adata = demo.copy()
    before_x, before_obs, before_uns = adata.X.copy(), adata.obs.copy(), set(adata.uns)
    differential_expression(adata, groupby="subtype", group="Basal", method="wilcoxon")
    differential_expression(adata, groupby="subtype", group="Basal", method="t-test")
    assert np.array_equal(adata.X, before_x) and adata.obs.equals(before_obs) and set(adata.uns) == before_uns


def test_named_reference_group_and_masks_agree(demo):
    by_value = differential_expression(demo, groupby="subtype", group="Basal", reference="LumA", method="t-test")
    subtype = demo.obs["subtype"].astype(str).to_numpy()
    by_mask = differential_expression_masks(demo, mask_a=subtype == "Basal", mask_b=subtype == "LumA",
                                            method="t-test")
    pd.testing.assert_frame_equal(by_value, by_mask)
    esr1 = by_value.set_index("gene").loc["ESR1"]
    assert esr1["log2_fold_change"] < -2 and esr1["p_adj"] < 1e-10  # Basal is ER-low
    basal = demo[subtype == "Basal", "ESR1"].X.mean()
    np.testing.assert_allclose(esr1["mean_group"], basal, rtol=1e-6)


def test_genes_with_missing_values_are_left_out(demo):
    adata = demo[:, :50].copy()
    adata.X[0, 3] = np.nan
    table = differential_expression(adata, groupby="er_status", group="Positive")
    assert len(table) == 49 and table.attrs["skipped_genes"] == [adata.var_names[3]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"groupby": "nope", "group": "x"}, "No column 'nope'"),
        ({"groupby": "subtype", "group": "Luminal"}, "no value 'Luminal'; values present: Basal, Her2"),
        ({"groupby": "subtype", "group": "Basal", "reference": "Claudin"}, "no value 'Claudin'"),
        ({"groupby": "subtype", "group": "Basal", "method": "logreg"}, "Unknown method"),
    ],
)
def test_bad_groups_are_refused(demo, kwargs, message):
    with pytest.raises(InputError, match=message):
        differential_expression(demo, **kwargs)


def test_small_or_overlapping_groups_are_refused(demo):
    tiny = np.zeros(demo.n_obs, dtype=bool)
    tiny[:2] = True
    with pytest.raises(InputError, match="'A' has 2 sample.*at least 3"):
        differential_expression_masks(demo, mask_a=tiny, mask_b=~tiny)
    with pytest.raises(InputError, match="disjoint"):
        differential_expression_masks(demo, mask_a=np.ones(demo.n_obs, bool), mask_b=tiny)
    with pytest.raises(InputError, match="boolean array"):
        differential_expression_masks(demo, mask_a=np.arange(demo.n_obs), mask_b=tiny)
    small = demo[:40].copy()
    small.obs["arm"] = ["x", "y"] + ["z"] * 38
    with pytest.raises(InputError, match="'arm=x' has 1 sample"):
        differential_expression(small, groupby="arm", group="x")


def test_linear_scale_is_refused(demo):
    counts = demo[:20, :30].copy()
    counts.uns["oncotx"] = {"scale": "counts"}
    counts.obs["arm"] = ["a"] * 10 + ["b"] * 10
    with pytest.raises(InputError, match="log-scale or z-score"):
        differential_expression(counts, groupby="arm", group="a")


@pytest.mark.parametrize("func", [differential_expression, differential_expression_masks])
def test_adata_first_options_keyword_only(func):
    import inspect

    params = list(inspect.signature(func).parameters.values())
    assert params[0].name == "adata" and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:])
