"""Batch scoring on Dask: treatment options for every patient of a large cohort, partition by partition.

Scoring (:func:`score_partitions`) reads a cohort file lazily (parquet/CSV with ``dask.dataframe``, ``.h5ad``
in row chunks through anndata's backed mode), applies the bundle's FeatureBuilder, model and the treatment
engine per partition (``map_partitions``), and each task writes its own part of the result; parts are joined
by streaming into one CSV or parquet file (or left as a parquet folder). The bundle and the reference
evidence are sent to every worker once. Memory per worker is bounded by one partition
(``partition_bytes``, default 64 MiB of input; a parquet row group is never split, so write large files with
row groups of at most ~100,000 rows) and the scoring chunk (``chunk_rows``).
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import time as clock
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from genomics.cohort_table import cohort_from_table, table_genes
from genomics.errors import InputError
from genomics.export import to_safe_csv
from genomics.regimens import regimens
from genomics.sniff import file_sha256
from genomics.spec import PROVENANCE_KEY, CohortSpec, spec_of
from models.columns import full_model_columns
from models.dask.allocator import tune_allocator
from models.evidence import RegimenEvidence
from models.treatment import flagged_patients, recommend_table, treatment_options

log = logging.getLogger(__name__)

PARTITION_BYTES = "64MiB"
CHUNK_ROWS = 5_000
LARGE_ROW_GROUP = 250_000
OUTPUT_KINDS = (".csv", ".parquet")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ScoringResult:
    """What a batch scoring run did."""

    out: Path
    n_patients: int
    n_partitions: int
    flagged: int  # patients with at least one option read as 'likely benefit'
    n_regimens: int
    seconds: float

    @property
    def patients_per_second(self) -> float:
        return self.n_patients / self.seconds if self.seconds > 0 else float("nan")


@dataclass(frozen=True)
class _Scorer:
    """Everything a partition needs besides its rows (sent to each worker once)."""

    bundle: Any
    evidence: Any
    spec: Any
    genes: Any  # genomics.cohort_table.TableGenes for tables, None for AnnData partitions
    source_name: str
    source_sha256: str
    baseline: str
    chunk_rows: int
    parts_dir: str
    kind: str  # csv | parquet
    threads: int | None  # on a worker: its thread count; None in this process (the bundle's own setting)


def _limit_threads(bundle, threads: int | None) -> None:
    """xgboost predicts with the worker's thread count (the bundle's own setting would oversubscribe)."""
    if threads is None:
        return
    members = getattr(bundle.model, "members_", None) or [bundle.model]
    for member in members:
        booster = getattr(member, "booster_", None)
        if booster is not None and getattr(member, "nthread_", None) != threads:
            booster.set_param({"nthread": threads})
            member.nthread_ = threads


@dataclass(frozen=True)
class Batch:
    """How a batch's expression enters the model: the features' mode and the reported gene coverage.

    A single-process ``recommend`` transforms the whole input as one batch
    (:meth:`genomics.reference.GeneStandardiser.choose_mode`): one profile unlike the reference platform puts
    every patient on quantile mapping, and the reported gene coverage is the batch minimum. A cheap first pass
    over the partitions (read, align the genes; no model) works out both for the whole input, and every
    partition is then scored with them, so results never depend on how the input was partitioned. (Should the
    standardiser decide per sample one day, ``_batch_facts`` must follow it.)
    """

    mode: str = "auto"
    coverage: float | None = None
    probe: bool = False  # only work out the partition's own facts (mode, coverage); score nothing


def _batch_facts(scorer: _Scorer, adata: ad.AnnData) -> tuple[str, float]:
    """(auto mode, minimum gene coverage) of a partition as one batch, from its aligned expression only."""
    standardiser = scorer.bundle.features.standardiser_
    if standardiser is None or adata.n_obs == 0:
        return "none", 1.0
    values = standardiser.aligned(adata)
    return standardiser.choose_mode(adata, values), float(np.isfinite(values).mean(axis=1).min())


def _score_adata(scorer: _Scorer, adata: ad.AnnData, batch: Batch) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The recommend table of one partition (scored ``chunk_rows`` at a time, as one batch) and its facts."""
    if batch.mode == "auto" or batch.coverage is None:
        auto_mode, coverage = _batch_facts(scorer, adata)
    else:
        auto_mode, coverage = batch.mode, batch.coverage
    mode = auto_mode if batch.mode == "auto" else batch.mode
    tables = []
    for start in range(0, adata.n_obs, scorer.chunk_rows):
        chunk = adata[start: start + scorer.chunk_rows]
        options = treatment_options(scorer.bundle, chunk, cohort=scorer.evidence, baseline=scorer.baseline,
                                    expression_mode="auto" if mode == "none" else mode)
        tables.append(recommend_table(options))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame([])
    if len(table):
        table["gene_coverage"] = coverage if batch.coverage is None else batch.coverage
        # the same per-row account of the answering model as the single-process recommend (the full model here)
        for name, value in full_model_columns(scorer.bundle, coverage=float(table["gene_coverage"].iloc[0]),
                                              mode=mode).items():
            table[name] = value
    return table, {"mode": auto_mode, "coverage": coverage}


def _write_part(scorer: _Scorer, table: pd.DataFrame, number: int, facts: dict[str, Any]) -> pd.DataFrame:
    """Write one partition's rows; return its one-row summary."""
    path = Path(scorer.parts_dir) / f"part-{number:06d}.{scorer.kind}"
    tmp = path.with_suffix(".tmp")
    flagged = 0
    if not table.empty:
        if scorer.kind == "csv":
            tmp.write_bytes(to_safe_csv(table))
        else:
            table.to_parquet(tmp, index=False)
        tmp.replace(path)
        flagged = flagged_patients(table)
    return pd.DataFrame({"partition": [number], "patients": [len(table)], "flagged": [flagged],
                         "mode": [facts["mode"]], "coverage": [facts["coverage"]]})


def _run_partition(scorer: _Scorer, number: int, make: Callable[[], ad.AnnData], batch: Batch) -> pd.DataFrame:
    _limit_threads(scorer.bundle, scorer.threads)
    with threadpool_limits(scorer.threads):
        adata = make()
        if batch.probe:
            mode, coverage = _batch_facts(scorer, adata)
            return pd.DataFrame({"partition": [number], "patients": [adata.n_obs], "flagged": [0], "mode": [mode],
                                 "coverage": [coverage]})
        table, facts = _score_adata(scorer, adata, batch)
        return _write_part(scorer, table, number, facts)


def _score_table_partition(part: pd.DataFrame, scorer: _Scorer, batch: Batch = Batch(), number: int | None = None,
                           partition_info: dict | None = None) -> pd.DataFrame:
    if number is None:
        number = int(partition_info["number"]) if partition_info else 0
    return _run_partition(scorer, number, lambda: cohort_from_table(
        part, scorer.spec, source=scorer.source_name, sha256=scorer.source_sha256, genes=scorer.genes), batch)


def _score_h5ad_rows(path: str, start: int, stop: int, spec_json: str | None, scorer: _Scorer, number: int,
                     batch: Batch) -> pd.DataFrame:
    def make() -> ad.AnnData:
        backed = ad.read_h5ad(path, backed="r")
        try:
            rows = backed[start:stop].to_memory()
        finally:
            backed.file.close()
        if spec_json is not None:
            rows.uns.setdefault(PROVENANCE_KEY, {})["spec"] = spec_json
        return rows

    return _run_partition(scorer, number, make, batch)


def _score_anndata_rows(rows: ad.AnnData, scorer: _Scorer, number: int, batch: Batch) -> pd.DataFrame:
    return _run_partition(scorer, number, lambda: rows, batch)


SUMMARY_META = {"partition": "i8", "patients": "i8", "flagged": "i8", "mode": "object", "coverage": "f8"}


def _table_source(path: Path, *, partition_bytes: str):
    """(dask DataFrame, spec, TableGenes, sha256) of a parquet or CSV patient table with its spec sidecar."""
    import dask.dataframe as dd  # lazy: start-up cost (dask.dataframe)

    sidecar = path.with_name(path.name + ".spec.json")
    if not sidecar.is_file():
        raise InputError(f"{path.name}: a cohort table needs its spec beside it as {sidecar.name}.")
    spec = CohortSpec.from_json_file(sidecar)
    name = path.name.lower()
    if path.is_dir() or name.endswith(".parquet"):
        frame = dd.read_parquet(str(path), split_row_groups="infer", blocksize=partition_bytes)
        _warn_large_row_groups(path)
    else:
        if name.endswith((".gz", ".bz2", ".xz", ".zip")):
            log.warning("%s is compressed: it cannot be split and is scored as one partition (use parquet)", path.name)
        dtypes: dict[str, str] = {spec.patient_id_col: "object"}
        for f in spec.clinical:
            dtypes[f.name] = "float64" if f.kind in ("numeric", "ordinal") else "object"
        for col in (*spec.treatments, *(c for ep in spec.endpoints for c in (ep.time_col, ep.event_col))):
            dtypes[col] = "float64"
        header = pd.read_csv(path, nrows=0, sep=None, engine="python")
        sep = "\t" if len(header.columns) == 1 and "\t" in str(header.columns[0]) else ","
        frame = dd.read_csv(str(path), sep=sep, blocksize=None if name.endswith((".gz", ".bz2", ".xz", ".zip"))
                            else partition_bytes, dtype={k: v for k, v in dtypes.items()}, assume_missing=True)
    meta = frame._meta
    numeric = [pd.api.types.is_numeric_dtype(meta[c]) for c in meta.columns]
    genes = table_genes(list(meta.columns), numeric, spec)
    if not genes.columns:
        raise InputError(f"{path.name}: no gene columns recognised.")
    sha = f"{file_sha256(path)}" if path.is_file() else f"folder:{path.name}"
    return frame, spec, genes, sha


def _warn_large_row_groups(path: Path) -> None:
    import pyarrow.parquet as pq  # lazy: start-up cost (pyarrow.parquet)

    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    for file in files[:50]:
        meta = pq.ParquetFile(file).metadata
        largest = max((meta.row_group(i).num_rows for i in range(meta.num_row_groups)), default=0)
        if largest > LARGE_ROW_GROUP:
            log.warning("%s has row groups of %d rows: a partition cannot be smaller than a row group, so a worker "
                        "holds that many rows at once (rewrite with row_group_size=50000 to bound memory)",
                        file.name, largest)
            return


def _source_name(source: str | Path | ad.AnnData) -> str:
    return source.uns.get("oncotx", {}).get("cohort", "cohort") if isinstance(source, ad.AnnData) else Path(source).name


def score_partitions(
    bundle,
    source: str | Path | ad.AnnData,
    out: Path,
    *,
    client=None,
    reference: ad.AnnData | Any,
    baseline: str = "none",
    partition_bytes: str = PARTITION_BYTES,
    rows_per_partition: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> ScoringResult:
    """Treatment options for every patient of a large cohort, partition by partition (see the module docstring).

    Parameters
    ----------
    bundle
        A loaded :class:`~models.registry.Bundle`.
    source
        A ``.parquet`` file or folder, a ``.csv`` (with its ``.spec.json`` sidecar), an ``.h5ad``, or an
        AnnData already in memory (sent to the workers in ``rows_per_partition`` blocks).
    out
        ``*.csv`` or ``*.parquet`` (one file, joined by streaming), or a folder (parquet parts).
    client
        A ``distributed.Client`` (:func:`dask_client`); None scores the same partitions one after another in
        this process (the single-process baseline of the benchmarks, also with bounded memory).
    reference
        The reference cohort the evidence is judged against (normally the training cohort), or a fitted
        :class:`~models.treatment.RegimenEvidence`.
    partition_bytes, rows_per_partition
        Partition size: input bytes for parquet/CSV (a parquet row group is never split); rows for h5ad and
        in-memory sources (default: as many rows as fit ``partition_bytes`` of float32 expression).
    baseline, chunk_rows
        As for :func:`models.treatment.treatment_options`; rows are scored ``chunk_rows`` at a time.

    The output has the columns and row order of the single-process ``recommend``.
    """
    say = progress or (lambda message: log.info(message))
    started = clock.perf_counter()
    out = Path(out)
    kind = out.suffix.lower()
    if kind and kind not in OUTPUT_KINDS:
        raise InputError(f"--out must end in .csv or .parquet (or be a folder), not {out.name}.")
    evidence = reference if isinstance(reference, RegimenEvidence) else RegimenEvidence().fit(bundle.features, reference)
    out.parent.mkdir(parents=True, exist_ok=True)
    parts_dir = Path(tempfile.mkdtemp(prefix=f".{out.name}.parts-", dir=out.parent))
    part_kind = "csv" if kind == ".csv" else "parquet"
    threads = 1 if client is not None else None
    tune_allocator()  # models.dask.allocator: large temporaries reused, not mapped afresh
    if client is not None:
        client.run(tune_allocator)
    try:
        summaries = _dispatch(bundle, source, evidence=evidence, client=client, baseline=baseline,
                              partition_bytes=partition_bytes, rows_per_partition=rows_per_partition,
                              chunk_rows=chunk_rows, parts_dir=parts_dir, part_kind=part_kind, threads=threads,
                              say=say)
        summary = pd.concat(summaries, ignore_index=True).sort_values("partition")
        _join_parts(parts_dir, out, part_kind)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    seconds = clock.perf_counter() - started
    result = ScoringResult(out=out, n_patients=int(summary["patients"].sum()), n_partitions=len(summary),
                           flagged=int(summary["flagged"].sum()), n_regimens=len(regimens(bundle.features.treatments_)),
                           seconds=seconds)
    say(f"scored {result.n_patients:,} patients in {result.n_partitions} partitions in {seconds:.1f} s "
        f"({result.patients_per_second:,.0f} patients/s)")
    return result


def _dispatch(bundle, source, *, evidence, client, baseline: str, partition_bytes: str, rows_per_partition: int | None,
              chunk_rows: int, parts_dir: Path, part_kind: str, threads: int | None,
              say: Progress) -> list[pd.DataFrame]:
    """Run the partitions (on the cluster, or one after another here), reconcile them into one batch (see
    :class:`Batch`); their summaries."""
    run = _partition_runner(bundle, source, evidence=evidence, client=client, baseline=baseline,
                            partition_bytes=partition_bytes, rows_per_partition=rows_per_partition,
                            chunk_rows=chunk_rows, parts_dir=parts_dir, part_kind=part_kind, threads=threads, say=say)
    facts = pd.concat(run(None, Batch(probe=True)), ignore_index=True)
    facts = facts[facts["patients"] > 0]
    if facts.empty:
        return [facts]
    whole = Batch(mode="quantile" if (facts["mode"] == "quantile").any() else str(facts["mode"].iloc[0]),
                  coverage=float(facts["coverage"].min()))
    differ = int(((facts["mode"] != whole.mode) | (facts["coverage"] != whole.coverage)).sum())
    say(f"the whole input is one batch: expression mode {whole.mode}, gene coverage {whole.coverage:.3f}"
        + (f" ({differ} partition(s) alone would have had other values)" if differ else ""))
    return run(None, whole)


def _partition_runner(bundle, source, *, evidence, client, baseline: str, partition_bytes: str,
                      rows_per_partition: int | None, chunk_rows: int, parts_dir: Path, part_kind: str,
                      threads: int | None, say: Progress) -> Callable[[list[int] | None, Batch], list[pd.DataFrame]]:
    """``run(partitions or None for all, batch)`` for the source: on the cluster, or one after another here."""
    import dask  # lazy: start-up cost (dask)

    def scorer_for(spec, genes, name: str, sha: str):
        scorer = _Scorer(bundle=bundle, evidence=evidence, spec=spec, genes=genes, source_name=name,
                         source_sha256=sha, baseline=baseline, chunk_rows=chunk_rows, parts_dir=str(parts_dir),
                         kind=part_kind, threads=threads)
        return client.scatter(scorer, broadcast=True) if client is not None else scorer

    def rows_for(n_vars: int) -> int:
        if rows_per_partition is not None:
            return max(1, int(rows_per_partition))
        from dask.utils import parse_bytes  # lazy: start-up cost (dask)

        return max(1, parse_bytes(partition_bytes) // (4 * max(n_vars, 1) + 256))

    def by_rows(n_obs: int, n_vars: int) -> list[tuple[int, int]]:
        step = rows_for(n_vars)
        return [(a, min(a + step, n_obs)) for a in range(0, n_obs, step)]

    def execute(calls: list[tuple[Callable, tuple]]) -> list[pd.DataFrame]:
        if client is None:
            return [fn(*args) for fn, args in calls]
        return _gather(client, [dask.delayed(fn)(*args) for fn, args in calls], say)

    if isinstance(source, ad.AnnData):
        scorer = scorer_for(spec_of(source), None, _source_name(source), "")
        bounds = by_rows(source.n_obs, source.n_vars)
        blocks = [source[a:b].copy() for a, b in bounds]
        if client is not None:
            blocks = [client.scatter(block) for block in blocks]
        say(f"{_source_name(source)}: {len(bounds)} partition(s) of up to {bounds[0][1] - bounds[0][0]:,} patients"
            if bounds else "empty input")

        def run_memory(numbers: list[int] | None, batch: Batch) -> list[pd.DataFrame]:
            chosen = range(len(blocks)) if numbers is None else numbers
            return execute([(_score_anndata_rows, (blocks[i], scorer, i, batch)) for i in chosen])

        return run_memory
    path = Path(source)
    if not path.exists():
        raise InputError(f"No cohort file {path}.")
    if path.suffix.lower() == ".h5ad":
        backed = ad.read_h5ad(path, backed="r")
        try:
            n_obs, n_vars = backed.n_obs, backed.n_vars
            prov = dict(backed.uns.get(PROVENANCE_KEY, {}))
        finally:
            backed.file.close()
        sidecar = path.with_name(path.name + ".spec.json")
        spec_json = None
        if sidecar.is_file():
            spec_json = CohortSpec.from_json_file(sidecar).to_json()
        elif "spec" not in prov:
            raise InputError(f"{path.name}: no cohort spec inside the .h5ad and no {sidecar.name} beside it.")
        scorer = scorer_for(None, None, path.name, "")
        bounds = by_rows(n_obs, n_vars)
        say(f"{path.name}: {len(bounds)} partition(s)")

        def run_h5ad(numbers: list[int] | None, batch: Batch) -> list[pd.DataFrame]:
            chosen = range(len(bounds)) if numbers is None else numbers
            return execute([(_score_h5ad_rows, (str(path), *bounds[i], spec_json, scorer, i, batch)) for i in chosen])

        return run_h5ad
    frame, spec, genes, sha = _table_source(path, partition_bytes=partition_bytes)
    scorer = scorer_for(spec, genes, path.name, sha)
    say(f"{path.name}: {frame.npartitions} partition(s), {len(genes.columns)} gene columns")

    def run_table(numbers: list[int] | None, batch: Batch) -> list[pd.DataFrame]:
        if client is None:
            chosen = range(frame.npartitions) if numbers is None else numbers
            return [_score_table_partition(frame.get_partition(i).compute(scheduler="sync"), scorer, batch, i)
                    for i in chosen]
        if numbers is None:
            scored = frame.map_partitions(_score_table_partition, scorer, batch, meta=SUMMARY_META)
            return _gather(client, scored.to_delayed(), say)
        tasks = [frame.get_partition(i).map_partitions(_score_table_partition, scorer, batch, i, meta=SUMMARY_META)
                 for i in numbers]
        return _gather(client, [t.to_delayed()[0] for t in tasks], say)

    return run_table


def _gather(client, tasks: list, say: Progress) -> list[pd.DataFrame]:
    from distributed import as_completed  # lazy: start-up cost (distributed)

    futures = client.compute(tasks)
    done, total, patients, results = 0, len(futures), 0, []
    step = max(1, total // 10)
    for future in as_completed(futures):
        summary = future.result()
        results.append(summary)
        done += 1
        patients += int(summary["patients"].sum())
        if done % step == 0 or done == total:
            say(f"scored {done}/{total} partitions ({patients:,} patients)")
    return results


def _join_parts(parts_dir: Path, out: Path, part_kind: str) -> None:
    """Move the parts into place: streamed into one CSV/parquet file, or as a folder of parquet parts."""
    parts = sorted(parts_dir.glob(f"part-*.{part_kind}"))
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    if out.suffix.lower() == ".csv":
        with tmp.open("wb") as sink:
            for i, part in enumerate(parts):
                with part.open("rb") as src:
                    header = src.readline()
                    if i == 0:
                        sink.write(header)
                    shutil.copyfileobj(src, sink, length=1 << 20)
    elif out.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq  # lazy: start-up cost (pyarrow.parquet)

        writer = None
        try:
            for part in parts:
                table = pq.read_table(part)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            pd.DataFrame([]).to_parquet(tmp)
    else:
        tmp.mkdir()
        for part in parts:
            part.replace(tmp / part.name)
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()
    tmp.replace(out)
