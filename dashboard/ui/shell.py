"""Page furniture shared by every page: research-use notice, cohort selector, attribution."""
from __future__ import annotations

import functools

import streamlit as st

from dashboard.i18n import LANGUAGES, set_language, tr
from dashboard.platform import user_settings
from dashboard.platform.demo_mode import PUBLIC_DEMO_NOTICE, demo_mode_on
from dashboard.platform.users import User
from dashboard.text import RESEARCH_NOTICE, plain
from dashboard.ui import auth, loaders
from dashboard.ui.auth import DEMO_NOTICE
from genomics.spec import CohortSpec

COHORT_KEY = "cohort_id"
LANGUAGE_KEY = "language"  # the session state key and the query parameter (?language=zh_CN keeps it on reload)


LANGUAGE_FROM = "language_from"  # where this session's language came from: address | default | user | switch


def use_language() -> str:
    """The language of this run, set before any words are drawn: the session's choice, else the address's
    (?language=zh_CN: a bookmark or reload keeps it), else English (until :func:`user_language` finds the signed-in
    user's own)."""
    if st.session_state.get(LANGUAGE_KEY) not in LANGUAGES:
        asked = st.query_params.get(LANGUAGE_KEY)
        st.session_state[LANGUAGE_KEY] = asked if asked in LANGUAGES else "en"
        st.session_state[LANGUAGE_FROM] = "address" if asked in LANGUAGES else "default"
    return set_language(st.session_state[LANGUAGE_KEY])


def fragment(func=None, **options):
    """``st.fragment`` that draws in the session's language: a fragment's own rerun (Analyse, a tab, the horizon,
    Save) runs without the page script, so without this its words came out in English. ``options`` go to
    ``st.fragment`` (e.g. ``run_every``)."""
    if func is None:
        return functools.partial(fragment, **options)

    @functools.wraps(func)
    def in_language(*args, **kwargs):
        use_language()
        return func(*args, **kwargs)

    return st.fragment(in_language, **options)


def user_language(user: User) -> str:
    """Once signed in: the language this user chose last time, where nothing in this session or its address chose
    one (a language remembered per user, across sessions and browsers)."""
    use_language()  # again: a sign-in clears the session state (nothing of a previous user survives)
    if st.session_state.get(LANGUAGE_FROM) == "default" and _remembers(user):
        stored = user_settings.get_language(user.username)
        st.session_state[LANGUAGE_FROM] = "user"
        if stored in LANGUAGES and stored != st.session_state.get(LANGUAGE_KEY):
            st.session_state[LANGUAGE_KEY] = stored
            st.query_params[LANGUAGE_KEY] = stored
    return set_language(st.session_state[LANGUAGE_KEY])


def language_switch(user: User | None = None) -> None:
    """The sidebar's language switch (a change reruns the script, and use_language picks it up first); a signed-in
    user's choice is remembered for their next session."""
    code = st.sidebar.selectbox("Language / 语言", list(LANGUAGES), key=LANGUAGE_KEY, format_func=LANGUAGES.get)
    if st.query_params.get(LANGUAGE_KEY, "en") != code:
        st.query_params[LANGUAGE_KEY] = code
        if user is not None and _remembers(user):
            st.session_state[LANGUAGE_FROM] = "switch"
            user_settings.set_language(user.username, code)


def _remembers(user: User) -> bool:
    """A language is remembered for real accounts only: the shared demo user (no sign-in) is everybody."""
    return user.source != "demo"


def research_notice() -> None:
    st.info(tr(RESEARCH_NOTICE), icon=":material/info:")


def cohort_selector() -> CohortSpec:
    """Sidebar selector; the choice lives in this session only."""
    specs = loaders.available_cohorts()
    ids = [s.id for s in specs]
    if st.session_state.get(COHORT_KEY) not in ids:
        st.session_state[COHORT_KEY] = default_cohort().id
    labels = {s.id: s.display_name for s in specs}
    chosen = st.sidebar.selectbox(tr("Reference cohort"), ids, key=COHORT_KEY, format_func=labels.get)
    spec = next(s for s in specs if s.id == chosen)
    if len(ids) == 1:
        st.sidebar.caption(tr("Only the synthetic demo cohort is available on this server: real cohorts appear once the "
                              "administrator connects a data folder (see the README)."))
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
    st.sidebar.caption(tr("Data: {data}  \nLicence: {licence}", data=plain(spec.attribution), licence=plain(spec.licence)))
    if spec.synthetic:
        st.sidebar.warning(tr("SYNTHETIC demo data: not real patients."))


def account_box(user) -> None:
    """Who is signed in, and the sign-out button (nothing to sign out of in demo mode)."""
    if user.source == "demo":
        st.sidebar.caption(tr("Demo mode: no sign-in"))
        return
    st.sidebar.caption(tr("Signed in as {user}", user=plain(user.label)))
    if st.sidebar.button(tr("Sign out"), key="sign_out", icon=":material/logout:"):
        auth.sign_out()
        st.rerun()


def demo_notice(user) -> None:
    """Every page of a demo deployment says that there is no sign-in."""
    if user.source == "demo":
        st.warning(tr(PUBLIC_DEMO_NOTICE if demo_mode_on() else DEMO_NOTICE), icon=":material/lock_open:")
