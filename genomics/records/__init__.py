"""One patient's clinical record in: CSV/TSV, JSON, or a FHIR R4 Bundle (HL7 mCODE where present).

Every format ends in the same :class:`ClinicalRecord`: canonical field names (those of the
cohort spec, ``BREAST_CLINICAL`` by default, plus the treatment columns and a few extra known
fields), what was present but not used (``unknown``), plain-words warnings and provenance facts.

FHIR resources are mapped **by code** (system + code), never by display text: a coding that has
only a display, or a code outside the tables below, is reported in ``unknown`` and not used.
FHIR JSON is validated with the ``fhir.resources`` R4B models (``fhir.resources`` 7+ ships no
separate R4 package; R4B is R4 plus a few non-clinical changes and reads R4 mCODE resources).

Identifying details (names, addresses, identifiers, dates) are never copied into ``values``,
``warnings`` or ``unknown``; messages name fields and codes only, never patient values. In CSV/TSV
and plain JSON records, direct identifiers are recognised by column/key name (``name``, ``mrn``,
``nhs_number``, ``address``, ``phone``, ``email``, ``date_of_birth``, ``diagnosis_date`` ...) and, in
columns that are not cohort fields, by value (e-mail addresses, phone numbers, exact dates, NHS- or
SSN-like numbers); they are dropped, and only their generic categories are kept
(``facts["identifiers_dropped"]``) with one plain warning. Age at diagnosis is derived from a date of
birth and a diagnosis date when not given; of the dates only the diagnosis year is kept
(``facts["diagnosis_year"]``). The record's own patient id column stays ``patient_ref``.

Reading is bounded in time: :func:`read_records` takes a ``deadline`` (see
:class:`genomics.deadline.Deadline`), checked per row, JSON object, item and FHIR entry.

Modules: :mod:`~genomics.records.schema` (the record and the cohort schema), :mod:`~genomics.records.values`
(field values and checks), :mod:`~genomics.records.identifiers` (direct identifiers),
:mod:`~genomics.records.tabular` (CSV/TSV and JSON), :mod:`~genomics.records.codes` (code tables),
:mod:`~genomics.records.fhir_types` and :mod:`~genomics.records.fhir` (FHIR R4 Bundles),
:mod:`~genomics.records.reader` (:func:`read_records`).
"""
from __future__ import annotations

from genomics.records.identifiers import IDENTIFIER_CATEGORIES
from genomics.records.reader import read_records
from genomics.records.schema import EXTRA_FIELDS, ClinicalRecord
from genomics.records.values import check_record

__all__ = ["EXTRA_FIELDS", "IDENTIFIER_CATEGORIES", "ClinicalRecord", "check_record",
           "read_records"]
