"""Sign-in page: OpenID Connect button, local user name and password, or the first-administrator setup.

Thin: dashboard.ui.auth does the checking and the audit; this page only draws the forms.
"""
from __future__ import annotations

import streamlit as st

from dashboard.platform import users
from dashboard.text import plain
from dashboard.ui import auth

st.title("Sign in to OncoTx")
notice = st.session_state.pop(auth.NOTICE_KEY, None)
if notice:
    st.info(notice)
mode = auth.auth_mode()

if mode == "oidc":
    st.write("Sign in with your organisation's account.")
    for provider in auth.oidc_providers():
        label = f"Sign in with {provider.title()}" if provider else "Sign in"
        if st.button(label, key=f"login_{provider or 'default'}", type="primary", icon=":material/login:"):
            st.login(provider) if provider else st.login()
elif users.count_users() == 0:
    st.subheader("First-time setup", anchor=False)
    st.write("There are no accounts yet. Create the first administrator; they can then add clinicians and "
             "researchers on the Users page.")
    with st.form("first_admin"):
        name = st.text_input("User name", key="setup_username", autocomplete="username")
        display = st.text_input("Display name (optional)", key="setup_display")
        password = st.text_input("Password (12 characters or more; a passphrase is best)", type="password",
                                 key="setup_password", autocomplete="new-password")
        again = st.text_input("Password again", type="password", key="setup_again", autocomplete="new-password")
        create = st.form_submit_button("Create administrator and sign in", type="primary")
    if create:
        if password != again:
            st.error("The two passwords differ.")
        else:
            try:
                auth.set_up_first_admin(name, password, display)
            except users.UserError as exc:
                st.error(plain(str(exc)))
            else:
                st.rerun()
else:
    with st.form("sign_in"):
        name = st.text_input("User name", key="signin_username", autocomplete="username")
        password = st.text_input("Password", type="password", key="signin_password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary", icon=":material/login:")
    if submitted:
        try:
            auth.sign_in_local(name, password)
        except users.UserError as exc:
            st.error(plain(str(exc)))
        else:
            st.rerun()
    st.caption("No account? Ask your OncoTx administrator.")
