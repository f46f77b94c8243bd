"""The message catalogue: ``tr(message, **values)`` looks the English source text up in the chosen language's table
(locales/<code>.json: "messages" source → translation, "errors" regular expression → template) and fills its named
placeholders; English, or a message the table lacks, is the source text itself. ``N_`` marks a literal for the
catalogue where it is defined (a label table) and translated later with ``tr(variable)``."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from genomics import regimens

LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
DEFAULT_LANGUAGE = "en"
LOCALES = Path(__file__).with_name("locales")
_LANGUAGE: ContextVar[str] = ContextVar("oncotx_language", default=DEFAULT_LANGUAGE)


def set_language(code: str) -> str:
    """The language of this run (each Streamlit run sets it before any page draws); unknown codes give English."""
    code = code if code in LANGUAGES else DEFAULT_LANGUAGE
    _LANGUAGE.set(code)
    return code


@contextmanager
def language_scope(code: str | None) -> Iterator[str]:
    """Within the block the language is ``code`` (None: unchanged), as for work run outside a page's script run
    (a download's bytes are made later, in another context)."""
    token = _LANGUAGE.set(code if code in LANGUAGES else current_language())
    try:
        yield _LANGUAGE.get()
    finally:
        _LANGUAGE.reset(token)


def current_language() -> str:
    return _LANGUAGE.get()


@cache
def catalogue(code: str) -> dict:
    """The language's table: {"messages": {source: translation}, "errors": {pattern: template}} (English: empty)."""
    path = LOCALES / f"{code}.json"
    if code == DEFAULT_LANGUAGE or not path.exists():
        return {"messages": {}, "errors": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def N_(message: str) -> str:  # noqa: N802 (the gettext no-op marker's usual name)
    """Marks a literal for the catalogue; returns it unchanged (translate it where shown, with tr)."""
    return message


def tr(message: str, /, *, language: str | None = None, **values: object) -> str:
    """``message`` in the chosen language, its ``{name}`` placeholders filled from ``values``."""
    text = catalogue(language or current_language())["messages"].get(message) or message
    return text.format(**values) if values else text


def regimen_label(name: str, *, language: str | None = None) -> str:
    """genomics.regimens.regimen_label in the chosen language ('Chemo + Radio' → '化疗 + 放疗')."""
    name = str(name)
    if (language or current_language()) == DEFAULT_LANGUAGE:
        return regimens.regimen_label(name)
    if name == regimens.NONE:
        return tr(regimens.NONE_LABEL, language=language)
    return " + ".join(tr(regimens.treatment_label(part), language=language) for part in name.split("+"))


@cache
def _error_patterns(code: str) -> tuple[tuple[re.Pattern, str], ...]:
    return tuple((re.compile(pattern, re.DOTALL), template) for pattern, template in catalogue(code)["errors"].items())


#: Pattern groups that hold catalogue words (regimen labels, field names, a model variant's label), translated
#: piece by piece: items separated by ", ", treatments by " + ".
WORD_GROUPS = frozenset({"regimens", "fields", "label"})


def _words(value: str, language: str | None) -> str:
    return tr(", ", language=language).join(" + ".join(tr(part, language=language) for part in item.split(" + "))
                                            for item in value.split(", "))


def translate_error(message: str, *, language: str | None = None) -> str:
    """An English InputError / validation line in the chosen language: the first template whose pattern matches the
    whole line, its named groups filled in (those of :data:`WORD_GROUPS` translated); the English line when none
    matches."""
    message = str(message)
    for pattern, template in _error_patterns(language or current_language()):
        found = pattern.fullmatch(message.strip())
        if found:
            return template.format(**{k: _words(v, language) if k in WORD_GROUPS else v
                                      for k, v in found.groupdict().items()})
    return message
