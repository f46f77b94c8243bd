"""Result column names: the one place that spells survival, benefit and number-needed-to-treat columns.

Horizons are in months. A per-patient regimen table (``models.treatment``) has one column per
prefix × horizon × bound: ``S60``, ``S60_lo``, ``S60_hi`` (overall survival), ``CSS60…`` (cancer-specific
survival, competing-risks models), ``B60…`` (benefit against the baseline regimen), ``nnt60``
(number needed to treat) and ``reading60`` (the decision rule's reading at that horizon). The ``recommend`` CLI contract is wide, in years: ``S5_<regimen>_lo``.
"""

from __future__ import annotations

SURVIVAL = "S"
CANCER_SPECIFIC = "CSS"
BENEFIT = "B"
NNT = "nnt"
READING = "reading"  # reading<h> per horizon (models.treatment); the plain "reading" column is the last horizon's
PREFIXES = (SURVIVAL, CANCER_SPECIFIC, BENEFIT, NNT, READING)

POINT, LOWER, UPPER = "", "lo", "hi"
BOUNDS = (POINT, LOWER, UPPER)


def horizon_tag(horizon: float) -> str:
    """The column tag of a horizon in months: 60.0 → '60', 18 → '18', 7.5 → '7.5'."""
    return f"{float(horizon):g}"


def years_tag(horizon: float) -> str:
    """The tag of a horizon in years (the ``recommend`` contract): 60 → '5', 18 → '1.5'."""
    return f"{float(horizon) / 12:g}"


def _bound_suffix(bound: str) -> str:
    if bound not in BOUNDS:
        raise ValueError(f"unknown bound {bound!r}: expected one of {BOUNDS}")
    return f"_{bound}" if bound else ""


def bounded(key: str, bound: str = POINT) -> str:
    """A column name with its bound: ('S60', 'lo') → 'S60_lo'; ('S60', '') → 'S60'."""
    return key + _bound_suffix(bound)


def column(prefix: str, horizon: float, bound: str = POINT) -> str:
    """The column of ``prefix`` (S, CSS, B, nnt) at ``horizon`` months: ('S', 60) → 'S60', ('B', 60, 'lo') → 'B60_lo'."""
    return bounded(f"{prefix}{horizon_tag(horizon)}", bound)


def wide_column(prefix: str, horizon: float, regimen: str, bound: str = POINT) -> str:
    """A ``recommend`` CLI column, horizon in years: ('S', 60, 'chemo', 'hi') → 'S5_chemo_hi'."""
    return bounded(f"{prefix}{years_tag(horizon)}_{regimen}", bound)


def horizon_years_label(horizon: float) -> str:
    """A horizon in words: 60.0 → '5 years'; 18.0 → '1.5 years'; 12 → '1 year'."""
    years = float(horizon) / 12.0
    text = f"{years:.0f}" if abs(years - round(years)) < 1e-9 else f"{years:.1f}"
    return f"{text} year" + ("" if text == "1" else "s")


def horizon_short_label(horizon: float) -> str:
    """A compact horizon label: 60 → '5 y'; 18 → '18 mo' (whole years in years, otherwise months)."""
    return f"{horizon / 12:g} y" if horizon % 12 == 0 else f"{horizon:g} mo"


#: Per-row columns of ``recommend`` naming the model that answered (:meth:`models.variants.Answer.columns`).
ANSWER_COLUMNS = ("variant", "model_id", "genes_used", "genes_missing", "model_c_index", "full_model_c_index",
                  "platform", "platform_reference")


def full_model_columns(bundle, *, coverage: float, mode: str) -> dict:
    """:data:`ANSWER_COLUMNS` for the full model scoring a batch as it is (the ``--dask`` path, which fits no
    companion): genes counted from the batch's gene coverage, the platform from the standardiser's mode."""
    n = len(bundle.features.genes_)
    used = int(round(coverage * n))
    c = (bundle.card.metrics.get("harrell_c") or {}).get("value") if isinstance(bundle.card.metrics, dict) else None
    platform = "training" if mode in ("standardise", "none") else "other"
    return dict(zip(ANSWER_COLUMNS, ("full", bundle.card.model_id, used, n - used, c, c, platform, ""), strict=True))
