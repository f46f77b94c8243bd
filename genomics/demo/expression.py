"""Simulated expression: gene baselines, noise and program loadings, latent subtypes and program scores, and the
log2 expression matrix ``X = baseline + programs @ loadings + noise``."""
from __future__ import annotations

import numpy as np

from genomics.demo.genes import ALL_GENES, CORE_LOADINGS, FILLER_LOADING_RANGE, GENE_GROUPS
from genomics.demo.parameters import GROUND_TRUTH_PARAMS, PROGRAM_MEANS, PROGRAM_SD, PROGRAMS, SUBTYPES
from genomics.gene_panels import ONCOTYPE_REFERENCE_GENES


def gene_parameters(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Baseline, noise sd and loadings (programs x genes) for all ``ALL_GENES`` (fixed for a seed)."""
    n, k = len(ALL_GENES), len(PROGRAMS)
    groups = np.array(GENE_GROUPS)
    is_core = groups == "core"
    is_ref = np.isin(np.array(ALL_GENES), ONCOTYPE_REFERENCE_GENES)
    base = np.where(is_core, rng.uniform(6.0, 9.0, n), rng.uniform(4.5, 10.5, n))
    base = np.where(is_ref, rng.uniform(11.5, 13.5, n), base)
    sd = np.where(is_core, rng.uniform(0.25, 0.45, n), rng.uniform(0.2, 0.6, n))
    sd = np.where(is_ref, 0.15, sd)
    loadings = np.zeros((k, n))
    index = {p: i for i, p in enumerate(PROGRAMS)}
    cross = rng.normal(0.0, 0.05, (k, n))
    main = rng.uniform(0.0, 1.0, n)
    nuisance = rng.normal(0.0, 0.3, (2, n))
    for j, (gene, group) in enumerate(zip(ALL_GENES, GENE_GROUPS, strict=True)):
        if group == "core":
            for program, value in CORE_LOADINGS.get(gene, {}).items():
                loadings[index[program], j] = value
            continue
        loadings[: index["progesterone"], j] = cross[: index["progesterone"], j]
        if group == "other":
            loadings[index["nuisance_1"], j], loadings[index["nuisance_2"], j] = nuisance[:, j]
        else:
            lo, hi = FILLER_LOADING_RANGE[group]
            loadings[index[group], j] += lo + (hi - lo) * main[j]
    return base, sd, loadings


def simulate_programs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Latent subtype codes (n,) and program scores (n, len(PROGRAMS))."""
    sub = GROUND_TRUTH_PARAMS["subtypes"]
    probs = np.array([sub["probabilities"][s] for s in SUBTYPES])
    subtype = rng.choice(len(SUBTYPES), size=n, p=probs / probs.sum())
    z = np.zeros((n, len(PROGRAMS)))
    index = {p: i for i, p in enumerate(PROGRAMS)}
    for program, sd in PROGRAM_SD.items():
        means = np.array([PROGRAM_MEANS[s][program] for s in SUBTYPES])
        z[:, index[program]] = means[subtype] + sd * rng.standard_normal(n)
    p_amp = np.array([sub["her2_amplification_probability"][s] for s in SUBTYPES])
    amplified = rng.random(n) < p_amp[subtype]
    z[:, index["her2_amplicon"]] = 2.4 * amplified + 0.35 * rng.standard_normal(n)
    z[:, index["progesterone"]] = 0.8 * z[:, index["luminal"]] + 0.6 * rng.standard_normal(n)
    z[:, index["gstm1_null"]] = rng.random(n) < 0.5
    z[:, index["nuisance_1"]] = rng.standard_normal(n)
    z[:, index["nuisance_2"]] = rng.standard_normal(n)
    return subtype, z



def simulate_expression(rng: np.random.Generator, z: np.ndarray, base: np.ndarray, sd: np.ndarray, loadings: np.ndarray,
                chunk: int = 8192) -> np.ndarray:
    n, g = z.shape[0], base.shape[0]
    x = np.empty((n, g), dtype=np.float32)
    base32, sd32, load32 = base.astype(np.float32), sd.astype(np.float32), loadings.astype(np.float32)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        block = rng.standard_normal((stop - start, g), dtype=np.float32)
        block *= sd32
        block += base32
        block += z[start:stop].astype(np.float32) @ load32
        np.clip(block, 2.0, 15.0, out=block)
        x[start:stop] = block
    return x
