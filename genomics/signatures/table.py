"""The per-sample signature table that ``python -m genomics signatures`` writes (:func:`signature_table`)."""
from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from genomics.errors import InputError
from genomics.gene_panels import PAM50_GENES
from genomics.platforms import PlatformReference, detect_platform
from genomics.signatures.modules import MODULES, module_scores
from genomics.signatures.pam50 import MIN_PAM50_GENES, pam50_table
from genomics.signatures.recurrence import RS_GENES, RS_LABEL, recurrence_score
from genomics.signatures.resolve import Reference, dense, gene_values, log_copy, scale_of
from genomics.spec import PROVENANCE_KEY

#: Note when a linear (TPM-like) sample is put on a log-scale cohort's scale before the comparison.
LOG_ALIGNED_NOTE = ("the sample's linear values were put on the cohort's log scale (log2, aligned on the median of "
                    "the shared genes) before the comparison")


def _on_reference_scale(adata: ad.AnnData, reference: Reference, notes: list[str]) -> ad.AnnData:
    """A linear (TPM/FPKM-like) sample compared with a log-scale cohort: log2(x + 1), shifted so that its median over
    the shared genes equals the cohort's (a constant shift: gene-centred ranks, as PAM50 uses, are unchanged); other
    samples are returned as they are."""
    if reference is None or isinstance(reference, PlatformReference) or scale_of(reference) != "log" \
            or scale_of(adata) not in ("tpm", "counts"):
        return adata
    work = log_copy(adata)
    shared = [g for g in work.var_names if g in reference.var_names]
    if not shared:
        return adata
    shift = float(np.nanmedian(gene_values(reference, shared).to_numpy())
                  - np.nanmedian(gene_values(work, shared).to_numpy()))
    work = work.copy()
    work.X = (dense(work.X) + shift).astype(np.float32)
    notes.append(LOG_ALIGNED_NOTE)
    return work


def _usable_reference(adata: ad.AnnData, reference: Reference, notes: list[str]) -> Reference:
    """``reference`` when it suits the samples, else None (the samples' own or their platform's reference).

    A cohort suits when it is on the samples' scale and not on a platform known to differ from theirs; e.g. an
    RNA-seq patient given the METABRIC z-score cohort is compared with SCAN-B instead, and the note says so.
    """
    if reference is None or isinstance(reference, PlatformReference):
        return reference
    scale, ref_scale = scale_of(adata), scale_of(reference)
    why = None
    if scale != ref_scale:
        words = {"log": "log-scale values", "zscore": "per-gene z-scores", "tpm": "linear TPM-like values",
                 "counts": "raw counts"}
        why = f"the sample holds {words.get(scale, scale)}, the cohort {words.get(ref_scale, ref_scale)}"
    else:
        mine, theirs = detect_platform(adata).platform, detect_platform(reference).platform
        if "unknown" not in (mine, theirs) and mine != theirs:
            why = f"the sample looks {mine}, the cohort {theirs}"
    if why is None:
        return reference
    cohort = str(reference.uns.get(PROVENANCE_KEY, {}).get("cohort", "the given cohort"))
    notes.append(f"signatures not compared with {cohort} ({why}): compared with the sample's platform reference")
    return None


def signature_table(adata: ad.AnnData, *, reference: Reference = None) -> pd.DataFrame:
    """One row per sample: PAM50, recurrence score, module scores, gene coverage and the reference used.

    ``reference`` is used when it suits the samples (same scale, same platform; see :func:`_usable_reference`),
    else the samples' own cohort (20+ samples) or their platform reference (:func:`genomics.platforms.reference_for`),
    so a single RNA-seq or Affymetrix sample gets PAM50 and RS. A part that cannot be computed (too few genes, no
    reference, no data folder) is NaN, and ``notes`` says why. This is what ``python -m genomics signatures``
    writes.
    """
    notes: list[str] = []
    adata = _on_reference_scale(adata, reference, notes)
    reference = _usable_reference(adata, reference, notes)
    pam = _attempt(lambda: pam50_table(adata, reference=reference, min_genes=MIN_PAM50_GENES), "PAM50", notes)
    rs = _attempt(lambda: recurrence_score(adata, reference=reference), "recurrence score", notes)
    mods = _attempt(lambda: module_scores(adata, reference=reference), "module scores", notes)
    out = pd.DataFrame({"sample_id": adata.obs_names.astype(str)}, index=adata.obs_names)
    for part, columns in ((pam, ("pam50", "pam50_confidence")), (rs, ("rs_approx", "rs_group"))):
        for col in columns:
            out[col] = part[col].values if part is not None else np.nan
    out["rs_method"] = RS_LABEL
    for name in MODULES:
        out[f"module_{name}"] = mods[f"module_{name}"].to_numpy() if mods is not None else np.nan
    pam_used = pam["pam50_genes_used"] if pam is not None else gene_values(adata, PAM50_GENES).notna().sum(axis=1)
    rs_used = rs["rs_genes_used"] if rs is not None else gene_values(adata, RS_GENES).notna().sum(axis=1)
    out["pam50_genes_used"] = pam_used.to_numpy(dtype=int)
    out["pam50_coverage"] = [f"{n}/{len(PAM50_GENES)}" for n in out["pam50_genes_used"]]
    out["rs_genes_used"] = rs_used.to_numpy(dtype=int)
    out["rs_coverage"] = [f"{n}/{len(RS_GENES)}" for n in out["rs_genes_used"]]
    out["pam50_margin"] = pam["pam50_margin"].to_numpy() if pam is not None else np.nan
    out["pam50_genes_missing"] = pam["pam50_genes_missing"].to_numpy() if pam is not None else ""
    out["pam50_reference"] = pam["pam50_reference"].to_numpy() if pam is not None else ""
    out["rs_reference"] = rs["rs_reference"].to_numpy() if rs is not None else ""
    row_notes = mods["module_notes"] if mods is not None else pd.Series("", index=adata.obs_names)
    out["notes"] = [("; ".join([*notes, r] if r else notes)) for r in row_notes]
    return out.reset_index(drop=True)


def _attempt(compute, what: str, notes: list[str]) -> pd.DataFrame | None:
    """Run one part of the table; an InputError becomes a note (anything else is a bug and propagates)."""
    try:
        return compute()
    except InputError as err:
        notes.append(f"{what}: {err}")
        return None
