"""Simulated clinical fields (age, menopause, size, grade, nodes, ER/PR/HER2) and treatment assignment
(confounded by indication)."""
from __future__ import annotations

import numpy as np

from genomics.demo.parameters import GROUND_TRUTH_PARAMS, PROGRAMS, SUBTYPES


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))



def simulate_clinical(rng: np.random.Generator, subtype: np.ndarray, z: np.ndarray) -> dict[str, np.ndarray]:
    n = len(subtype)
    p = {name: z[:, i] for i, name in enumerate(PROGRAMS)}
    cl = GROUND_TRUTH_PARAMS["clinical"]
    shift = np.array([cl["age_shift"][s] for s in SUBTYPES])
    age = np.clip(61.0 + shift[subtype] + 12.5 * rng.standard_normal(n), 24.0, 95.0).round(1)
    post = rng.random(n) < sigmoid((age - 50.5) / 1.8)
    size = np.exp(np.log(22.0) + 0.12 * p["proliferation"] + 0.08 * p["basal"] + 0.45 * rng.standard_normal(n))
    size = np.clip(np.round(size), 2.0, 180.0)
    g = p["proliferation"] + 0.6 * rng.standard_normal(n)
    c1, c2 = cl["grade_cuts"]
    grade = 1 + (g > c1).astype(np.int64) + (g > c2).astype(np.int64)
    node_pos = rng.random(n) < sigmoid(-0.25 + 1.0 * np.log(size / 22.0) + 0.25 * p["proliferation"])
    extra = rng.negative_binomial(0.9, 0.9 / (0.9 + 2.5), n)
    nodes = np.where(node_pos, np.minimum(1 + extra, 45), 0).astype(np.int64)
    er = p["luminal"] + 0.3 * rng.standard_normal(n) > -0.7
    pr = p["progesterone"] + 0.3 * rng.standard_normal(n) > 0.45
    her2 = p["her2_amplicon"] + 0.3 * rng.standard_normal(n) > 1.3
    return {"age": age, "post": post, "size": size, "grade": grade, "nodes": nodes, "er": er, "pr": pr, "her2": her2}


def treatment_probabilities(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    ta = GROUND_TRUTH_PARAMS["treatment_assignment"]
    age60, node_pos, log_size = c["age"] - 60.0, c["nodes"] > 0, np.log(c["size"] / 22.0)
    b = ta["chemotherapy"]
    chemo = sigmoid(
        b["intercept"] + b["age_minus_60"] * age60 + b["node_positive"] * node_pos
        + b["nodes_capped_10"] * np.minimum(c["nodes"], 10) + b["grade_3"] * (c["grade"] == 3)
        + b["er_negative"] * ~c["er"] + b["her2_positive"] * c["her2"] + b["log_size_over_22"] * log_size
    )
    b = ta["hormone_therapy"]
    hormone = sigmoid(
        np.where(c["er"], b["er_positive_intercept"], b["er_negative_intercept"])
        + b["age_minus_60"] * age60 + b["node_positive"] * node_pos
    )
    b = ta["radio_therapy"]
    radio_lp = (
        b["intercept"] + b["node_positive"] * node_pos + b["age_minus_60"] * age60 + b["log_size_over_22"] * log_size
    )
    return {"chemotherapy": chemo, "hormone_therapy": hormone, "radio_lp": radio_lp}
