"""PREDICT Breast v2.1: the published clinical prognostic model, as a reference beside the learned models.

PREDICT v2.1 (Candido dos Reis F. et al., *An updated PREDICT breast cancer prognostication and treatment
benefit prediction model with independent validation*, Breast Cancer Res 2017;19:58; Winton Centre for Risk
and Evidence Communication and University of Cambridge, https://breast.predict.nhs.uk) predicts survival after
surgery for early invasive breast cancer from routine clinical fields. This is an independent Python
implementation written from the published equations; the coefficients, the baseline hazards and the
radiotherapy extension were checked against the Winton Centre's public reference implementations:

* ``WintonCentre/predict-v21-r``, ``resources/Predict-v2.1-2018-04-07.R`` (R reference model);
* ``WintonCentre/predict-v21-main``, ``src/cljs/predict/models/predict.cljs`` (the web model, with the
  radiotherapy and bisphosphonate extensions) and its tests ``test/cljs/predict/models/predict_test.cljs``,
  whose reference values ``tests/test_predict.py`` reproduces.

The model
---------
Two competing causes of death, each a proportional-hazards model with a baseline cumulative hazard that is a
function of years since surgery ``t`` (1 to 15):

* breast-cancer mortality, separate for ER-positive and ER-negative disease:
  ``H_br(t) = sum over years k <= t of ΔH0_br(k) · exp(PI + rx)``, with the prognostic index ``PI`` from age
  (fractional polynomial), tumour size, positive nodes, grade, screen detection, HER2 and (ER+ only) Ki-67, and
  ``rx`` the sum of the treatment log hazard ratios (chemotherapy 2nd/3rd generation, 5 years of endocrine
  therapy in ER+, trastuzumab in HER2+, bisphosphonates, radiotherapy);
* other-cause mortality from age alone, ``H_oth(t) = H0_oth(t) · exp(MI + rx_oth)``.

Overall survival is ``OS(t) = exp(-H_br(t)) · exp(-H_oth(t))``. ``bcss`` below is the breast-cancer-specific
(net) survival ``exp(-H_br(t))``: what the Kaplan-Meier of disease-specific death (other deaths censored)
estimates. The crude cumulative incidences of breast and other deaths split each year's all-cause deaths in
proportion to the two causes' yearly risks (the R reference's ``pred.cum.br.rx`` / ``pred.cum.oth.rx``), so
``os + breast_mortality + other_mortality = 1`` at every horizon.

Unknown fields follow PREDICT: unknown grade enters as 2.13 for ER+ (and as grade 1 for ER-, as in both
reference implementations), unknown screen detection as 0.204, unknown HER2 and Ki-67 contribute nothing.
Age below 25 is set to 25. Radiotherapy follows the web model's extension (Darby et al.): when radiotherapy is
known (given or not) the baseline breast and other log hazards are shifted by +0.133 and -0.047 (removing the
69% of the development cohort who received it), and radiotherapy adds -0.198 (HR 0.82) to breast-cancer and
+0.068 (HR 1.07) to other-cause mortality; when it is unknown (``None``) the standard v2.1 model (population
mix) is used. Extended (10-year) endocrine therapy and the coefficient uncertainty bands are not modelled.

Research use only: PREDICT was developed on UK patients treated 1999-2003; it is not validated on these cohorts
and is no substitute for the clinical tool.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import anndata as ad
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
KI67_POSITIVE_ABOVE = 10.0  # % of tumour cells (Wishart et al. BMC Cancer 2014;14:908)

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

# Representative sizes (mm) for VDX's size classes: medians of METABRIC tumours in each range.
SIZE_CLASS_MM = {"1": 16.0, "2": 29.0, "3": 62.0, "4": 62.0}
ER_TEXT = {"positive": 1.0, "positve": 1.0, "pos": 1.0, "+": 1.0, "1": 1.0, "1.0": 1.0, "true": 1.0, "yes": 1.0,
           "negative": 0.0, "neg": 0.0, "-": 0.0, "0": 0.0, "0.0": 0.0, "false": 0.0, "no": 0.0}


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


def _check_years(years: Iterable[int]) -> tuple[int, ...]:
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
    ys = _check_years(years)
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


def _number_column(frame: pd.DataFrame, name: str, default: float = np.nan) -> np.ndarray:
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
    ys = _check_years(years)
    n = len(frame)
    age, size, nodes = (_number_column(frame, c) for c in ("age", "size_mm", "nodes"))
    grade = _number_column(frame, "grade")
    grade = np.where(np.isin(grade, (1.0, 2.0, 3.0)), grade, np.nan)
    er = _tri_column(frame, "er")
    her2, ki67, screen, radio = (_tri_column(frame, c) for c in TRI_STATE)
    gen = np.nan_to_num(_number_column(frame, "chemo_generation", 0.0))
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


# ---------------------------------------------------------------------------------------------- treatment ladder

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
    ys = _check_years(years)
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


# ---------------------------------------------------------------------------------------------- cohorts


def _text(series: pd.Series) -> pd.Series:
    return series.astype(object).map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                                     else str(v).strip().lower())


def _status(series: pd.Series) -> np.ndarray:
    """Positive/Negative (any case, METABRIC's 'Positve' too, 1/0) -> 1/0, anything else NaN."""
    return _text(series).map(lambda v: ER_TEXT.get(v, np.nan) if v is not None else np.nan).to_numpy(np.float64)


def _given(series: pd.Series) -> np.ndarray:
    """A 0/1 treatment column -> 1/0, missing NaN."""
    text = _text(series)
    mapped = text.map(lambda v: ER_TEXT.get(v, np.nan) if v is not None else np.nan).to_numpy(np.float64)
    numeric = pd.to_numeric(series, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    return np.where(np.isnan(numeric), mapped, (numeric != 0).astype(np.float64))


def cohort_inputs(adata: ad.AnnData, *, chemo_generation: int = 2) -> pd.DataFrame:
    """PREDICT v2.1 inputs for every patient of a cohort or upload, under the treatments recorded in ``obs``.

    Rules (docs/predict.md): ER from ``er_ihc`` where present, else ``er_status``; size from ``tumor_size_mm``,
    else VDX's ``tumor_size_class`` (representative sizes), missing sizes as the cohort median (flagged); grade
    1-3, else unknown; HER2 from ``her2_status``, else unknown; Ki-67 from ``ki67`` (% > 10 = positive), else
    unknown; screen detection from ``screen_detected``, else unknown; chemotherapy ``chemo_generation`` (2nd by
    default) where ``chemotherapy`` = 1; endocrine = 5 years where ``hormone_therapy`` = 1; radiotherapy
    extension from ``radio_therapy`` (absent column: unknown, standard model); ``trastuzumab`` and
    ``bisphosphonates`` columns if present, else not given. Missing age, ER or nodes are never filled: the row
    is not computed and ``note`` says why (TRANSBIG GSE7390 is node-negative by design: its loader records 0 nodes).
    Returns a frame indexed by ``obs_names`` with the :class:`PredictInputs` columns and ``note``.
    """
    obs = adata.obs
    n = adata.n_obs
    notes: list[list[str]] = [[] for _ in range(n)]

    def flag(mask: np.ndarray, text: str) -> None:
        for i in np.flatnonzero(mask):
            notes[i].append(text)

    age = _number_column(obs, "age_at_diagnosis")
    if "tumor_size_mm" in obs.columns:
        size = _number_column(obs, "tumor_size_mm")
    elif "tumor_size_class" in obs.columns:
        size = _text(obs["tumor_size_class"]).map(
            lambda v: SIZE_CLASS_MM.get(v.removesuffix(".0")) if v is not None else None
        ).to_numpy(np.float64, na_value=np.nan)
        flag(np.isfinite(size), "size from size class")
    else:
        size = np.full(n, np.nan)
    missing_size = ~np.isfinite(size) | (size <= 0)
    if missing_size.any() and (~missing_size).any():
        median = float(np.median(size[~missing_size]))
        size = np.where(missing_size, median, size)
        flag(missing_size, f"size missing: cohort median {median:g} mm")
    elif missing_size.all():
        flag(missing_size, "tumour size not recorded")

    if "lymph_nodes_positive" in obs.columns:
        nodes = _number_column(obs, "lymph_nodes_positive")
    else:
        nodes = np.full(n, np.nan)

    er = np.full(n, np.nan)
    if "er_ihc" in obs.columns:
        er = _status(obs["er_ihc"])
    if "er_status" in obs.columns:
        fallback = _status(obs["er_status"])
        if "er_ihc" in obs.columns:
            flag(np.isnan(er) & ~np.isnan(fallback), "ER from er_status (no IHC)")
        er = np.where(np.isnan(er), fallback, er)

    grade = _number_column(obs, "grade")
    grade = np.where(np.isin(grade, (1.0, 2.0, 3.0)), grade, np.nan)
    her2 = _status(obs["her2_status"]) if "her2_status" in obs.columns else np.full(n, np.nan)
    ki67 = _number_column(obs, "ki67")
    ki67 = np.where(np.isnan(ki67), np.nan, (ki67 > KI67_POSITIVE_ABOVE).astype(np.float64))
    screen = _given(obs["screen_detected"]) if "screen_detected" in obs.columns else np.full(n, np.nan)

    def treatment(column: str) -> np.ndarray:
        if column not in obs.columns:
            return np.zeros(n)
        given = _given(obs[column])
        flag(np.isnan(given), f"{column} missing: not given")
        return np.nan_to_num(given)

    chemo = treatment("chemotherapy")
    radio = _given(obs["radio_therapy"]) if "radio_therapy" in obs.columns else np.full(n, np.nan)
    frame = pd.DataFrame({
        "age": age, "size_mm": size, "nodes": nodes, "grade": grade, "er": er, "her2": her2, "ki67": ki67,
        "screen": screen, "chemo_generation": np.where(chemo == 1, float(chemo_generation), 0.0),
        "endocrine": treatment("hormone_therapy"), "radiotherapy": radio,
        "trastuzumab": treatment("trastuzumab"), "bisphosphonates": treatment("bisphosphonates"),
    }, index=obs.index.copy())
    frame["note"] = ["; ".join(parts) for parts in notes]
    return frame


def patient_inputs(adata: ad.AnnData, *, chemo_generation: int = 2) -> PredictInputs:
    """The PREDICT inputs of one uploaded patient (a 1-row AnnData, clinical fields in ``obs``).

    Same mapping as :func:`cohort_inputs` (recorded treatments included); raises :class:`InputError` naming the
    missing fields when age, tumour size, positive nodes or ER status is missing.
    """
    if adata.n_obs != 1:
        raise InputError(f"patient_inputs takes one patient; this upload has {adata.n_obs}.")
    frame = cohort_inputs(adata, chemo_generation=chemo_generation)
    return PredictInputs.from_row(frame.iloc[0].to_dict())


REFERENCE_COLUMNS = ("patient_id", "os_5y", "os_10y", "os_15y", "bcss_5y", "bcss_10y", "bcss_15y", "note")


def _patient_ids(adata: ad.AnnData) -> list[str]:
    if "patient_id" in adata.obs.columns:
        return adata.obs["patient_id"].astype(str).tolist()
    return [str(i) for i in adata.obs_names]


def clinical_reference_table(adata: ad.AnnData, *, chemo_generation: int = 2) -> pd.DataFrame:
    """One row per patient: ``patient_id, os_5y, os_10y, os_15y, bcss_5y, bcss_10y, bcss_15y, note``.

    PREDICT v2.1 under the treatments recorded (:func:`cohort_inputs`); NaN where it cannot be computed, with
    the reason in ``note``. ``attrs["caveat"]`` says research use only.
    """
    table = predict_table(cohort_inputs(adata, chemo_generation=chemo_generation), years=DEFAULT_YEARS)
    table.insert(0, "patient_id", _patient_ids(adata))
    table = table[list(REFERENCE_COLUMNS)].reset_index(drop=True)
    table.attrs["caveat"] = CAVEAT
    return table


# ---------------------------------------------------------------------------------------------- evaluation

MORTALITY_TARGETS = {"OS": "os", "DSS": "bcss", "BCSS": "bcss"}


@dataclass(frozen=True, eq=False)
class PredictCalibration:
    """PREDICT v2.1 judged on one cohort endpoint: Harrell C and (for OS/DSS) calibration at the horizon."""

    cohort: str
    endpoint: str
    target: str  # "os" or "bcss": which PREDICT survival is compared
    n: int  # patients with a prediction and an outcome
    n_not_computed: int
    events: int
    c_index: float
    horizon_years: int
    calibration: Any = field(default=None, repr=False)  # models.evaluate.CalibrationResult or None
    notes: tuple[str, ...] = ()

    @property
    def gap(self) -> float:
        """Mean predicted minus Kaplan-Meier observed survival at the horizon (positive = over-estimated)."""
        return float("nan") if self.calibration is None else float(self.calibration.calibration_in_the_large)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "calibration"}
        out["notes"] = list(self.notes)
        out["calibration"] = None if self.calibration is None else self.calibration.to_dict()
        out["gap"] = self.gap
        return out


def predict_calibration(
    adata: ad.AnnData,
    *,
    endpoint: str,
    horizon_years: int = 10,
    n_groups: int = 10,
    chemo_generation: int = 2,
    table: pd.DataFrame | None = None,
) -> PredictCalibration:
    """Harrell C of PREDICT v2.1 against a cohort endpoint, and its calibration at ``horizon_years``.

    Risk for the C-index is ``1 - OS(horizon)`` for OS and ``1 - BCSS(horizon)`` for every other endpoint.
    Calibration (:func:`models.evaluate.calibration`, patients in ``n_groups`` groups by predicted survival,
    Kaplan-Meier observed) is computed for OS (against PREDICT's OS) and DSS (against BCSS) only: PREDICT
    predicts death, not relapse or metastasis. Patients without a prediction (see ``note``) or an outcome are
    left out and counted. ``table``: a precomputed :func:`predict_table` of :func:`cohort_inputs`.
    """
    from genomics.cohorts import spec_of
    from models.evaluate import calibration, harrell_c

    spec = spec_of(adata)
    ep = spec.endpoint(endpoint)
    y = _check_years([horizon_years])[0]
    if table is None:
        table = predict_table(cohort_inputs(adata, chemo_generation=chemo_generation), years=(y,))
    target = MORTALITY_TARGETS.get(ep.name.upper(), "bcss")
    survival = table[f"{target}_{y}y"].to_numpy(np.float64)
    for col in (ep.time_col, ep.event_col):
        if col not in adata.obs.columns:
            raise ModelError(f"Cohort {spec.id!r} has no column {col!r} for endpoint {ep.name}.")
    time = pd.to_numeric(adata.obs[ep.time_col], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    event = pd.to_numeric(adata.obs[ep.event_col], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    computed = np.isfinite(survival)
    keep = computed & np.isfinite(time) & np.isfinite(event)
    notes = []
    if not computed.any():
        raise ModelError(f"PREDICT v2.1 cannot be computed on {spec.display_name}: " + ", ".join(
            not_computed_reasons(table) or ["no patient has the fields it needs"]) + ".")
    if (~computed).any():
        notes.append(f"{int((~computed).sum())} patient(s) without a PREDICT estimate (see the note column).")
    if (computed & ~keep).any():
        notes.append(f"{int((computed & ~keep).sum())} patient(s) without a {ep.name} outcome left out.")
    t, e, s = time[keep], event[keep] == 1, survival[keep]
    try:
        c = harrell_c(t, e, 1.0 - s)
    except ValueError as exc:
        raise ModelError(f"No C-index for PREDICT on {spec.display_name} · {ep.name}: {exc}") from None
    cal = None
    if target == "os" or ep.name.upper() in ("DSS", "BCSS"):
        horizon = 12.0 * y if ep.unit in ("days", "months") else float(y)  # loaded cohorts keep times in months
        try:
            cal = calibration(t, e, s, horizon=horizon, n_groups=min(n_groups, len(t)))
        except ValueError as exc:
            notes.append(f"No calibration at {y} years: {exc}")
    else:
        notes.append(f"{ep.name} is not a mortality endpoint: PREDICT predicts death, so only the ranking "
                     f"(C-index, risk = 1 - BCSS at {y} years) is comparable, not the calibration.")
    return PredictCalibration(cohort=spec.id, endpoint=ep.name, target=target, n=int(keep.sum()),
                              n_not_computed=int((~computed).sum()), events=int(e.sum()), c_index=float(c),
                              horizon_years=y, calibration=cal, notes=tuple(notes))


def predict_evaluation(
    adata: ad.AnnData, *, horizon_years: int = 10, chemo_generation: int = 2
) -> dict[str, PredictCalibration]:
    """:func:`predict_calibration` for every endpoint of a cohort, keyed by endpoint name (PREDICT computed once).

    Raises :class:`ModelError` when PREDICT cannot be computed for any patient (e.g. no tumour size).
    """
    from genomics.cohorts import spec_of

    table = predict_table(cohort_inputs(adata, chemo_generation=chemo_generation), years=(horizon_years,))
    return {ep.name: predict_calibration(adata, endpoint=ep.name, horizon_years=horizon_years, table=table)
            for ep in spec_of(adata).endpoints}


def summary_frame(results: dict[str, PredictCalibration]) -> pd.DataFrame:
    """One row per endpoint: endpoint, compared (OS or BCSS), n, events, harrell_c, predicted, observed, gap,
    slope (calibration columns NaN where not comparable), note."""
    rows = []
    for name, res in results.items():
        cal = res.calibration
        rows.append({"endpoint": name, "compared": res.target.upper(), "n": res.n, "events": res.events,
                     "harrell_c": res.c_index, "predicted": np.nan if cal is None else cal.predicted,
                     "observed": np.nan if cal is None else cal.observed, "gap": res.gap,
                     "slope": np.nan if cal is None else cal.slope, "note": " ".join(res.notes)})
    return pd.DataFrame(rows)


def predict_summary(adata: ad.AnnData, *, horizon_years: int = 10, chemo_generation: int = 2) -> pd.DataFrame:
    """:func:`summary_frame` of :func:`predict_evaluation`: PREDICT v2.1 against every endpoint of a cohort."""
    return summary_frame(predict_evaluation(adata, horizon_years=horizon_years, chemo_generation=chemo_generation))


__all__ = [
    "CAVEAT", "CITATION", "PredictCalibration", "PredictInputs", "baseline_breast_hazard", "baseline_other_hazard",
    "clinical_reference_table", "cohort_inputs", "inputs_frame", "linear_predictors", "not_computed_reasons",
    "patient_inputs",
    "predict_calibration", "predict_evaluation", "predict_summary", "predict_survival", "predict_table",
    "summary_frame", "survival_curves", "treatment_ladder",
]



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
