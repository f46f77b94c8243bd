"""An Oncotype-DX-like recurrence score (Paik 2004 formula on assay-like scaled values): a research
approximation, not the assay (:func:`recurrence_score`)."""
from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from genomics.errors import InputError
from genomics.gene_panels import ONCOTYPE_REFERENCE_GENES
from genomics.signatures.resolve import Reference, Resolved, resolve_reference

RS_LABEL = "research approximation (not the Oncotype DX assay)"
#: Oncotype DX groups (Paik 2004): within-group weights; each group score is the weighted mean of its genes.
RS_GROUPS: dict[str, dict[str, float]] = {
    "her2": {"GRB7": 0.9, "ERBB2": 0.1},
    "estrogen": {"ESR1": 0.8, "PGR": 1.2, "BCL2": 1.0, "SCUBE2": 1.0},
    "proliferation": {"BIRC5": 1.0, "MKI67": 1.0, "MYBL2": 1.0, "CCNB1": 1.0, "AURKA": 1.0},
    "invasion": {"CTSV": 1.0, "MMP11": 1.0},  # CTSL2 is CTSV today
}
RS_GROUP_COEF = {"her2": 0.47, "estrogen": -0.34, "proliferation": 1.04, "invasion": 0.10}
RS_GROUP_FLOOR = {"her2": 8.0, "proliferation": 6.5}
RS_SINGLE_COEF = {"CD68": 0.05, "GSTM1": -0.08, "BAG1": -0.07}
RS_GENES: tuple[str, ...] = (*(g for grp in RS_GROUPS.values() for g in grp), *RS_SINGLE_COEF)
RS_ASSAY_RANGE = 15.0  # reference-normalised RT-PCR values span about 0-15 log2 units (Paik 2004, fig. 1)
#: Assay-like scale of each gene: mid-scale plus this many log2 units (RT-PCR cycles) per reference SD. An
#: assumption, not a published figure: genefu's min-max scaling stretches a cohort's range (about 5 SDs for 200
#: samples) over all 15 units, about 2.7 units per SD, which put 22% of SCAN-B and 40% of VDX at RS 100 and 13% of
#: SCAN-B at 0; one unit per SD keeps ordinary patients off the 0/100 bounds.
RS_ASSAY_SD = 1.0
#: Refuse the score when the measured genes carry less than this share of the formula's absolute weight
#: (each gene's weight = group coefficient x its share of the group, as in genefu's table; total 2.15), or when
#: a whole group is missing. Weight, not gene count: MKI67 moves the score 4x more than CD68. A missing gene of a
#: measured group is stood in for by the group's other genes (group scores are weighted means of the genes
#: measured), so 65% suffices with every group present: SCAN-B RNA-seq has 11 of 16 genes (70%: no PGR, SCUBE2,
#: BIRC5, MKI67, CTSV); on the demo cohort that panel's score correlates at r = 0.99 with the 16-gene score.
MIN_RS_WEIGHT_FRACTION = 0.65
RS_CUTOFFS = (18.0, 31.0)  # Paik 2004: low < 18 <= intermediate < 31 <= high


def _rs_gene_weights() -> pd.Series:
    weights = {g: abs(RS_GROUP_COEF[grp]) * w / sum(RS_GROUPS[grp].values())
               for grp, genes in RS_GROUPS.items() for g, w in genes.items()}
    weights.update({g: abs(c) for g, c in RS_SINGLE_COEF.items()})
    return pd.Series(weights)


def _rs_assay_scale(resolved: Resolved) -> tuple[pd.DataFrame, list[str]]:
    """The 16 genes on an assay-like 0-15 scale, and notes on how they got there."""
    x, ref = resolved.x, resolved.ref
    notes = []
    housekeeping = [g for g in ONCOTYPE_REFERENCE_GENES
                    if x[g].notna().any() and (ref is None or ref[g].notna().any())]
    if resolved.scale == "log" and ref is not None and len(housekeeping) >= 3:
        # the assay reports each gene relative to the mean of its 5 reference genes (a delta-Ct)
        x = x.sub(x[housekeeping].mean(axis=1), axis=0)
        ref = ref.sub(ref[housekeeping].mean(axis=1), axis=0)
        notes.append(f"normalised to {len(housekeeping)} of 5 reference genes")
    x = x[list(RS_GENES)]
    if ref is None:
        z = x
        notes.append("z-scores used as they are (centred in their own cohort)")
    else:
        ref = ref[list(RS_GENES)]
        z = (x - ref.mean(axis=0)) / ref.std(axis=0, ddof=1).where(lambda v: v > 0)
        notes.append(f"per-gene z-scores against {resolved.label}")
    scaled = (RS_ASSAY_RANGE / 2 + RS_ASSAY_SD * z).clip(0.0, RS_ASSAY_RANGE)
    notes.append(f"each gene placed on the 0-15 assay scale at mid-scale 7.5 plus {RS_ASSAY_SD:g} unit per reference SD")
    return scaled, notes


def rs_from_scaled(scaled: pd.DataFrame) -> pd.Series:
    """RSu from assay-scale values: group scores are weighted means of the genes measured in each sample."""
    rsu = pd.Series(0.0, index=scaled.index)
    for grp, genes in RS_GROUPS.items():
        w = pd.Series(genes)
        vals = scaled[list(genes)]
        score = (vals * w).sum(axis=1, min_count=1) / vals.notna().mul(w).sum(axis=1).replace(0, np.nan)
        if grp in RS_GROUP_FLOOR:
            score = score.clip(lower=RS_GROUP_FLOOR[grp])
        rsu += RS_GROUP_COEF[grp] * score
    for gene, coef in RS_SINGLE_COEF.items():
        # an unmeasured single gene sits at mid-scale (a neutral value), reported through the weight covered
        rsu += coef * scaled[gene].fillna(RS_ASSAY_RANGE / 2)
    return rsu


def recurrence_score(
    adata: ad.AnnData, *, reference: Reference = None, min_weight: float = MIN_RS_WEIGHT_FRACTION,
) -> pd.DataFrame:
    """Oncotype-DX-like recurrence score: a research approximation, not the Oncotype DX assay.

    The published formula (Paik 2004) expects RT-PCR values normalised to 5 reference genes, on a 0-15 log2
    scale. Array and RNA-seq data get there in three steps: (1) on log data with at least 3 of the reference
    genes (ACTB, GAPDH, RPLP0, GUSB, TFRC), subtract each sample's mean of them (in the sample and in the
    reference); (2) place each gene on the 0-15 scale at ``7.5 + RS_ASSAY_SD * z``, z being the gene's z-score
    against the reference (the cohort itself when it has 20+ samples; for fewer samples the platform reference,
    as for :func:`pam50_subtype`; z-scores as they are), clipped to 0-15; (3) apply the formula: group floors
    (HER2 8, proliferation 6.5), ``RS = 20 * (RSu - 6.7)`` truncated to 0-100. Group scores use the genes
    measured; an unmeasured CD68/GSTM1/BAG1 sits at mid-scale. The scale is reference-relative, so the score
    ranks patients within a platform; its absolute value and groups are not the assay's.

    Parameters
    ----------
    reference
        Cohort on the same platform and scale, or a platform reference, whose per-gene means and SDs define the
        0-15 scale.
    min_weight
        Refuse below this share of the formula's absolute weight measured (see :data:`MIN_RS_WEIGHT_FRACTION`).

    Returns
    -------
    Table indexed by ``obs_names``: ``rs_approx``, ``rs_group`` (low < 18 <= intermediate < 31 <= high),
    ``rs_unscaled``, ``rs_genes_used`` (of 16), ``rs_weight_covered``, ``rs_method`` (the label) and
    ``rs_reference`` (the reference in words).
    """
    resolved = resolve_reference(adata, reference, [*RS_GENES, *ONCOTYPE_REFERENCE_GENES], "The recurrence score")
    weights = _rs_gene_weights()
    x = resolved.x[list(RS_GENES)]
    measured = x.notna().any(axis=0)
    if resolved.ref is not None:
        measured &= resolved.ref[list(RS_GENES)].notna().any(axis=0)
    covered = float(weights[measured].sum() / weights.sum())
    empty = [grp for grp, genes in RS_GROUPS.items() if not measured[list(genes)].any()]
    if covered < min_weight or empty:
        why = f"; no gene of the {', '.join(empty)} group{'s' if len(empty) > 1 else ''}" if empty else ""
        raise InputError(f"not enough recurrence-score genes: {int(measured.sum())} of 16 measured, carrying "
                         f"{covered:.0%} of the formula's weight (needs {min_weight:.0%}){why}")
    scaled, notes = _rs_assay_scale(resolved)
    scaled.loc[:, ~measured.to_numpy()] = np.nan
    per_sample = scaled.notna().mul(weights).sum(axis=1) / weights.sum()
    rsu = rs_from_scaled(scaled).where(per_sample >= min_weight)
    rs = (20.0 * (rsu - 6.7)).clip(0.0, 100.0)
    out = pd.DataFrame(index=adata.obs_names)
    out["rs_approx"] = rs
    out["rs_group"] = pd.Categorical(
        np.select([rs < RS_CUTOFFS[0], rs < RS_CUTOFFS[1], rs >= RS_CUTOFFS[1]], ["low", "intermediate", "high"],
                  default=None), categories=["low", "intermediate", "high"])
    out["rs_unscaled"] = rsu
    out["rs_genes_used"] = scaled.notna().sum(axis=1)
    out["rs_weight_covered"] = per_sample
    out["rs_method"] = RS_LABEL
    out["rs_reference"] = resolved.label
    out.attrs.update(label=RS_LABEL, rs_missing_genes=[g for g in RS_GENES if not measured[g]], rs_steps=notes,
                     rs_reference=resolved.label)
    return out
