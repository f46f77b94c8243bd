"""Entry for a deep link on a fresh server (see app.py): runs the app shell, which routes to the page.

Streamlit serves a folder called pages/ in its legacy mode until st.navigation has run once in the
process; this file gives that legacy router the page name it looks for, and hands over to app.py.
"""
import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parents[1] / "app.py"), run_name="__main__")
