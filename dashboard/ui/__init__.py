"""The Streamlit layer of the dashboard: the only modules in it that import Streamlit.

Shell and widgets, cached loaders and models, sign-in, the patient renderer, the research pages' caches.
"""
