"""Dask: the distributed Cox gradient and Breslow baseline, training and scoring through a real LocalCluster
(2 worker processes) against the single-process path, and the ``--dask`` CLI."""
from __future__ import annotations

import json
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from genomics.demo import make_demo_cohort
from genomics.errors import InputError
from genomics.spec import spec_of
from models.breslow import BreslowBaseline
from models.cli import main
from models.columns import ANSWER_COLUMNS
from models.dask import (
    cox_gradient,
    dask_client,
    event_time_grid,
    n_workers,
    scatter_rows,
    score_partitions,
    train_ensemble_dask,
)
from models.ensemble import SurvivalEnsemble
from models.features import survival_target
from models.registry import load_bundle
from models.training import train_bundle
from models.xgb import XGBSurvival

HORIZONS = np.array([60.0, 120.0])


# --------------------------------------------------------------------------------------- no cluster needed
def _survival_data(n: int, seed: int, *, ties: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    time = rng.exponential(50.0, n) + 0.5
    if ties:
        time = np.round(time)  # many tied event and censoring times
    event = rng.random(n) < 0.6
    margin = rng.normal(0, 0.7, n)
    return margin, np.where(event, time, -time).astype(np.float32), event


def _sharded(margin, label, weight, grid, bounds):
    """cox_gradient on shards run side by side (threads), with an allreduce across them as workers would do it."""
    import threading

    shards = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    barrier = threading.Barrier(len(shards))
    slots: list = [None] * len(shards)
    results: list = [None] * len(shards)

    def allreduce(rank: int, values: np.ndarray, op: str) -> np.ndarray:
        slots[rank] = np.array(values)
        barrier.wait()
        reduced = (np.max if op == "MAX" else np.sum)(np.stack(slots), axis=0)
        barrier.wait()  # everyone has read before the next call overwrites the slots
        return reduced

    def run(rank: int, s: slice) -> None:
        results[rank] = cox_gradient(margin[s], label[s], None if weight is None else weight[s], grid,
                                     allreduce=lambda v, op: allreduce(rank, v, op))

    threads = [threading.Thread(target=run, args=(r, s)) for r, s in enumerate(shards)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return np.concatenate([g for g, _ in results]), np.concatenate([h for _, h in results])


@pytest.mark.parametrize("weighted", [False, True])
def test_sharded_cox_gradient_equals_the_one_process_gradient(weighted):
    margin, label, event = _survival_data(400, 0)
    weight = np.random.default_rng(1).integers(0, 4, 400).astype(np.float64) if weighted else None
    grid = event_time_grid(np.abs(label), event, weight, as_label=True)
    whole = cox_gradient(margin, label, weight, grid)
    for bounds in ([0, 400], [0, 123, 400], [0, 0, 50, 51, 400]):  # including an empty and a one-row shard
        grad, hess = _sharded(margin, label, weight, grid, bounds)
        np.testing.assert_allclose(grad, whole[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(hess, whole[1], rtol=1e-12, atol=1e-12)
    assert (whole[1] >= -1e-12).all()


def test_weights_are_copies_of_rows():
    margin, label, event = _survival_data(200, 2)
    weight = np.random.default_rng(3).integers(0, 4, 200)
    rows = np.repeat(np.arange(200), weight)
    grid = event_time_grid(np.abs(label), event, weight, as_label=True)
    g_w, h_w = cox_gradient(margin, label, weight.astype(float), grid)
    g_d, h_d = cox_gradient(margin[rows], label[rows], None, grid)
    np.testing.assert_allclose(g_w, np.bincount(rows, weights=g_d, minlength=200), atol=1e-12)
    np.testing.assert_allclose(h_w, np.bincount(rows, weights=h_d, minlength=200), atol=1e-12)


def test_cox_gradient_is_xgboosts_on_untied_data():
    """Without ties the full-data gradient is xgboost's own survival:cox gradient: the first tree is the same."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    _, label, event = _survival_data(300, 5, ties=False)
    dtrain = xgb.DMatrix(X, label=label)
    params = {"objective": "survival:cox", "max_depth": 2, "eta": 0.3, "nthread": 1, "base_score": 1.0}
    grid = event_time_grid(np.abs(label), event, as_label=True)
    builtin = xgb.train(params, dtrain, 1)
    custom = xgb.train(params, dtrain, 1, obj=lambda p, d: cox_gradient(p, d.get_label(), d.get_weight(), grid))
    np.testing.assert_allclose(builtin.predict(dtrain, output_margin=True), custom.predict(dtrain, output_margin=True),
                               atol=1e-5)


def test_breslow_on_dask_arrays_equals_breslow_fit():
    import dask.array as da

    from models.dask import breslow_dask

    margin, label, event = _survival_data(500, 6)
    time = np.abs(label).astype(np.float64)
    weight = np.random.default_rng(7).integers(0, 3, 500)
    chunks = (137,)
    d = {name: da.from_array(a, chunks=chunks) for name, a in
         (("m", margin), ("t", time), ("e", event.astype(float)), ("w", weight.astype(np.float32)))}
    plain = breslow_dask(d["m"], d["t"], d["e"], event_times=event_time_grid(time, event))
    expected = BreslowBaseline.fit(margin, time, event)
    np.testing.assert_array_equal(plain.times, expected.times)
    np.testing.assert_allclose(plain.cumulative_hazard, expected.cumulative_hazard, rtol=1e-10)
    rows = np.repeat(np.arange(500), weight)  # weights = the rows of a resample
    weighted = breslow_dask(d["m"], d["t"], d["e"], d["w"], event_times=event_time_grid(time, event, weight))
    expected = BreslowBaseline.fit(margin[rows], time[rows], event[rows])
    np.testing.assert_allclose(weighted.cumulative_hazard, expected.cumulative_hazard, rtol=1e-10)


def test_unreachable_scheduler_is_an_input_error():
    with pytest.raises(InputError, match="Dask scheduler"):
        with dask_client("tcp://127.0.0.1:9", timeout="1s"):
            pass


# ------------------------------------------------------------------------------------------ LocalCluster
@pytest.fixture(scope="module")
def client():
    with dask_client() as c:  # LocalCluster: 2 worker processes × 1 thread
        yield c


@pytest.fixture(scope="module")
def cohort():
    return make_demo_cohort(n_patients=700, n_genes=200, seed=11)


def _cohort_file(adata: ad.AnnData, path: Path, *, row_group: int = 64) -> Path:
    table = pd.concat([adata.obs.reset_index(drop=True),
                       pd.DataFrame(np.asarray(adata.X), columns=list(adata.var_names))], axis=1)
    table.to_parquet(path, row_group_size=row_group)
    path.with_name(path.name + ".spec.json").write_text(spec_of(adata).to_json())
    return path


def _compare(a, b, X: np.ndarray) -> dict[str, float]:
    ra, rb = a.predict_risk(X), b.predict_risk(X)
    sa, sb = a.predict_survival(X, HORIZONS), b.predict_survival(X, HORIZONS)
    return {"corr": float(np.corrcoef(ra, rb)[0, 1]), "mean_abs_dS": float(np.abs(sa - sb).mean()),
            "max_abs_dS": float(np.abs(sa - sb).max())}


def test_train_through_dask_matches_single_process(client, cohort, tmp_path):
    """Same features, same tuned hyperparameters, same bundle format; predictions within the model's own noise.

    xgboost's row subsampling (0.8) draws per worker, so the Dask fit differs from the single-process fit like
    a second seed does. Measured on this cohort: risk correlation 0.98-0.99, mean |ΔS(5y, 10y)| 0.02-0.03
    (single process, seed 0 against seed 1: 0.98 and 0.03). Tolerances: correlation > 0.95, mean |ΔS| < 0.05,
    held-back C-index within 0.03.
    """
    assert n_workers(client) == 2
    single = train_bundle(cohort, endpoint="OS", kind="xgb", out=tmp_path / "single", device="cpu", seed=0)
    dasked = train_bundle(cohort, endpoint="OS", kind="xgb", out=tmp_path / "dask", device="cpu", seed=0,
                          client=client)
    assert dasked.features.columns_ == single.features.columns_
    assert dasked.model.params_ == single.model.params_ and dasked.model.n_rounds_ == single.model.n_rounds_
    untimed = [[{k: v for k, v in r.items() if k != "seconds"} for r in m.cv_results_] for m in (single.model,
                                                                                                  dasked.model)]
    assert untimed[0] == untimed[1]  # tuned in one process on the same rows
    files = {p.relative_to(tmp_path / "single").as_posix() for p in (tmp_path / "single").rglob("*")}
    assert files == {p.relative_to(tmp_path / "dask").as_posix() for p in (tmp_path / "dask").rglob("*")}
    meta_s = json.loads((tmp_path / "single" / "model" / "xgb_meta.json").read_text())
    meta_d = json.loads((tmp_path / "dask" / "model" / "xgb_meta.json").read_text())
    assert meta_s.keys() == meta_d.keys() and meta_d["objective"] == "survival:cox"
    assert "distributed" in dasked.card.versions
    X = single.features.transform(cohort).X
    diff = _compare(single.model, dasked.model, X)
    assert diff["corr"] > 0.95 and diff["mean_abs_dS"] < 0.05, diff
    c_single, c_dask = single.card.metrics["harrell_c"]["value"], dasked.card.metrics["harrell_c"]["value"]
    assert abs(c_single - c_dask) < 0.03 and c_dask > 0.6


def test_ensemble_through_dask_uses_the_same_resamples(client, cohort):
    features_cohort = cohort[:500]
    from models.features import FeatureBuilder

    fb = FeatureBuilder(genes=40).fit(features_cohort)
    X = fb.transform(features_cohort).X
    t, e, usable = survival_target(features_cohort, endpoint="OS")
    X, t, e = X[usable], t[usable], e[usable]
    single = SurvivalEnsemble(kind="xgb", n_members=3, seed=5, member_options={"device": "cpu", "nthread": 2}).fit(
        X, t, e, feature_names=fb.columns_, treatment_index=fb.treatment_index)
    dasked = train_ensemble_dask(client, scatter_rows(client, X, t, e), feature_names=fb.columns_,
                                 treatment_index=fb.treatment_index, n_members=3, seed=5, device="cpu")
    assert dasked.member_seeds_ == single.member_seeds_ == [5, 6, 7]
    assert dasked.tuning_["params"] == single.tuning_["params"]
    assert dasked.tuning_["n_rounds"] == single.tuning_["n_rounds"]
    for member_d, member_s in zip(dasked.members_, single.members_, strict=True):
        assert member_d.params_ == member_s.params_ and member_d.n_rounds_ == member_s.n_rounds_
    diff = _compare(single, dasked, X)
    assert diff["corr"] > 0.95 and diff["mean_abs_dS"] < 0.05, diff


@pytest.fixture(scope="module")
def ensemble_bundle(cohort, tmp_path_factory):
    """A small single-process ensemble bundle (3 members) trained on the first 500 patients."""
    from datetime import UTC, datetime

    from models.features import FeatureBuilder
    from models.registry import ModelCard, save_bundle

    train = cohort[:500].copy()
    spec = spec_of(train)
    t, e, usable = survival_target(train, endpoint="OS", spec=spec)
    fb = FeatureBuilder().fit(train, spec=spec)
    model = SurvivalEnsemble(kind="xgb", n_members=3, seed=0, member_options={"device": "cpu", "nthread": 2,
                                                                               "param_grid": ({"max_depth": 2,
                                                                                               "eta": 0.1},)})
    model.fit(fb.transform(train[usable]).X, t[usable], e[usable], feature_names=fb.columns_,
              treatment_index=fb.treatment_index)
    card = ModelCard(
        model_id="demo-os-ensemble-dask-test", model_kind="ensemble", cohort_id=spec.id,
        cohort_name=spec.display_name, cohort_licence=spec.licence, cohort_attribution=spec.attribution,
        endpoint="OS", endpoint_description="Overall survival", n_features=len(fb.columns_), feature_groups={},
        n_train=int(usable.sum()), events_train=int(e[usable].sum()), n_test=0, events_test=0, test_patient_ids=[],
        metrics={}, versions={}, device="cpu", seed=0, created=datetime.now(UTC).isoformat(timespec="seconds"),
        synthetic_cohort=True)
    folder = save_bundle(tmp_path_factory.mktemp("bundle") / "ens", model=model, features=fb, card=card)
    return load_bundle(folder)


@pytest.fixture(scope="module")
def patients(cohort) -> ad.AnnData:
    """200 patients to score; 3 of them fail the same-platform check (so the whole input is quantile-mapped, as
    one batch) and one lacks 5 genes (so the input's gene coverage is below 1)."""
    out = cohort[500:].copy()
    X = np.asarray(out.X).copy()
    X[20, :5] = np.nan
    out.X = X
    return out


@pytest.fixture(scope="module")
def patients_file(patients, tmp_path_factory) -> Path:
    return _cohort_file(patients, tmp_path_factory.mktemp("cohort") / "patients.parquet")


@pytest.fixture(scope="module")
def reference_file(cohort, tmp_path_factory) -> Path:
    return _cohort_file(cohort[:500].copy(), tmp_path_factory.mktemp("reference") / "reference.parquet")


def test_recommend_dask_cli_matches_single_process(client, ensemble_bundle, patients_file, reference_file, tmp_path,
                                                   capsys):
    """``recommend --dask ADDRESS`` on a parquet cohort in several partitions: the single-process CSV, byte for byte."""
    common = ["recommend", "--model", str(ensemble_bundle.path), "--cohort", str(patients_file),
              "--reference-cohort", str(reference_file), "--baseline", "current"]
    assert main([*common, "--out", str(tmp_path / "single.csv")]) == 0
    single_line = capsys.readouterr().out.strip()
    address = client.scheduler.address
    assert main([*common, "--out", str(tmp_path / "dask.csv"), "--dask", address, "--partition-size", "24KiB"]) == 0
    captured = capsys.readouterr()
    assert captured.out.split(" -> ")[0] == single_line.split(" -> ")[0] and "200 patient(s)" in single_line
    parts = [line for line in captured.err.splitlines() if "partition(s)," in line]
    assert parts and int(parts[0].split(": ")[1].split()[0]) >= 3  # really scored in several partitions
    assert "one batch: expression mode quantile, gene coverage 0.975 (" in captured.err  # some partitions differ
    # every column the same, byte for byte, except the account of which model answered: --dask always scores with
    # the full model (it fits no companion) and counts genes from the batch's coverage (models.columns)
    single_rows = (tmp_path / "single.csv").read_text().splitlines()
    dask_rows = (tmp_path / "dask.csv").read_text().splitlines()
    n_answer = len(ANSWER_COLUMNS)
    assert single_rows[0].split(",")[-n_answer:] == list(ANSWER_COLUMNS) == dask_rows[0].split(",")[-n_answer:]
    assert [r.rsplit(",", n_answer)[0] for r in dask_rows] == [r.rsplit(",", n_answer)[0] for r in single_rows]
    answered = pd.read_csv(tmp_path / "dask.csv")
    assert (answered["variant"] == "full").all() and (pd.read_csv(tmp_path / "single.csv")["variant"] == "full").all()
    assert (answered["model_id"] == ensemble_bundle.card.model_id).all()
    assert main([*common, "--out", str(tmp_path / "dask.parquet"), "--dask", address]) == 0
    table = pd.read_parquet(tmp_path / "dask.parquet")
    expected = pd.read_csv(tmp_path / "single.csv")
    assert list(table.columns) == list(expected.columns)
    assert list(table["patient_id"]) == list(expected["patient_id"])
    answer = list(ANSWER_COLUMNS)
    pd.testing.assert_frame_equal(table.drop(columns=answer), expected.drop(columns=answer), check_dtype=False,
                                  rtol=1e-12)
    assert not list(tmp_path.glob(".*parts*"))  # the parts folder is cleaned up


def test_score_partitions_from_h5ad_and_memory_match(client, ensemble_bundle, cohort, patients, patients_file,
                                                      tmp_path):
    path = tmp_path / "patients.h5ad"
    patients.write_h5ad(path)
    reference = cohort[:500].copy()
    from_h5ad = score_partitions(ensemble_bundle, path, tmp_path / "h5ad.csv", client=client, reference=reference,
                                 rows_per_partition=70)
    in_memory = score_partitions(ensemble_bundle, patients, tmp_path / "mem.csv", client=client, reference=reference,
                                 rows_per_partition=90)
    here = score_partitions(ensemble_bundle, patients_file, tmp_path / "here.csv", client=None, reference=reference)
    assert from_h5ad.n_partitions == 3 and in_memory.n_partitions == 3
    assert from_h5ad.n_patients == in_memory.n_patients == here.n_patients == 200
    a, b, c = (pd.read_csv(tmp_path / f) for f in ("h5ad.csv", "mem.csv", "here.csv"))
    pd.testing.assert_frame_equal(a, c)
    pd.testing.assert_frame_equal(b, c)


def test_train_dask_cli_and_refusals(client, cohort, tmp_path, capsys):
    """``python -m models train --dask ADDRESS`` in its own process (the CLI's one client), then the refusals."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    path = _cohort_file(cohort[:400].copy(), tmp_path / "train.parquet")
    out = tmp_path / "bundle"
    done = subprocess.run([sys.executable, "-m", "models", "train", "--cohort", str(path), "--endpoint", "OS",
                           "--model", "xgb", "--out", str(out), "--dask", client.scheduler.address],
                          capture_output=True, text=True, cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)},
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "xgboost.dask on 2 Dask worker(s)" in done.stderr and "320 training patients" in done.stdout
    bundle = load_bundle(out)
    assert isinstance(bundle.model, XGBSurvival) and bundle.card.n_train == 320
    assert main(["train", "--cohort", str(path), "--endpoint", "OS", "--model", "torch", "--out",
                 str(tmp_path / "t"), "--dask"]) == 2
    assert "--dask trains the xgboost models" in capsys.readouterr().err
    assert main(["recommend", "--model", str(out), "--expression", str(path), "--out", str(tmp_path / "x.csv"),
                 "--dask"]) == 2
    assert "--dask scores a cohort" in capsys.readouterr().err
