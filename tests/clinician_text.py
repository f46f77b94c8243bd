"""What a clinician reads on a page, collected from a Streamlit AppTest run, and the developer tokens in it.

:func:`page_texts` walks every element of the page (main area and sidebar): markdown, captions, alerts, metric
labels, values and help, widget labels, options and help, button labels, tab and expander labels, table
column names and text cells, and the words of every chart (titles, axis titles, legend names, annotations,
tick labels). :func:`developer_tokens` finds what a clinician should never read there: environment variable
names (``ONCOTX_DATA``), snake_case identifiers (``radio_therapy``, ``genes_as_rows``), joined regimen names
(``chemotherapy+hormone_therapy``), dotted code paths and tracebacks.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd

SNAKE = re.compile(r"(?<![\w./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/-]|\.\w)")
ENV = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")
CODE = re.compile(r"\b(?:Traceback|[a-z_]+\.[a-z_]+\.[a-z_]+\(|[a-z]+(?:_[a-z]+)*\(\))")
JOINED = re.compile(r"\b[a-z]+(?:_[a-z]+)*\+[a-z]+(?:_[a-z]+)*\b")
URL = re.compile(r"https?://\S+|\b[\w.-]+@[\w.-]+\b|\b[\w-]+\.(?:csv|tsv|txt|json|pdf|gz|xlsx|h5ad|png|md)\b")
TEXT_FIELDS = ("value", "label", "body", "help", "placeholder", "caption")
CHART_KEYS = {"text", "name", "title", "ticktext"}


def developer_tokens(text: str) -> list[str]:
    """The developer tokens in ``text`` (URLs, e-mail addresses and file names are not counted)."""
    text = URL.sub(" ", str(text))
    found: list[str] = []
    for pattern in (ENV, JOINED, SNAKE, CODE):
        found += [m.group(0) for m in pattern.finditer(text)]
    return list(dict.fromkeys(found))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def _chart_words(spec: dict) -> Iterator[str]:
    """The words a chart shows: every ``text``, ``name``, ``title`` and ``ticktext`` in its traces and layout
    (hover templates and data arrays of numbers are skipped)."""
    stack: list[Any] = [spec.get("data", []), spec.get("layout", {})]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in CHART_KEYS:
                    yield from _strings(value)
                elif key not in ("hovertemplate", "customdata", "meta", "uid", "legendgroup"):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))


def _frame_words(frame: pd.DataFrame) -> Iterator[str]:
    yield from (str(c) for c in frame.columns)
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            yield from (str(v) for v in column.dropna().unique())


SCRIPT_ONLY = re.compile(r"\s*<script>.*</script>\s*", re.S)


def _node_words(node: Any) -> Iterator[str]:
    kind = getattr(node, "type", "")
    body = getattr(getattr(node, "proto", None), "body", None)
    if isinstance(body, str) and SCRIPT_ONLY.fullmatch(body):
        return  # an st.html element holding only a script: nothing on screen to read
    if kind == "plotly_chart":
        yield from _chart_words(json.loads(node.proto.spec))
        return
    if kind in ("dataframe", "table"):
        value = node.value
        if isinstance(value, pd.DataFrame):
            yield from _frame_words(value)
        return
    for name in TEXT_FIELDS:
        try:
            value = getattr(node, name)
        except Exception:  # noqa: BLE001 (an element without that field)
            continue
        if isinstance(value, str):
            yield value
    try:
        options = node.options
    except Exception:  # noqa: BLE001
        options = None
    if isinstance(options, list | tuple):
        yield from (str(o) for o in options)
    proto = getattr(node, "proto", None)
    for name in ("label", "body", "help", "placeholder"):
        value = getattr(proto, name, None) if proto is not None else None
        if isinstance(value, str) and value:
            yield value


def _walk(block: Any) -> Iterator[Any]:
    children = getattr(block, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield child
            yield from _walk(child)


def page_texts(at: Any) -> list[str]:
    """Every text a user reads on the page of an AppTest run (main area and sidebar)."""
    words: list[str] = []
    for root in (at.main, at.sidebar):
        for node in _walk(root):
            words += [w for w in _node_words(node) if w and w.strip()]
    return words


def offending(texts: Iterable[str]) -> dict[str, list[str]]:
    """{text: its developer tokens} for the texts that have any."""
    out = {}
    for text in texts:
        tokens = developer_tokens(text)
        if tokens:
            out[text[:200]] = tokens
    return out
