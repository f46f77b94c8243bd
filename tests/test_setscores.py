"""Within-sample rank scores of gene sets (genomics.setscores): hand-computed values and invariances."""
from __future__ import annotations

import numpy as np
import pytest

from genomics.setscores import BREAST_MODULES, MIN_SET_GENES, rank_scores, sets_on

GENES = ["A", "B", "C", "D", "E"]


def test_hand_computed_scores():
    z = np.array([[2.0, 1.0, 0.0, -1.0, -2.0]])  # ranks 5,4,3,2,1 -> (r - 0.5)/5 = .9,.7,.5,.3,.1
    out = rank_scores(z, GENES, {"top": ("A", "B"), "bottom": ("D", "E"), "all": tuple(GENES)})
    np.testing.assert_allclose(out, [[0.3, -0.3, 0.0]])


def test_scores_ignore_scale_and_offset_and_unmeasured_genes():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 5))
    sets = {"s": ("A", "C", "E")}
    np.testing.assert_allclose(rank_scores(z, GENES, sets), rank_scores(3.0 * z + 7.0, GENES, sets))
    z[0, 2] = np.nan  # C not measured in sample 0: the set is scored on A and E over 4 measured genes
    ranks = (np.argsort(np.argsort(z[0, [0, 1, 3, 4]])) + 1 - 0.5) / 4
    assert rank_scores(z, GENES, sets)[0, 0] == pytest.approx((ranks[0] + ranks[3]) / 2 - 0.5)


def test_sets_need_enough_measured_members():
    kept = sets_on(["KRT5", "KRT14", "KRT17", "ESR1"], BREAST_MODULES)
    assert set(kept) == {"basal"} and kept["basal"] == ("KRT5", "KRT14", "KRT17")
    assert len(kept["basal"]) >= MIN_SET_GENES
    assert sets_on(["KRT5", "KRT14"], BREAST_MODULES) == {}


def test_a_sample_with_nothing_measured_scores_nan():
    out = rank_scores(np.full((1, 5), np.nan), GENES, {"s": ("A", "B", "C")})
    assert np.isnan(out).all()
