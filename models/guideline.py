"""A guideline rule for early breast cancer: the default regimen the engine's options are weighed against.

It stands in for the clinical guidelines' first-line adjuvant choice (endocrine therapy in ER-positive disease;
chemotherapy in ER-negative or HER2-positive disease, or grade 3 with positive nodes; radiotherapy for
node-positive or larger tumours: the cohorts record no surgery type, so this stands in for "after
breast-conserving surgery"). The engine presents an option other than this default first only where its
bootstrap replicates agree (:func:`models.decision.guided_choice`); ``bench.treatment`` measures that policy
against the rule itself. Research use: a rule of thumb, not a clinical guideline.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from genomics.spec import BREAST_TREATMENTS

GUIDELINE_RULE = ("endocrine therapy if ER-positive; chemotherapy if ER-negative, HER2-positive, or grade 3 with "
                  "positive nodes; radiotherapy if node-positive or the tumour is over 20 mm")
#: The record fields the rule reads; a patient missing one has no guideline regimen ("").
REQUIRED_FIELDS = ("er_status", "her2_status", "grade", "lymph_nodes_positive", "tumor_size_mm")


def guideline_regimen(obs: pd.DataFrame, treatments: Sequence[str] = BREAST_TREATMENTS) -> np.ndarray:
    """The rule's regimen per row (names as :func:`genomics.regimens.regimens` writes them, restricted to
    ``treatments``), or "" where a field the rule needs is missing."""
    n = len(obs)
    if any(f not in obs.columns for f in REQUIRED_FIELDS):
        return np.full(n, "", dtype=object)
    er, her2 = obs["er_status"].astype("string"), obs["her2_status"].astype("string")
    grade = pd.to_numeric(obs["grade"], errors="coerce")
    nodes = pd.to_numeric(obs["lymph_nodes_positive"], errors="coerce")
    size = pd.to_numeric(obs["tumor_size_mm"], errors="coerce")
    known = (er.isin(["Positive", "Negative"]) & her2.isin(["Positive", "Negative"]) & grade.notna() & nodes.notna()
             & size.notna()).to_numpy()
    er_neg = (er == "Negative").fillna(False).to_numpy(dtype=bool)
    parts = {
        "chemotherapy": er_neg | (her2 == "Positive").fillna(False).to_numpy(dtype=bool)
        | ((grade == 3) & (nodes > 0)).to_numpy(dtype=bool),
        "hormone_therapy": ~er_neg,
        "radio_therapy": ((nodes > 0) | (size > 20)).to_numpy(dtype=bool),
    }
    on = [(t, parts[t]) for t in treatments if t in parts]
    names = ["+".join(t for t, flag in on if flag[i]) or "none" for i in range(n)]
    return np.where(known, np.asarray(names, dtype=object), "").astype(object)
