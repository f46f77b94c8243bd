"""Streamlit's caches with a spinner in the page's language.

``st.cache_data(show_spinner="…")`` takes its message when the module is imported, before any page has chosen a
language. These wrappers take the English message (an ``N_`` msgid) and translate it at each call; Streamlit shows
a spinner only when the call takes longer than half a second, so a cache hit shows nothing. Outside a script run
(the background warm-up thread) there is no page to show it on and the call runs bare.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard.i18n import tr


def _speaking(cache: Callable[..., Any], message: str, options: dict[str, Any]) -> Callable:
    def wrap(func: Callable) -> Callable:
        inner = cache(show_spinner=False, **options)(func)

        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            if get_script_run_ctx(suppress_warning=True) is None:
                return inner(*args, **kwargs)
            with st.spinner(tr(message)):
                return inner(*args, **kwargs)

        call.clear = inner.clear  # type: ignore[attr-defined]
        return call

    return wrap


def cache_data(message: str, **options: Any) -> Callable[[Callable], Callable]:
    """``st.cache_data(**options)`` with a translated spinner ``message``."""
    return _speaking(st.cache_data, message, options)


def cache_resource(message: str, **options: Any) -> Callable[[Callable], Callable]:
    """``st.cache_resource(**options)`` with a translated spinner ``message``."""
    return _speaking(st.cache_resource, message, options)
