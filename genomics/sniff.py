"""Bytes in, safely: size caps, content sniffing, bounded decompression and text decoding (the readers
check the parse budget, :class:`genomics.deadline.Deadline`, while they work).

Every reader goes through here before parsing, so a zip bomb, a binary file named ``.csv`` or a
UTF-16 export gets the same clear answer everywhere. The file name is only a hint, never a path.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genomics.deadline import Deadline
from genomics.errors import InputError

MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # compressed or not, as received
MAX_DECOMPRESSED_BYTES = 500 * 1024 * 1024
MAX_ZIP_RATIO = 200  # decompressed / compressed; real expression tables compress ~3-10x
_GUNZIP_STEP = 16 * 1024 * 1024  # output bytes per decompression call (a deadline check between calls)

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"\x89HDF\r\n\x1a\n", "hdf5"),
    (b"%PDF", "pdf"),
    (b"\x89PNG", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!", "rar"),
    (b"\xd0\xcf\x11\xe0", "ole"),  # legacy .xls / .doc
    (b"\x7fELF", "elf"),
    (b"MZ", "exe"),
    (b"PAR1", "parquet"),
)


@dataclass(frozen=True)
class Payload:
    """Raw bytes of one input with what was learnt about them."""

    data: bytes
    name: str  # display name only: never used as a path
    kind: str  # text, gzip, zip, xlsx, hdf5, parquet, ...
    sha256: str
    compressed: bool = False


def safe_display_name(name: str | None) -> str:
    """A file name fit for display and logs: base name only, no control characters, bounded."""
    if not name:
        return "upload"
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in "<>\"'`")
    return (cleaned or "upload")[:120]


def safe_text(value: object, limit: int = 60) -> str:
    """An identifier or sample name from the user's data, fit to echo in a message: printable
    characters only, no markup or quote characters, bounded."""
    cleaned = "".join(ch for ch in str(value) if ch.isprintable() and ch not in "<>\"'`").strip()
    cleaned = cleaned or "(unnamed)"
    return cleaned[:limit] + ("…" if len(cleaned) > limit else "")


def read_source(source: Any, *, name: str | None = None, max_bytes: int = MAX_UPLOAD_BYTES) -> Payload:
    """Read bytes from a path, bytes, or a file-like object (e.g. a Streamlit upload), capped."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source[: max_bytes + 1])
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            if path.stat().st_size > max_bytes:
                raise InputError(_too_big(path.stat().st_size, max_bytes))
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"File not found: {safe_display_name(path.name)}.") from None
        except IsADirectoryError:
            raise InputError(f"{safe_display_name(path.name)} is a folder, not a file.") from None
        except OSError as exc:
            raise InputError(f"Cannot read {safe_display_name(path.name)}: {exc.strerror}.") from None
    elif hasattr(source, "read"):
        name = name or getattr(source, "name", None)
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(max_bytes + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise InputError("Unsupported input: give a file path, bytes or an uploaded file.")
    if len(data) > max_bytes:
        raise InputError(_too_big(len(data), max_bytes))
    display = safe_display_name(name)
    if not data:
        raise InputError(f"{display} is empty.")
    kind = sniff(data)
    return Payload(data=data, name=display, kind=kind, sha256=hashlib.sha256(data).hexdigest())


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks (cohort provenance, bundle manifests)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _too_big(size: int, cap: int) -> str:
    return f"File is too large ({size:,} bytes); the limit is {cap:,} bytes ({cap / 2**20:.0f} MiB)."


def sniff(data: bytes) -> str:
    """Name the content type from magic bytes (not the extension)."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            if kind == "zip":
                return "xlsx" if _is_xlsx(data) else "zip"
            return kind
    return "text"


def _is_xlsx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return False


def gunzip_capped(
    payload: Payload, *, max_bytes: int = MAX_DECOMPRESSED_BYTES, deadline: Deadline | None = None
) -> Payload:
    """Decompress a gzip payload without ever holding more than the cap (zip-bomb safe).

    Output comes in steps of at most 16 MiB; ``deadline`` is checked between steps.
    """
    limit = min(max_bytes, max(len(payload.data) * MAX_ZIP_RATIO, 1_000_000))
    decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = bytearray()
    try:
        chunk = payload.data
        while True:
            if deadline is not None:
                deadline.check()
            want = min(_GUNZIP_STEP, limit + 1 - len(out))
            piece = decomp.decompress(chunk, want)
            out += piece
            if len(out) > limit:
                raise InputError(
                    f"{payload.name} expands to more than {limit / 1e6:.0f} MB when decompressed; refused."
                )
            chunk = decomp.unconsumed_tail
            if decomp.eof and decomp.unused_data:  # concatenated gzip members
                chunk = decomp.unused_data
                decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                continue
            if not chunk and (decomp.eof or len(piece) < want):
                break  # all input consumed and no output pending
    except zlib.error:
        raise InputError(f"{payload.name} is a damaged gzip file.") from None
    if not decomp.eof:
        raise InputError(f"{payload.name} is a truncated gzip file.")
    data = bytes(out)
    if not data:
        raise InputError(f"{payload.name} is empty once decompressed.")
    return Payload(data=data, name=payload.name, kind=sniff(data), sha256=payload.sha256, compressed=True)


def check_zip_members(payload: Payload, *, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> None:
    """Refuse a zip container (xlsx) whose declared or likely expanded size is too large."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload.data)) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise InputError(f"{payload.name} is a damaged zip/xlsx file.") from None
    if total > max_bytes or total > max(len(payload.data), 1) * MAX_ZIP_RATIO * 2:
        raise InputError(f"{payload.name} expands to {total / 1e6:.0f} MB when unpacked; refused.")


def decode_text(payload: Payload) -> tuple[str, str]:
    """Decode text bytes; returns (text, encoding). UTF-8 (with or without BOM) and UTF-16 with BOM
    are accepted; Windows-1252 is accepted when the bytes are plain text otherwise."""
    data = payload.data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise InputError(f"{payload.name} claims UTF-16 but cannot be decoded.") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data[:65536]
    if len(head) >= 8 and b"\x00" not in head[0::2] and not head[1::2].strip(b"\x00"):
        return _decode_bomless_utf16(payload, "utf-16-le")
    if len(head) >= 8 and b"\x00" not in head[1::2] and not head[0::2].strip(b"\x00"):
        return _decode_bomless_utf16(payload, "utf-16-be")
    if b"\x00" in head:
        raise InputError(f"{payload.name} is a binary file, not a text table.")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\r\n")
    if "\ufffd" in text or controls:
        raise InputError(f"{payload.name} is not UTF-8 text (nor a readable Windows-1252 export).")
    return text, "cp1252"


def _decode_bomless_utf16(payload: Payload, encoding: str) -> tuple[str, str]:
    """ASCII-range text saved as UTF-16 without a byte-order mark (every other byte zero)."""
    try:
        return payload.data.decode(encoding), encoding
    except UnicodeDecodeError:
        raise InputError(f"{payload.name} looks like UTF-16 text without a byte-order mark but cannot be decoded; "
                         "save it as UTF-8.") from None


_KIND_LABELS = {
    "zip": "a zip archive", "hdf5": "an HDF5 file", "pdf": "a PDF document", "png": "a PNG image",
    "jpeg": "a JPEG image", "bzip2": "a bzip2 archive", "xz": "an xz archive", "7z": "a 7-Zip archive",
    "rar": "a RAR archive", "ole": "a legacy Office file (.xls/.doc)", "elf": "an executable (ELF)",
    "exe": "a Windows executable", "parquet": "a parquet table", "xlsx": "an Excel workbook",
}


def open_text_payload(payload: Payload, *, deadline: Deadline | None = None) -> tuple[Payload, str, str]:
    """Unwrap gzip if needed and decode; refuses binary kinds with a message naming what they are."""
    if payload.kind == "gzip":
        payload = gunzip_capped(payload, deadline=deadline)
    if payload.kind != "text":
        label = _KIND_LABELS.get(payload.kind, f"a {payload.kind} file")
        raise InputError(f"{payload.name} looks like {label} ({payload.kind}), not a text table.")
    text, encoding = decode_text(payload)
    if deadline is not None:
        deadline.check()
    if not text.strip():
        raise InputError(f"{payload.name} is empty.")
    return payload, text, encoding


__all__ = [
    "MAX_DECOMPRESSED_BYTES",
    "MAX_UPLOAD_BYTES",
    "Payload",
    "check_zip_members",
    "decode_text",
    "file_sha256",
    "gunzip_capped",
    "open_text_payload",
    "read_source",
    "safe_display_name",
    "safe_text",
    "sniff",
]
