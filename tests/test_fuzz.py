"""Bounded fuzz run over the readers: random bytes behind real magic numbers, random text tables and
mutated valid files (plain, gzipped, UTF-16, xlsx). ``check_upload`` must never raise for any of them
(only InputError is caught inside it, so any other exception is a reader bug), and ``read_records``
raises only InputError. Budget: a few hundred examples, well under a minute.
"""
from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genomics.errors import InputError
from genomics.records import read_records
from genomics.validate import check_upload
from tests.hostile.make_corpus import BUILDERS, GENES, _rows_table

pytestmark = pytest.mark.usefixtures("small_gene_map")  # the small committed gene map (tests/conftest.py)

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MAGIC = [b"", b"\x1f\x8b", b"PK\x03\x04", b"\x89HDF\r\n\x1a\n", b"%PDF", b"\x89PNG", b"\xff\xfe", b"\xfe\xff",
         b"\xef\xbb\xbf", b"MZ", b"PAR1", b"{", b"["]
VALID = _rows_table().encode()
SEEDS = [VALID, gzip.compress(VALID, mtime=0), _rows_table().encode("utf-16"), BUILDERS["xlsx_text_named.csv"](),
         _rows_table(samples=("S1", "S2", "S3")).encode()]


def _check(data: bytes, name: str = "fuzz.csv") -> None:
    result = check_upload(data, name=name)  # must not raise
    for msg in (*result.report.errors, *result.report.warnings):
        assert "Traceback" not in msg


@FUZZ
@given(st.sampled_from(MAGIC), st.binary(max_size=2048), st.sampled_from(["f.csv", "f.xlsx", "f.h5ad", "f.gz"]))
def test_random_bytes_behind_magic_numbers(magic, body, name):
    _check(magic + body, name)


_cell = st.one_of(
    st.sampled_from(GENES), st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=10),
    st.sampled_from(["", "NA", "=1+1", "+1", "-1", "@A1", "1,5", '"', "1-Mar", "9-Sep", "<b>x</b>", "\x00", "#"]),
    st.integers(-(10**30), 10**30).map(str),
)


@FUZZ
@given(st.lists(st.lists(_cell, min_size=1, max_size=12), min_size=1, max_size=45),
       st.sampled_from([",", "\t", ";", "|", " "]), st.sampled_from(["\n", "\r\n", "\r"]),
       st.sampled_from(["utf-8", "utf-16", "utf-16-le", "cp1252"]))
def test_random_text_tables(rows, sep, eol, encoding):
    text = eol.join(sep.join(row) for row in rows)
    _check(text.encode(encoding, errors="replace"))


@st.composite
def _mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[pos:]
        else:
            data[pos:pos] = data[pos:pos + draw(st.integers(1, 200))]
    return bytes(data)


@FUZZ
@given(_mutated())
def test_mutated_valid_files(data):
    _check(data)


_json = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(st.one_of(st.binary(max_size=512), _json.map(lambda v: json.dumps(v).encode()),
                 st.dictionaries(st.sampled_from(["age_at_diagnosis", "grade", "er_status", "tumor_size",
                                                  "resourceType", "entry", "clinical", "treatments"]),
                                 _json, max_size=6).map(lambda v: json.dumps(v).encode())))
def test_records_raise_only_input_error(data):
    try:
        read_records(data, name="fuzz.json")
    except InputError as exc:
        refused = exc.message
    else:
        refused = None
    result = check_upload(VALID, name="ok.csv", records=data, records_name="fuzz.json")  # must not raise
    # the valid expression is read whatever the record holds; the only errors are the record's, as read_records says
    assert result.adata is not None and result.adata.shape == (1, len(GENES))
    assert all(e.startswith("Clinical record: ") for e in result.report.errors), result.report.errors
    if refused is not None:
        assert result.record is None and f"Clinical record: {refused}" in result.report.errors
    else:
        assert result.record is not None
        assert set(result.record.values) <= set(result.adata.obs.columns)  # attached to the one sample
