"""Reading one patient's clinical record from CSV/TSV, JSON or a FHIR R4 Bundle: :func:`read_records`."""
from __future__ import annotations

import logging
from typing import Any

from genomics.deadline import Deadline
from genomics.records.fhir import FhirReader
from genomics.records.provenance import REVIEW_FIELDS, field_provenance
from genomics.records.schema import ClinicalRecord, record_schema
from genomics.records.tabular import load_json, read_json_record, read_table_record
from genomics.sniff import open_text_payload, read_source
from genomics.spec import CohortSpec

logger = logging.getLogger(__name__)


def read_records(
    source: Any, *, name: str | None = None, spec: CohortSpec | None = None, deadline: Deadline | float | None = None
) -> ClinicalRecord:
    """Read one patient's clinical record from CSV/TSV, JSON or a FHIR R4 Bundle.

    Parameters
    ----------
    source
        Path, bytes or file-like object (e.g. a Streamlit upload). Gzip, UTF-8 (BOM) and UTF-16
        are accepted; the content is sniffed, the file name is only a display hint.
    name
        Display name for messages (defaults to the path or upload name).
    spec
        Cohort spec whose clinical fields and treatment columns are the target names;
        ``None`` means the breast fields (``BREAST_CLINICAL``) and the METABRIC treatments.
    deadline
        Wall-clock budget: a :class:`~genomics.deadline.Deadline` (shared with the caller), seconds, or
        ``None`` for ``ONCOTX_PARSE_SECONDS`` (default 60 s).

    Returns
    -------
    ClinicalRecord

    Raises
    ------
    InputError
        For anything that cannot be read as one patient's record, or that takes longer than the
        deadline; the message names fields and codes, never patient values.
    """
    dl = Deadline.of(deadline)
    schema = record_schema(spec)
    payload = read_source(source, name=name)
    dl.check()
    payload, text, encoding = open_text_payload(payload, deadline=dl)
    facts: dict[str, Any] = {"sha256": payload.sha256, "encoding": encoding, "compressed": payload.compressed}
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        data = load_json(stripped, payload.name, dl)
        if isinstance(data, dict) and "resourceType" in data:
            record = FhirReader(schema, payload.name, dl).read(data, facts)
        else:
            record = read_json_record(data, schema, payload.name, facts, dl)
    else:
        record = read_table_record(stripped, schema, payload.name, facts, dl)
    if "provenance" not in record.facts:  # CSV/JSON: every value is a recorded field
        fields = tuple(dict.fromkeys(f for f in (*schema.clinical, *schema.treatments, *REVIEW_FIELDS)
                                     if schema.known(f)))
        record.facts["provenance"] = field_provenance(fields, record.values, {}, set(),
                                                      {f: "not in the file" for f in fields})
    logger.info(
        "clinical record read: format=%s fields=%d unknown=%d warnings=%d identifier categories dropped=%d",
        record.facts.get("format"), len(record.values), len(record.unknown), len(record.warnings),
        len(record.facts.get("identifiers_dropped", ())),
    )
    return record
