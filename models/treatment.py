"""Treatment options: survival under every regimen, the benefit against a baseline, and the evidence behind it.

For each patient and each regimen (a combination of the cohort's treatment columns, named by
:func:`genomics.summary.regimen_labels`' rule) the engine sets the treatment columns of the patient's
feature row to the regimen's flags and asks the model for S(t). The model meant for this is
:class:`models.effects.TreatmentEffectModel` (competing risks, treatment × modifier interactions); any
survival model works. The point is the model's own prediction; with bootstrap replicates or ensemble
members, the benefit ``B(t) = S_regimen(t) - S_baseline(t)`` is also computed **per member** (paired), and
its interval is the percentile interval of those differences (widened, if needed, to contain the point).
A single model gives a point without an interval. Where the model separates causes of death, the table
also has cancer-specific survival (``CSS<h>``) and the log hazard ratio of cancer death with its E-value.

The recommendation (:func:`choose_regimen`) is the option with the largest estimated survival net of a
minimum worthwhile benefit per treatment (:data:`MIN_WORTHWHILE_BENEFIT`, overridable per cohort by
``CohortSpec.worthwhile_benefit``), among regimens with enough evidence.

Evidence (:class:`models.evidence.RegimenEvidence`) says how many comparable cohort patients actually
received each regimen; where support is thin, the reading is "not enough evidence" instead of a benefit
reading.

Each option row is read by the one decision rule of :mod:`models.decision` (its worthwhile threshold ``T`` in
column ``min_benefit``, its reading at each horizon in ``reading<h>``, the last horizon's in ``reading``); the
number needed to treat (``nnt<h>``) is given exactly where that reading is a worthwhile or a small benefit.

These are options for discussion, never directives. The data are observational: every result carries
:data:`CAVEAT`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd

from genomics.percentile import percentiles
from genomics.regimens import regimen_flags, regimen_labels, regimens
from models.columns import (
    BENEFIT,
    BOUNDS,
    CANCER_SPECIFIC,
    LOWER,
    NNT,
    READING,
    SURVIVAL,
    UPPER,
    column,
    wide_column,
    years_tag,
)
from models.decision import (  # noqa: F401  (re-exported: the rule's codes and functions, where callers look)
    BENEFIT_READINGS,
    DEFAULT_MIN_BENEFIT,
    DEPART_CONFIDENCE,
    HARM,
    MIN_WORTHWHILE_BENEFIT,
    NO_INTERVAL,
    NO_WORTHWHILE,
    NOT_ENOUGH,
    OLD_READINGS,
    READINGS,
    REFERENCE,
    SMALL,
    UNCERTAIN,
    WORTHWHILE,
    departure,
    min_benefit,
    number_needed_to_treat,
    reading,
    readings,
    worthwhile_threshold,
)
from models.errors import ModelError
from models.evidence import RegimenEvidence
from models.guideline import guideline_regimen
from models.registry import Bundle

CAVEAT = (
    "Options, not directives. These estimates come from observational data: treatment was not randomised, so "
    "they are confounded by indication and by factors the cohort did not record (hidden confounding). "
    "Discuss with the treating team; research use only."
)
CHUNK = 4096  # samples per prediction call (bounds memory for a whole-cohort batch: ~150 MB for 8 regimens x 51 fits)


def under_regimen(X: np.ndarray, regimen: str, treatments: Sequence[str]) -> np.ndarray:
    """A copy of feature rows (treatment columns first) with the treatment columns set to ``regimen``'s flags."""
    out = np.array(X, copy=True)
    out[:, : len(treatments)] = [regimen_flags(regimen, treatments)[t] for t in treatments]
    return out


def e_values(log_hr: np.ndarray) -> np.ndarray:
    """:func:`e_value` over an array (NaN where not finite)."""
    log_hr = np.asarray(log_hr, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        rr = np.exp(np.abs(log_hr))
        out = rr + np.sqrt(rr * (rr - 1.0))
    return np.where(np.isfinite(log_hr), out, np.nan)


def flagged_patients(table: pd.DataFrame) -> int:
    """Patients of a :func:`recommend_table` with at least one option read as a worthwhile benefit at the last
    horizon (the ``recommend`` CLI's summary count)."""
    last = [c for c in table.columns if c.startswith(READING) and "_" in c and c.split("_", 1)[0] != READING]
    if not last:
        return 0
    tag = max({c.split("_", 1)[0] for c in last}, key=lambda c: float(c.removeprefix(READING) or 0))
    return int(table[[c for c in last if c.split("_", 1)[0] == tag]].eq(WORTHWHILE).any(axis=1).sum())


@dataclass(frozen=True)
class TreatmentOptions:
    """One row per sample × regimen in ``table`` (see :func:`treatment_options`)."""

    table: pd.DataFrame
    baseline: str
    horizons: tuple[float, ...]
    caveat: str
    model_id: str
    bundle_sha256: str
    risk: pd.Series  # log-hazard per sample under the treatments given in the input
    gene_coverage: float
    interval: float
    min_support: int
    k_neighbours: int
    competing_risks: bool = False  # cancer-specific survival (CSS<h>) modelled apart from other-cause deaths
    thresholds: dict = field(default_factory=dict)  # minimum worthwhile benefit per treatment, where overridden
    expression_mode: str = ""  # standardise | quantile: how the batch's expression entered the model
    #: per sample: the guideline rule's regimen, the model's best option, the share of bootstrap replicates in
    #: which that option beats the guideline's, and the regimen the guided policy presents first (see
    #: :func:`guidance`); None without replicates or without the fields the rule reads
    guidance: pd.DataFrame | None = None


def _with_flags(X: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Every sample under every regimen: (regimens × samples) rows, treatment columns set to the flags."""
    m, n = len(flags), len(X)
    stacked = np.repeat(X[None, :, :], m, axis=0)  # regimens × samples × features
    stacked[:, :, : flags.shape[1]] = flags[:, None, :]
    return stacked.reshape(m * n, X.shape[1])


def _survival_under(model, X: np.ndarray, flags: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Point S(t) (regimens × samples × t) and per-member S(t) (K × regimens × samples × t, or None)."""
    m, n = len(flags), len(X)
    if hasattr(model, "regimen_survival"):  # the effect model: all regimens from one pass (no stacked copies)
        s = model.regimen_survival(X, flags, grid)
        return s["all"], s["all_members"]
    flat = _with_flags(X, flags)
    if hasattr(model, "survival_with_members"):  # an ensemble: point and members from one pass over the members
        point, members = model.survival_with_members(flat, grid)
        return (np.asarray(point, dtype=np.float64).reshape(m, n, len(grid)),
                np.asarray(members, dtype=np.float64).reshape(-1, m, n, len(grid)))
    point = np.asarray(model.predict_survival(flat, grid), dtype=np.float64).reshape(m, n, len(grid))
    if not hasattr(model, "member_predictions"):
        return point, None
    members = np.asarray(model.member_predictions(flat, grid), dtype=np.float64).reshape(-1, m, n, len(grid))
    return point, members


def _cause_specific_under(model, X: np.ndarray, flags: np.ndarray, grid: np.ndarray):
    m, n = len(flags), len(X)
    if hasattr(model, "regimen_survival"):
        s = model.regimen_survival(X, flags, grid)
        return s["cancer"], s["cancer_members"]
    flat = _with_flags(X, flags)
    point = model.predict_cause_specific(flat, grid).reshape(m, n, len(grid))
    members = model.predict_cause_specific(flat, grid, members=True).reshape(-1, m, n, len(grid))
    return point, members


def e_value(log_hr: float) -> float:
    """VanderWeele-Ding E-value of a hazard ratio (rare-outcome approximation): how strongly a hidden
    confounder would have to be associated with both treatment and outcome (risk-ratio scale) to
    explain the estimate away."""
    if not np.isfinite(log_hr):
        return float("nan")
    rr = math.exp(abs(log_hr))
    return float(rr + math.sqrt(rr * (rr - 1.0)))


def choose_regimen(survival: dict[str, float], evidence: dict[str, str], treatments: Sequence[str], *,
                   baseline: str, thresholds: dict[str, float] | None = None) -> str:
    """The option with the largest expected net benefit: estimated survival minus the regimen's minimum
    worthwhile benefit, among regimens with enough evidence (the baseline always qualifies)."""
    best, best_value = baseline, survival[baseline] - min_benefit(baseline, treatments, thresholds)
    for regimen, s in survival.items():
        if regimen == baseline or evidence.get(regimen) != "ok" or not np.isfinite(s):
            continue
        value = s - min_benefit(regimen, treatments, thresholds)
        if value > best_value + 1e-12:
            best, best_value = regimen, value
    return best


def treatment_options(
    bundle: Bundle,
    adata: ad.AnnData,
    *,
    cohort: ad.AnnData | RegimenEvidence,
    baseline: str = "none",
    horizons: Sequence[float] = (60.0, 120.0),
    interval: float = 0.9,
    k_neighbours: int = 100,
    min_support: int = 5,
    thresholds: dict[str, float] | None = None,
    expression_mode: str = "auto",
) -> TreatmentOptions:
    """Survival, benefit against ``baseline`` ('none', 'current' or a regimen name) and evidence per regimen.

    ``cohort`` is the reference cohort the evidence is judged against (normally the training cohort), or a
    :class:`RegimenEvidence` already fitted on it (fit once, reuse for many patients). The point estimate is
    the model's own prediction; with an ensemble or bootstrap replicates the interval is the percentile
    interval of the paired per-member benefits (widened, where needed, to contain the point).
    ``thresholds`` (minimum worthwhile benefit per treatment) default to the reference cohort's
    ``CohortSpec.worthwhile_benefit`` (kept by the evidence model), then :data:`MIN_WORTHWHILE_BENEFIT`.
    ``expression_mode`` is passed to :meth:`FeatureBuilder.transform` (``auto``: decided for this batch).
    """
    if not 0.0 < interval < 1.0:
        raise ValueError(f"interval must lie strictly between 0 and 1, not {interval}")
    fb = bundle.features
    treatments = tuple(fb.treatments_)
    if not treatments:
        raise ModelError("This model has no treatment columns: it cannot compare treatment options.")
    names = regimens(treatments)
    if baseline not in ("current", *names):
        raise ModelError(f"Unknown baseline {baseline!r}: use 'none', 'current' or one of {', '.join(names)}.")
    evidence = cohort if isinstance(cohort, RegimenEvidence) else RegimenEvidence(k_neighbours=k_neighbours).fit(fb, cohort)
    if thresholds is None:
        thresholds = dict(getattr(evidence, "worthwhile_benefit_", None) or {})
    frame = fb.transform(adata, expression_mode=expression_mode)
    X = frame.X
    n, m = X.shape[0], len(names)
    grid = np.asarray(horizons, dtype=np.float64)
    model = bundle.model
    flags = np.array([[regimen_flags(r, treatments)[t] for t in treatments] for r in names], dtype=np.float32)
    cause_specific = hasattr(model, "predict_cause_specific") and getattr(model, "competing_risks_", False)
    if hasattr(model, "regimen_survival"):  # the effect model: both survivals of every regimen in one pass
        runs = [model.regimen_survival(X[s: s + CHUNK], flags, grid) for s in range(0, n, CHUNK)]
        parts = [(r["all"], r["all_members"]) for r in runs]
        css = [(r["cancer"], r["cancer_members"]) for r in runs]
    else:
        parts = [_survival_under(model, X[s: s + CHUNK], flags, grid) for s in range(0, n, CHUNK)]
        css = ([_cause_specific_under(model, X[s: s + CHUNK], flags, grid) for s in range(0, n, CHUNK)]
               if cause_specific else [])
    point = np.concatenate([p for p, _ in parts], axis=1) if parts else np.zeros((m, 0, len(grid)))
    members = (np.concatenate([mm for _, mm in parts], axis=2) if parts and parts[0][1] is not None else None)
    if cause_specific:
        css_point = np.concatenate([p for p, _ in css], axis=1)
        css_members = np.concatenate([mm for _, mm in css], axis=2)
    has_interval = members is not None and members.shape[0] > 1
    current = regimen_labels(adata.obs.reindex(columns=list(treatments)), treatments).to_numpy()
    base_idx = np.array([names.index(current[i] if baseline == "current" else baseline) for i in range(n)], dtype=int)
    cols = np.arange(n)
    tail = 100.0 * (1.0 - interval) / 2.0

    def band(pt: np.ndarray, reps: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if reps is None or reps.shape[0] < 2:
            nan = np.full_like(pt, np.nan)
            return pt, nan, nan
        # the replicates on the last, contiguous axis, sorted row by row (genomics.percentile: = np.percentile)
        lo, hi = percentiles(np.ascontiguousarray(np.moveaxis(reps, 0, -1)), [tail, 100.0 - tail])
        return pt, np.minimum(lo, pt), np.maximum(hi, pt)

    S, S_lo, S_hi = band(point, members)
    B, B_lo, B_hi = band(point - point[base_idx, cols][None],
                         None if members is None else members - members[:, base_idx, cols][:, None])
    if cause_specific:
        C, C_lo, C_hi = band(css_point, css_members)
    log_hr = None
    if hasattr(model, "log_hazard_ratios"):
        per_treatment = model.log_hazard_ratios(X)  # samples × treatments
        log_hr = np.einsum("mnk,nk->mn", flags[:, None, :] - flags[base_idx][None, :, :], per_treatment)
    prop, counts, level = evidence.assess(X, min_support=min_support)
    table = _long_table(frame.sample_ids, names, grid, S=(S, S_lo, S_hi), B=(B, B_lo, B_hi),
                        C=(C, C_lo, C_hi) if cause_specific else None, log_hr=log_hr, base_idx=base_idx,
                        has_interval=has_interval, counts=counts, prop=prop, level=level,
                        min_benefits=np.array([min_benefit(r, treatments, thresholds) for r in names]),
                        k=evidence.k_neighbours, interval=interval)
    risk = pd.Series(np.asarray(model.predict_risk(X), dtype=np.float64), index=list(frame.sample_ids), name="risk")
    burden = np.array([min_benefit(r, treatments, thresholds) for r in names])
    guided = guidance(frame.sample_ids, names, adata.obs, treatments, point[:, :, -1].T,
                      None if not has_interval else np.moveaxis(members[:, :, :, -1], 1, 2), level == "ok", burden)
    return TreatmentOptions(
        table=table, baseline=baseline, horizons=tuple(float(h) for h in grid), caveat=CAVEAT,
        model_id=bundle.card.model_id, bundle_sha256=bundle.sha256, risk=risk, gene_coverage=frame.gene_coverage,
        interval=interval, min_support=min_support, k_neighbours=evidence.k_neighbours,
        competing_risks=bool(cause_specific), thresholds=dict(thresholds or {}), expression_mode=frame.expression_mode,
        guidance=guided,
    )


def guidance(sample_ids: Sequence[str], names: Sequence[str], obs: pd.DataFrame, treatments: Sequence[str],
             S_point: np.ndarray, S_members: np.ndarray | None, allowed: np.ndarray, burden: np.ndarray
             ) -> pd.DataFrame | None:
    """The guided policy per sample (:func:`models.decision.guided_choice`): the default is the guideline rule's
    regimen (:mod:`models.guideline`); the model's best option is presented first only where at least
    :data:`models.decision.DEPART_CONFIDENCE` of the paired replicates favour it. ``S_point`` samples x regimens,
    ``S_members`` replicates x samples x regimens (at the last horizon)."""
    rule = guideline_regimen(obs, treatments)
    if S_members is None or S_members.shape[0] < 2 or not np.isin(rule, list(names)).any():
        return None
    known = np.isin(rule, list(names))
    default = np.array([list(names).index(r) if ok else 0 for r, ok in zip(rule, known, strict=True)])
    best, share = departure(S_members, S_point, default, allowed, burden)
    departs = known & (np.nan_to_num(share, nan=0.0) >= DEPART_CONFIDENCE)
    label = np.asarray(list(names), dtype=object)
    return pd.DataFrame({
        "sample_id": [str(s) for s in sample_ids],
        "guideline": np.where(known, rule, ""),
        "best_option": label[best],
        "departure_confidence": np.where(known, share, np.nan),
        "presented": np.where(known, np.where(departs, label[best], rule), ""),
        "departs": departs,
    })


def _long_table(sample_ids: Sequence[str], names: Sequence[str], grid: np.ndarray, *, S: tuple, B: tuple,
                C: tuple | None, log_hr: np.ndarray | None, base_idx: np.ndarray, has_interval: bool,
                counts: np.ndarray, prop: np.ndarray, level: np.ndarray, min_benefits: np.ndarray,
                k: int, interval: float) -> pd.DataFrame:
    """One row per sample × regimen (sample-major), built column by column from the regimens × samples arrays."""
    n, m = len(sample_ids), len(names)
    if n == 0:
        return pd.DataFrame([])
    is_base = np.arange(m)[None, :] == base_idx[:, None]  # samples × regimens

    def flat(values: np.ndarray) -> np.ndarray:  # regimens × samples → sample-major rows
        return np.ascontiguousarray(values.T).reshape(-1)

    columns: dict[str, np.ndarray] = {
        "sample_id": np.repeat(np.asarray([str(s) for s in sample_ids], dtype=object), m),
        "regimen": np.tile(np.asarray(list(names), dtype=object), n),
    }
    for prefix, (point, lo, hi) in [(SURVIVAL, S), *([(CANCER_SPECIFIC, C)] if C is not None else [])]:
        for h, horizon in enumerate(grid):
            for bound, values in zip(BOUNDS, (point, lo, hi), strict=True):
                columns[column(prefix, horizon, bound)] = flat(values[:, :, h])
    threshold = np.maximum(min_benefits[None, :] - min_benefits[base_idx][:, None], 0.0).reshape(-1)  # T, floored
    evidence = np.asarray(level).astype(str).astype(object).reshape(-1)
    baseline_row = is_base.reshape(-1)
    point, lo, hi = B
    read: dict[float, np.ndarray] = {}
    for h, horizon in enumerate(grid):
        b, b_lo, b_hi = flat(point[:, :, h]), flat(lo[:, :, h]), flat(hi[:, :, h])
        columns[column(BENEFIT, horizon)], columns[column(BENEFIT, horizon, LOWER)] = b, b_lo
        columns[column(BENEFIT, horizon, UPPER)] = b_hi
        read[horizon] = np.where(baseline_row, REFERENCE, readings(b_lo, b_hi, evidence, threshold=threshold))
        worth = np.isin(read[horizon], BENEFIT_READINGS) & (b > 0)  # b >= lo > 0 there: the interval holds the point
        columns[column(NNT, horizon)] = np.where(worth, number_needed_to_treat(b), np.nan)
    if log_hr is not None:
        columns["log_hr"] = flat(np.asarray(log_hr, dtype=np.float64))
        columns["e_value"] = np.where(is_base.reshape(-1), np.nan, e_values(columns["log_hr"]))
    columns["min_benefit"] = threshold
    columns["evidence_n"] = np.asarray(counts, dtype=np.int64).reshape(-1)
    columns["evidence_k"] = np.full(n * m, int(k), dtype=np.int64)
    columns["propensity"] = np.asarray(prop, dtype=np.float64).reshape(-1)
    columns["evidence"] = evidence
    columns["is_baseline"] = baseline_row
    columns["interval_level"] = np.full(n * m, float(interval) if has_interval else np.nan)
    for horizon in grid:
        columns[column(READING, horizon)] = read[horizon].astype(object)
    columns[READING] = read[grid[-1]].astype(object)  # the last horizon's reading (the CLI contract)
    return pd.DataFrame(columns)


def recommend_table(options: TreatmentOptions) -> pd.DataFrame:
    """One row per patient, the ``recommend`` CLI contract (horizons in years: S5_<regimen>, B10_<regimen>, …)."""
    t = options.table
    if t.empty:
        return pd.DataFrame([])
    names = list(dict.fromkeys(t["regimen"]))
    samples = list(dict.fromkeys(t["sample_id"]))
    m = len(names)
    # _long_table writes every sample's regimens in one order, sample-major: a reshape is the pivot
    ordered = (len(t) == len(samples) * m and (t["regimen"].to_numpy()[:m] == np.asarray(names, dtype=object)).all()
               and (t["regimen"].to_numpy().reshape(-1, m) == np.asarray(names, dtype=object)[None, :]).all())
    wide = None if ordered else t.set_index(["sample_id", "regimen"])

    def grid(column: str) -> pd.DataFrame:  # samples × regimens, in first-appearance order
        if wide is None:
            return pd.DataFrame(t[column].to_numpy().reshape(len(samples), m), index=samples, columns=names)
        return wide[column].unstack("regimen").reindex(index=samples, columns=names)

    last = options.horizons[-1]
    years_last = years_tag(last)
    columns: dict[str, object] = {"patient_id": samples,
                                  "risk": options.risk.reindex(samples).to_numpy(dtype=np.float64)}
    for prefix in (SURVIVAL, CANCER_SPECIFIC, BENEFIT) if options.competing_risks else (SURVIVAL, BENEFIT):
        for h in options.horizons:
            blocks = {bound: grid(column(prefix, h, bound)) for bound in BOUNDS}
            for r in names:
                for bound in BOUNDS:
                    columns[wide_column(prefix, h, r, bound)] = blocks[bound][r].to_numpy()
    evidence = grid("evidence")
    read = grid(READING)
    for r in names:
        columns[f"evidence_{r}"] = evidence[r].to_numpy(dtype=object)
    for h in options.horizons:  # reading<years>_<regimen> per horizon; the last one is the contract's
        at = grid(column(READING, h)) if column(READING, h) in t.columns else read
        for r in names:
            columns[f"{READING}{years_tag(h)}_{r}"] = at[r].to_numpy(dtype=object)
    is_base = grid("is_baseline").fillna(False).to_numpy(dtype=bool)
    baseline_idx = is_base.argmax(axis=1)
    treatments = [t for t in names if t != "none" and "+" not in t]
    cost = np.array([min_benefit(r, treatments, options.thresholds) for r in names])
    survival = grid(column(SURVIVAL, last)).to_numpy(dtype=np.float64)
    ok = evidence.to_numpy(dtype=object) == "ok"
    rows = np.arange(len(samples))
    # choose_regimen over arrays: the baseline first, then each regimen with enough evidence, in order
    best = baseline_idx.copy()
    best_value = survival[rows, baseline_idx] - cost[baseline_idx]
    for j in range(len(names)):
        value = survival[:, j] - cost[j]
        better = (j != baseline_idx) & ok[:, j] & np.isfinite(survival[:, j]) & (value > best_value + 1e-12)
        best = np.where(better, j, best)
        best_value = np.where(better, value, best_value)
    columns["recommended"] = np.asarray(names, dtype=object)[best]
    columns["recommended_reading"] = read.to_numpy(dtype=object)[rows, best].astype(str).astype(object)
    worthwhile = {t: min_benefit(t, treatments, options.thresholds) for t in treatments}
    notes = {j: ("An option to discuss, not a directive: the regimen with the largest estimated "
                 f"{years_last}-year survival net of a minimum worthwhile benefit per treatment "
                 f"({', '.join(f'{t} {v:.0%}' for t, v in worthwhile.items())}), among regimens with enough evidence, "
                 f"against '{names[j]}'. " + CAVEAT) for j in set(baseline_idx.tolist())}
    columns["recommendation_note"] = np.asarray([notes[j] for j in baseline_idx], dtype=object)
    columns["gene_coverage"] = np.full(len(samples), options.gene_coverage, dtype=np.float64)
    if options.guidance is not None:  # the guideline rule's regimen and the guided policy (models.decision)
        g = options.guidance.set_index("sample_id").reindex([str(s) for s in samples])
        for name in ("guideline", "departure_confidence", "presented"):
            columns[name if name != "presented" else "guided"] = g[name].to_numpy()
    return pd.DataFrame(columns)
