"""Direct identifiers in CSV/TSV and plain JSON records (the FHIR reader never reads Patient details): recognised by
column/key name and by value, dropped, and kept only as generic categories (:class:`IdentifierScan`); age at
diagnosis derived from a date of birth and a diagnosis date."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from genomics.records.schema import RecordSchema
from genomics.records.values import is_missing, is_number

ID_NAME = "name"
ID_RECORD = "record number"
ID_NATIONAL = "national id"
ID_ACCOUNT = "insurance or account number"
ID_ADDRESS = "address"
ID_PHONE = "phone number"
ID_EMAIL = "email"
ID_BIRTH = "date of birth"
ID_DATE = "exact date"
ID_OTHER = "other identifier"
IDENTIFIER_CATEGORIES = (ID_NAME, ID_RECORD, ID_NATIONAL, ID_ACCOUNT, ID_ADDRESS, ID_PHONE, ID_EMAIL, ID_BIRTH,
                         ID_DATE, ID_OTHER)

# Column/key names, compared without case or separators ("Date of Birth", "date-of-birth", "dateOfBirth").
_NAME_KEYS = frozenset({
    "name", "names", "firstname", "lastname", "givenname", "givennames", "familyname", "surname", "forename",
    "forenames", "middlename", "maidenname", "fullname", "patientname", "ptname", "nickname", "preferredname",
    "initials", "patientinitials",
})
_NAME_PREFIXES = (
    "first", "last", "given", "family", "patient", "pt", "full", "middle", "maiden", "legal", "preferred", "nick",
    "mother", "father", "parent", "spouse", "partner", "kin", "nextofkin", "contact", "emergency", "guardian",
    "carer", "doctor", "physician", "gp", "consultant", "clinician", "practitioner", "oncologist", "surgeon",
    "nurse", "referrer", "referring",
)
_RECORD_KEYS = frozenset({
    "mrn", "mrno", "medicalrecord", "medicalrecordnumber", "medicalrecordno", "medicalrecordid", "hospitalnumber",
    "hospitalno", "hospitalid", "hospitalrecordnumber", "patientnumber", "patientno", "casenumber", "caseno",
    "chartnumber", "chartno", "recordnumber", "recordno", "unitnumber", "encounterid", "encounternumber",
    "accessionnumber", "visitnumber", "admissionnumber", "episodenumber", "labnumber", "uhid",
})
_NATIONAL_KEYS = frozenset({
    "ssn", "sin", "nhs", "nhsid", "chi", "chinumber", "chino", "ninumber", "nino", "bsn", "personnummer", "taxid",
    "taxnumber", "healthcard", "healthcardnumber", "medicarenumber", "medicaidnumber", "medicare", "medicaid",
})
_NATIONAL_STEMS = ("socialsecurity", "nhsnumber", "nhsno", "nationalid", "nationalinsurance", "passport",
                   "license", "licence", "ssn")
_ACCOUNT_KEYS = frozenset({
    "memberid", "membernumber", "memberno", "subscriberid", "subscribernumber", "payerid", "policynumber",
    "policyno", "policyid", "accountnumber", "accountno", "accountid", "bankaccount", "iban", "creditcard",
    "cardnumber", "healthplanid", "beneficiaryid", "groupnumber",
})
_PHONE_KEYS = frozenset({
    "tel", "telno", "telnumber", "mobile", "mobileno", "mobilenumber", "cell", "cellno", "fax", "faxno",
    "faxnumber", "pager", "contactnumber", "contactno",
})
_ADDRESS_KEYS = frozenset({
    "zip", "zipcode", "city", "town", "village", "county", "residence", "housenumber", "houseno", "suburb",
    "district", "municipality", "locality", "placeofbirth", "birthplace",
})
_ADDRESS_STEMS = ("address", "street", "postcode", "postalcode", "zipcode")
_OTHER_KEYS = frozenset({
    "ip", "ipaddress", "url", "website", "webpage", "homepage", "photo", "photograph", "picture", "fingerprint",
    "biometric", "vehicle", "licenseplate", "numberplate", "serialnumber", "deviceserial", "username", "login",
    "userid", "twitter", "facebook", "socialmedia",
})
_DATE_TOKENS = frozenset({"date", "dates", "datetime", "dt", "dod", "timestamp", "dated"})
_DATE_KEY_RE = re.compile(
    r"(?:diagnosis|diagnosed|dx|surgery|operation|visit|death|died|admission|admit|discharge|onset|biopsy|"
    r"followup|lastcontact|contact|consent|collection|sample|specimen|treatment|recurrence|relapse|progression|"
    r"enrolment|enrollment|registration|referral|appointment|exam|report)(?:date|dt|on)$|^dateof"
)

# Values (columns that are not cohort fields, and free-text values of cohort fields).
_VALUE_SCAN_CHARS = 2000
_EMAIL_VALUE_RE = re.compile(r"(?<![\w.%+\-])[\w.%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,}")
_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                             "nov", "dec"))}
_MONTH_RE = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?"
_YMD_RE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_DMY_RE = re.compile(r"(?<![\d.])(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?![\d.])")
_D_MON_Y_RE = re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?[\s\-/]+{_MONTH_RE}[\s\-/,]+(\d{{4}})(?!\d)", re.I)
_MON_D_Y_RE = re.compile(rf"\b{_MONTH_RE}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", re.I)
_YYYYMMDD_RE = re.compile(r"(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")
_SSN_RE = re.compile(r"\d{3}-\d{2}-\d{4}")
_NHS_RE = re.compile(r"\d{3}[ \-]?\d{3}[ \-]?\d{4}")
_PHONE_RE = re.compile(r"\+?[\d\s().\-]{7,24}")
_SCAN_NODES = 200  # nested JSON nodes looked at per value


def _key_parts(name: Any) -> tuple[list[str], str]:
    """Lower-case tokens of a column/key name (camelCase split) and the tokens joined."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name)[:200])
    tokens = [t for t in re.split(r"[^a-z0-9]+", text.lower()) if t]
    return tokens, "".join(tokens)


def _identifier_by_name(name: Any) -> str | None:
    """The identifier category a column/key name announces, or None."""
    tokens, key = _key_parts(name)
    if not key:
        return None
    if "birth" in key or "born" in tokens or "dob" in tokens or key.endswith("dob"):
        if any(s in key for s in ("place", "city", "town")):
            return ID_ADDRESS
        if not any(s in key for s in ("weight", "country", "order", "rank", "control", "cohort")):
            return ID_BIRTH
    if "email" in key or key in ("mail", "eaddress"):
        return ID_EMAIL
    if "phone" in key or key in _PHONE_KEYS:
        return ID_PHONE
    if key in _NATIONAL_KEYS or any(s in key for s in _NATIONAL_STEMS):
        return ID_NATIONAL
    if key in _ACCOUNT_KEYS or "insurance" in key:
        return ID_ACCOUNT
    if key in _RECORD_KEYS or "mrn" in tokens or key.startswith("mrn") or "medicalrecord" in key:
        return ID_RECORD
    if (key in _NAME_KEYS or "surname" in key or "forename" in key or key.endswith("fullname")
            or (key.endswith("name") and key.startswith(_NAME_PREFIXES))):
        return ID_NAME
    if key in _OTHER_KEYS or key.endswith("ipaddress"):
        return ID_OTHER
    if key in _ADDRESS_KEYS or any(s in key for s in _ADDRESS_STEMS) or {"city", "town", "zip"} & set(tokens):
        return ID_ADDRESS
    if _DATE_TOKENS & set(tokens) or _DATE_KEY_RE.search(key):
        return ID_DATE
    return None


def _is_diagnosis_key(name: Any) -> bool:
    tokens, key = _key_parts(name)
    return "diagnos" in key or "dx" in tokens or key.startswith("dx") or "onset" in key


def _nhs_checksum(digits: str) -> bool:
    """NHS number modulus-11 check digit."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _plausible_day_month(first: int, second: int) -> bool:
    return 1 <= first <= 31 and 1 <= second <= 31 and min(first, second) <= 12


def _identifier_in_text(text: str) -> str | None:
    """The identifier category of one text value (e-mail, exact date, NHS/SSN-like number, phone), or None."""
    text = text.strip()[:_VALUE_SCAN_CHARS]
    if len(text) < 6:
        return None
    if "@" in text and _EMAIL_VALUE_RE.search(text):
        return ID_EMAIL
    if any(1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(3)) <= 31 for m in _YMD_RE.finditer(text)):
        return ID_DATE
    if any(_plausible_day_month(int(m.group(1)), int(m.group(2))) for m in _DMY_RE.finditer(text)):
        return ID_DATE
    if _D_MON_Y_RE.search(text) or _MON_D_Y_RE.search(text) or _YYYYMMDD_RE.fullmatch(text):
        return ID_DATE
    if _SSN_RE.fullmatch(text):
        return ID_NATIONAL
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.isdigit():
        if text[0] == "0" and 9 <= len(text) <= 12:
            return ID_PHONE
        return ID_NATIONAL if 9 <= len(text) <= 12 else None
    if _NHS_RE.fullmatch(text):
        return ID_NATIONAL if _nhs_checksum(digits) else ID_PHONE
    if _PHONE_RE.fullmatch(text) and 7 <= len(digits) <= 15:
        try:
            float(text)
        except ValueError:
            groups = len(re.findall(r"\d+", text))
            if groups >= 3 or (text[0] in "+(0" and len(digits) >= 9):
                return ID_PHONE
    return None


def _identifier_by_value(raw: Any) -> str | None:
    """The identifier category of a scalar value, or None (numbers other than whole ones are never identifiers)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return _identifier_in_text(str(raw)) if abs(raw) < 10**15 else None
    if isinstance(raw, str):
        return _identifier_in_text(raw)
    return None


def _parse_any_date(raw: Any) -> tuple[int, int | None, int | None] | None:
    """(year, month, day) of a date as written in a record: ISO (``1961-03-14``, ``1961-03``, ``1961``),
    ``14/03/1961`` (day/month, or month/day when the first number exceeds 12; year only when both could be
    the month), ``14 March 1961``, ``March 14, 1961``, ``19610314``. Two-digit years are not guessed."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    text = raw.strip()[:64]
    parts: tuple[int, int | None, int | None] | None = None
    if m := re.fullmatch(r"(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?(?:[T ][\d:.+\-Z ]*)?", text):
        parts = (int(m.group(1)), int(m.group(2)) if m.group(2) else None, int(m.group(3)) if m.group(3) else None)
    elif m := re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[T ][\d:.+\-Z ]*)?", text):
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if a > 12 >= b:
            parts = (year, b, a)
        elif b > 12 >= a:
            parts = (year, a, b)
        else:
            parts = (year, a, a) if a == b else (year, None, None)
    elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{4})", text):
        parts = (int(m.group(2)), int(m.group(1)), None)
    elif m := _D_MON_Y_RE.fullmatch(text):
        parts = (int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
    elif m := _MON_D_Y_RE.fullmatch(text):
        parts = (int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
    elif _YYYYMMDD_RE.fullmatch(text):
        parts = (int(text[:4]), int(text[4:6]), int(text[6:]))
    if parts is None or not 1850 <= parts[0] <= 2200:
        return None
    year, month, day = parts
    if month is not None and not 1 <= month <= 12:
        return None
    if day is not None:
        try:
            date(year, month or 1, day)
        except ValueError:
            return None
    return parts


class IdentifierScan:
    """Collects the direct identifiers met while mapping a CSV/JSON record: their categories (never
    names or values), and the raw birth and diagnosis dates, kept only until age is derived."""

    def __init__(self) -> None:
        self.found: set[str] = set()
        self.births: list[Any] = []
        self.diagnoses: list[Any] = []
        self.fields: list[str] = []  # cohort fields whose value looked like an identifier

    def take(self, name: Any, raw: Any, *, _path: str = "", _depth: int = 0, _budget: list[int] | None = None) -> bool:
        """True when the unknown column/key ``name`` with value ``raw`` is a direct identifier (by name, or
        by value when the name says nothing); it is then remembered by category only and must be dropped.
        Objects and lists (JSON) are looked into, a bounded number of nodes deep."""
        budget = _budget if _budget is not None else [_SCAN_NODES]
        budget[0] -= 1
        path = f"{_path}_{name}" if _path else str(name)[:200]  # "diagnosis" + "date" is a diagnosis date
        category = _identifier_by_name(name)
        if category is not None:
            if is_missing(raw) or raw == {} or raw == []:
                return True  # an empty identifier column: nothing to drop, nothing to list
            self.found.add(category)
            if category == ID_BIRTH:
                self.births.append(raw)
            elif category == ID_DATE and _is_diagnosis_key(path):
                self.diagnoses.append(raw)
            return True
        if isinstance(raw, (dict, list)):
            if _depth >= 6 or budget[0] <= 0:
                return False
            pairs = raw.items() if isinstance(raw, dict) else ((name, item) for item in raw)
            hit = False
            for key, value in pairs:
                if budget[0] <= 0:
                    break
                hit = self.take(key, value, _path=_path if isinstance(raw, list) else path, _depth=_depth + 1,
                                _budget=budget) or hit
            return hit
        category = None if is_missing(raw) else _identifier_by_value(raw)
        if category is None:
            return False
        self.found.add(category)
        if category == ID_DATE and _is_diagnosis_key(path):
            self.diagnoses.append(raw)
        return True

    def identifying_value(self, schema: RecordSchema, key: str, value: Any) -> bool:
        """True when a cohort field's free-text value (not one of its categories) looks like an identifier."""
        if not isinstance(value, str):
            return False
        spec_field = schema.fields.get(key)
        if spec_field is not None and value in spec_field.categories:
            return False
        category = _identifier_in_text(value)
        if category is None:
            return False
        self.found.add(category)
        self.fields.append(key)
        return True

    def resolve(self, values: dict[str, Any], schema: RecordSchema) -> tuple[list[str], dict[str, Any]]:
        """Derive age at diagnosis where needed (into ``values``); returns the warnings and facts to add."""
        warnings: list[str] = []
        facts: dict[str, Any] = {}
        diagnoses = [d for d in (_parse_any_date(x) for x in self.diagnoses) if d is not None]
        births = {b for b in (_parse_any_date(x) for x in self.births) if b is not None}
        onset = min(diagnoses, key=lambda d: (d[0], d[1] or 0, d[2] or 0)) if diagnoses else None
        if onset is not None:
            facts["diagnosis_year"] = onset[0]
        derived_note = ""
        want_age = schema.known("age_at_diagnosis")
        if want_age and (self.births or self.diagnoses):
            age, precision, problem = self._age(births, onset)
            if not self.births:
                problem = "no date of birth was found."
            elif not births:
                problem = "the date of birth is not a date with a four-digit year."
            elif not self.diagnoses:
                problem = "no diagnosis date was found."
            elif onset is None:
                problem = "the diagnosis date is not a date with a four-digit year."
            given = values.get("age_at_diagnosis")
            if age is not None and given is None:
                values["age_at_diagnosis"] = age
                derived_note = (
                    " Age at diagnosis was derived from the date of birth and the diagnosis date; only the "
                    "diagnosis year was kept." if precision == "day" else
                    " Age at diagnosis was derived from the birth and diagnosis years only (accurate to ±1 year); "
                    "only the diagnosis year was kept."
                )
            elif age is not None and is_number(given) and abs(float(given) - age) > 1.0:
                warnings.append("age_at_diagnosis differs by more than a year from the age given by the date of "
                                "birth and the diagnosis date; the given age was used.")
            elif age is None and given is None:
                warnings.append(f"Age at diagnosis could not be derived: {problem}")
        if self.found:
            shown = ", ".join(c for c in IDENTIFIER_CATEGORIES if c in self.found)
            warnings.insert(0, f"Direct identifiers were removed and not stored: {shown}.{derived_note}")
            facts["identifiers_dropped"] = [c for c in IDENTIFIER_CATEGORIES if c in self.found]
        if self.fields:
            warnings.append(f"{', '.join(dict.fromkeys(self.fields))}: the value looks like a direct identifier "
                            "(an e-mail address, phone number, date or ID number) and was not used.")
        return warnings, facts

    @staticmethod
    def _age(
        births: set[tuple[int, int | None, int | None]], onset: tuple[int, int | None, int | None] | None
    ) -> tuple[float | None, str, str]:
        """(age, "day" or "year" precision, why not) from one date of birth and the diagnosis date."""
        if not births or onset is None:
            return None, "", "it needs a date of birth and a diagnosis date."
        if len(births) > 1:
            return None, "", "the record holds different dates of birth."
        birth = next(iter(births))
        if all(part is not None for part in (*birth, *onset)):
            days = (date(*onset) - date(*birth)).days  # type: ignore[arg-type]
            age, precision = round(days / 365.25, 2), "day"
        else:
            age, precision = float(onset[0] - birth[0]), "year"
        if not 0 <= age <= 120:
            return None, "", "the date of birth and the diagnosis date give an impossible age."
        return age, precision, ""
