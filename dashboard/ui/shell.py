"""Page furniture shared by every page: research-use notice, cohort selector, attribution."""
from __future__ import annotations

import streamlit as st

from dashboard.platform.demo_mode import PUBLIC_DEMO_NOTICE, demo_mode_on
from dashboard.text import RESEARCH_NOTICE, plain
from dashboard.ui import auth, loaders
from dashboard.ui.auth import DEMO_NOTICE
from genomics.spec import CohortSpec

COHORT_KEY = "cohort_id"


def research_notice() -> None:
    st.info(RESEARCH_NOTICE, icon=":material/info:")


def cohort_selector() -> CohortSpec:
    """Sidebar selector; the choice lives in this session only."""
    specs = loaders.available_cohorts()
    ids = [s.id for s in specs]
    if st.session_state.get(COHORT_KEY) not in ids:
        st.session_state[COHORT_KEY] = default_cohort().id
    labels = {s.id: s.display_name for s in specs}
    chosen = st.sidebar.selectbox("Reference cohort", ids, key=COHORT_KEY, format_func=labels.get)
    spec = next(s for s in specs if s.id == chosen)
    if len(ids) == 1:
        st.sidebar.caption("Only the synthetic demo cohort is available on this server: real cohorts appear once the "
                           "administrator connects a data folder (see the README).")
    return spec


def default_cohort() -> CohortSpec:
    """The cohort a new session starts on: METABRIC when this server has it, else the first available."""
    specs = loaders.available_cohorts()
    return next((s for s in specs if s.id == "metabric"), specs[0])


def current_cohort() -> CohortSpec:
    """The cohort chosen in the sidebar (the shell sets it before any page runs)."""
    specs = loaders.available_cohorts()
    chosen = st.session_state.get(COHORT_KEY)
    return next((s for s in specs if s.id == chosen), specs[0])


def attribution(spec: CohortSpec) -> None:
    st.sidebar.caption(f"Data: {plain(spec.attribution)}  \nLicence: {plain(spec.licence)}")
    if spec.synthetic:
        st.sidebar.warning("SYNTHETIC demo data: not real patients.")


def account_box(user) -> None:
    """Who is signed in, and the sign-out button (nothing to sign out of in demo mode)."""
    if user.source == "demo":
        st.sidebar.caption("Demo mode: no sign-in")
        return
    st.sidebar.caption(f"Signed in as {plain(user.label)}")
    if st.sidebar.button("Sign out", key="sign_out", icon=":material/logout:"):
        auth.sign_out()
        st.rerun()


def demo_notice(user) -> None:
    """Every page of a demo deployment says that there is no sign-in."""
    if user.source == "demo":
        st.warning(PUBLIC_DEMO_NOTICE if demo_mode_on() else DEMO_NOTICE, icon=":material/lock_open:")
