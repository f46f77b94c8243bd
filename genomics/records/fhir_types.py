"""FHIR datatype helpers: code systems and codings of a CodeableConcept, dates, quantities and their UCUM units,
and validation errors as messages without patient values."""
from __future__ import annotations

import math
import re
from typing import Any

from genomics.records.codes import SYSTEM_ALIASES, SYSTEM_NAMES, UCUM
from genomics.records.values import is_number
from genomics.sniff import safe_text

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_SAFE_CODE_RE = re.compile(r"^[A-Za-z0-9.\-_:+/()]{1,40}$")


def coding_system(system: Any) -> str:
    text = str(system).strip().rstrip("/")
    return SYSTEM_ALIASES.get(text, text)


def codings(concept: Any) -> list[tuple[str, str]]:
    """(system, code) pairs of a CodeableConcept; codings without both are ignored (no display)."""
    out = []
    if isinstance(concept, dict):
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict) and coding.get("system") and coding.get("code"):
                out.append((coding_system(coding["system"]), str(coding["code"]).strip()))
    return out


def concept_text(concept: Any) -> str:
    """A CodeableConcept's words: its text and its codings' displays (for the free-text last resort only)."""
    if not isinstance(concept, dict):
        return ""
    parts = [concept.get("text")] + [c.get("display") for c in concept.get("coding") or [] if isinstance(c, dict)]
    return " ; ".join(p for p in parts if isinstance(p, str) and p.strip())[:2000]


def code_label(system: str, code: str) -> str:
    shown = code if _SAFE_CODE_RE.match(code) else "(unreadable code)"
    name = SYSTEM_NAMES.get(system)
    return f"{name} {shown}" if name else f"code {shown} (other code system)"


def parse_fhir_date(text: Any) -> tuple[int, int | None, int | None] | None:
    if not isinstance(text, str):
        return None
    m = _DATE_RE.match(text.strip())
    if not m:
        return None
    year, month, day = (int(g) if g else None for g in m.groups())
    return (year, month, day)  # type: ignore[return-value]


def quantity_value(q: Any) -> float | None:
    if isinstance(q, dict) and is_number(q.get("value")) and math.isfinite(float(q["value"])):
        return float(q["value"])
    return None


def ucum_unit(q: dict[str, Any]) -> str | None:
    """The UCUM unit code of a Quantity (the human-readable unit only as a fallback)."""
    code, system = q.get("code"), q.get("system")
    if isinstance(code, str) and (system is None or coding_system(system) == UCUM):
        return code.strip()
    unit = q.get("unit")
    if isinstance(unit, str):
        return {"mm": "mm", "cm": "cm", "%": "%", "percent": "%"}.get(unit.strip().lower())
    return None


def validation_problems(exc: BaseException, what: str) -> list[str]:
    """Field paths and error types of a validation error, without the offending input values."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        out = []
        for item in errors()[:10]:
            loc = ".".join(str(part) for part in item.get("loc", ()) if str(part) != "__root__")
            kind = safe_text(item.get("type", "invalid"), 60)
            if re.search(r"(date|Date|DateTime|onset|start|end)$", loc) and "error" in kind:
                kind = "not a valid FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)"
            out.append(f"{safe_text(loc or what, 80)}: {kind}")
        if out:
            return out
    if isinstance(exc, ValueError) and "is not a valid FHIR Model" in str(exc):
        return [f"{what}: not a FHIR R4 resource type"]
    return [f"{what}: invalid ({type(exc).__name__})"]
