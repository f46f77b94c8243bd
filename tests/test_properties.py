"""Property tests: readers raise only InputError; validation is deterministic; transposing changes nothing."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from genomics.errors import InputError
from genomics.io import read_expression
from genomics.validate import check_upload

SYMBOLS = ["ESR1", "PGR", "ERBB2", "MKI67", "GATA3", "FOXA1", "KRT5", "EGFR", "TP53", "MYC", "CCND1", "BCL2",
           "AURKA", "BIRC5", "CCNB1", "MYBL2", "GRB7", "KRT14", "KRT17", "FOXC1", "CDH3", "MLPH", "NAT1", "SFRP1",
           "PTPRC", "CD8A", "CD3E", "COL1A1", "FAP", "TOP2A", "UBE2C", "RRM2", "TYMS", "CENPF", "CDC20", "PTTG1"]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_raise_only_input_error(blob):
    try:
        read_expression(blob, name="fuzz.csv")
    except InputError:
        pass


_cell = st.one_of(st.text(max_size=8), st.floats(allow_nan=True, allow_infinity=True).map(str),
                  st.sampled_from(SYMBOLS), st.integers(-10, 10**6).map(str), st.sampled_from(["", "NA", "1,5", "#"]))


@FAST
@given(st.lists(st.lists(_cell, min_size=1, max_size=6), min_size=1, max_size=8),
       st.sampled_from([",", "\t", ";"]))
def test_arbitrary_tables_raise_only_input_error(rows, sep):
    text = "\n".join(sep.join(r) for r in rows)
    try:
        read_expression(text.encode(), name="t.csv")
    except InputError:
        pass
    result = check_upload(text.encode(), name="t.csv")  # never raises
    assert result.report.ok in (True, False)


_profiles = arrays(np.float64, (3, len(SYMBOLS)), elements=st.floats(-5, 15, allow_nan=False)).map(
    lambda a: pd.DataFrame(a, columns=SYMBOLS)
)


@FAST
@given(_profiles)
def test_validating_twice_gives_the_same_report(frame):
    frame.index = [f"s{i}" for i in range(len(frame))]
    data = frame.to_csv().encode()
    first, second = check_upload(data, name="p.csv"), check_upload(data, name="p.csv")
    assert first.report == second.report


@FAST
@given(_profiles)
def test_transposing_gives_the_same_profile(frame):
    frame.index = [f"s{i}" for i in range(len(frame))]
    as_columns = check_upload(frame.to_csv().encode(), name="c.csv")
    as_rows = check_upload(frame.T.to_csv().encode(), name="r.csv")
    assert as_columns.report.ok == as_rows.report.ok
    assert as_columns.report.errors == as_rows.report.errors
    if as_columns.adata is not None:
        np.testing.assert_array_equal(as_columns.adata.X, as_rows.adata.X)
        assert list(as_columns.adata.var_names) == list(as_rows.adata.var_names)
