"""Wall-clock limit on reading uploads (genomics.deadline.Deadline): a plain InputError past the budget,
checked inside the parsing loops (not only before and after), negligible overhead within it."""
from __future__ import annotations

import gzip
import json
import logging

import pytest

import genomics.deadline as parse_deadline
from genomics.deadline import DEFAULT_PARSE_SECONDS, PARSE_SECONDS_ENV, Deadline, parse_seconds
from genomics.errors import InputError
from genomics.io import read_expression
from genomics.records import read_records
from genomics.validate import check_upload
from tests.hostile.make_corpus import GENES, _rows_table, _value, _xlsx

pytestmark = pytest.mark.realdata  # gene symbols map as in the app

SAMPLES = tuple(f"S{j}" for j in range(2500))


@pytest.fixture(scope="module")
def big_upload() -> bytes:
    """A valid genes-as-rows table, 40 genes × 2,500 samples (100,000 cells, ~0.7 MB)."""
    return _rows_table(samples=SAMPLES, value=lambda i, j: _value(i, j) + j % 7).encode()


def _message(seconds: float) -> str:
    return (f"Reading this file took longer than the {seconds:g} s limit; it is too large or malformed. "
            "Nothing was stored.")


def _assert_plain(message: str) -> None:
    assert "Traceback" not in message and 'File "' not in message


class _FakeClock:
    """Stand-in for the deadline's clock (time.monotonic): advances one second per reading, so a budget of N seconds ends at the
    (N+1)-th look at the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        self.now += 1.0
        return self.now


# ---------------------------------------------------------------------------------------------- budget


def test_budget_from_keyword_environment_and_default(monkeypatch, caplog) -> None:
    monkeypatch.delenv(PARSE_SECONDS_ENV, raising=False)
    assert parse_seconds() == DEFAULT_PARSE_SECONDS == 60.0
    monkeypatch.setenv(PARSE_SECONDS_ENV, "2.5")
    assert parse_seconds() == 2.5 and Deadline().seconds == 2.5
    assert parse_seconds(7) == 7.0  # the keyword wins
    for bad in ("soon", "0", "-3", "nan", "inf"):
        monkeypatch.setenv(PARSE_SECONDS_ENV, bad)
        with caplog.at_level(logging.WARNING):
            assert parse_seconds() == DEFAULT_PARSE_SECONDS
        assert PARSE_SECONDS_ENV in caplog.text
    for bad_kw in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            Deadline(bad_kw)
    assert Deadline().message == _message(60)
    shared = Deadline(5)
    assert Deadline.of(shared) is shared and Deadline.of(3).seconds == 3.0
    assert not Deadline.unlimited().expired


def test_tick_looks_at_the_clock_every_n_calls(monkeypatch) -> None:
    clock = _FakeClock()
    monkeypatch.setattr(parse_deadline, "_clock", clock)
    deadline = Deadline(1000, every=100)
    before = clock.reads
    for _ in range(1000):
        deadline.tick()
    assert clock.reads - before == 10


# ---------------------------------------------------------------------------------------------- expression


def test_tiny_budget_refuses_a_large_upload_and_the_default_reads_it(big_upload: bytes, monkeypatch) -> None:
    monkeypatch.delenv(PARSE_SECONDS_ENV, raising=False)
    with pytest.raises(InputError) as info:
        read_expression(big_upload, name="big.csv", deadline=0.01)
    assert info.value.message == _message(0.01)
    _assert_plain(str(info.value))
    adata = read_expression(big_upload, name="big.csv")
    assert adata.shape == (len(SAMPLES), len(GENES))


def test_environment_budget_applies_to_check_upload(big_upload: bytes, monkeypatch) -> None:
    monkeypatch.setenv(PARSE_SECONDS_ENV, "0.01")
    result = check_upload(big_upload, name="big.csv")
    assert result.adata is None and result.record is None
    assert result.report.errors == (_message(0.01),)
    with pytest.raises(InputError, match="0.01 s limit"):
        read_records(_long_records(50_000), name="r.csv")


def test_checks_happen_inside_the_parse_and_are_few(big_upload: bytes, monkeypatch) -> None:
    """Count the looks at the clock in a full read, then stop a read half-way through them."""
    clock = _FakeClock()
    monkeypatch.setattr(parse_deadline, "_clock", clock)
    read_expression(big_upload, name="big.csv", deadline=1e9)
    looks = clock.reads - 1  # the first read starts the deadline
    assert 8 <= looks <= 400, looks  # cooperative (many phases and blocks), cheap (not per cell)
    for budget in (1.5, looks / 2):  # early, then half-way through the parse
        with pytest.raises(InputError) as info:
            read_expression(big_upload, name="big.csv", deadline=budget)
        assert info.value.message == _message(budget)


def test_gzip_and_xlsx_uploads_are_bounded(big_upload: bytes) -> None:
    with pytest.raises(InputError, match="0.005 s limit"):
        read_expression(gzip.compress(big_upload, mtime=0), name="big.csv.gz", deadline=0.005)
    assert read_expression(gzip.compress(_rows_table().encode(), mtime=0), name="s.csv.gz").n_vars == len(GENES)
    workbook = _xlsx([["gene", *SAMPLES[:200]], *([g, *(_value(i, j) for j in range(200))] for i, g in enumerate(GENES))])
    with pytest.raises(InputError, match="0.005 s limit"):
        read_expression(workbook, name="big.xlsx", deadline=0.005)
    assert read_expression(workbook, name="big.xlsx").shape == (200, len(GENES))


def test_a_shared_deadline_spans_expression_and_records(big_upload: bytes, monkeypatch) -> None:
    clock = _FakeClock()
    monkeypatch.setattr(parse_deadline, "_clock", clock)
    ok = check_upload(_rows_table().encode(), name="p.csv", records=b"grade\n2\n", deadline=1e9)
    used = clock.reads
    assert ok.report.ok and ok.record is not None
    tight = check_upload(_rows_table().encode(), name="p.csv", records=b"grade\n2\n", deadline=used - 3)
    assert tight.adata is not None  # expression read within the budget ...
    assert f"Clinical record: {_message(used - 3)}" in tight.report.errors  # ... the records file was not


# ---------------------------------------------------------------------------------------------- records


def _long_records(n: int) -> bytes:
    return ("field,value\ngrade,2\n" + "".join(f"extra_{i},{i}\n" for i in range(n))).encode()


def test_records_tiny_budget_and_default() -> None:
    data = _long_records(50_000)
    with pytest.raises(InputError) as info:
        read_records(data, name="r.csv", deadline=0.01)
    assert info.value.message == _message(0.01)
    _assert_plain(str(info.value))
    assert read_records(data, name="r.csv").values == {"grade": 2.0}


def test_records_json_and_fhir_loops_are_checked(monkeypatch) -> None:
    many_objects = json.dumps({"grade": 2, "extra": [{"k": i} for i in range(50_000)]}).encode()
    with pytest.raises(InputError, match="0.01 s limit"):
        read_records(many_objects, name="r.json", deadline=0.01)
    entries = [{"resource": {"resourceType": "Observation", "status": "final", "code": {"coding": [
        {"system": "http://loinc.org", "code": "33732-9"}]}, "valueInteger": 2}} for _ in range(50)]
    bundle = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()
    clock = _FakeClock()
    monkeypatch.setattr(parse_deadline, "_clock", clock)
    assert read_records(bundle, name="b.json", deadline=1e9).values == {"grade": 2.0}
    looks = clock.reads - 1
    assert looks >= 50  # one look per Bundle entry
    with pytest.raises(InputError, match="s limit"):
        read_records(bundle, name="b.json", deadline=looks - 10)
