"""Treatments by subgroup: patients (and events) per subgroup x regimen, with a thin-evidence flag."""
from __future__ import annotations

import pandas as pd

from dashboard.cohort.explore.variables import as_text, category_order
from genomics.errors import InputError
from genomics.regimens import regimen_labels
from genomics.spec import CohortSpec

THIN_EVIDENCE = 20  # fewer patients than this in a subgroup x regimen cell: evidence is thin


def treatment_counts(
    obs: pd.DataFrame, spec: CohortSpec, groups: pd.Series, *, event: pd.Series | None = None,
    thin: int = THIN_EVIDENCE,
) -> pd.DataFrame:
    """Patients (and events) per subgroup x regimen, with the share of the subgroup and a thin-evidence flag.

    Columns: group, regimen, patients, share, events (when ``event`` is given), thin (fewer than ``thin``
    patients). Every regimen of the cohort appears for every group, zero counts included.
    """
    if not spec.treatments:
        raise InputError("This cohort records no treatments.")
    regimen = regimen_labels(obs, spec.treatments).to_numpy()
    labels = as_text(groups).to_numpy()
    keep = pd.notna(labels)
    order = category_order(groups)
    regimens = sorted(set(regimen), key=lambda r: (r.count("+"), r != "none", r))
    frame = pd.DataFrame({"group": labels[keep], "regimen": regimen[keep]})
    if event is not None:
        frame["events"] = pd.to_numeric(pd.Series(event).to_numpy()[keep], errors="coerce")
    grid = pd.MultiIndex.from_product([order, regimens], names=["group", "regimen"])
    counts = frame.groupby(["group", "regimen"]).size().reindex(grid, fill_value=0).rename("patients")
    table = counts.reset_index()
    table = table[table["group"].isin([g for g in order if (labels == g).any()])]
    totals = table.groupby("group")["patients"].transform("sum")
    table["share"] = table["patients"] / totals.where(totals > 0, 1)
    if event is not None:
        ev = frame.groupby(["group", "regimen"])["events"].sum(min_count=1).reindex(grid).fillna(0).astype(int)
        table["events"] = ev.reindex(pd.MultiIndex.from_frame(table[["group", "regimen"]])).to_numpy()
    table["thin"] = table["patients"] < thin
    return table.reset_index(drop=True)
