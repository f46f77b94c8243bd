"""PREDICT v2.1's published equations and coefficients: one patient (:class:`PredictInputs`) or a table of them.

The model, the unknown-field rules and the radiotherapy extension are described in :mod:`models.predict_breast`.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from genomics.errors import InputError
from models.errors import ModelError

CAVEAT = ("PREDICT v2.1 (Candido dos Reis 2017; Winton Centre, Cambridge), computed by OncoTx for research use only: "
          "not validated on this cohort, not the clinical tool, not a treatment recommendation.")
CITATION = ("Candido dos Reis FJ et al. An updated PREDICT breast cancer prognostication and treatment benefit "
            "prediction model with independent validation. Breast Cancer Res 2017;19:58.")
MAX_YEAR = 15
DEFAULT_YEARS = (5, 10, 15)

# --- coefficients (Predict-v2.1-2018-04-07.R; predict.cljs) --------------------------------------------------------
GRADE_UNKNOWN_ER_POS = 2.13
SCREEN_UNKNOWN = 0.204
HER2_BETA = {1: 0.2413, 0: -0.0762}
KI67_BETA_ER_POS = {1: 0.14904, 0: -0.11333}
CHEMO_BETA = {0: 0.0, 2: -0.248, 3: -0.446}
ENDOCRINE_BETA = -0.3857  # 5 years, ER+ only
TRASTUZUMAB_BETA = -0.3567  # HER2+ only
BISPHOSPHONATE_BETA = -0.198
# radiotherapy extension (web model; from r.prop = 0.69, HR 0.82 breast and 1.07 other, Darby et al.)
RADIO_BASE_BREAST = 0.133
RADIO_BASE_OTHER = -0.047
RADIO_BREAST_BETA = -0.198
RADIO_OTHER_BETA = 0.068

TRI_STATE = ("her2", "ki67", "screen", "radiotherapy")
INPUT_COLUMNS = ("age", "size_mm", "nodes", "grade", "er", "her2", "ki67", "screen", "chemo_generation",
                 "endocrine", "radiotherapy", "trastuzumab", "bisphosphonates")


@dataclass(frozen=True)
class PredictInputs:
    """One patient's PREDICT v2.1 inputs.

    ``grade``, ``her2``, ``ki67``, ``screen``: ``None`` = unknown (PREDICT's unknown handling).
    ``radiotherapy``: ``None`` = not known, standard v2.1 model; ``True``/``False`` = radiotherapy extension.
    ``chemo_generation``: 0 (none), 2 or 3. ``endocrine``: 5 years (acts in ER+ only); ``trastuzumab`` acts in
    HER2+ only.
    """

    age: float
    size_mm: float
    nodes: float
    er: bool
    grade: int | None = None
    her2: bool | None = None
    ki67: bool | None = None
    screen: bool | None = None
    chemo_generation: int = 0
    endocrine: bool = False
    radiotherapy: bool | None = None
    trastuzumab: bool = False
    bisphosphonates: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not (_real(self.age) and 0 < self.age <= 120):
            problems.append(f"age must be a number of years in (0, 120], not {self.age!r}")
        if not (_real(self.size_mm) and 0 < self.size_mm <= 1000):
            problems.append(f"tumour size must be in mm, above 0, not {self.size_mm!r}")
        if not (_real(self.nodes) and 0 <= self.nodes <= 200):
            problems.append(f"positive nodes must be a count of 0 or more, not {self.nodes!r}")
        if self.grade not in (None, 1, 2, 3):
            problems.append(f"grade must be 1, 2, 3 or unknown, not {self.grade!r}")
        if self.chemo_generation not in CHEMO_BETA:
            problems.append(f"chemotherapy generation must be 0, 2 or 3, not {self.chemo_generation!r}")
        if problems:
            raise InputError("PREDICT inputs: " + "; ".join(problems) + ".", problems=problems)

    @classmethod
    def from_row(cls, row: Any) -> PredictInputs:
        """From one row of :func:`cohort_inputs` / :func:`inputs_frame` (1/0/NaN codes); InputError if incomplete."""
        def tri(name: str) -> bool | None:
            value = row.get(name, np.nan)
            return None if value is None or pd.isna(value) else bool(value)

        def flag(name: str) -> bool:
            return bool(tri(name))

        required = {"age": "age", "size_mm": "tumour size", "nodes": "positive nodes", "er": "ER status"}
        missing = [label for key, label in required.items() if pd.isna(row.get(key, np.nan))]
        if missing:
            raise InputError(f"PREDICT v2.1 needs {', '.join(missing)}: missing in the clinical record.")
        grade = row.get("grade", np.nan)
        return cls(age=float(row["age"]), size_mm=float(row["size_mm"]), nodes=float(row["nodes"]),
                   er=bool(row["er"]), grade=None if pd.isna(grade) else int(grade), her2=tri("her2"),
                   ki67=tri("ki67"), screen=tri("screen"), chemo_generation=int(row.get("chemo_generation", 0) or 0),
                   endocrine=flag("endocrine"), radiotherapy=tri("radiotherapy"), trastuzumab=flag("trastuzumab"),
                   bisphosphonates=flag("bisphosphonates"))

    @property
    def treatments(self) -> str:
        """The treatments that act on this patient, as PREDICT's letters (h, r, c, t, b; ``surgery`` if none)."""
        letters = [("h", self.endocrine and self.er), ("r", self.radiotherapy is True),
                   ("c", self.chemo_generation > 0), ("t", self.trastuzumab and self.her2 is True),
                   ("b", self.bisphosphonates)]
        return "+".join(k for k, on in letters if on) or "surgery"


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


# ---------------------------------------------------------------------------------------------- baselines


def baseline_breast_hazard(years: Any, *, er: bool) -> np.ndarray:
    """Baseline cumulative breast-cancer hazard ``H0_br(t)`` at ``years`` since surgery (0 at t = 0).

    ER+: ``exp(0.7424402 - 7.527762 / sqrt(t) - 1.812513 · ln(t) / sqrt(t))``;
    ER-: ``exp(-1.156036 + 0.4707332 / t² - 3.51355 / t)`` (Predict-v2.1-2018-04-07.R, ``base.m.cum.br``).
    """
    t = np.asarray(years, dtype=np.float64)
    out = np.zeros_like(t)
    pos = t > 0
    tp = t[pos]
    if er:
        out[pos] = np.exp(0.7424402 - 7.527762 / np.sqrt(tp) - 1.812513 * np.log(tp) / np.sqrt(tp))
    else:
        out[pos] = np.exp(-1.156036 + 0.4707332 / tp**2 - 3.51355 / tp)
    return out


def baseline_other_hazard(years: Any) -> np.ndarray:
    """Baseline cumulative other-cause hazard ``exp(-6.052919 + 1.079863 · ln(t) + 0.3255321 · sqrt(t))``."""
    t = np.asarray(years, dtype=np.float64)
    out = np.zeros_like(t)
    pos = t > 0
    out[pos] = np.exp(-6.052919 + 1.079863 * np.log(t[pos]) + 0.3255321 * np.sqrt(t[pos]))
    return out


# ---------------------------------------------------------------------------------------------- linear predictors
# These take numpy arrays (one value per patient) so the scalar and table paths share the published formulas.
# Codes: er 1/0; grade 1/2/3 or NaN; her2, ki67, screen, radiotherapy 1/0 or NaN (unknown).


def _breast_index(age, size, nodes, grade, er, screen, her2, ki67, radio) -> np.ndarray:
    age = np.maximum(np.asarray(age, dtype=np.float64), 25.0)
    size, nodes = np.asarray(size, dtype=np.float64), np.asarray(nodes, dtype=np.float64)
    grade, er = np.asarray(grade, dtype=np.float64), np.asarray(er, dtype=np.float64)
    screen = np.asarray(screen, dtype=np.float64)
    screen = np.where(np.isnan(screen), SCREEN_UNKNOWN, screen)
    a2 = (age / 10.0) ** -2.0
    er_pos = (34.53642 * (a2 - 0.0287449295)
              - 34.20342 * (a2 * np.log(age / 10.0) - 0.0510121013)
              + 0.7530729 * (np.log(size / 100.0) + 1.545233938)
              + 0.7060723 * (np.log((nodes + 1.0) / 10.0) + 1.387566896)
              + 0.746655 * np.where(np.isnan(grade), GRADE_UNKNOWN_ER_POS, grade)
              - 0.22763366 * screen
              + _coded(ki67, KI67_BETA_ER_POS))
    er_neg = (0.0089827 * (age - 56.3254902)
              + 2.093446 * (np.sqrt(size / 100.0) - 0.5090456276)
              + 0.6260541 * (np.log((nodes + 1.0) / 10.0) + 1.086916249)
              + 1.129091 * np.isin(grade, (2.0, 3.0)))  # unknown grade counts as 1 in ER- (as in the references)
    radio_known = ~np.isnan(np.asarray(radio, dtype=np.float64))
    return np.where(er == 1.0, er_pos, er_neg) + _coded(her2, HER2_BETA) + np.where(radio_known, RADIO_BASE_BREAST, 0.0)


def _other_index(age, radio) -> np.ndarray:
    age = np.maximum(np.asarray(age, dtype=np.float64), 25.0)
    radio_known = ~np.isnan(np.asarray(radio, dtype=np.float64))
    return 0.0698252 * ((age / 10.0) ** 2 - 34.23391957) + np.where(radio_known, RADIO_BASE_OTHER, 0.0)


def _breast_treatment(er, her2, chemo_generation, endocrine, radio, trastuzumab, bisphosphonates) -> np.ndarray:
    er, her2 = np.asarray(er, dtype=np.float64), np.asarray(her2, dtype=np.float64)
    gen = np.asarray(chemo_generation, dtype=np.float64)
    return (np.select([gen == 2, gen == 3], [CHEMO_BETA[2], CHEMO_BETA[3]], 0.0)
            + np.where((np.asarray(endocrine, dtype=np.float64) == 1) & (er == 1), ENDOCRINE_BETA, 0.0)
            + np.where((np.asarray(trastuzumab, dtype=np.float64) == 1) & (her2 == 1), TRASTUZUMAB_BETA, 0.0)
            + np.where(np.asarray(bisphosphonates, dtype=np.float64) == 1, BISPHOSPHONATE_BETA, 0.0)
            + np.where(np.asarray(radio, dtype=np.float64) == 1, RADIO_BREAST_BETA, 0.0))


def _other_treatment(radio) -> np.ndarray:
    return np.where(np.asarray(radio, dtype=np.float64) == 1, RADIO_OTHER_BETA, 0.0)


def _coded(values, betas: dict[int, float]) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return np.select([v == 1, v == 0], [betas[1], betas[0]], 0.0)


def _codes(inputs: PredictInputs) -> dict[str, float]:
    def tri(value: bool | None) -> float:
        return math.nan if value is None else float(bool(value))

    return {"age": float(inputs.age), "size_mm": float(inputs.size_mm), "nodes": float(inputs.nodes),
            "grade": math.nan if inputs.grade is None else float(inputs.grade), "er": float(bool(inputs.er)),
            "her2": tri(inputs.her2), "ki67": tri(inputs.ki67), "screen": tri(inputs.screen),
            "chemo_generation": float(inputs.chemo_generation), "endocrine": float(bool(inputs.endocrine)),
            "radiotherapy": tri(inputs.radiotherapy), "trastuzumab": float(bool(inputs.trastuzumab)),
            "bisphosphonates": float(bool(inputs.bisphosphonates))}


def linear_predictors(inputs: PredictInputs) -> dict[str, float]:
    """The log-hazard terms of one patient: breast and other prognostic indices and treatment log HRs.

    ``breast_index`` (R ``pi``) and ``other_index`` (R ``mi``) include the radiotherapy baseline shift when
    radiotherapy is known; ``breast_treatment`` / ``other_treatment`` are the summed treatment log hazard ratios.
    """
    c = _codes(inputs)
    return {
        "breast_index": float(_breast_index(c["age"], c["size_mm"], c["nodes"], c["grade"], c["er"], c["screen"],
                                            c["her2"], c["ki67"], c["radiotherapy"])),
        "other_index": float(_other_index(c["age"], c["radiotherapy"])),
        "breast_treatment": float(_breast_treatment(c["er"], c["her2"], c["chemo_generation"], c["endocrine"],
                                                    c["radiotherapy"], c["trastuzumab"], c["bisphosphonates"])),
        "other_treatment": float(_other_treatment(c["radiotherapy"])),
    }


# ---------------------------------------------------------------------------------------------- one patient


def check_years(years: Iterable[int]) -> tuple[int, ...]:
    out = tuple(years)
    bad = [y for y in out if isinstance(y, bool) or not float(y).is_integer() or not 1 <= int(y) <= MAX_YEAR]
    if not out or bad:
        raise ModelError(f"PREDICT v2.1 gives survival at whole years 1 to {MAX_YEAR}; got {list(out)!r}.")
    return tuple(int(y) for y in out)


def survival_curves(inputs: PredictInputs) -> pd.DataFrame:
    """Year-by-year curves for one patient (years 0..15): ``os``, ``bcss``, ``breast_mortality``, ``other_mortality``.

    Written as the R reference computes it, one year at a time: yearly baseline hazard increments times the
    patient's hazard ratio, cumulated; all-cause deaths of each year split by the two causes' yearly risks.
    """
    lp = linear_predictors(inputs)
    hr_br = math.exp(lp["breast_index"] + lp["breast_treatment"])
    hr_oth = math.exp(lp["other_index"] + lp["other_treatment"])
    h0_br = baseline_breast_hazard(np.arange(MAX_YEAR + 1), er=bool(inputs.er)).tolist()
    h0_oth = baseline_other_hazard(np.arange(MAX_YEAR + 1)).tolist()
    rows = [{"year": 0, "os": 1.0, "bcss": 1.0, "breast_mortality": 0.0, "other_mortality": 0.0}]
    cum_br = cum_oth = 0.0
    s_br_prev = s_oth_prev = os_prev = 1.0
    crude_br = crude_oth = 0.0
    for year in range(1, MAX_YEAR + 1):
        cum_br += (h0_br[year] - h0_br[year - 1]) * hr_br
        cum_oth += (h0_oth[year] - h0_oth[year - 1]) * hr_oth
        s_br, s_oth = math.exp(-cum_br), math.exp(-cum_oth)
        os_now = s_br * s_oth
        risk_br, risk_oth, deaths = s_br_prev - s_br, s_oth_prev - s_oth, os_prev - os_now
        share = risk_br / (risk_br + risk_oth) if risk_br + risk_oth > 0 else 0.0
        crude_br += share * deaths
        crude_oth += deaths - share * deaths
        rows.append({"year": year, "os": os_now, "bcss": s_br, "breast_mortality": crude_br,
                     "other_mortality": crude_oth})
        s_br_prev, s_oth_prev, os_prev = s_br, s_oth, os_now
    return pd.DataFrame(rows)


def predict_survival(inputs: PredictInputs, *, years: Sequence[int] = DEFAULT_YEARS) -> dict[str, float]:
    """OS, BCSS and crude breast / other-cause mortality at each horizon for one patient.

    Keys ``os_{y}y``, ``bcss_{y}y``, ``breast_mortality_{y}y``, ``other_mortality_{y}y`` (proportions; ``os +
    breast_mortality + other_mortality = 1``), plus ``treatments`` (PREDICT letters). Research use only.
    """
    ys = check_years(years)
    curves = survival_curves(inputs).set_index("year")
    out: dict[str, Any] = {}
    for what in ("os", "bcss", "breast_mortality", "other_mortality"):
        for y in ys:
            out[f"{what}_{y}y"] = float(curves.at[y, what])
    out["treatments"] = inputs.treatments
    return out


# ---------------------------------------------------------------------------------------------- many patients


def _tri_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    col = frame[name]
    if col.dtype == object or isinstance(col.dtype, pd.CategoricalDtype | pd.StringDtype):
        col = col.map(lambda v: np.nan if v is None or (isinstance(v, float) and math.isnan(v)) else float(bool(v)))
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(values), np.nan, (values != 0).astype(np.float64))


def number_column(frame: pd.DataFrame, name: str, default: float = np.nan) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), default)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def predict_table(frame: pd.DataFrame, *, years: Sequence[int] = DEFAULT_YEARS) -> pd.DataFrame:
    """PREDICT v2.1 for every row of ``frame`` (columns named as :class:`PredictInputs` fields), vectorised.

    Tri-state columns (her2, ki67, screen, radiotherapy) take 1/0/True/False or NaN/None for unknown; grade
    1-3 or NaN; absent optional columns mean unknown (tri-state) or not given (treatments). A row whose age,
    size, nodes or ER is missing or out of range gets NaN and a reason in ``note`` (an input ``note`` column is
    kept in front). Returns the same index with the :func:`predict_survival` columns and ``note``.
    """
    ys = check_years(years)
    n = len(frame)
    age, size, nodes = (number_column(frame, c) for c in ("age", "size_mm", "nodes"))
    grade = number_column(frame, "grade")
    grade = np.where(np.isin(grade, (1.0, 2.0, 3.0)), grade, np.nan)
    er = _tri_column(frame, "er")
    her2, ki67, screen, radio = (_tri_column(frame, c) for c in TRI_STATE)
    gen = np.nan_to_num(number_column(frame, "chemo_generation", 0.0))
    endocrine, trastuzumab, bis = (np.nan_to_num(_tri_column(frame, c)) for c in
                                   ("endocrine", "trastuzumab", "bisphosphonates"))

    reasons: list[list[str]] = [[] for _ in range(n)]
    checks = [
        (~np.isfinite(age), "age missing"), (np.isfinite(age) & ((age <= 0) | (age > 120)), "age out of range"),
        (~np.isfinite(size), "tumour size missing"), (np.isfinite(size) & (size <= 0), "tumour size not above 0 mm"),
        (~np.isfinite(nodes), "positive nodes missing"), (np.isfinite(nodes) & (nodes < 0), "negative node count"),
        (np.isnan(er), "ER status missing"), (~np.isin(gen, (0.0, 2.0, 3.0)), "chemotherapy generation not 0/2/3"),
    ]
    valid = np.ones(n, dtype=bool)
    for mask, reason in checks:
        valid &= ~mask
        for i in np.flatnonzero(mask):
            reasons[i].append(reason)

    safe = {k: np.where(valid, v, fill) for k, v, fill in
            (("age", age, 50.0), ("size", size, 20.0), ("nodes", nodes, 0.0), ("er", er, 1.0))}
    pi = _breast_index(safe["age"], safe["size"], safe["nodes"], grade, safe["er"], screen, her2, ki67, radio)
    mi = _other_index(safe["age"], radio)
    hr_br = np.exp(pi + _breast_treatment(safe["er"], her2, gen, endocrine, radio, trastuzumab, bis))
    hr_oth = np.exp(mi + _other_treatment(radio))

    t = np.arange(MAX_YEAR + 1, dtype=np.float64)
    h0_br = np.where((safe["er"] == 1.0)[:, None], baseline_breast_hazard(t, er=True)[None, :],
                     baseline_breast_hazard(t, er=False)[None, :])
    s_br = np.exp(-np.cumsum(np.diff(h0_br, axis=1, prepend=0.0) * hr_br[:, None], axis=1))
    s_oth = np.exp(-np.cumsum(np.diff(baseline_other_hazard(t), prepend=0.0)[None, :] * hr_oth[:, None], axis=1))
    os_ = s_br * s_oth
    risk_br = -np.diff(s_br, axis=1, prepend=1.0)
    risk_oth = -np.diff(s_oth, axis=1, prepend=1.0)
    deaths = -np.diff(os_, axis=1, prepend=1.0)
    total = risk_br + risk_oth
    share = np.divide(risk_br, total, out=np.zeros_like(total), where=total > 0)
    crude_br = np.cumsum(share * deaths, axis=1)
    crude_oth = np.cumsum(deaths - share * deaths, axis=1)

    out = pd.DataFrame(index=frame.index)
    for what, matrix in (("os", os_), ("bcss", s_br), ("breast_mortality", crude_br), ("other_mortality", crude_oth)):
        for y in ys:
            out[f"{what}_{y}y"] = np.where(valid, matrix[:, y], np.nan)
    prior = frame["note"].fillna("").astype(str).to_numpy() if "note" in frame.columns else np.full(n, "")
    notes = []
    for i in range(n):
        parts = [p for p in (prior[i],) if p]
        if reasons[i]:
            parts.append("not computed: " + ", ".join(reasons[i]))
        notes.append("; ".join(parts))
    out["note"] = notes
    return out


def not_computed_reasons(table: pd.DataFrame) -> list[str]:
    """The distinct reasons, across a :func:`predict_table` result, why rows were not computed."""
    prefix = "not computed: "
    found = {r.strip() for note in table["note"] for part in str(note).split("; ") if part.startswith(prefix)
             for r in part.removeprefix(prefix).split(", ")}
    return sorted(found)


def inputs_frame(patients: Iterable[PredictInputs], index: Sequence[Any] | None = None) -> pd.DataFrame:
    """A :func:`predict_table` frame from :class:`PredictInputs` (tri-state fields as 1/0/NaN)."""
    rows = [_codes(p) for p in patients]
    return pd.DataFrame(rows, columns=list(INPUT_COLUMNS), index=index)
