"""Expression signatures: PAM50 subtype, an Oncotype-DX-like recurrence score, modules, Hallmarks, percentiles.

Every function takes the AnnData first (samples × HGNC symbols, log2 or z-score values) and options
keyword-only, and returns a DataFrame indexed by ``obs_names``. Values are compared with a ``reference``:
a cohort on the same platform and scale, or a :class:`~genomics.platforms.PlatformReference`; without one, a
cohort of at least :data:`MIN_SELF_REFERENCE` samples is its own reference, z-scores are used as they are
(already centred in their own cohort), and fewer log-scale samples are compared with the platform reference
that :func:`genomics.platforms.reference_for` picks (SCAN-B for RNA-seq, VDX for Affymetrix), after being
brought onto its scale (quantile mapping where the log convention differs). A log-scale sample is never
compared with a z-score reference. With no platform reference, an :class:`InputError` says why.
Missing genes are never filled silently: each table reports the genes used, and a part that cannot be
computed is refused (or NaN with a note in :func:`signature_table`).

The PAM50 centroids and Hallmark sets are read from the data folder (``ONCOTX_DATA``); the Oncotype DX
formula (Paik 2004) and the distribution it is calibrated to (TAILORx, Sparano 2018/2020) are published facts
and need no file.

Modules: :mod:`~genomics.signatures.resolve` (what the samples are compared with), :mod:`~genomics.signatures.pam50`,
:mod:`~genomics.signatures.recurrence`, :mod:`~genomics.signatures.modules` (modules, Hallmarks, percentiles) and
:mod:`~genomics.signatures.table` (:func:`signature_table`).
"""
from __future__ import annotations

from genomics.gene_panels import PAM50_GENES
from genomics.signatures.modules import (
    MODULES,
    PERCENTILE_GENES,
    gene_percentiles,
    hallmark_scores,
    load_hallmark_sets,
    module_scores,
)
from genomics.signatures.pam50 import (
    MIN_PAM50_GENES,
    PAM50_SUBTYPES,
    load_pam50_centroids,
    pam50_stability,
    pam50_subtype,
)
from genomics.signatures.recurrence import (
    RS_CUTOFFS,
    RS_GENES,
    RS_GROUPS,
    RS_LABEL,
    TAILORX,
    calibrate_rs,
    recurrence_score,
    rs_from_scaled,
)
from genomics.signatures.resolve import MIN_SELF_REFERENCE, Reference
from genomics.signatures.table import signature_table

__all__ = ["MIN_PAM50_GENES", "MIN_SELF_REFERENCE", "MODULES", "PAM50_GENES", "PAM50_SUBTYPES", "PERCENTILE_GENES",
           "RS_CUTOFFS", "RS_GENES", "RS_GROUPS", "RS_LABEL", "TAILORX", "Reference", "calibrate_rs",
           "gene_percentiles", "hallmark_scores", "load_hallmark_sets", "load_pam50_centroids", "module_scores", "pam50_stability", "pam50_subtype",
           "recurrence_score", "rs_from_scaled", "signature_table"]
