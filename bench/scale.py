"""Benchmark cases for scale (run through bench/run.py): batch scoring single process vs Dask, training, upload.

Every case runs in its own process (bench/run.py), so peak memory belongs to it (a case imports what it
uses inside its function, so that it loads only what it measures). Dask cases add the worker
processes: their resident memory is sampled every 0.2 s and reported as the peak of the sum over workers
(``workers_peak_mb``, each worker's own peak in ``worker_peaks_mb``); ``client_peak_mb`` is this process
(it also runs the LocalCluster's scheduler). Synthetic cohorts are written in 50,000-patient row groups
without ever holding the whole file, and kept under the bench folder for the next run.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.usage import own_cpu_seconds, peak_memory_mb

REPO = Path(__file__).resolve().parents[1]
BENCH_HOME = Path(os.environ.get("ONCOTX_BENCH_HOME", Path(tempfile.gettempdir()) / "oncotx-bench"))
ROW_GROUP = 50_000
N_GENES = 300  # METABRIC's expression panel in the shared data is 300 genes


class WorkerMemory:
    """Samples the resident memory of Dask worker processes in a background thread."""

    def __init__(self, pids: list[int], every: float = 0.2) -> None:
        self.processes = [psutil.Process(p) for p in pids]
        self.every = every
        self.peak_sum = 0.0
        self.peaks = [0.0] * len(pids)
        self.cpu_start = self._cpu()
        self.cpu_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = []
            for p in self.processes:
                try:
                    rss.append(p.memory_info().rss / 2**20)
                except Exception:  # a worker restarting: counts as 0 for this sample
                    rss.append(0.0)
            self.peaks = [max(a, b) for a, b in zip(self.peaks, rss, strict=True)]
            self.peak_sum = max(self.peak_sum, sum(rss))
            self._stop.wait(self.every)

    def _cpu(self) -> float:
        total = 0.0
        for p in self.processes:
            try:
                times = p.cpu_times()
                total += times.user + times.system
            except Exception:  # noqa: S112 - a worker gone: its time is lost
                continue
        return total

    def __enter__(self) -> WorkerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_s = self._cpu() - self.cpu_start


# ------------------------------------------------------------------------------------------- fixtures
def training_cohort():
    """The scoring bundle's training cohort: the demo generator on a 300-gene panel (seed 0 fixes the platform)."""
    from genomics.demo import make_demo_cohort  # lazy: each case loads only what it measures

    return make_demo_cohort(n_patients=1500, n_genes=N_GENES, seed=0)


def scoring_bundle(kind: str = "ensemble"):
    """The model batch scoring uses, trained once and kept: ``ensemble`` (the default ``recommend`` model, a
    10-member bootstrap xgboost ensemble) or ``effects`` (the treatment-effect engine the Patient page's options
    come from: competing risks, 50 bootstrap refits)."""
    from models.registry import load_bundle  # lazy: each case loads only what it measures
    from models.training import train_bundle  # lazy: each case loads only what it measures

    folder = BENCH_HOME / f"bundle-demo300-os-{kind}"
    if not (folder / "manifest.json").is_file():
        train_bundle(training_cohort(), endpoint="OS", kind=kind, out=folder, device="cpu", seed=0)
    return load_bundle(folder)


def synthetic_file(n_patients: int) -> Path:
    """A parquet cohort of ``n_patients`` synthetic patients (spec sidecar beside it), written chunk by chunk.

    Each 50,000-patient chunk is a template cohort on the bundle's platform with per-patient noise on every
    gene and the clinical numbers, and its own patient ids.
    """
    import numpy as np  # lazy: each case loads only what it measures
    import pandas as pd  # lazy: each case loads only what it measures
    import pyarrow as pa  # lazy: each case loads only what it measures
    import pyarrow.parquet as pq  # lazy: each case loads only what it measures

    from genomics.demo import make_demo_cohort  # lazy: each case loads only what it measures
    from genomics.spec import spec_of  # lazy: each case loads only what it measures

    path = BENCH_HOME / f"synthetic-{n_patients}.parquet"
    if path.is_file():
        return path
    BENCH_HOME.mkdir(parents=True, exist_ok=True)
    template = make_demo_cohort(n_patients=min(ROW_GROUP, n_patients), n_genes=N_GENES, seed=0)
    obs = template.obs.reset_index(drop=True)
    genes = list(template.var_names)
    tmp = path.with_suffix(".tmp")
    writer = None
    try:
        for k, start in enumerate(range(0, n_patients, ROW_GROUP)):
            rows = min(ROW_GROUP, n_patients - start)
            rng = np.random.default_rng(1000 + k)
            X = np.asarray(template.X[:rows]) + rng.normal(0, 0.15, (rows, len(genes))).astype(np.float32)
            chunk = obs.iloc[:rows].copy()
            chunk["patient_id"] = [f"SYN-{start + i:07d}" for i in range(rows)]
            chunk["age_at_diagnosis"] = chunk["age_at_diagnosis"] + rng.normal(0, 2, rows)
            for col in ("er_status", "pr_status", "her2_status", "menopausal_state", "subtype"):
                chunk[col] = chunk[col].astype(str)
            table = pa.Table.from_pandas(pd.concat([chunk, pd.DataFrame(X, columns=genes)], axis=1),
                                         preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=ROW_GROUP)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    path.with_name(path.name + ".spec.json").write_text(spec_of(template).to_json())
    return path


# ---------------------------------------------------------------------------------------------- cases
def case_scoring(n_patients: int, mode: str, kind: str = "ensemble") -> dict:
    """Treatment options (the ``recommend`` table) for every patient of a parquet file: throughput, memory."""
    from models.dask import dask_client, score_partitions  # lazy: each case loads only what it measures
    from models.evidence import RegimenEvidence  # lazy: each case loads only what it measures

    bundle = scoring_bundle(kind)
    source = synthetic_file(n_patients)
    evidence = RegimenEvidence().fit(bundle.features, training_cohort())
    out = Path(tempfile.mkdtemp(prefix="oncotx-score-", dir=BENCH_HOME)) / "options.parquet"
    before = peak_memory_mb()
    cpu_before = own_cpu_seconds()
    row = {"case": f"batch scoring {n_patients:,} ({mode}, {kind})", "patients": n_patients}
    memory = None
    try:
        if mode == "single":
            result = score_partitions(bundle, source, out, client=None, reference=evidence)
        else:
            with dask_client() as client:
                pids = list(client.run(os.getpid).values())
                with WorkerMemory(pids) as memory:
                    result = score_partitions(bundle, source, out, client=client, reference=evidence)
            row.update(workers=len(pids), workers_peak_mb=round(memory.peak_sum),
                       worker_peaks_mb=[round(p) for p in memory.peaks])
        out_mb = out.stat().st_size / 2**20
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    cpu = own_cpu_seconds() - cpu_before + (memory.cpu_s if memory is not None else 0.0)
    row.update(seconds=round(result.seconds, 1), patients_per_s=round(result.patients_per_second),
               cpu_s=round(cpu, 1), patients_per_cpu_s=round(n_patients / max(cpu, 1e-9)),
               partitions=result.n_partitions, client_peak_mb=round(peak_memory_mb()), client_before_mb=round(before),
               output_mb=round(out_mb))
    if mode == "dask":
        row["total_peak_mb"] = row["client_peak_mb"] + row["workers_peak_mb"]
    return row


def case_model_floor(n_patients: int, kind: str = "ensemble") -> dict:
    """The floor under batch scoring: the model calls alone (every regimen, every ensemble member) on feature
    matrices built beforehand, in the same chunks as the batch path; nothing else is timed."""
    import numpy as np  # lazy: each case loads only what it measures

    from genomics.regimens import regimen_flags, regimens  # lazy: each case loads only what it measures
    from models import treatment  # lazy: each case loads only what it measures

    bundle = scoring_bundle(kind)
    template = training_cohort()
    treatments = tuple(bundle.features.treatments_)
    flags = np.array([[regimen_flags(r, treatments)[t] for t in treatments] for r in regimens(treatments)],
                     dtype=np.float32)
    X = bundle.features.transform(template).X
    X = np.vstack([X] * (-(-n_patients // len(X))))[:n_patients]
    grid = np.asarray((60.0, 120.0))
    t0 = time.perf_counter()
    for start in range(0, n_patients, treatment.CHUNK):
        treatment._survival_under(bundle.model, X[start: start + treatment.CHUNK], flags, grid)
    seconds = time.perf_counter() - t0
    members = getattr(bundle.model, "members_", None) or [bundle.model]
    coef = getattr(bundle.model, "coef_c_", None)
    return {"case": f"model only (floor) {n_patients:,} ({kind})", "patients": n_patients, "regimens": len(flags),
            "members": len(members) if coef is None else len(coef) - 1, "seconds": round(seconds, 1),
            "patients_per_s": round(n_patients / seconds), "peak_mb": round(peak_memory_mb())}


def case_training(kind: str, cohort_id: str = "metabric", dask: bool = False) -> dict:
    """train_bundle on a cohort (held-back metrics included), single process or through a Dask LocalCluster."""
    from genomics.cohorts import load_cohort  # lazy: each case loads only what it measures
    from models.training import train_bundle  # lazy: each case loads only what it measures

    cohort = load_cohort(cohort_id) if cohort_id != "demo300" else training_cohort()
    out = Path(tempfile.mkdtemp(prefix="oncotx-train-", dir=BENCH_HOME)) / "bundle"
    t0 = time.perf_counter()
    try:
        if dask:
            from models.dask import dask_client  # lazy: each case loads only what it measures

            with dask_client() as client:
                t1 = time.perf_counter()
                bundle = train_bundle(cohort, endpoint="OS", kind=kind, out=out, device="cpu", seed=0, client=client)
        else:
            t1 = time.perf_counter()
            bundle = train_bundle(cohort, endpoint="OS", kind=kind, out=out, device="cpu", seed=0)
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    c = bundle.card.metrics.get("harrell_c", {}).get("value", float("nan"))
    return {"case": f"train {kind} {cohort_id}{' (dask 2 workers)' if dask else ''}", "patients": bundle.card.n_train,
            "fit_s": round(bundle.card.training_seconds, 1), "total_s": round(time.perf_counter() - t1, 1),
            "cluster_start_s": round(t1 - t0, 1), "held_back_c": round(float(c), 3), "peak_mb": round(peak_memory_mb())}


UPLOAD_CODE = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {repo!r})
import numpy as np
from bench.scale import upload_setup, upload_of
from dashboard.patient.service import analyse, make_context
t_import = time.perf_counter()
spec, cohort, bundle, patients = upload_setup({cohort!r})
t_load = time.perf_counter()
context = make_context(spec, cohort, bundle)
t_context = time.perf_counter()
upload, clinical, regimen = upload_of(spec, cohort, patients[0])
analyse(upload, context=context, clinical=clinical, regimen=regimen)
t_first = time.perf_counter()
warm = []
for pid in patients[1:{repeats} + 1]:
    a = time.perf_counter()
    upload, clinical, regimen = upload_of(spec, cohort, pid)
    analyse(upload, context=context, clinical=clinical, regimen=regimen)
    warm.append(time.perf_counter() - a)
print(json.dumps({{"cold_s": t_first - t0, "import_s": t_import - t0, "load_s": t_load - t_import,
                  "context_s": t_context - t_load, "first_analysis_s": t_first - t_context,
                  "warm_ms": float(np.median(warm)) * 1e3}}))
"""


def upload_setup(cohort_id: str):
    """(spec, cohort, the treatment bundle, held-back patient ids): what a server has after its first start."""
    from genomics.cohorts import load_cohort  # lazy: each case loads only what it measures
    from genomics.spec import spec_of  # lazy: each case loads only what it measures
    from models.registry import load_bundle  # lazy: each case loads only what it measures

    cohort = load_cohort(cohort_id)
    spec = spec_of(cohort)
    bundle = load_bundle(BENCH_HOME / f"bundle-{cohort_id}-os-effects")
    return spec, cohort, bundle, list(bundle.card.test_patient_ids)


def upload_of(spec, cohort, patient_id: str):
    """A held-back patient as an upload: expression CSV with the clinical and treatment columns, validated."""
    from dashboard.patient.service import cohort_patient_upload  # lazy: each case loads only what it measures

    upload = cohort_patient_upload(spec, cohort, patient_id)
    row = cohort[[str(i) == patient_id for i in cohort.obs_names]]
    clinical = {f.name: row.obs[f.name].iloc[0] for f in spec.clinical if f.name in row.obs.columns}
    regimen = {t: int(row.obs[t].iloc[0]) for t in spec.treatments}
    return upload, clinical, regimen


def case_upload(cohort_id: str = "metabric", repeats: int = 10) -> dict:
    """Patient upload to dashboard analysis (dashboard.patient.service.analyse, no Streamlit server).

    cold: a fresh process with the treatment bundle and the cohort map already on disk (a restarted server):
    imports, cohort and bundle loading, the evidence model and map, then the first analysis. warm: the median of
    further patients' analyses (validation of the upload included) in that process.
    """
    from genomics.cohorts import load_cohort  # lazy: each case loads only what it measures
    from genomics.preprocess import preprocessed_cohort  # lazy: each case loads only what it measures
    from models.training import train_bundle  # lazy: each case loads only what it measures

    env = {**os.environ, "ONCOTX_HOME": str(BENCH_HOME / "home"), "PYTHONPATH": str(REPO)}
    os.environ["ONCOTX_HOME"] = env["ONCOTX_HOME"]
    folder = BENCH_HOME / f"bundle-{cohort_id}-os-effects"
    t0 = time.perf_counter()
    if not (folder / "manifest.json").is_file():
        train_bundle(load_cohort(cohort_id), endpoint="OS", kind="effects", out=folder, device="cpu", seed=0)
    preprocessed_cohort(cohort_id)  # the cached cohort map, as a server has after its first start
    setup = time.perf_counter() - t0
    code = UPLOAD_CODE.format(repo=str(REPO), cohort=cohort_id, repeats=repeats)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, check=True)
    numbers = json.loads(done.stdout.strip().splitlines()[-1])
    return {"case": f"upload to dashboard ({cohort_id})", "cold_s": round(numbers["cold_s"], 1),
            "warm_ms": round(numbers["warm_ms"]), "import_s": round(numbers["import_s"], 1),
            "load_s": round(numbers["load_s"], 1), "context_s": round(numbers["context_s"], 1),
            "first_analysis_s": round(numbers["first_analysis_s"], 2), "setup_once_s": round(setup, 1)}


def case_chunked_reference(n_patients: int) -> dict:
    """Reference statistics and PCA of a synthetic cohort file in chunks (genomics.chunked), peak memory."""
    from genomics.chunked import reference_from_file  # lazy: each case loads only what it measures

    source = synthetic_file(n_patients)
    before = peak_memory_mb()
    ref = reference_from_file(source)
    return {"case": f"chunked reference {n_patients:,}x{N_GENES}", "patients": ref.n_obs, "seconds": round(ref.seconds, 1),
            "peak_mb": round(peak_memory_mb()), "before_mb": round(before), "file_mb": round(source.stat().st_size / 2**20)}
