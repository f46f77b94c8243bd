"""OncoTx benchmark suite: prints a table of absolute times, ratios and peak memory.

    python bench/run.py            # full sizes (several minutes on 2 cores)
    python bench/run.py --quick    # CI-sized
    python bench/run.py --case projection-2000   # one case

Each case runs in its own process so that "cold" includes imports and numba compilation, and peak
memory (ru_maxrss) belongs to that case alone. Numbers are measurements on a shared machine:
read them as orders of magnitude, never assert on them in tests.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def synthetic_cohort(n_patients: int, n_genes: int, seed: int = 0):
    """The demo cohort's patients, padded with noise genes up to ``n_genes`` (log2 scale)."""
    import anndata as ad
    import numpy as np
    import pandas as pd

    from genomics.demo import MAX_GENES, demo_spec, make_demo_cohort

    base = make_demo_cohort(n_patients=n_patients, n_genes=min(n_genes, MAX_GENES), seed=seed)
    extra = n_genes - base.n_vars
    if extra > 0:
        rng = np.random.default_rng(seed + 1)
        levels = rng.uniform(3, 12, extra).astype(np.float32)
        noise = rng.normal(0, 0.6, (n_patients, extra)).astype(np.float32) + levels
        X = np.hstack([np.asarray(base.X), noise])
        var = pd.DataFrame(index=list(base.var_names) + [f"SYN{i:05d}" for i in range(extra)])
        base = ad.AnnData(X, obs=base.obs, var=var, uns=base.uns)
    base.uns["oncotx"]["spec"] = demo_spec().to_json()
    base.uns["oncotx"]["source_sha256"] = f"synthetic-{n_patients}-{n_genes}-{seed}"
    return base


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def case_preprocess(name: str, n_patients: int, n_genes: int) -> dict:
    """Cohort pipeline wall time and peak memory (the cohort is built first; its memory counts)."""
    from genomics.preprocess import preprocess_cohort

    if name == "metabric":
        from genomics.cohorts import load_cohort

        cohort = load_cohort("metabric")
    else:
        cohort = synthetic_cohort(n_patients, n_genes)
    t0 = time.perf_counter()
    preprocess_cohort(synthetic_cohort(300, 200))  # numba compilation once per process, as a server warms up
    warmup = time.perf_counter() - t0
    before = _peak_mb()
    t0 = time.perf_counter()
    result = preprocess_cohort(cohort)
    seconds = time.perf_counter() - t0
    return {"case": f"preprocess {name}", "patients": cohort.n_obs, "genes": cohort.n_vars,
            "warm_seconds": round(seconds, 1), "warmup_s": round(warmup, 1), "peak_mb": round(_peak_mb()),
            "input_mb_before": round(before),
            "clusters": int(result.obs["leiden"].nunique())}


def case_projection(n_patients: int, n_genes: int = 1000, repeats: int = 50) -> dict:
    """Time to project one patient: cold (first call in a fresh process, reference already cached on disk)
    and warm (median of repeats)."""
    import anndata as ad
    import numpy as np

    from genomics.preprocess import preprocess_cohort
    from genomics.reference import ReferenceModel

    cache = Path(tempfile.gettempdir()) / f"oncotx-bench-ref-{n_patients}-{n_genes}.h5ad"
    if not cache.exists():  # build once; its numba cost is preprocessing, not projection
        preprocess_cohort(synthetic_cohort(n_patients, n_genes)).write_h5ad(cache)
    code = f"""
import time, json, sys
t0 = time.perf_counter()
import anndata as ad, numpy as np
sys.path.insert(0, {str(REPO)!r})
from genomics.reference import ReferenceModel
from bench.run import synthetic_cohort
ref_ad = ad.read_h5ad({str(cache)!r})
t_load = time.perf_counter()
ref = ReferenceModel.from_preprocessed(ref_ad)
t_ref = time.perf_counter()
patient = synthetic_cohort(2, {n_genes}, seed=99)[[0]].copy()
patient.uns["oncotx"] = {{"scale": "log"}}
t1 = time.perf_counter(); ref.project(patient); t2 = time.perf_counter()
warm = []
for _ in range({repeats}):
    a = time.perf_counter(); ref.project(patient); warm.append(time.perf_counter() - a)
print(json.dumps({{"cold_process_s": t2 - t0, "load_s": t_load - t0, "build_ref_s": t_ref - t_load,
                  "first_projection_ms": (t2 - t1) * 1e3, "warm_ms": float(np.median(warm)) * 1e3}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    numbers = json.loads(out.stdout.strip().splitlines()[-1])
    del ad, np, ReferenceModel
    return {"case": f"projection into {n_patients:,}", "patients": n_patients, "genes": n_genes,
            "warm_ms": round(numbers["warm_ms"], 1), "first_ms": round(numbers["first_projection_ms"], 1),
            "cold_process_s": round(numbers["cold_process_s"], 1), "build_ref_s": round(numbers["build_ref_s"], 2)}


def case_numba_cold() -> dict:
    """The first numba-compiled scanpy call (neighbors + UMAP) in a fresh process, vs the same call warm."""
    import scanpy as sc

    from genomics.preprocess import PipelineOptions, preprocess_cohort

    cohort = synthetic_cohort(500, 300)
    t0 = time.perf_counter()
    preprocess_cohort(cohort, options=PipelineOptions())
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    preprocess_cohort(cohort, options=PipelineOptions())
    warm = time.perf_counter() - t0
    del sc
    return {"case": "pipeline 500x300 cold vs warm (numba)", "cold_s": round(cold, 1), "warm_s": round(warm, 1),
            "ratio": round(cold / max(warm, 1e-9), 1)}


CASES = {
    "numba-cold": (case_numba_cold, {}),
    "projection-2000": (case_projection, {"n_patients": 2000}),
    "projection-20000": (case_projection, {"n_patients": 20000}),
    "preprocess-metabric": (case_preprocess, {"name": "metabric", "n_patients": 0, "n_genes": 0}),
    "preprocess-2000x20000": (case_preprocess, {"name": "2000x20000", "n_patients": 2000, "n_genes": 20000}),
    "preprocess-100000x2000": (case_preprocess, {"name": "100000x2000", "n_patients": 100000, "n_genes": 2000}),
}
QUICK = {
    "numba-cold": (case_numba_cold, {}),
    "projection-2000": (case_projection, {"n_patients": 2000, "repeats": 10}),
    "preprocess-1000x2000": (case_preprocess, {"name": "1000x2000", "n_patients": 1000, "n_genes": 2000}),
}


def run_case(name: str, quick: bool) -> dict:
    func, kwargs = (QUICK if quick else CASES)[name]
    return func(**kwargs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--case", help="run one case in this process and print JSON")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.quick)))
        return 0
    names = list((QUICK if args.quick else CASES).keys())
    print(f"OncoTx benchmarks ({'quick' if args.quick else 'full'}), {os.cpu_count()} CPUs\n")
    for name in names:
        cmd = [sys.executable, str(Path(__file__)), "--case", name] + (["--quick"] if args.quick else [])
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        if done.returncode != 0:
            print(f"{name}: FAILED\n{done.stderr[-2000:]}")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        label = row.pop("case")
        print(f"{label:<40} " + "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
