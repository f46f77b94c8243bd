"""Build the hostile-input corpus (deterministic; nothing big is committed).

Every case of ``expected.json`` names a file that :func:`build` writes into a folder. Large cases
(gzip and xlsx bombs, the oversized file) are generated here at test time, never checked in; the
oversized file is sparse, so it costs no disk. Run ``python -m tests.hostile.make_corpus DIR`` to
write the corpus to DIR for manual checks.
"""
from __future__ import annotations

import gzip
import io
import json
import re
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from genomics.sniff import MAX_UPLOAD_BYTES

MANIFEST = Path(__file__).with_name("expected.json")

# 40 HGNC symbols: enough genes (validation needs at least 30 recognised)
GENES = ["ESR1", "PGR", "ERBB2", "MKI67", "GATA3", "FOXA1", "KRT5", "EGFR", "TP53", "MYC", "CCND1", "BCL2",
         "AURKA", "BIRC5", "CCNB1", "MYBL2", "GRB7", "KRT14", "KRT17", "FOXC1", "CDH3", "MLPH", "NAT1", "SFRP1",
         "PTPRC", "CD8A", "CD3E", "COL1A1", "FAP", "TOP2A", "UBE2C", "RRM2", "TYMS", "CENPF", "CDC20", "PTTG1",
         "ACTB", "GAPDH", "VIM", "CDH1"]
FORMULAS = ["=cmd|' /C calc'!A0", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"]
SCRIPT = "<script>alert(1)</script>"


def _value(i: int, j: int = 0) -> float:
    """A deterministic log-scale value (no RNG: the corpus must be byte-identical everywhere)."""
    return round(4.0 + ((i * 37 + j * 11) % 97) / 9.7, 3)


def _rows_table(genes: list[str] = GENES, samples: tuple[str, ...] = ("S1",), value: Callable = _value,
                sep: str = ",", eol: str = "\n") -> str:
    """Genes as rows: header ``gene,S1,...`` then one line per gene."""
    lines = [sep.join(["gene", *samples])]
    lines += [sep.join([g, *(str(value(i, j)) for j in range(len(samples)))]) for i, g in enumerate(genes)]
    return eol.join(lines) + eol


def _valid() -> bytes:
    return _rows_table().encode()


def _xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook  # lazy: start-up cost (openpyxl), for the xlsx cases only

    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip_times(buf.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps so the bytes are deterministic."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl writes the current time here
                content = re.sub(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?", b"2020-01-01T00:00:00Z", content)
            dst.writestr(fixed, content)
    return out.getvalue()


def _gzip_bomb() -> bytes:
    """~50 KB of gzip that expands to 50 MB of zeros (refused at the 200x ratio cap)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"0" * (1 << 20)
    return b"".join([*(comp.compress(block) for _ in range(50)), comp.flush()])


def _xlsx_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("xl/workbook.xml", (2020, 1, 1, 0, 0, 0)), "<workbook/>")
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml", (2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, b"0" * (50 * 1024 * 1024))
    return buf.getvalue()


def _nested_json(depth: int) -> bytes:
    return ('{"age_at_diagnosis": ' + "[" * depth + "1" + "]" * depth + "}").encode()


def _fhir_unknown() -> bytes:
    entries = [{"resource": {"resourceType": rt, "id": f"x{i}"}}
               for i, rt in enumerate(["Spaceship", "Unicorn", "Device", "Invoice", SCRIPT])]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()


def _repeated_keys() -> bytes:
    # billion-laughs style: one key repeated many times (JSON has no entities; the closest is repetition)
    return ("{" + ", ".join(['"grade": 2'] * 100_000) + "}").encode()


def _many_keys() -> bytes:
    return json.dumps({f"k{i}": "lol" * 10 for i in range(20_000)} | {"age_at_diagnosis": 50}).encode()


def _sparse(path: Path) -> None:
    with path.open("wb") as fh:
        fh.write(b"gene,S1\n")
        fh.truncate(MAX_UPLOAD_BYTES + 1)


def _mangled() -> bytes:
    genes = [*GENES[:34], "1-Mar", "9-Sep", "1-Dec", "7-Sep", "2-Mar", "15-Sep"]
    return _rows_table(genes).encode()


def _nan_inf(scale: str) -> bytes:
    def value(i: int, j: int) -> str:
        special = {3: "NaN", 5: "inf", 7: "-inf", 9: "Infinity", 11: "nan"}
        if i in special:
            return special[i]
        return str(int(_value(i, j) * 100)) if scale == "counts" else str(_value(i, j))
    return _rows_table(value=value).encode()


def _wide_row() -> bytes:
    return (",".join(str(_value(i)) for i in range(10_000)) + "\n").encode()


def _wide_header_row() -> bytes:
    names = [*GENES, *(f"X{i}" for i in range(10_000 - len(GENES)))]
    return (",".join(["sample_id", *names]) + "\n" + ",".join(["P1", *(str(_value(i)) for i in range(10_000))])
            + "\n").encode()


BUILDERS: dict[str, Callable[[], bytes]] = {
    # --- bombs and sizes (generated, never committed) ---
    "gzip_bomb.csv.gz": _gzip_bomb,
    "xlsx_bomb.xlsx": _xlsx_bomb,
    # --- binaries disguised as text ---
    "png_named.csv": lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    "pdf_named.csv": lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 8,
    "elf_named.csv": lambda: b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + bytes(range(256)),
    "exe_named.tsv": lambda: b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120,
    "plain_zip.csv": lambda: _zip_of({"data.csv": _valid()}),
    "ole_xls.csv": lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
    "random_binary.csv": lambda: bytes((i * 131 + 7) % 256 for i in range(4096)),
    "truncated.csv.gz": lambda: gzip.compress(_valid(), mtime=0)[:-40],
    "damaged.csv.gz": lambda: (lambda g: g[:20] + b"\xff" * 40 + g[60:])(gzip.compress(_valid(), mtime=0)),
    "not_hdf5.h5ad": lambda: b"this is not an HDF5 file\n" * 4,
    "hdf5_garbage.h5ad": lambda: b"\x89HDF\r\n\x1a\n" + b"\x00\x01garbage" * 64,
    # --- encodings and line endings ---
    "utf16_bom.csv": lambda: _rows_table().encode("utf-16"),
    "utf16le_no_bom.csv": lambda: _rows_table().encode("utf-16-le"),
    "utf16be_no_bom.csv": lambda: _rows_table().encode("utf-16-be"),
    "utf8_bom.csv": lambda: b"\xef\xbb\xbf" + _valid(),
    "latin1.csv": lambda: _rows_table(samples=("Patient_é_ñ",)).encode("latin-1"),
    "invalid_utf8_controls.csv": lambda: _valid() + b"\x81\x8d\x8f\x90\x9d\x01\x02",
    "mixed_line_endings.csv": lambda: _mixed_eol(),
    "cr_only.csv": lambda: _rows_table(eol="\r").encode(),
    "gzip_ok.csv.gz": lambda: gzip.compress(_valid(), mtime=0),
    # --- spreadsheet injection and markup ---
    "formula_gene_names.csv": lambda: _rows_table([*GENES[:36], *FORMULAS]).encode(),
    "formula_values.csv": lambda: _rows_table(value=lambda i, j: FORMULAS[i % 4] if i < 4 else _value(i, j)).encode(),
    "script_gene_names.csv": lambda: _rows_table([*GENES[:36], SCRIPT, "<img src=x onerror=alert(1)>",
                                                  "javascript:alert(1)", "<b>ESR1</b>"]).encode(),
    "script_sample_name.csv": lambda: _rows_table(samples=(SCRIPT, "<img src=x onerror=alert(1)>")).encode(),
    "script_sample_flat.csv": lambda: _rows_table(samples=(SCRIPT,), value=lambda i, j: 5.0).encode(),
    "script_sample_text_cell.csv": lambda: _rows_table(samples=(SCRIPT,), value=lambda i, j: "oops" if i == 2
                                                       else _value(i, j)).encode(),
    "xlsx_formula.xlsx": lambda: _xlsx([["gene", "S1"], *([g, _value(i)] for i, g in enumerate(GENES[:-1])),
                                        [GENES[-1], "=1+1"], ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\")"]]),
    "xlsx_text_named.csv": lambda: _xlsx([["gene", "S1"], *([g, _value(i)] for i, g in enumerate(GENES))]),
    # --- names (the file content is valid; the upload NAME is hostile) ---
    "traversal_name.csv": _valid,
    "nul_name.csv": _valid,
    "markup_name.csv": _valid,
    # --- gene identifiers and values ---
    "excel_mangled.csv": _mangled,
    "nan_inf_log.csv": lambda: _nan_inf("log"),
    "nan_inf_counts.csv": lambda: _nan_inf("counts"),
    "all_nan.csv": lambda: _rows_table(value=lambda i, j: "NaN").encode(),
    "huge_numbers.csv": lambda: _rows_table(value=lambda i, j: "1e308" if i % 2 else "9" * 400).encode(),
    "duplicate_genes.csv": lambda: _rows_table([*GENES, "ESR1", "ESR1", "TP53"]).encode(),
    "duplicate_samples.csv": lambda: _rows_table(samples=("S1", "S1", "S2")).encode(),
    # --- structure ---
    "empty.csv": lambda: b"",
    "whitespace_only.csv": lambda: b" \n\t\n\r\n   ",
    "header_only.csv": lambda: b"gene,S1\n",
    "one_cell.csv": lambda: b"ESR1\n",
    "wide_single_row.csv": _wide_row,
    "wide_header_and_row.csv": _wide_header_row,
    "ragged_rows.csv": lambda: (_rows_table() + "ESR1,1,2,3,4,5\n").encode(),
    "ragged_short_rows.csv": lambda: ("gene,S1,S2\n" + "".join(f"{g},{_value(i)}\n" for i, g in
                                                              enumerate(GENES))).encode(),
    "unbalanced_quotes.csv": lambda: ('gene,S1\n"ESR1,1.0\n' + _rows_table().split("\n", 1)[1]).encode(),
    "no_genes.csv": lambda: b"sample,age,grade\nP1,50,2\nP2,60,3\n",
    "nul_in_text.csv": lambda: _valid()[:40] + b"\x00" + _valid()[40:],
    # --- clinical records ---
    "rec_deep_nested.json": lambda: _nested_json(10_000),
    "rec_huge_int.json": lambda: b'{"age_at_diagnosis": ' + b"9" * 5000 + b"}",
    "rec_huge_float.json": lambda: b'{"age_at_diagnosis": 1e999999, "tumor_size": -1e400}',
    "rec_wrong_types.json": lambda: json.dumps({"age_at_diagnosis": [1, 2], "grade": {"x": 1},
                                                "tumor_size": True, "treatments": {"chemotherapy": 1}}).encode(),
    "rec_fhir_unknown.json": _fhir_unknown,
    "rec_list.json": lambda: b'[{"age_at_diagnosis": 55}, {"age_at_diagnosis": 60}]',
    "rec_scalar.json": lambda: b'"just a string"',
    "rec_repeated_keys.json": _repeated_keys,
    "rec_many_keys.json": _many_keys,
    "rec_injection.csv": lambda: ("age_at_diagnosis,er_status,grade,name\n"
                                  f"55,\"{FORMULAS[0]}\",\"{FORMULAS[1]}\",\"{SCRIPT}\"\n").encode(),
    "rec_script_field_names.csv": lambda: f"\"{SCRIPT}\",age_at_diagnosis\nx,55\n".encode(),
    "rec_binary.json": lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    "rec_utf16.json": lambda: json.dumps({"age_at_diagnosis": 61, "grade": 2}).encode("utf-16"),
    "rec_nan.json": lambda: b'{"age_at_diagnosis": NaN, "tumor_size": Infinity, "grade": -Infinity}',
    # --- time limits (also read under a small parse deadline: the cases with "small_deadline") ---
    "many_short_lines.csv": lambda: ("gene,S1\n" + "ESR1,1\n" * 150_000).encode(),
    "rec_many_rows.csv": lambda: ("grade,er_status\n" + "2,pos\n" * 100_000).encode(),
    "rec_fhir_too_many_entries.json": lambda: json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Basic"}}] * 5001}
    ).encode(),
    # --- direct identifiers in a record (dropped, never echoed) ---
    "rec_identifiers.csv": lambda: (
        "patient_id,name,mrn,address,phone,email,date_of_birth,diagnosis_date,grade,contact\n"
        f"P1,\"{SCRIPT} Jane Roe\",MRN-1,\"1 Example Road\",+44 20 7946 0958,jane@example.org,1961-03-14,"
        "2014-09-02,2,=HYPERLINK(\"http://x\")\n"
    ).encode(),
}


def _zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _mixed_eol() -> bytes:
    lines = _rows_table().splitlines()
    eols = ["\r\n", "\n", "\r\n", "\n"]
    return "".join(ln + eols[i % 4] for i, ln in enumerate(lines)).encode()


SPECIAL: dict[str, Callable[[Path], None]] = {"oversized.csv": _sparse}


def load_manifest() -> list[dict]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))["cases"]


def build(folder: Path) -> dict[str, Path]:
    """Write every corpus file into ``folder``; returns file name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for name, make in BUILDERS.items():
        path = folder / name
        path.write_bytes(make())
        out[name] = path
    for name, make_file in SPECIAL.items():
        path = folder / name
        make_file(path)
        out[name] = path
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile_corpus")
    for file_name, file_path in build(target).items():
        print(f"{file_path.stat().st_size:>12}  {file_name}")
