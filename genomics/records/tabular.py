"""CSV/TSV (wide: a header and one row; long: field,value pairs) and plain JSON (flat or nested) records mapped
onto canonical fields, direct identifiers dropped (:func:`record_from_items`)."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

from genomics.deadline import Deadline
from genomics.errors import InputError
from genomics.records.identifiers import IdentifierScan
from genomics.records.schema import ClinicalRecord, RecordSchema, norm_key
from genomics.records.values import BadValue, is_missing, normalise_value
from genomics.sniff import safe_text

_LONG_HEADERS = frozenset({("field", "value"), ("name", "value"), ("key", "value"), ("variable", "value")})


def record_from_items(
    items: list[tuple[str, Any]],
    schema: RecordSchema,
    where: str,
    source_name: str,
    *,
    scan: IdentifierScan | None = None,
    deadline: Deadline | None = None,
) -> tuple[dict[str, Any], list[str], str | None, list[str], dict[str, Any]]:
    """Map (name, raw value) pairs onto canonical fields, dropping direct identifiers.

    Returns values, unknown, patient ref, warnings and facts (``identifiers_dropped``,
    ``diagnosis_year``); ``scan`` may already hold identifiers found elsewhere in the input.
    """
    scan = scan if scan is not None else IdentifierScan()
    values: dict[str, Any] = {}
    unknown: list[str] = []
    problems: list[str] = []
    patient_ref: str | None = None
    pid = norm_key(schema.patient_id_col)
    for raw_name, raw in items:
        if deadline is not None:
            deadline.tick()
        if norm_key(raw_name) == pid:
            if not is_missing(raw) and not isinstance(raw, (dict, list, bool)):
                patient_ref = str(raw).strip()
            continue
        key = schema.lookup.get(norm_key(raw_name))
        if key is None:
            if not scan.take(raw_name, raw) and not is_missing(raw):
                unknown.append(f"{where} {safe_text(raw_name)} (not used)")
            continue
        if is_missing(raw):
            continue
        if isinstance(raw, (dict, list)):
            problems.append(f"{key}: expected a single value, not an object or list.")
            continue
        try:
            value = normalise_value(schema, key, raw)
        except BadValue as exc:
            problems.append(str(exc))
            continue
        if scan.identifying_value(schema, key, value):
            continue
        values[key] = value
    if problems:
        raise InputError(
            f"{source_name}: {len(problems)} value(s) could not be read: " + "; ".join(problems),
            problems=problems,
        )
    warnings, facts = scan.resolve(values, schema)
    if not values:
        raise InputError(
            f"{source_name} has no clinical fields of this cohort ({len(items)} {where}(s) read, none of them "
            f"known). Use the cohort's field names, e.g. {', '.join(list(schema.fields)[:3])}."
        )
    return values, unknown, patient_ref, warnings, facts



def read_table_record(
    text: str, schema: RecordSchema, source_name: str, facts: dict[str, Any], deadline: Deadline
) -> ClinicalRecord:
    first = next((line for line in text[: 1 << 20].splitlines() if line.strip()), None)
    if first is None:  # over a megabyte of blank lines first
        first = next((line for line in deadline.iterate(text.splitlines()) if line.strip()), "")
    counts = {d: first.count(d) for d in ("\t", ";", ",")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    try:
        rows = [[cell.strip() for cell in row]
                for row in deadline.iterate(csv.reader(io.StringIO(text), delimiter=delimiter))]
    except csv.Error:
        raise InputError(f"{source_name} is not a readable CSV/TSV table.") from None
    rows = [row for row in rows if any(row)]
    if not rows:
        raise InputError(f"{source_name} is empty.")
    names = {norm_key(schema.patient_id_col)} | set(schema.lookup)

    def known_share(cells: list[str]) -> float:
        cells = [c for c in cells if c]
        return sum(norm_key(c) in names for c in cells) / len(cells) if cells else 0.0

    long_header = tuple(norm_key(c) for c in rows[0]) in _LONG_HEADERS
    is_long = False
    if all(len(row) == 2 for row in rows):
        body = rows[1:] if long_header else rows
        is_long = long_header or known_share([row[0] for row in body]) > known_share(rows[0])
    items: list[tuple[str, Any]] = []
    if is_long:
        seen: dict[str, str] = {}
        for row in rows[1:] if long_header else rows:
            fname, raw = row
            if not fname:
                if raw:
                    items.append(("(row without a field name)", raw))
                continue
            key = norm_key(fname)
            if key in seen and seen[key] != raw:
                raise InputError(f"{source_name}: field {safe_text(fname)} appears twice with different values.")
            seen[key] = raw
            items.append((fname, raw))
        layout = "long"
    else:
        if len(rows) == 1:
            raise InputError(f"{source_name} has a header row but no data row.")
        if len(rows) > 2:
            raise InputError(
                f"{source_name} holds {len(rows) - 1} data rows; a clinical record describes one patient "
                "(a header and one data row, or field,value pairs)."
            )
        header, data = rows
        if len(data) > len(header) and any(data[len(header):]):
            raise InputError(f"{source_name}: the data row has {len(data)} cells but the header has {len(header)}.")
        data = (data + [""] * (len(header) - len(data)))[: len(header)]
        dup = sorted(k for k, n in Counter(norm_key(h) for h in header if h).items() if n > 1)
        if dup:
            raise InputError(f"{source_name}: column {safe_text(dup[0])} appears more than once.")
        for i, (col, raw) in enumerate(zip(header, data, strict=True)):
            items.append((col or f"(unnamed column {i + 1})", raw))
        layout = "wide"
    values, unknown, patient_ref, warnings, id_facts = record_from_items(
        items, schema, "column" if layout == "wide" else "field", source_name, deadline=deadline
    )
    facts.update(format="csv", layout=layout, delimiter={"\t": "tab", ";": "semicolon", ",": "comma"}[delimiter])
    facts.update(id_facts)
    return ClinicalRecord(values, tuple(unknown), tuple(warnings), facts, patient_ref)


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def load_json(text: str, source_name: str, deadline: Deadline | None = None) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if deadline is not None:
            deadline.tick()
        return _no_duplicates(pairs)

    try:
        return json.loads(text, object_pairs_hook=hook)
    except InputError:
        raise
    except _DuplicateKey as exc:
        raise InputError(f"{source_name}: key {safe_text(exc.args[0])} appears twice in one JSON object.") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{source_name} is not valid JSON (line {exc.lineno}, column {exc.colno}).") from None
    except (ValueError, RecursionError):
        raise InputError(f"{source_name} is not valid JSON (too deeply nested or an oversized number).") from None


def read_json_record(
    data: Any, schema: RecordSchema, source_name: str, facts: dict[str, Any], deadline: Deadline | None = None
) -> ClinicalRecord:
    if not isinstance(data, dict):
        kind = "list" if isinstance(data, list) else "single value"
        raise InputError(f"{source_name} is a JSON {kind}; expected one patient's record as a JSON object.")
    items: list[tuple[str, Any]] = []
    unknown_extra: list[str] = []
    scan = IdentifierScan()
    clinical = data.get("clinical")
    if isinstance(clinical, dict):
        layout = "nested"
        for key, raw in data.items():
            if key in ("clinical", "treatments"):
                continue
            if norm_key(key) == norm_key(schema.patient_id_col):
                items.append((key, raw))
            elif not scan.take(key, raw) and not is_missing(raw):
                unknown_extra.append(f"field {safe_text(key)} (not used)")
        sections = [clinical]
        if isinstance(data.get("treatments"), dict):
            sections.append(data["treatments"])
        elif data.get("treatments") is not None:
            raise InputError(f"{source_name}: 'treatments' must be an object of 0/1 values.")
        for section in sections:
            items.extend(section.items())
    elif clinical is not None:
        raise InputError(f"{source_name}: 'clinical' must be an object of field names and values.")
    else:
        layout = "flat"
        items = list(data.items())
    values, unknown, patient_ref, warnings, id_facts = record_from_items(
        items, schema, "field", source_name, scan=scan, deadline=deadline
    )
    facts.update(format="json", layout=layout)
    facts.update(id_facts)
    return ClinicalRecord(values, tuple(unknown_extra + unknown), tuple(warnings), facts, patient_ref)
