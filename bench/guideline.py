"""The guideline rule the treatment benchmarks compare the engine with (bench.treatment, bench.treatment_metabric)."""
from __future__ import annotations

import pandas as pd


def guideline_regimen(obs: pd.DataFrame) -> list[str]:
    """Endocrine therapy if ER+; chemotherapy if ER-, HER2+, or grade 3 with positive nodes; radiotherapy
    for node-positive or > 20 mm tumours (the cohort records no surgery type, so this stands in for
    'after breast-conserving surgery')."""
    out = []
    for _, r in obs.iterrows():
        parts = []
        er_neg = r["er_status"] == "Negative"
        if er_neg or r["her2_status"] == "Positive" or (r["grade"] == 3 and r["lymph_nodes_positive"] > 0):
            parts.append("chemotherapy")
        if not er_neg:
            parts.append("hormone_therapy")
        if r["lymph_nodes_positive"] > 0 or r["tumor_size_mm"] > 20:
            parts.append("radio_therapy")
        out.append("+".join(parts) or "none")
    return out
