"""Sign-in page: OpenID Connect button, local user name and password, or the first-administrator setup.

Thin: dashboard.ui.auth does the checking and the audit; this page only draws the forms.
"""
from __future__ import annotations

import streamlit as st

from dashboard.i18n import tr
from dashboard.platform import users
from dashboard.text import plain
from dashboard.ui import auth

st.title(tr("Sign in to OncoTx"))
notice = st.session_state.pop(auth.NOTICE_KEY, None)
if notice:
    st.info(notice)
mode = auth.auth_mode()

if mode == "oidc":
    st.write(tr("Sign in with your organisation's account."))
    for provider in auth.oidc_providers():
        label = tr("Sign in with {provider}", provider=provider.title()) if provider else tr("Sign in")
        if st.button(label, key=f"login_{provider or 'default'}", type="primary", icon=":material/login:"):
            st.login(provider) if provider else st.login()
elif users.count_users() == 0:
    st.subheader(tr("First-time setup"), anchor=False)
    st.write(tr("There are no accounts yet. Create the first administrator; they can then add clinicians and "
                "researchers on the Users page."))
    with st.form("first_admin"):
        name = st.text_input(tr("User name"), key="setup_username", autocomplete="username")
        display = st.text_input(tr("Display name (optional)"), key="setup_display")
        password = st.text_input(tr("Password (12 characters or more; a passphrase is best)"), type="password",
                                 key="setup_password", autocomplete="new-password")
        again = st.text_input(tr("Password again"), type="password", key="setup_again", autocomplete="new-password")
        create = st.form_submit_button(tr("Create administrator and sign in"), type="primary")
    if create:
        if password != again:
            st.error(tr("The two passwords differ."))
        else:
            try:
                auth.set_up_first_admin(name, password, display)
            except users.UserError as exc:
                st.error(plain(str(exc)))
            else:
                st.rerun()
else:
    with st.form("sign_in"):
        name = st.text_input(tr("User name"), key="signin_username", autocomplete="username")
        password = st.text_input(tr("Password"), type="password", key="signin_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button(tr("Sign in"), type="primary", icon=":material/login:")
    if submitted:
        try:
            auth.sign_in_local(name, password)
        except users.UserError as exc:
            st.error(plain(str(exc)))
        else:
            st.rerun()
    st.caption(tr("No account? Ask your OncoTx administrator."))
