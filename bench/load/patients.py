"""Set-up of a load run: N different demo patients as a clinic sends them, each with a clinician account."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from dashboard.platform.privacy import patient_pseudonym
from dashboard.platform.users import create_user
from genomics.cohorts import load_cohort
from genomics.jsonsafe import json_safe

CLINICAL = ("age_at_diagnosis", "tumor_size_mm", "grade", "lymph_nodes_positive", "er_status", "pr_status",
            "her2_status", "menopausal_state")
TREATMENTS = ("chemotherapy", "hormone_therapy", "radio_therapy")


@dataclass
class Patient:
    """One user and their patient: account, the two files and what the app must show for them."""

    index: str  # "0".."N-1", or "warmup"
    username: str
    password: str
    record_ref: str  # the record's patient_id ("load-<i>"): must never appear on a page or in the audit
    row: int  # demo cohort row
    expression: Path
    record: Path
    expression_sha256: str
    clinical: dict
    expected: str = ""  # pseudonym the app must show ("PT-...")


@contextlib.contextmanager
def temporary_environ(values: dict[str, str | None]):
    """Set (None: unset) environment variables for the block, then put them back."""
    before = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def make_patients(folder: Path, n: int, *, warmup: bool, key: str, prefix: str = "", offset: int = 0) -> list[Patient]:
    """N (+1 warm-up) different demo patients as a clinic sends them (expression TSV, genes as rows; JSON record),
    each with a clinician account (``clin-<prefix><i>``). The warm-up patient, if any, comes first. Calls with
    different ``offset`` values take different cohort rows."""
    cohort = load_cohort("demo")
    labels = (["warmup"] if warmup else []) + [f"{prefix}{i}" for i in range(n)]
    step = max(cohort.n_obs // (len(labels) + 1), 1)
    folder.mkdir(parents=True, exist_ok=True)
    patients = []
    for k, label in enumerate(labels):
        row_index = (7 + offset + k * step) % cohort.n_obs
        row = cohort[row_index]
        # distinctive file names, so that the audit check can look for them
        expression = folder / f"expr_{label}_{secrets.token_hex(3)}.tsv"
        row.to_df().T.rename_axis("gene").to_csv(expression, sep="\t", header=["value"])
        obs = row.obs.iloc[0]
        clinical = {c: json_safe(obs[c]) for c in CLINICAL}
        treatments = {t: int(obs[t]) for t in TREATMENTS}
        record_ref = f"load-{label}"
        record = folder / f"record_{label}_{secrets.token_hex(3)}.json"
        record.write_text(json.dumps({"patient_id": record_ref, "clinical": clinical, "treatments": treatments}))
        data = expression.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        username, password = f"clin-{label}", f"load test {secrets.token_urlsafe(12)}"
        create_user(username, password, role="clinician", display_name=f"Load {label}")
        expected = patient_pseudonym(sample_id="value", record_ref=record_ref, input_sha256=sha, key=key.encode())
        patients.append(Patient(label, username, password, record_ref, row_index, expression, record, sha, clinical,
                                expected))
    return patients
