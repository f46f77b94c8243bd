"""The result elements' browser code, preloaded while the form is on screen (dashboard.ui.preload)."""
from __future__ import annotations

import re

from dashboard.ui.preload import RESULT_ELEMENTS, element_modules, preload_script


def test_the_installed_streamlit_has_the_chart_and_table_modules():
    modules = element_modules()
    names = {m.split(".")[0] for m in modules}
    assert {"PlotlyChart", "DataFrame", "Metric"} <= names, modules
    assert all(re.fullmatch(r"[A-Za-z]+\.[-\w]+\.js", m) for m in modules), modules
    assert names <= set(RESULT_ELEMENTS)


def test_the_script_imports_each_module_once_per_page_load_and_holds_nothing_else():
    script = preload_script(("PlotlyChart.abc.js", "DataFrame.x-1.js"))
    assert script.startswith("<script>") and script.endswith("</script>")
    assert script.count("import(") == 1 and '["PlotlyChart.abc.js", "DataFrame.x-1.js"]' in script
    assert "window.__oncotxPreloaded" in script  # a rerun of the page does not import again
    assert element_modules(("NoSuchElement",)) == ()
