"""Simulated outcomes: treatment effects of each scenario, the cancer-specific Weibull and other-cause Gompertz
hazards, and the analytic survival of any patient under any regimen (:func:`true_survival`)."""
from __future__ import annotations

from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd

from genomics.demo.clinical import sigmoid
from genomics.demo.parameters import GROUND_TRUTH_PARAMS, PROGRAMS, REGIMENS, SCENARIOS, SUBTYPES
from genomics.regimens import regimen_labels
from genomics.spec import BREAST_TREATMENTS


def _scenario_effects(scenario: str, effects: dict[str, np.ndarray], p: dict[str, np.ndarray],
                      c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Treatment log hazard ratios of a benchmark scenario (see GROUND_TRUTH_PARAMS["scenarios"])."""
    if scenario in ("guideline", "confounded") or scenario.startswith("gene_modifiers"):
        return effects  # the gene-modifier family adds its gene terms to these (genomics.demo.modifier_genes)
    if scenario == "weak":
        return {k: 0.3 * v for k, v in effects.items()}
    age10, nodes = (c["age"] - 60.0) / 10.0, c["nodes"]
    if scenario == "linear":
        return {
            "chemotherapy": -0.30 - 0.20 * p["proliferation"] + 0.15 * p["luminal"] + 0.10 * age10,
            "hormone_therapy": -0.15 - 0.25 * p["luminal"],
            "radio_therapy": -0.10 - 0.10 * np.log1p(nodes) + 0.05 * age10,
        }
    if scenario == "nonlinear":
        high = p["proliferation"] > 0.5
        return {
            "chemotherapy": -0.55 * (high & ~c["er"]) - 0.30 * (high & c["er"] & (nodes >= 4)) + 0.20 * (c["age"] > 70),
            "hormone_therapy": -0.55 * sigmoid(3.0 * (p["luminal"] - 1.0)),
            "radio_therapy": -0.30 * ((nodes >= 1) & (c["size"] > 30)),
        }
    if scenario == "gene_driven":
        return {
            "chemotherapy": 0.15 - 0.90 * sigmoid(2.5 * p["immune"]),
            "hormone_therapy": -0.60 * c["er"] * (1.0 - sigmoid(3.0 * (p["proliferation"] - 0.5))),
            "radio_therapy": 0.05 - 0.45 * (p["nuisance_1"] > 0.3),
        }
    raise ValueError(f"Unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}.")


def cancer_model(subtype: np.ndarray, z: np.ndarray, c: dict[str, np.ndarray], *,
                  scenario: str = "guideline") -> dict[str, np.ndarray]:
    """Per-patient log scale, shape and treatment log hazard ratios of the cancer-specific hazard."""
    p = {name: z[:, i] for i, name in enumerate(PROGRAMS)}
    cd, te = GROUND_TRUTH_PARAMS["cancer_death"], GROUND_TRUTH_PARAMS["treatment_effects"]
    lp_b = cd["lp"]
    sub_eff = np.array([lp_b["subtype"][s] for s in SUBTYPES])
    lp = (
        lp_b["proliferation"] * p["proliferation"] + lp_b["log1p_nodes"] * np.log1p(c["nodes"])
        + lp_b["log_size_over_22"] * np.log(c["size"] / 22.0) + lp_b["grade_minus_2"] * (c["grade"] - 2)
        + np.where(c["er"], lp_b["immune_if_er_positive"], lp_b["immune_if_er_negative"]) * p["immune"]
        + lp_b["stromal"] * p["stromal"] + lp_b["age_under_40"] * (c["age"] < 40) + sub_eff[subtype]
    )
    scale = np.where(c["er"], cd["scale"]["Positive"], cd["scale"]["Negative"])
    shape = np.where(c["er"], cd["shape"]["Positive"], cd["shape"]["Negative"])
    h = te["hormone_therapy"]
    luminal = np.isin(subtype, [SUBTYPES.index("LumA"), SUBTYPES.index("LumB")])
    hormone = np.where(
        c["er"],
        -(h["base"] + h["luminal_subtype"] * luminal + h["luminal_score"] * np.clip(p["luminal"], 0.0, 2.0)),
        0.0,
    )
    ch = te["chemotherapy"]
    ch_sub = np.array([ch["subtype"][s] for s in SUBTYPES])
    chemo = np.minimum(
        0.0,
        ch_sub[subtype] + ch["proliferation"] * np.clip(p["proliferation"], -1.0, 2.0) + ch["er_negative"] * ~c["er"],
    )
    r = te["radio_therapy"]
    radio = r["base"] + r["node_positive"] * (c["nodes"] > 0)
    effects = _scenario_effects(
        scenario, {"chemotherapy": chemo, "hormone_therapy": hormone, "radio_therapy": radio}, p, c)
    return {
        "cancer_log_scale": np.log(scale) + lp,
        "cancer_shape": shape,
        **{f"loghr_{t}": np.broadcast_to(np.asarray(effects[t], dtype=float), lp.shape).copy() for t in BREAST_TREATMENTS},
    }


def other_cause_log_h0(age: np.ndarray) -> np.ndarray:
    oc = GROUND_TRUTH_PARAMS["other_cause_death"]
    return oc["log_h70"] + oc["slope"] * (age - 70.0)


REGIMEN_MASKS: dict[str, np.ndarray] = {
    r: np.array([t in r.split("+") for t in BREAST_TREATMENTS], dtype=float) for r in REGIMENS
}


def regimen_mask(regimen: str | Sequence[str], n: int) -> np.ndarray:
    """(n, len(BREAST_TREATMENTS)) 0/1 matrix of the treatments in ``regimen`` (one name, or one per patient)."""
    names = [regimen] if isinstance(regimen, str) else list(regimen)
    unknown = sorted(set(names) - set(REGIMENS))
    if unknown:
        raise ValueError(f"Unknown regimen {unknown[0]!r}; expected one of {', '.join(REGIMENS)}.")
    if isinstance(regimen, str):
        return np.broadcast_to(REGIMEN_MASKS[regimen], (n, len(BREAST_TREATMENTS)))
    if len(names) != n:
        raise ValueError(f"Got {len(names)} regimens for {n} patients.")
    return np.array([REGIMEN_MASKS[r] for r in names]).reshape(n, len(BREAST_TREATMENTS))


def cumulative_hazards(
    latent: pd.DataFrame | dict[str, np.ndarray], months: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cancer-specific and other-cause cumulative hazards, shape (n, len(months))."""
    slope = GROUND_TRUTH_PARAMS["other_cause_death"]["slope"]
    loghr = np.column_stack([np.asarray(latent[f"loghr_{t}"], dtype=float) for t in BREAST_TREATMENTS])
    log_scale = np.asarray(latent["cancer_log_scale"], dtype=float) + (mask * loghr).sum(axis=1)
    shape = np.asarray(latent["cancer_shape"], dtype=float)
    t = np.asarray(months, dtype=float)[None, :]
    h_c = np.exp(log_scale)[:, None] * (t / 120.0) ** shape[:, None]
    h_o = np.exp(np.asarray(latent["other_cause_log_h0"], dtype=float))[:, None] / slope * np.expm1(slope * t / 12.0)
    return h_c, h_o


def true_survival(
    adata: ad.AnnData,
    *,
    months: float | Sequence[float] | np.ndarray,
    regimen: str | Sequence[str],
    cancer_specific: bool = False,
) -> np.ndarray:
    """True survival probability of each demo patient under ``regimen`` (analytic, from the simulation).

    Parameters
    ----------
    adata
        A demo cohort from :func:`make_demo_cohort` (reads ``obsm["true_latent"]``); any row subset works.
    months
        One horizon (returns shape ``(n_obs,)``) or several (returns ``(n_obs, len(months))``), in months.
    regimen
        A name from :data:`REGIMENS` for every patient, or one name per patient (e.g. :func:`regimen_of`).
    cancer_specific
        Cancer-specific (net) survival ``exp(-H_c)`` instead of all-cause ``exp(-H_c - H_o)``.
    """
    if "true_latent" not in adata.obsm:
        raise ValueError("This AnnData has no simulation ground truth (obsm['true_latent']).")
    t = np.atleast_1d(np.asarray(months, dtype=float))
    if t.ndim != 1 or np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError("months must be finite and >= 0.")
    h_c, h_o = cumulative_hazards(adata.obsm["true_latent"], t, regimen_mask(regimen, adata.n_obs))
    surv = np.exp(-h_c) if cancer_specific else np.exp(-(h_c + h_o))
    return surv[:, 0] if np.ndim(months) == 0 else surv


def regimen_of(obs: pd.DataFrame, treatments: tuple[str, ...] = BREAST_TREATMENTS) -> pd.Series:
    """The regimen each row received: the treatment columns equal to 1 joined by "+", or "none"."""
    return regimen_labels(obs, tuple(treatments))
