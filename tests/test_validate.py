"""The bad-input table of design.md, row by row, plus the inputs that must pass."""
from __future__ import annotations

import gzip
import io
import zipfile

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from genomics.errors import InputError
from genomics.export import to_safe_csv
from genomics.io import read_expression
from genomics.sniff import MAX_UPLOAD_BYTES, read_source, safe_display_name
from genomics.validate import ValidationReport, check_upload
from tests import inputs

# identifiers map with the small committed gene map (tests/conftest.py: small_gene_map); the tests on real
# patients' rows are marked realdata and use the data folder
pytestmark = pytest.mark.usefixtures("small_gene_map")
realdata = pytest.mark.realdata


def _errors(result) -> str:
    return " | ".join(result.report.errors)


@pytest.fixture(scope="module")
def genes(data_dir) -> pd.DataFrame:
    return inputs.metabric_genes(data_dir)


# --- inputs that must pass -----------------------------------------------------------------------


@realdata
def test_metabric_patient_row_is_valid():
    result = check_upload(inputs.metabric_row_csv(3), name="mb.csv")
    assert result.report.ok, result.report.errors
    assert result.adata.shape == (1, 300)
    prov = result.adata.uns["oncotx"]
    assert prov["orientation"] == "genes_as_columns"
    assert prov["scale"] == "zscore"
    # clinical columns of the row are kept as clinical fields, not lost
    assert result.adata.obs["age_at_diagnosis"].iloc[0] == pytest.approx(inputs.metabric_table().iloc[3]["age_at_diagnosis"])


@realdata
def test_rnaseq_counts_single_sample_is_valid():
    result = check_upload(inputs.rnaseq_counts_tsv(), name="counts.tsv")
    assert result.report.ok, result.report.errors
    prov = result.adata.uns["oncotx"]
    assert prov["scale"] == "counts" and prov["id_type"] == "ensembl"
    assert result.adata.n_vars > 11000


@realdata
def test_vdx_sample_is_valid():
    result = check_upload(inputs.vdx_sample_tsv(), name="vdx.tsv")
    assert result.report.ok, result.report.errors
    assert result.adata.uns["oncotx"]["scale"] == "log"
    assert result.adata.uns["oncotx"]["id_type"] == "probe"
    assert "ESR1" in result.adata.var_names


@realdata
def test_provenance_records_file_hash_and_scale():
    data = inputs.vdx_sample_tsv()
    result = check_upload(data, name="vdx.tsv")
    import hashlib

    assert result.adata.uns["oncotx"]["source_sha256"] == hashlib.sha256(data).hexdigest()
    assert result.report.facts["source sha256"] == hashlib.sha256(data).hexdigest()


# --- row: genes as rows or columns ------------------------------------------------------------------


@realdata
def test_orientation_detected_and_recorded(genes):
    frame = genes.iloc[:3]
    rows = read_expression(inputs.symbols_matrix_csv(frame, genes_as_rows=True), name="r.csv")
    cols = read_expression(inputs.symbols_matrix_csv(frame, genes_as_rows=False), name="c.csv")
    assert rows.uns["oncotx"]["orientation"] == "genes_as_rows"
    assert cols.uns["oncotx"]["orientation"] == "genes_as_columns"
    pd.testing.assert_frame_equal(rows.to_df(), cols.to_df(), check_names=False)


def test_ambiguous_orientation_asks():
    symbols = ["ESR1", "PGR", "ERBB2", "MKI67", "GATA3", "FOXA1", "KRT5", "EGFR", "TP53", "MYC", "CCND1", "BCL2"]
    frame = pd.DataFrame(np.arange(144, dtype=float).reshape(12, 12), index=symbols, columns=symbols)
    with pytest.raises(InputError, match="choose the orientation"):
        read_expression(frame.to_csv().encode(), name="square.csv")
    forced = read_expression(frame.to_csv().encode(), name="square.csv", orientation="genes_as_rows")
    assert forced.uns["oncotx"]["orientation"] == "genes_as_rows"


# --- row: identifier types --------------------------------------------------------------------------


def test_ensembl_entrez_and_old_symbols_map():
    table = "gene,value\nENSG00000091831.12,5\n2099,5.5\nCDCA1,3\nKNTC2,2\nORC6L,4\nesr1,4.4\nSEPT9,3\n" + "".join(
        f"{g},{i / 3:.2f}\n" for i, g in enumerate(["PGR", "ERBB2", "MKI67", "GATA3", "FOXA1", "KRT5", "EGFR", "TP53", "MYC"] * 1)
    )
    adata = read_expression(table.encode(), name="ids.csv")
    prov = adata.uns["oncotx"]
    assert {"NUF2", "NDC80", "ORC6", "SEPTIN9", "ESR1"} <= set(adata.var_names)
    assert prov["id_type"] == "mixed"
    assert prov["renamed"]["CDCA1"] == "NUF2"
    assert prov["duplicates"]["n_duplicate_ids"] == 2  # ENSG…91831, 2099 and esr1 are all ESR1


@realdata
def test_unmapped_ids_reported(genes):
    frame = genes.iloc[:2].copy()
    frame["NOTAGENE1"] = 1.0
    result = check_upload(inputs.symbols_matrix_csv(frame, genes_as_rows=True), name="x.csv")
    assert result.report.ok
    assert any("NOTAGENE1" in w for w in result.report.warnings)


# --- row: Excel-mangled symbols ---------------------------------------------------------------------


@realdata
def test_excel_mangled_symbols_named_not_mapped(genes):
    frame = genes.iloc[:1].T
    frame.loc["9-Sep"] = 1.0
    frame.loc["1-Mar"] = 2.0
    result = check_upload(frame.to_csv().encode(), name="excel.csv")
    assert result.report.ok
    warning = next(w for w in result.report.warnings if "Excel" in w)
    assert "9-Sep (likely SEPTIN9)" in warning and "1-Mar (likely MARCHF1)" in warning
    assert "SEPTIN9" not in result.adata.var_names


# --- row: duplicates --------------------------------------------------------------------------------


@realdata
def test_duplicate_genes_averaged_visibly():
    table = "gene,value\n" + "".join(f"{g},{v}\n" for g, v in [("ESR1", 2.0), ("ESR1", 4.0)])
    table += "".join(f"{g},{i}.5\n" for i, g in enumerate(inputs.metabric_genes().columns[:40]))
    result = check_upload(table.encode(), name="dup.csv")
    assert result.adata[:, "ESR1"].X[0, 0] == pytest.approx(3.0)
    assert any("duplicate" in w and "mean" in w for w in result.report.warnings)


@realdata
def test_duplicate_sample_ids_are_an_error(genes):
    frame = genes.iloc[[0, 0]]
    result = check_upload(inputs.symbols_matrix_csv(frame, genes_as_rows=False), name="dups.csv")
    assert not result.report.ok
    assert "Duplicate sample ids" in _errors(result)


# --- row: scales -----------------------------------------------------------------------------------


@realdata
@pytest.mark.parametrize(
    ("transform", "scale"),
    [
        (lambda z: np.round(2 ** (z * 2 + 8)), "counts"),
        (lambda z: 2 ** (z * 2 + 6) + 0.37, "tpm"),
        (lambda z: z * 1.5 + 8, "log"),
        (lambda z: z, "zscore"),
    ],
)
def test_scale_detected_and_recorded(genes, transform, scale):
    frame = transform(genes.iloc[:5])
    adata = check_upload(inputs.symbols_matrix_csv(frame, genes_as_rows=True), name="s.csv").adata
    assert adata.uns["oncotx"]["scale"] == scale
    assert adata.uns["oncotx"]["transformations"] == []  # validation never transforms


# --- row: negative counts, NaN/inf, non-numeric, decimal commas -------------------------------------


def _counts_frame(genes: pd.DataFrame) -> pd.DataFrame:
    return np.round(2 ** (genes.iloc[:3] * 2 + 8))


@realdata
def test_negative_counts_error_names_gene_and_sample(genes):
    frame = _counts_frame(genes)
    frame.iloc[1, 4] = -5
    result = check_upload(inputs.symbols_matrix_csv(frame, genes_as_rows=True), name="neg.csv")
    assert not result.report.ok
    assert f"{frame.columns[4]} in {frame.index[1]}" in _errors(result)


@realdata
def test_missing_counts_error_but_missing_log_values_reported(genes):
    counts = _counts_frame(genes)
    counts.iloc[0, 2] = np.nan
    bad = check_upload(inputs.symbols_matrix_csv(counts, genes_as_rows=True), name="nan.csv")
    assert not bad.report.ok and counts.columns[2] in _errors(bad)
    logs = genes.iloc[:3] + 8
    logs.iloc[0, 2] = np.nan
    logs.iloc[1, 3] = np.inf
    ok = check_upload(inputs.symbols_matrix_csv(logs, genes_as_rows=True), name="nan.csv")
    assert ok.report.ok
    assert any("1 missing and 1 infinite" in w for w in ok.report.warnings)


@realdata
def test_non_numeric_cell_error_names_location(genes):
    text = inputs.symbols_matrix_csv(genes.iloc[:2], genes_as_rows=False).decode().splitlines()
    cells = text[2].split(",")
    cells[5] = "high"
    text[2] = ",".join(cells)
    result = check_upload("\n".join(text).encode(), name="text.csv")
    assert not result.report.ok
    assert genes.index[1] in _errors(result) and genes.columns[4] in _errors(result)
    assert "high" not in _errors(result)  # locations, not values


@realdata
def test_decimal_commas_read_in_semicolon_files_refused_in_comma_files(genes):
    frame = genes.iloc[:1].T.round(3)
    semicolon = frame.to_csv(sep=";", decimal=",").encode()
    adata = check_upload(semicolon, name="eu.csv")
    assert adata.report.ok
    assert adata.adata.X[0, 0] == pytest.approx(frame.iloc[0, 0], abs=1e-3)
    assert any("decimal commas" in w for w in adata.report.warnings)
    comma = ("gene,value\n" + "".join(f'{g},"{str(v).replace(".", ",")}"\n' for g, v in frame.iloc[:, 0].items())).encode()
    refused = check_upload(comma, name="eu2.csv")
    assert not refused.report.ok and "decimal commas" in _errors(refused)


# --- row: empty file, header only, one column, wrong delimiter ---------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"gene,value\n", "no data rows|header but no data"),
        (b"ESR1\nPGR\nERBB2\n", "single column"),
        (b"ESR1:1.0\nPGR:2.0\nERBB2:3.0\n", "single column"),
    ],
)
def test_structural_errors_are_clear(data, expected):
    result = check_upload(data, name="bad.csv")
    assert not result.report.ok
    assert any(part in _errors(result) for part in expected.split("|")), _errors(result)


# --- row: encodings and disguised binaries ----------------------------------------------------------


@realdata
def test_utf16_and_bom_decoded(genes):
    text = inputs.symbols_matrix_csv(genes.iloc[:1], genes_as_rows=True).decode()
    for data in (text.encode("utf-16"), b"\xef\xbb\xbf" + text.encode("utf-8"), inputs.gz(text.encode())):
        result = check_upload(data, name="enc.csv")
        assert result.report.ok, result.report.errors
        assert result.adata.n_vars == 300


@realdata
def test_windows_1252_text_accepted_but_binary_refused(genes):
    text = inputs.symbols_matrix_csv(genes.iloc[:1], genes_as_rows=True).decode().replace("gene", "gène")
    assert check_upload(text.encode("cp1252"), name="w.csv").report.ok
    for blob, kind in ((b"PK\x03\x04" + b"\x00" * 100, "zip"), (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "png"),
                       (b"\x00\x01\x02garbage" * 20, "binary")):
        result = check_upload(blob, name="disguised.csv")
        assert not result.report.ok
        assert kind in _errors(result), _errors(result)


@realdata
def test_xlsx_read_by_content_not_extension(genes):
    data = inputs.xlsx(genes.iloc[:2].T)
    result = check_upload(data, name="looks_like.csv")
    assert result.report.ok and result.adata.n_obs == 2


@realdata
def test_h5ad_upload(genes, tmp_path):
    adata = ad.AnnData(genes.iloc[:2].to_numpy(dtype=np.float32), obs=pd.DataFrame(index=genes.index[:2]),
                       var=pd.DataFrame(index=genes.columns))
    path = tmp_path / "p.h5ad"
    adata.write_h5ad(path)
    result = check_upload(path.read_bytes(), name="../../etc/passwd.h5ad")
    assert result.report.ok and result.adata.shape == (2, 300)
    assert result.adata.uns["oncotx"]["source_name"] == "passwd.h5ad"


# --- row: huge file, zip bomb ----------------------------------------------------------------------


def test_huge_upload_capped_before_parsing():
    with pytest.raises(InputError, match="too large"):
        read_source(b"x" * 1001, max_bytes=1000)
    assert MAX_UPLOAD_BYTES <= 200 * 1024 * 1024


def test_gzip_bomb_refused():
    bomb = gzip.compress(b"0" * (300 * 1024 * 1024), compresslevel=9)
    result = check_upload(bomb, name="bomb.csv.gz")
    assert not result.report.ok and "decompressed" in _errors(result)


def test_xlsx_bomb_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * (50 * 1024 * 1024))
    result = check_upload(buf.getvalue(), name="bomb.xlsx")
    assert not result.report.ok and "unpacked" in _errors(result)


# --- row: too few human genes, mouse symbols, all-zero/constant profiles ------------------------------


def test_handful_of_genes_refused_with_count():
    result = check_upload(b"gene,value\nESR1,1\nPGR,2\nERBB2,3\nFOO1,4\nBAR2,5\n", name="few.csv")
    assert not result.report.ok
    assert "Only 3 of 5 gene identifiers were recognised" in _errors(result)


@realdata
def test_mostly_unknown_ids_refused(genes):
    frame = genes.iloc[:1].T.iloc[:40]
    junk = pd.DataFrame({frame.columns[0]: 1.0}, index=[f"UNKNOWN{i}" for i in range(60)])
    result = check_upload(pd.concat([frame, junk]).to_csv().encode(), name="junk.csv")
    assert not result.report.ok and "40 of 100" in _errors(result)


@realdata
def test_mouse_symbols_refused(genes):
    frame = genes.iloc[:1].T
    frame.index = [g.capitalize() for g in frame.index]
    result = check_upload(frame.to_csv().encode(), name="mouse.csv")
    assert not result.report.ok and "mouse" in _errors(result)


@realdata
@pytest.mark.parametrize("value", [0.0, 7.5])
def test_all_zero_or_constant_profile_refused(genes, value):
    frame = genes.iloc[:1].T * 0 + value
    result = check_upload(frame.to_csv().encode(), name="flat.csv")
    assert not result.report.ok
    assert ("all zero" if value == 0 else "constant") in _errors(result)


# --- row: too few model genes ---------------------------------------------------------------------


@realdata
def test_reference_coverage_reported(genes):
    from genomics.cohorts import load_cohort
    from genomics.coverage import gene_coverage, require_coverage
    from genomics.spec import spec_of

    cohort = load_cohort("metabric")
    result = check_upload(inputs.vdx_sample_tsv(), name="vdx.tsv", spec=spec_of(cohort),
                          reference_genes=list(cohort.var_names))
    fact = result.report.facts["reference gene coverage"]
    assert "of 300 genes" in fact
    coverage = gene_coverage(result.adata, ["ESR1", "ERBB2", "NOTAGENE"], use="test model", min_fraction=0.9)
    assert coverage.present == 2 and not coverage.sufficient
    with pytest.raises(InputError, match="Not enough genes for test model: 2 of 3"):
        require_coverage(coverage)


# --- rows: identifiers in records, HTML in names, CSV export, hostile file names ----------------------


@realdata
def test_html_in_names_is_kept_as_text_and_escaped_for_display(genes):
    from dashboard.text import plain

    frame = genes.iloc[:1].T
    frame.columns = ["<script>alert(1)</script>"]
    result = check_upload(frame.to_csv().encode(), name="<img src=x onerror=alert(1)>.csv")
    assert result.report.ok
    assert result.adata.obs_names[0] == "<script>alert(1)</script>"  # kept as data
    assert "<" not in result.adata.uns["oncotx"]["source_name"]
    assert "\\<script\\>" in plain(result.adata.obs_names[0])


def test_csv_export_neutralises_formulas():
    frame = pd.DataFrame({"patient": ["=HYPERLINK(\"x\")", "+1", "@SUM(A1)", "-cmd", "ok"], "risk": [-1.5, 2, 3, 4, 5]})
    text = to_safe_csv(frame).decode()
    assert "'=HYPERLINK" in text and "'+1" in text and "'@SUM" in text and "'-cmd" in text
    assert "\n'=HYPERLINK(\"\"x\"\")\",-1.5" not in text and ",-1.5" in text  # numbers untouched


@pytest.mark.parametrize("name", ["../../etc/passwd", "C:\\Windows\\system.ini", "a\x00b.csv", "<b>x</b>.csv", ""])
def test_hostile_filenames_never_paths(name):
    shown = safe_display_name(name)
    assert "/" not in shown and "\\" not in shown and "\x00" not in shown and "<" not in shown
    result = check_upload(b"", name=name)
    assert not result.report.ok


@realdata
def test_record_identifiers_never_logged(caplog, genes):
    import json

    record = {"patient_id": "MRN-99812", "name": "Jane Roe", "age_at_diagnosis": 52, "er_status": "Positive"}
    frame = genes.iloc[:1].T
    with caplog.at_level("DEBUG"):
        result = check_upload(frame.to_csv().encode(), name="p.csv", records=json.dumps(record).encode(),
                              records_name="r.json")
    assert result.record is not None
    assert "Jane Roe" not in caplog.text and "MRN-99812" not in caplog.text
    assert "Jane Roe" not in " ".join(result.report.lines())


def test_report_is_a_frozen_value():
    report = ValidationReport(errors=("x",))
    with pytest.raises(AttributeError):
        report.errors = ()  # type: ignore[misc]
    assert not report.ok and report.lines() == ["ERROR: x"]


# --- the coverage floor -----------------------------------------------------------------------------


def _demo_profile(n_genes: int) -> tuple[bytes, list[str], object]:
    """A one-sample profile of the demo cohort's first patient on its first ``n_genes`` genes (symbols)."""
    from genomics.cohorts import load_cohort
    from genomics.spec import spec_of

    demo = load_cohort("demo")
    frame = pd.DataFrame({"gene": demo.var_names[:n_genes], "value": np.asarray(demo.X[0, :n_genes]).ravel()})
    return frame.to_csv(sep="\t", index=False).encode(), list(demo.var_names), spec_of(demo)


@pytest.fixture()
def symbols_as_given(monkeypatch, tmp_path):
    """A data folder without the gene-identifier table: symbols are used as given (every demo gene counts)."""
    monkeypatch.setenv("ONCOTX_DATA", str(tmp_path))


@pytest.mark.parametrize("n_genes, level", [(52, "low"), (499, "low"), (500, "ok"), (1000, "ok")])
def test_coverage_floor_asks_for_confirmation_below_half_the_genes(n_genes, level, symbols_as_given):
    from genomics.coverage import COVERAGE_FLOOR, LOW_COVERAGE_FRACTION

    data, reference, spec = _demo_profile(n_genes)
    result = check_upload(data, name="p.tsv", spec=spec, reference_genes=reference)
    assert result.report.ok, result.report.errors  # never refused for coverage alone above 10 genes
    assert result.report.facts["coverage floor"] == COVERAGE_FLOOR and LOW_COVERAGE_FRACTION == 0.5
    assert result.needs_confirmation is (level == "low") is result.report.needs_confirmation
    assert result.report.to_dict()["needs_confirmation"] is (level == "low")
    if level == "low":
        sentence = result.report.confirmation
        assert f"{n_genes} of the 1,000" in sentence and "confirm to analyse it anyway" in sentence
        assert sentence in result.report.warnings and "_" not in sentence and "ONCOTX" not in sentence
    else:
        assert result.report.confirmation == ""


def test_coverage_floor_refuses_below_ten_genes_and_survives_a_record(symbols_as_given):
    import json

    data, reference, spec = _demo_profile(8)
    refused = check_upload(data, name="p.tsv", spec=spec, reference_genes=reference)
    assert not refused.report.ok and not refused.needs_confirmation
    data, reference, spec = _demo_profile(52)
    with_record = check_upload(data, name="p.tsv", spec=spec, reference_genes=reference,
                               records=json.dumps({"age_at_diagnosis": 52}).encode(), records_name="r.json")
    assert with_record.needs_confirmation and with_record.report.confirmation  # kept through the record merge
    from genomics.coverage import coverage_floor

    assert coverage_floor(None, recognised=300).level == "ok"
    assert coverage_floor(None, recognised=3).level == "refused"


def test_missing_gene_map_is_said_in_plain_words(monkeypatch, tmp_path):
    monkeypatch.setenv("ONCOTX_DATA", str(tmp_path))  # a data folder without the gene-identifier table
    frame = pd.DataFrame({"gene": [f"ENSG0000014{i:04d}" for i in range(30)], "value": np.arange(30.0)})
    result = check_upload(frame.to_csv(sep="\t", index=False).encode(), name="ids.tsv")
    text = " ".join([*result.report.errors, *result.report.warnings])
    assert "ONCOTX" not in text and "configured" not in text
