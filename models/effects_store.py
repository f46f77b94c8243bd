"""Persistence of the treatment-effect model (models.effects): weights in safetensors, everything else in JSON.

No pickle: a saved model is arrays and a readable card (its hyperparameters, modifiers, strata, the genes its
screen found and the formula of its log hazards), so it can be audited and loaded by any version that knows
the format. Format 1 (one cancer baseline hazard) still loads, as a single stratum.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from models.errors import ModelError
from models.modifiers import Modifiers

FORMAT_VERSION = 2  # 2: one cancer baseline hazard per stratum (H_c is fits x strata x grid)
WEIGHTS_FILE = "effects.safetensors"
META_FILE = "effects_meta.json"


def save_effects(model: Any, folder: Path, *, hazard_grid: np.ndarray) -> list[str]:
    """Write a fitted :class:`models.effects.TreatmentEffectModel` to ``folder``; returns the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"coef_c": model.coef_c_, "H_c": model.H_c_, "M": model.modifiers_.M, "centre": model.modifiers_.centre,
              "scale": model.modifiers_.scale, "x_mean": model.modifiers_.x_mean}
    if model.modifiers_.lower is not None:
        arrays |= {"z_lower": model.modifiers_.lower, "z_upper": model.modifiers_.upper}
    if model.coef_o_ is not None:
        arrays |= {"coef_o": model.coef_o_, "H_o": model.H_o_}
    save_file({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()}, str(folder / WEIGHTS_FILE),
              metadata={"format": "oncotx-effects", "version": str(FORMAT_VERSION)})
    meta = {
        "format_version": FORMAT_VERSION, "model": model.name,
        "hyperparameters": {"n_bootstrap": model.n_bootstrap, "n_pcs": model.n_pcs, "penalty_path": model.penalty_path,
                            "penalty_grid": list(model.penalty_grid), "cv_folds": model.cv_folds, "seed": model.seed,
                            "gene_screen": model.gene_screen, "screen_fdr": model.screen_fdr,
                            "replicate_fdr": model.replicate_fdr, "stratify": model.stratify},
        "strata": {"field": "anchor levels (anchor_names)", "stratum_of_level": model.stratum_of_level_,
                   "shares": model.stratum_shares_},
        "screen": model.screen_, "screen_genes": model.screen_genes_,
        "selection_frequency": model.selection_frequency_,
        "feature_names": model.feature_names_, "treatment_index": model.treatment_index_,
        "treatments": model.treatments_, "modifier_names": model.modifiers_.names,
        "modifier_groups": model.modifiers_.groups, "competing_risks": model.competing_risks_,
        "anchor_cols": model.modifiers_.anchor_cols, "anchor_names": model.modifiers_.anchor_names,
        "anchor_means": model.modifiers_.anchor_means.tolist(),
        "splines": [[j, knots] for j, knots in model.modifiers_.splines],
        "penalty": model.penalty_, "cv_scores": model.cv_scores_, "max_event_time": model.max_event_time_,
        "n_train": model.n_train_, "events": model.events_, "fit_seconds": round(model.fit_seconds_, 3),
        "hazard_grid": [float(hazard_grid[0]), float(hazard_grid[-1]), float(hazard_grid[1] - hazard_grid[0])],
        "log_hazard": "cancer: log H0_c[stratum] + beta'z + sum_k a_k (theta_k'g + delta_k'z); other cause: "
                      "log H0_o + eta'z; stratum = strata.stratum_of_level[anchor level]; "
                      "z = (x_rest M - c) / s; g = anchor one-hot columns of x_rest",
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return [WEIGHTS_FILE, META_FILE]


def load_effects(cls: type, folder: Path) -> Any:
    """Read a model written by :func:`save_effects` (format 1 or 2) as an instance of ``cls``."""
    meta_path, weights_path = folder / META_FILE, folder / WEIGHTS_FILE
    if not meta_path.is_file() or not weights_path.is_file():
        raise ModelError(f"No treatment-effect model in {folder} (needs {WEIGHTS_FILE} and {META_FILE}).")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("model") != cls.name or int(meta.get("format_version", -1)) > FORMAT_VERSION:
        raise ModelError(f"{meta_path.name} is not a treatment-effect model this version can read.")
    arrays = load_file(str(weights_path))
    model = cls(**meta["hyperparameters"])
    model.feature_names_ = list(meta["feature_names"])
    model.treatment_index_ = [int(i) for i in meta["treatment_index"]]
    model.treatments_ = list(meta["treatments"])
    model.modifiers_ = Modifiers(list(meta["modifier_names"]), list(meta["modifier_groups"]), arrays["M"],
                                 arrays["centre"], arrays["scale"], arrays["x_mean"],
                                 [int(j) for j in meta["anchor_cols"]], list(meta["anchor_names"]),
                                 np.asarray(meta["anchor_means"], dtype=np.float64),
                                 [(int(j), [float(v) for v in knots]) for j, knots in meta["splines"]],
                                 arrays.get("z_lower"), arrays.get("z_upper"))  # absent before: not held
    model.coef_c_, model.H_c_ = arrays["coef_c"], arrays["H_c"]
    strata = meta.get("strata")  # format 1: one cancer baseline hazard
    if model.H_c_.ndim == 2:
        model.H_c_ = model.H_c_[:, None, :]
    model.stratum_of_level_ = ([int(s) for s in strata["stratum_of_level"]] if strata
                               else [0] * len(model.modifiers_.anchor_names))
    model.stratum_shares_ = [float(v) for v in strata["shares"]] if strata else [1.0]
    model.coef_o_, model.H_o_ = arrays.get("coef_o"), arrays.get("H_o")
    model.competing_risks_ = bool(meta["competing_risks"])
    model.penalty_ = float(meta["penalty"])
    model.cv_scores_ = list(meta["cv_scores"])
    model.max_event_time_ = float(meta["max_event_time"])
    model.n_train_ = int(meta["n_train"])
    model.events_ = dict(meta["events"])
    model.fit_seconds_ = float(meta["fit_seconds"])
    model.screen_ = list(meta.get("screen", []))
    model.screen_genes_ = list(meta.get("screen_genes", []))
    model.selection_frequency_ = dict(meta.get("selection_frequency", {}))
    return model
