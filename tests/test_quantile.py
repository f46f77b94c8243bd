"""genomics.quantile.quantile_map_rows equals the per-row definition (mid-ranks of the finite values, ties
averaged, mapped onto the target profile by interpolation), on rows with ties, NaN, infinities and -0.0."""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from genomics.quantile import quantile_map_rows


def _one_row(row: np.ndarray, target: np.ndarray) -> np.ndarray:
    out = np.full_like(row, np.nan)
    mask = np.isfinite(row)
    n = int(mask.sum())
    if n:
        grid = (np.arange(len(target)) + 0.5) / len(target)
        out[mask] = np.interp((rankdata(row[mask]) - 0.5) / n, grid, target)
    return out


def test_rows_at_once_equal_the_row_by_row_definition():
    rng = np.random.default_rng(0)
    target = np.sort(rng.normal(size=50))
    rows = rng.normal(size=(40, 30)).round(1)  # rounding makes ties
    rows[3, :5] = np.nan
    rows[7, 2] = np.inf
    rows[8, :] = np.nan
    rows[9, 0], rows[9, 1] = -0.0, 0.0
    got = quantile_map_rows(rows, target)
    want = np.vstack([_one_row(r, target) for r in rows])
    np.testing.assert_array_equal(got, want)
