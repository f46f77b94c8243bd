"""PREDICT's cumulative treatment display for one patient, and the cohort regimen each step corresponds to."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from genomics.errors import InputError
from models.predict_breast.equations import (
    CAVEAT,
    DEFAULT_YEARS,
    PredictInputs,
    check_years,
    inputs_frame,
    predict_table,
)

LADDER_LABELS = {"surgery": "Surgery only", "endocrine": "+ Endocrine therapy (5 years)", "radiotherapy": "+ Radiotherapy",
                 "chemotherapy": "+ Chemotherapy", "trastuzumab": "+ Trastuzumab",
                 "bisphosphonates": "+ Bisphosphonates"}


def treatment_ladder(
    inputs: PredictInputs,
    *,
    years: Sequence[int] = DEFAULT_YEARS,
    chemo_generation: int | None = None,
    radiotherapy: bool = True,
    bisphosphonates: bool | None = None,
) -> pd.DataFrame:
    """PREDICT's cumulative treatment display for one patient: one row per step, each adding one treatment.

    Steps: surgery only; + endocrine (ER+ only); + radiotherapy (when ``radiotherapy``); + chemotherapy
    (``chemo_generation``, default the patient's generation or 3rd); + trastuzumab (HER2+ only);
    + bisphosphonates (when ``bisphosphonates``, default the patient's value: PREDICT offers it to
    post-menopausal women). The treatments recorded in ``inputs`` are otherwise ignored: every step starts from
    surgery. With ``radiotherapy`` every step uses the radiotherapy extension (surgery only = no radiotherapy).

    Columns: ``step`` (key), ``label``, ``treatments`` (PREDICT letters), the :func:`predict_survival` columns,
    ``os_benefit_{y}y`` / ``bcss_benefit_{y}y`` (gain over the previous step) and ``os_benefit_total_{y}y``
    (over surgery only), all proportions. ``attrs["caveat"]`` says research use only.
    """
    ys = check_years(years)
    generation = chemo_generation if chemo_generation is not None else (inputs.chemo_generation or 3)
    if generation not in (2, 3):
        raise InputError(f"Chemotherapy generation for the ladder must be 2 or 3, not {generation!r}.")
    with_bis = inputs.bisphosphonates if bisphosphonates is None else bisphosphonates
    current = replace(inputs, chemo_generation=0, endocrine=False, trastuzumab=False, bisphosphonates=False,
                      radiotherapy=False if radiotherapy else None)
    steps: list[tuple[str, PredictInputs]] = [("surgery", current)]
    additions = [("endocrine", bool(inputs.er), {"endocrine": True}),
                 ("radiotherapy", radiotherapy, {"radiotherapy": True}),
                 ("chemotherapy", True, {"chemo_generation": generation}),
                 ("trastuzumab", inputs.her2 is True, {"trastuzumab": True}),
                 ("bisphosphonates", bool(with_bis), {"bisphosphonates": True})]
    for key, applies, change in additions:
        if applies:
            current = replace(current, **change)
            steps.append((key, current))
    table = predict_table(inputs_frame([p for _, p in steps]), years=ys).drop(columns="note")
    chemo_label = {2: " (2nd generation)", 3: " (3rd generation)"}[generation]
    labels = [LADDER_LABELS[k] + (chemo_label if k == "chemotherapy" else "") for k, _ in steps]
    table.insert(0, "treatments", [p.treatments for _, p in steps])
    table.insert(0, "label", labels)
    table.insert(0, "step", [k for k, _ in steps])
    for y in ys:
        table[f"os_benefit_{y}y"] = table[f"os_{y}y"].diff().fillna(0.0)
        table[f"bcss_benefit_{y}y"] = table[f"bcss_{y}y"].diff().fillna(0.0)
        table[f"os_benefit_total_{y}y"] = table[f"os_{y}y"] - table[f"os_{y}y"].iloc[0]
    table = table.reset_index(drop=True)
    table.attrs["caveat"] = CAVEAT
    return table


#: PREDICT's treatment letters (see :meth:`PredictInputs.treatment_code`) and the cohort treatment columns they
#: correspond to in OncoTx's breast cohorts (trastuzumab and bisphosphonates have no cohort column).
LETTER_COLUMNS = {"h": "hormone_therapy", "r": "radio_therapy", "c": "chemotherapy"}


def ladder_regimens(ladder: pd.DataFrame, treatments: Sequence[str]) -> list[str | None]:
    """For each ladder step, the cohort regimen name (treatments joined by '+', 'none') it corresponds to.

    None where the step adds a treatment the cohort does not record (trastuzumab, bisphosphonates).
    """
    out: list[str | None] = []
    for code in ladder["treatments"].astype(str):
        letters = [] if code == "surgery" else code.split("+")
        columns = [LETTER_COLUMNS.get(letter) for letter in letters]
        if any(c is None or c not in treatments for c in columns):
            out.append(None)
            continue
        chosen = [t for t in treatments if t in columns]
        out.append("+".join(chosen) if chosen else "none")
    return out
