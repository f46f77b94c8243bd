"""The one decision rule: how a benefit interval reads against a regimen's minimum worthwhile benefit.

The table, the readings in words, the number needed to treat, the chart colours, the summary line, the History
line and the PDF all read an option through this rule (``models.treatment`` stores it per option row;
``dashboard.patient.presentation`` words it). It needs only numpy and :mod:`genomics.regimens`, so every consumer
can import it cheaply.

**Threshold.** Each treatment has a minimum worthwhile benefit in absolute survival
(:data:`MIN_WORTHWHILE_BENEFIT`: chemotherapy 3 points, endocrine therapy and radiotherapy 1 point; a cohort may
override them in ``CohortSpec.worthwhile_benefit``). A regimen's is the sum over its treatments
(:func:`min_benefit`); an option's threshold ``T`` is its regimen's minus the baseline's, floored at 0
(:func:`worthwhile_threshold`), the same at every horizon (column ``min_benefit`` of an option row).

**Reading.** With ``[lo, hi]`` the benefit interval at a horizon, in this order:

* ``reference``              the baseline row;
* ``not enough evidence``    the regimen's evidence is not 'ok';
* ``uncertain (no interval: single model)``  no interval;
* ``worthwhile benefit``     ``lo >= T`` and ``lo > 0`` (the whole interval at or above the worthwhile threshold;
  where ``T`` is 0, above zero: a benefit always has its whole interval above zero);
* ``small benefit``          ``0 < lo < T`` (the whole interval above zero, not all of it above ``T``);
* ``likely harm``            ``hi < 0``;
* ``no worthwhile benefit``  ``lo <= 0`` and ``hi < T`` (the interval excludes the worthwhile threshold);
* ``uncertain``              ``lo <= 0`` and ``hi >= T``.

A number needed to treat is given exactly where the reading is a worthwhile or a small benefit
(:data:`BENEFIT_READINGS`). Analyses saved before this rule (a ±2-point margin) carry :data:`OLD_READINGS`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from genomics.regimens import regimen_flags

NO_INTERVAL = "uncertain (no interval: single model)"
NOT_ENOUGH = "not enough evidence"
REFERENCE = "reference"
WORTHWHILE = "worthwhile benefit"
SMALL = "small benefit"
HARM = "likely harm"
NO_WORTHWHILE = "no worthwhile benefit"
UNCERTAIN = "uncertain"
#: Every reading code, best first.
READINGS = (WORTHWHILE, SMALL, HARM, NO_WORTHWHILE, UNCERTAIN, NO_INTERVAL, NOT_ENOUGH, REFERENCE)
#: The readings that are a benefit (the whole interval above zero): where a number needed to treat is given.
BENEFIT_READINGS = (WORTHWHILE, SMALL)
#: Codes of analyses saved before the per-treatment threshold (a ±2-point margin), with today's nearest code.
OLD_READINGS = {"likely benefit": WORTHWHILE, "possible harm": HARM, "no expected benefit": NO_WORTHWHILE}
#: Minimum worthwhile benefit per treatment (absolute survival): a regimen is an option worth its burden only
#: when its expected benefit exceeds the sum over its treatments. Defaults follow how PREDICT results are
#: commonly discussed (chemotherapy: >3 points "worth considering"; endocrine and radiotherapy, with lighter
#: burdens: 1 point). A cohort can override them (``CohortSpec.worthwhile_benefit``); they are printed with
#: every recommendation.
MIN_WORTHWHILE_BENEFIT: dict[str, float] = {"chemotherapy": 0.03, "hormone_therapy": 0.01, "radio_therapy": 0.01}
DEFAULT_MIN_BENEFIT = 0.02  # a treatment column without its own minimum
#: Below this propensity a regimen is flagged "rarely given to similar patients" wherever its evidence is shown
#: (``dashboard.patient.presentation.evidence_text``), whatever its evidence level; under
#: ``models.evidence.MIN_PROPENSITY`` (2%) the evidence is thin.
LOW_PROPENSITY = 0.05


def min_benefit(regimen: str, treatments: Sequence[str], thresholds: dict[str, float] | None = None) -> float:
    """The smallest benefit that would make a regimen worth its burden: the sum over its treatments of
    :data:`MIN_WORTHWHILE_BENEFIT` (or ``thresholds``), :data:`DEFAULT_MIN_BENEFIT` for unknown treatments."""
    table = {**MIN_WORTHWHILE_BENEFIT, **(thresholds or {})}
    return float(sum(table.get(t, DEFAULT_MIN_BENEFIT) for t, on in regimen_flags(regimen, treatments).items() if on))


def worthwhile_threshold(regimen: str, baseline: str, treatments: Sequence[str],
                         thresholds: dict[str, float] | None = None) -> float:
    """``T``: the benefit over ``baseline`` that would make ``regimen`` worth its added burden, floored at 0."""
    return max(0.0, min_benefit(regimen, treatments, thresholds) - min_benefit(baseline, treatments, thresholds))


def reading(lo: float, hi: float, evidence: str, *, threshold: float = 0.0) -> str:
    """The reading of one benefit interval ``[lo, hi]`` against the worthwhile threshold ``T`` (``threshold``,
    floored at 0; see the module docstring). :func:`readings` is the same rule over arrays."""
    t = max(float(threshold), 0.0) if math.isfinite(float(threshold)) else 0.0
    if evidence != "ok":
        return NOT_ENOUGH
    if not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        return NO_INTERVAL
    if lo >= t and lo > 0:
        return WORTHWHILE
    if lo > 0:
        return SMALL
    if hi < 0:
        return HARM
    if hi < t:
        return NO_WORTHWHILE
    return UNCERTAIN


def readings(lo: np.ndarray, hi: np.ndarray, evidence: np.ndarray, *, threshold: np.ndarray | float = 0.0
             ) -> np.ndarray:
    """:func:`reading` over arrays (same rule and precedence, no Python loop); an object array of str.
    ``threshold`` is ``T`` per row (or one for all), floored at 0 here as well."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    t = np.maximum(np.nan_to_num(np.asarray(threshold, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0), 0.0)
    finite = np.isfinite(lo) & np.isfinite(hi)
    with np.errstate(invalid="ignore"):
        conditions = [np.asarray(evidence) != "ok", ~finite, (lo >= t) & (lo > 0), lo > 0, hi < 0, hi < t]
    choices = [NOT_ENOUGH, NO_INTERVAL, WORTHWHILE, SMALL, HARM, NO_WORTHWHILE]
    return np.select(conditions, choices, default=UNCERTAIN).astype(object)


def number_needed_to_treat(benefit: np.ndarray | float) -> np.ndarray:
    """Patients to treat for one more survivor: ``ceil(1 / b)`` where ``b > 0`` and that is a finite number,
    NaN elsewhere (no benefit, or one so small that its reciprocal overflows). Callers give it only where the
    reading is a benefit (:data:`BENEFIT_READINGS`)."""
    b = np.asarray(benefit, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n = np.ceil(1.0 / b - 1e-9)
    return np.where((b > 0) & np.isfinite(n), n, np.nan)


#: A recommendation departs from a default regimen (the guideline's, or the one the patient is on) only where
#: the model's paired bootstrap replicates favour its best option over the default at least this often.
DEPART_CONFIDENCE = 0.9


def departure(S_members: np.ndarray, S_point: np.ndarray, default: np.ndarray, allowed: np.ndarray,
              burden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per patient, the model's best option (index: the largest point survival minus the regimen's minimum
    worthwhile benefit, among ``allowed``) and the share of the paired replicates ``S_members`` (replicates x
    patients x regimens) in which it has a larger net benefit than the ``default`` regimen (index per patient;
    0 where the best option is the default, NaN without replicates)."""
    S_point, burden = np.asarray(S_point, dtype=np.float64), np.asarray(burden, dtype=np.float64)
    default = np.asarray(default, dtype=int)
    rows = np.arange(len(S_point))
    allowed = np.asarray(allowed, dtype=bool).copy()
    allowed[rows, default] = True  # the default is always an option
    value = np.where(allowed, S_point - burden[None, :], -np.inf)
    best = value.argmax(axis=1)
    best = np.where(value[rows, best] > value[rows, default] + 1e-12, best, default)
    S_members = np.asarray(S_members, dtype=np.float64)
    if S_members.ndim != 3 or S_members.shape[0] == 0:
        return best, np.full(len(rows), np.nan)
    gain = (S_members[:, rows, best] - burden[best]) - (S_members[:, rows, default] - burden[default])
    return best, np.where(best == default, 0.0, (gain > 0).mean(axis=0))


def guided_choice(S_members: np.ndarray, S_point: np.ndarray, default: np.ndarray, allowed: np.ndarray,
                  burden: np.ndarray, *, confidence: float = DEPART_CONFIDENCE) -> np.ndarray:
    """Per patient, the index of the regimen to present first: the model's best option (:func:`departure`) where
    at least ``confidence`` of the paired replicates favour it over the ``default`` regimen; the default
    otherwise. This shrinks the model towards the default exactly where the data cannot show otherwise.
    Without replicates, the default."""
    best, share = departure(S_members, S_point, default, allowed, burden)
    return np.where(np.nan_to_num(share, nan=0.0) >= confidence, best, np.asarray(default, dtype=int))
