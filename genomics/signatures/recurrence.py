"""An Oncotype-DX-like recurrence score (Paik 2004 formula on assay-like scaled values, calibrated to the
published TAILORx distribution): a research approximation, not the assay (:func:`recurrence_score`)."""
from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
from scipy.stats import norm

from genomics.errors import InputError
from genomics.gene_panels import ONCOTYPE_REFERENCE_GENES
from genomics.signatures.resolve import Reference, Resolved, resolve_reference


@dataclass(frozen=True)
class PublishedRS:
    """A published distribution of the assay's Recurrence Score: patients per score band (inclusive bounds)."""

    source: str
    population: str
    bands: tuple[tuple[int, int, int], ...]  # (lowest score, highest score, patients)

    @property
    def n(self) -> int:
        return sum(b[2] for b in self.bands)

    def shares(self) -> dict[str, float]:
        return {f"{lo}-{hi}": count / self.n for lo, hi, count in self.bands}

    def lognormal(self) -> tuple[float, float]:
        """(mu, sigma) of the log-normal whose CDF passes closest (least squares on the probit scale) through the
        published cumulative shares at the band edges (a score of at most 10 is below 10.5, and so on)."""
        cum = np.cumsum([b[2] for b in self.bands])[:-1] / self.n
        edges = np.log([b[1] + 0.5 for b in self.bands[:-1]])
        z = norm.ppf(cum)
        sigma, mu = np.polyfit(z, edges, 1)
        return float(mu), float(sigma)


#: The published reference distribution: TAILORx, the assay in HR-positive, HER2-negative, node-negative breast
#: cancer (Sparano et al., N Engl J Med 2018;379:111-21: of 9,719 eligible women 1,619 scored 0-10, 6,711 11-25
#: and 1,389 26-100; Sparano et al., JAMA Oncol 2020;6:367-74: of those 1,389, 598 scored 26-30 and 791 31-100).
#: A log-normal through these shares (median about 16) puts 57% below 18 and 7% at 31 or more.
TAILORX = PublishedRS(
    source="TAILORx (Sparano 2018, 2020)",
    population="9,719 women with hormone-receptor-positive, HER2-negative, node-negative breast cancer",
    bands=((0, 10, 1619), (11, 25, 6711), (26, 30, 598), (31, 100, 791)),
)
RS_LABEL = ("research approximation (not the Oncotype DX assay), calibrated to the published TAILORx distribution "
            "for ER-positive, HER2-negative patients")
#: Fewest calibration samples (ER-positive, HER2-negative reference samples) for the mapping onto TAILORx.
MIN_CALIBRATION = 20
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


def _rs_assay_scale(resolved: Resolved) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str]]:
    """The 16 genes on an assay-like 0-15 scale for the samples and for the reference samples (None without a
    reference), and notes on how they got there."""
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
    z_ref = None
    if ref is None:
        z = x
        notes.append("z-scores used as they are (centred in their own cohort)")
    else:
        ref = ref[list(RS_GENES)]
        mean, sd = ref.mean(axis=0), ref.std(axis=0, ddof=1).where(lambda v: v > 0)
        z, z_ref = (x - mean) / sd, (ref - mean) / sd
        notes.append(f"per-gene z-scores against {resolved.label}")
    notes.append(f"each gene placed on the 0-15 assay scale at mid-scale 7.5 plus {RS_ASSAY_SD:g} unit per reference SD")
    return _on_assay_scale(z), (_on_assay_scale(z_ref) if z_ref is not None else None), notes


def _on_assay_scale(z: pd.DataFrame) -> pd.DataFrame:
    return (RS_ASSAY_RANGE / 2 + RS_ASSAY_SD * z).clip(0.0, RS_ASSAY_RANGE)


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


def _calibration_rows(obs: pd.DataFrame | None, index: pd.Index) -> tuple[np.ndarray, str]:
    """Which reference samples form the calibration population, and in words: ER-positive and HER2-negative
    (ER-positive alone where HER2 status is not recorded; every sample where ER status is not recorded)."""
    if obs is None or "er_status" not in obs or obs["er_status"].isna().all():
        return np.ones(len(index), dtype=bool), f"all {len(index)} reference samples (ER status not recorded)"
    obs = obs.reindex(index)
    er = obs["er_status"].astype(str).str.lower().eq("positive").to_numpy()
    if "her2_status" in obs and obs["her2_status"].notna().any():
        her2 = obs["her2_status"].astype(str).str.lower().eq("negative").to_numpy()
        return er & her2, f"the {int((er & her2).sum())} ER-positive, HER2-negative reference samples"
    return er, f"the {int(er.sum())} ER-positive reference samples (HER2 status not recorded)"


def calibrate_rs(rsu: pd.Series, population: pd.Series, published: PublishedRS = TAILORX) -> pd.DataFrame:
    """Map unscaled scores onto the published distribution through the calibration population's quantiles.

    Each score's rank within ``population`` (Hazen plotting positions, interpolated linearly) becomes a normal
    score z, and the score the log-normal fitted to ``published`` (:meth:`PublishedRS.lognormal`) has at that
    rank: ``RS = exp(mu + sigma * z)``. Beyond the population's range z continues linearly at one robust SD
    (IQR / 1.349) of the population per unit, so ER-negative tumours land above the ER-positive range without
    all sitting at one bound. Returns ``rs`` (0-100) and ``percentile`` (within the population, 0-100).
    """
    r = np.sort(population.dropna().to_numpy(dtype=float))
    if len(r) < MIN_CALIBRATION:
        raise InputError(f"not enough reference samples to calibrate the recurrence-score approximation: "
                         f"{len(r)} (needs {MIN_CALIBRATION})")
    z_ref = norm.ppf((np.arange(1, len(r) + 1) - 0.5) / len(r))
    q25, q75 = np.quantile(r, [0.25, 0.75])
    spread = (q75 - q25) / 1.349 if q75 > q25 else float(np.std(r)) or 1.0
    u = rsu.to_numpy(dtype=float)
    z = np.interp(u, r, z_ref)
    z = np.where(u < r[0], z_ref[0] + (u - r[0]) / spread, z)
    z = np.where(u > r[-1], z_ref[-1] + (u - r[-1]) / spread, z)
    mu, sigma = published.lognormal()
    with np.errstate(over="ignore"):
        rs = np.clip(np.exp(mu + sigma * z), 0.0, 100.0)
    return pd.DataFrame({"rs": rs, "percentile": 100.0 * norm.cdf(z)}, index=rsu.index)


def rs_groups(rs: pd.Series) -> pd.Categorical:
    """Paik 2004 groups: low < 18 <= intermediate < 31 <= high (NaN stays NaN)."""
    return pd.Categorical(
        np.select([rs < RS_CUTOFFS[0], rs < RS_CUTOFFS[1], rs >= RS_CUTOFFS[1]], ["low", "intermediate", "high"],
                  default=None), categories=["low", "intermediate", "high"])


def recurrence_score(
    adata: ad.AnnData, *, reference: Reference = None, min_weight: float = MIN_RS_WEIGHT_FRACTION,
) -> pd.DataFrame:
    """Oncotype-DX-like recurrence score: a research approximation, not the Oncotype DX assay.

    The published formula (Paik 2004) expects RT-PCR values normalised to 5 reference genes, on a 0-15 log2
    scale. Array and RNA-seq data get there in three steps: (1) on log data with at least 3 of the reference
    genes (ACTB, GAPDH, RPLP0, GUSB, TFRC), subtract each sample's mean of them (in the sample and in the
    reference); (2) place each gene on the 0-15 scale at ``7.5 + RS_ASSAY_SD * z``, z being the gene's z-score
    against the reference (the cohort itself when it has 20+ samples; for fewer samples the platform reference,
    as for :func:`pam50_subtype`; z-scores as they are), clipped to 0-15; (3) apply the formula's unscaled
    score RSu (group floors HER2 8, proliferation 6.5). Group scores use the genes measured; an unmeasured
    CD68/GSTM1/BAG1 sits at mid-scale.

    Calibration. The formula's own scaling, ``RS = 20 * (RSu - 6.7)``, assumes RT-PCR values; on
    reference-relative array or RNA-seq values it put SCAN-B's median at 41 and 69% of patients "high". So the
    score is anchored to a published distribution for the population it applies to instead: RSu is computed for
    the reference's ER-positive, HER2-negative samples too, and each patient's RSu is mapped through their
    quantiles onto the TAILORx distribution (:data:`TAILORX`: 9,719 women with HR-positive, HER2-negative,
    node-negative cancer; :func:`calibrate_rs`). An ER-positive, HER2-negative patient at the reference's
    median gets TAILORx's median (about 16); the order of patients is the formula's. The absolute value is
    still not the assay's: it says where the patient stands among the reference's ER-positive, HER2-negative
    patients, on the TAILORx scale (node-positive reference patients included).

    Parameters
    ----------
    reference
        Cohort on the same platform and scale, or a platform reference, whose per-gene means and SDs define the
        0-15 scale and whose ER-positive, HER2-negative samples define the calibration.
    min_weight
        Refuse below this share of the formula's absolute weight measured (see :data:`MIN_RS_WEIGHT_FRACTION`).

    Returns
    -------
    Table indexed by ``obs_names``: ``rs_approx`` (calibrated), ``rs_group`` (Paik 2004: low < 18 <=
    intermediate < 31 <= high), ``rs_percentile`` (among the calibration population), ``rs_unscaled`` (RSu),
    ``rs_genes_used`` (of 16), ``rs_weight_covered``, ``rs_method`` (the label, naming the calibration) and
    ``rs_reference`` (the reference in words). ``attrs["rs_calibration"]`` names the calibration population.
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
    scaled, scaled_ref, notes = _rs_assay_scale(resolved)

    def unscaled(values: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        values = values.copy()
        values.loc[:, ~measured.to_numpy()] = np.nan
        share = values.notna().mul(weights).sum(axis=1) / weights.sum()
        return rs_from_scaled(values).where(share >= min_weight), share

    rsu, per_sample = unscaled(scaled)
    if scaled_ref is not None:
        rsu_ref, _ = unscaled(scaled_ref)
        rows, population = _calibration_rows(resolved.ref_obs, rsu_ref.index)
    else:  # z-scores used as they are: the samples are their own calibration population
        rsu_ref = rsu
        rows, population = _calibration_rows(adata.obs, rsu.index)
        population = population.replace("reference samples", "samples")
    calibrated = calibrate_rs(rsu, rsu_ref[rows])
    notes.append(f"unscaled scores mapped through the quantiles of {population} onto the {TAILORX.source} "
                 "distribution")
    out = pd.DataFrame(index=adata.obs_names)
    out["rs_approx"] = calibrated["rs"].to_numpy()
    out["rs_group"] = rs_groups(out["rs_approx"])
    out["rs_percentile"] = calibrated["percentile"].to_numpy()
    out["rs_unscaled"] = rsu.to_numpy()
    out["rs_genes_used"] = scaled.loc[:, measured.to_numpy()].notna().sum(axis=1).to_numpy()
    out["rs_weight_covered"] = per_sample.to_numpy()
    out["rs_method"] = RS_LABEL
    out["rs_reference"] = resolved.label
    out.attrs.update(label=RS_LABEL, rs_missing_genes=[g for g in RS_GENES if not measured[g]], rs_steps=notes,
                     rs_reference=resolved.label, rs_calibration=population)
    return out
