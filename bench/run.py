"""OncoTx benchmark suite: prints a table of absolute times, ratios and peak memory.

    python bench/run.py            # full sizes (tens of minutes on 2 cores: 1,000,000-patient scoring twice)
    python bench/run.py --quick    # CI-sized
    python bench/run.py --case projection-2000   # one case
    python bench/run.py --list     # the case names
    python bench/run.py --only score-throughput   # floor, 200k and 1M patients, single and Dask (issue 20)
    python -m bench.run ...        # the same

Cases: patient upload to dashboard analysis (cold process, warm), projection, cohort preprocessing (in memory and
chunked from a file), training (xgboost, ensemble, torch; single process and Dask), batch scoring throughput
(patients/s) from a parquet file in a single process and on a Dask LocalCluster (2 workers), up to 1,000,000
synthetic patients, with peak memory of the process and of the Dask workers (bench/scale.py). bench/gpu.py
compares CPU and GPU.

Each case runs in its own process so that "cold" includes imports and numba compilation, and peak
memory (ru_maxrss) belongs to that case alone (so a case imports what it uses inside its function). Numbers are measurements on a shared machine:
read them as orders of magnitude, never assert on them in tests.
"""
from __future__ import annotations

import os

# OpenMP threads (xgboost, torch, BLAS) busy-wait while idle unless told not to: on a shared 2-core machine that
# makes xgboost many times slower. Before anything imports them; the Dask workers inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: python bench/run.py

from bench import scale  # noqa: E402
from bench.usage import peak_memory_mb  # noqa: E402


def synthetic_cohort(n_patients: int, n_genes: int, seed: int = 0):
    """The demo cohort's patients, padded with noise genes up to ``n_genes`` (log2 scale)."""
    import anndata as ad  # lazy: each case loads only what it measures
    import numpy as np  # lazy: each case loads only what it measures
    import pandas as pd  # lazy: each case loads only what it measures

    from genomics.demo import MAX_GENES, demo_spec, make_demo_cohort  # lazy: each case loads only what it measures

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


def case_preprocess(name: str, n_patients: int, n_genes: int) -> dict:
    """Cohort pipeline wall time and peak memory (the cohort is built first; its memory counts)."""
    from genomics.preprocess import preprocess_cohort  # lazy: each case loads only what it measures

    if name == "metabric":
        from genomics.cohorts import load_cohort  # lazy: each case loads only what it measures

        cohort = load_cohort("metabric")
    else:
        cohort = synthetic_cohort(n_patients, n_genes)
    t0 = time.perf_counter()
    preprocess_cohort(synthetic_cohort(300, 200))  # numba compilation once per process, as a server warms up
    warmup = time.perf_counter() - t0
    before = peak_memory_mb()
    t0 = time.perf_counter()
    result = preprocess_cohort(cohort)
    seconds = time.perf_counter() - t0
    return {"case": f"preprocess {name}", "patients": cohort.n_obs, "genes": cohort.n_vars,
            "warm_seconds": round(seconds, 1), "warmup_s": round(warmup, 1), "peak_mb": round(peak_memory_mb()),
            "input_mb_before": round(before),
            "clusters": int(result.obs["leiden"].nunique())}


def case_projection(n_patients: int, n_genes: int = 1000, repeats: int = 50) -> dict:
    """Time to project one patient: cold (first call in a fresh process, reference already cached on disk)
    and warm (median of repeats)."""
    import anndata as ad  # lazy: each case loads only what it measures
    import numpy as np  # lazy: each case loads only what it measures

    from genomics.preprocess import preprocess_cohort  # lazy: each case loads only what it measures
    from genomics.reference import ReferenceModel  # lazy: each case loads only what it measures

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
    import scanpy as sc  # lazy: each case loads only what it measures

    from genomics.preprocess import PipelineOptions, preprocess_cohort  # lazy: each case loads only what it measures

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


def _scale(name: str):
    def call(**kwargs):
        return getattr(scale, name)(**kwargs)

    call.__name__ = name
    return call


CASES.update({
    "upload-metabric": (_scale("case_upload"), {"cohort_id": "metabric"}),
    "chunked-reference-1000000": (_scale("case_chunked_reference"), {"n_patients": 1_000_000}),
    "train-xgb-metabric": (_scale("case_training"), {"kind": "xgb"}),
    "train-xgb-metabric-dask": (_scale("case_training"), {"kind": "xgb", "dask": True}),
    "train-ensemble-metabric": (_scale("case_training"), {"kind": "ensemble"}),
    "train-ensemble-metabric-dask": (_scale("case_training"), {"kind": "ensemble", "dask": True}),
    "train-torch-metabric": (_scale("case_training"), {"kind": "torch"}),
    **{f"score-{n}-{mode}": (_scale("case_scoring"), {"n_patients": n, "mode": mode})
       for n in (2_000, 100_000, 200_000, 1_000_000) for mode in ("single", "dask")},
    "score-floor-200000": (_scale("case_model_floor"), {"n_patients": 200_000}),
    # the same with the treatment-effect engine (the Patient page's options: competing risks, 50 refits)
    **{f"score-effects-{n}-{mode}": (_scale("case_scoring"), {"n_patients": n, "mode": mode, "kind": "effects"})
       for n in (200_000, 1_000_000) for mode in ("single", "dask")},
    "score-effects-floor-200000": (_scale("case_model_floor"), {"n_patients": 200_000, "kind": "effects"}),
})
# issue 20's throughput table in one run: the model-only floor, then 200k and 1M patients, single-process and Dask
GROUPS = {"score-throughput": ["score-floor-200000", "score-200000-single", "score-200000-dask",
                               "score-1000000-single", "score-1000000-dask"],
          "score-throughput-effects": ["score-effects-floor-200000", "score-effects-200000-single",
                                       "score-effects-200000-dask", "score-effects-1000000-single",
                                       "score-effects-1000000-dask"]}
QUICK.update({
    "upload-demo": (_scale("case_upload"), {"cohort_id": "demo", "repeats": 5}),
    "chunked-reference-20000": (_scale("case_chunked_reference"), {"n_patients": 20_000}),
    "train-xgb-demo300": (_scale("case_training"), {"kind": "xgb", "cohort_id": "demo300"}),
    "train-xgb-demo300-dask": (_scale("case_training"), {"kind": "xgb", "cohort_id": "demo300", "dask": True}),
    "train-torch-demo300": (_scale("case_training"), {"kind": "torch", "cohort_id": "demo300"}),
    **{f"score-{n}-{mode}": (_scale("case_scoring"), {"n_patients": n, "mode": mode})
       for n in (2_000, 20_000) for mode in ("single", "dask")},
    **{f"score-effects-{n}-{mode}": (_scale("case_scoring"), {"n_patients": n, "mode": mode, "kind": "effects"})
       for n in (2_000, 20_000) for mode in ("single", "dask")},
})


def run_case(name: str, quick: bool) -> dict:
    func, kwargs = (QUICK if quick else CASES)[name]
    return func(**kwargs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--case", help="run one case in this process and print JSON")
    parser.add_argument("--only", help="comma-separated case names (or prefixes) to run")
    parser.add_argument("--list", action="store_true", help="list the case names")
    args = parser.parse_args()
    if args.list:
        print("\n".join((QUICK if args.quick else CASES).keys()))
        return 0
    if args.case:
        print(json.dumps(run_case(args.case, args.quick)))
        return 0
    names = list((QUICK if args.quick else CASES).keys())
    if args.only:
        wanted = [g for w in args.only.split(",") if w.strip() for g in GROUPS.get(w.strip(), [w.strip()])]
        names = [n for n in names if any(n == w or n.startswith(w) for w in wanted)]
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"OncoTx benchmarks ({'quick' if args.quick else 'full'}), {os.cpu_count()} CPUs, load average {load}\n")
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
