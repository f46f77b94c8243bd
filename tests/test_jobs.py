"""Background training jobs (status in the database), the Patient page's model choice, and the model lab's scores."""
from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from dashboard.modelling import bundles, jobs, lab, preferences
from dashboard.platform.db import session_scope
from genomics.errors import InputError


@pytest.fixture(scope="module")
def small_cohort(tmp_path_factory) -> Path:
    """A 300-patient, 200-gene demo cohort as an .h5ad file (a cohort PATH, as a researcher would give it)."""
    from genomics.demo import make_demo_cohort

    path = tmp_path_factory.mktemp("cohort") / "small_demo.h5ad"
    make_demo_cohort(n_patients=300, n_genes=200, seed=1).write_h5ad(path)
    return path


@pytest.fixture
def trained(small_cohort) -> jobs.Job:
    job = jobs.submit(str(small_cohort), cohort_id="demo", endpoint="OS", kind="xgb")
    return jobs.wait(job.id, timeout=240)


def test_job_trains_in_the_background_and_records_progress(small_cohort):
    job = jobs.submit(str(small_cohort), cohort_id="demo", endpoint="OS", kind="xgb")
    assert job.status in ("queued", "running") and job.cohort == str(small_cohort)
    done = jobs.wait(job.id, timeout=240)
    assert done.status == "done", done.error
    assert done.started is not None and done.finished is not None and done.finished >= done.started
    assert "training" in done.progress and "trees" in done.progress and "done: held-back Harrell C" in done.progress
    bundle_dir = Path(done.bundle_path)
    assert bundle_dir.parent == jobs.lab_dir() and bundle_dir.name.startswith("demo-os-xgb-")
    from models.registry import load_bundle

    assert load_bundle(bundle_dir).card.endpoint == "OS"
    # a page reload reads the same job back from the database
    [listed] = jobs.list_jobs("demo")
    assert listed == jobs.get_job(job.id)
    frame = jobs.jobs_frame([listed])
    assert frame.loc[0, "status"] == "done" and frame.loc[0, "bundle"] == bundle_dir.name
    assert str(bundle_dir.parent) not in frame.to_csv()  # no server paths on screen


def test_failed_job_keeps_its_error(small_cohort):
    job = jobs.wait(jobs.submit(str(small_cohort), cohort_id="demo", endpoint="NOPE", kind="xgb").id)
    assert job.status == "failed" and "no endpoint 'NOPE'" in job.error
    assert job.bundle_path is None and "failed:" in job.last_line
    assert jobs.jobs_frame([job]).loc[0, "progress"] == job.error


def test_unknown_kind_is_refused_before_queueing():
    with pytest.raises(InputError, match="Unknown model kind"):
        jobs.submit("demo", cohort_id="demo", endpoint="OS", kind="forest")
    assert jobs.list_jobs() == []


def test_job_of_a_stopped_server_is_marked_interrupted():
    now = datetime.now(UTC)
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    with session_scope() as s:
        s.add(jobs.JobRow(id="a" * 32, cohort="demo", cohort_id="demo", endpoint="OS", kind="xgb", seed=0,
                          device="auto", status="running", progress="", created=now, updated=now,
                          worker=f"{socket.gethostname()}:{dead_pid}"))
        s.add(jobs.JobRow(id="b" * 32, cohort="demo", cohort_id="demo", endpoint="OS", kind="xgb", seed=0,
                          device="auto", status="running", progress="", created=now, updated=now,
                          worker=f"{socket.gethostname()}:{os.getpid()}"))
    jobs._RECOVERED.clear()  # a fresh server process
    listed = {j.id[0]: j for j in jobs.list_jobs("demo")}
    assert listed["a"].status == "failed" and "Interrupted" in listed["a"].error
    assert listed["b"].status == "running"  # this process is alive: its job is left alone


def test_preferred_bundle(trained, tmp_path):
    path = Path(trained.bundle_path)
    assert preferences.preferred_bundle("demo", "OS") is None
    preferences.set_preferred("demo", "OS", path)
    assert preferences.preferred_bundle("demo", "OS") == path
    assert preferences.preferred_bundle("demo", "RFS") is None and preferences.preferred_bundle("metabric", "OS") is None
    preferences.set_preferred("demo", "OS", path)  # setting again updates, never duplicates
    preferences.clear_preferred("demo", "OS")
    assert preferences.preferred_bundle("demo", "OS") is None
    with pytest.raises(InputError, match="not a model bundle"):
        preferences.set_preferred("demo", "OS", tmp_path)
    preferences.set_preferred("demo", "OS", path)
    (path / "manifest.json").unlink()  # the chosen bundle has gone: back to the default
    assert preferences.preferred_bundle("demo", "OS") is None


def test_list_bundles_by_cohort_and_endpoint(trained):
    infos = bundles.list_bundles("demo", "OS")
    assert [i.path for i in infos] == [Path(trained.bundle_path)]
    assert bundles.list_bundles("demo", "RFS") == [] and bundles.list_bundles("metabric") == []
    assert "xgb" in infos[0].label and "C 0." in infos[0].label
    (jobs.lab_dir() / ".bundle-tmp").mkdir()  # a bundle being written is never listed
    assert len(bundles.list_bundles("demo")) == 1


def test_lab_scores_held_back_patients(trained, small_cohort):
    from genomics.cohorts import load_cohort
    from genomics.spec import spec_of
    from models.metrics import harrell_c
    from models.registry import load_bundle

    bundle = load_bundle(Path(trained.bundle_path))
    cohort = load_cohort(str(small_cohort))
    held = lab.held_back(bundle, cohort)
    assert held.n == bundle.card.n_test and set(held.obs.index) == set(bundle.card.test_patient_ids)
    assert len(held.time_train) == bundle.card.n_train and "held-back" in held.scope
    metrics, tables, notes = lab.compare_models({"m": held}, horizon=60.0, n_boot=50)
    c = metrics.set_index("metric").loc["harrell_c"]
    assert c["value"] == pytest.approx(harrell_c(held.time, held.event, held.risk))
    assert c["lo"] <= c["value"] <= c["hi"]
    assert {"uno_c", "ibs", "calibration_in_the_large"} <= set(metrics["metric"])
    assert tables["m"]["n"].sum() == held.n and len(tables["m"]) == 10
    groups = lab.subgroupings(held.obs, spec_of(cohort))
    assert list(groups) == ["Age band", "ER status", "Subtype"]
    table = lab.subgroup_metrics(held, groups, horizon=60.0, n_boot=50)
    for name in groups:
        assert table.loc[table["subgrouping"] == name, "n"].sum() == held.n - int(groups[name].isna().sum())
    assert ((table["events"] < 10) == table["c"].isna()).all()
    estimated = table.dropna(subset=["c"])
    assert ((estimated["c_lo"] <= estimated["c"]) & (estimated["c"] <= estimated["c_hi"])).all()
    assert np.isfinite(table["difference"]).any()
