"""Load the browser code of the result's elements (charts, tables, metrics) while the user is still on the form.

Streamlit's front end fetches and compiles each element type's code the first time a page shows one; the
Patient page's results hold several plotly charts, tables and metrics, so after a (re)load the first Analyse
waited for the plotly bundle (measured: about 1.1 s of 2.4 s to the first chart drawn, warm server). The page
asks the browser to import those modules as soon as the form is on screen (:func:`preload_result_elements`),
so Analyse waits only for the analysis and the drawing. The script holds no user text: only module file names
of the installed Streamlit, found at start-up.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import streamlit as st

#: The element modules a patient's results use (file name prefixes of Streamlit's front-end chunks).
RESULT_ELEMENTS = ("PlotlyChart", "DataFrame", "Metric", "ButtonGroup", "Tabs", "FileDownload")


@functools.cache
def element_modules(names: tuple[str, ...] = RESULT_ELEMENTS) -> tuple[str, ...]:
    """The installed Streamlit's front-end chunk files for ``names`` (e.g. 'PlotlyChart.D9Z0_fxz.js')."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    found = []
    for name in names:
        found += sorted(p.name for p in folder.glob(f"{name}.*.js") if p.name.count(".") == 2)
    return tuple(found)


def preload_script(modules: tuple[str, ...]) -> str:
    """A script that imports ``modules`` once per page load, from the folder the app's own bundle came from."""
    return ("<script>(() => { if (window.__oncotxPreloaded) return; window.__oncotxPreloaded = true;"
            " const main = [...document.querySelectorAll('script[src]')].find(s => /static\\/js\\/index/.test(s.src));"
            " if (!main) return; const base = main.src.replace(/[^/]*$/, '');"
            f" for (const name of {json.dumps(list(modules))}) import(base + name).catch(() => {{}});"
            " })();</script>")


def preload_result_elements() -> None:
    """Ask this browser to load the result elements' code now (does nothing where none is found)."""
    modules = element_modules()
    if modules:
        st.html(preload_script(modules), unsafe_allow_javascript=True)
