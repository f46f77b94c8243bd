"""genomics.percentile.percentiles and median equal np.percentile (the 'linear' method) bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

from genomics.percentile import median, percentiles

QS = ([5.0, 95.0], [0.0, 100.0], [2.5, 50.0, 97.5], [33.3], [99.9, 0.1], [10.0, 90.0])


@pytest.mark.parametrize("n", [1, 2, 3, 10, 20, 50, 51, 101])
@pytest.mark.parametrize("q", QS)
def test_equals_numpy_bit_for_bit(n: int, q: list[float]) -> None:
    rng = np.random.default_rng(n)
    values = rng.normal(size=(3, 40, 2, n)) * rng.choice([1e-9, 1.0, 1e6], size=(3, 40, 2, 1))
    values[0, :5] = np.round(values[0, :5])  # ties
    expected = np.percentile(values, q, axis=-1)
    got = percentiles(values, q)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_nan_and_inf_rows_match_numpy() -> None:
    rng = np.random.default_rng(7)
    values = rng.random((30, 50))
    values[3, 10] = np.nan
    values[4, :] = np.nan
    values[5, 0] = np.inf
    values[6, :] = -np.inf
    values[7, 20:] = np.inf
    with np.errstate(invalid="ignore"):
        expected = np.percentile(values, [5, 95], axis=-1)
        got = percentiles(values, [5, 95])
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got[:, 3]).all() and np.isnan(got[:, 4]).all()


def test_float32_matches_numpy() -> None:
    values = np.random.default_rng(3).random((100, 51)).astype(np.float32)
    expected = np.percentile(values, [5, 95], axis=-1)
    got = percentiles(values, [5, 95])
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_refuses_what_it_cannot_answer() -> None:
    with pytest.raises(TypeError):
        percentiles(np.arange(10), [5])
    with pytest.raises(ValueError):
        percentiles(np.zeros((3, 0)), [5])


@pytest.mark.parametrize("n", [1, 2, 3, 50, 51, 300])
def test_median_equals_numpy(n: int) -> None:
    rng = np.random.default_rng(n)
    values = np.abs(rng.normal(size=(200, n))) * rng.choice([1e-9, 1.0, 1e6], size=(200, 1))
    values[:20] = np.round(values[:20])
    values[20, 0] = np.nan
    values[21, :] = np.inf
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(median(values), np.median(values, axis=-1))
    for bad in (np.arange(5), np.zeros((2, 0))):
        with pytest.raises((TypeError, ValueError)):
            median(bad)
