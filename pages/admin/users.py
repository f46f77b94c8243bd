"""Users page (administrators): add accounts, change roles, disable, reset passwords.

Thin: dashboard.platform.users does the work; every change is audited (without passwords).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.i18n import N_, tr
from dashboard.platform import users
from dashboard.text import plain
from dashboard.ui import auth

FLASH = "users_flash"
STATES = {"keep": N_("keep"), "enable": N_("enable"), "disable": N_("disable")}

admin = auth.require("users")
st.title(tr("Users"))
st.caption(tr("Roles: clinician (Patient, History), researcher (Cohort, Model lab), administrator (everything, "
              "including every saved analysis, the audit trail and this page). Passwords are stored as argon2 hashes."))

if st.session_state.get(FLASH):
    st.success(st.session_state.pop(FLASH))
accounts = users.list_users()
table = pd.DataFrame(accounts, columns=["username", "display_name", "role", "source", "created", "disabled", "locked"])
table["created"] = pd.to_datetime(table["created"], utc=True).dt.strftime("%Y-%m-%d %H:%M UTC")
table["role"] = table["role"].map(lambda r: tr(users.ROLE_LABELS[r]) if r in users.ROLE_LABELS else r)
table["source"] = table["source"].map({"local": tr("local account"), "oidc": tr("identity provider")})
st.dataframe(table.rename(columns={"username": tr("User name"), "display_name": tr("Display name"), "role": tr("Role"),
                                   "source": tr("Signs in with"), "created": tr("Created"), "disabled": tr("Disabled"),
                                   "locked": tr("Locked")}), hide_index=True, width="stretch")

left, right = st.columns(2)
with left.form("add_user", clear_on_submit=True):
    st.subheader(tr("Add a user"), anchor=False)
    name = st.text_input(tr("User name"), key="new_username")
    display = st.text_input(tr("Display name (optional)"), key="new_display")
    role = st.selectbox(tr("Role"), users.ROLES, key="new_role", format_func=lambda r: tr(users.ROLE_LABELS[r]))
    password = st.text_input(tr("Initial password (12+ characters)"), type="password", key="new_password",
                             autocomplete="new-password")
    add = st.form_submit_button(tr("Add user"), type="primary")
if add:
    try:
        created = users.create_user(name, password, role=role, display_name=display)
    except users.UserError as exc:
        st.error(plain(str(exc)))
    else:
        auth.log_action("user_created", user=admin, subject=created.username, detail=f"role {created.role}")
        st.session_state[FLASH] = tr("Added {user} as {role}.", user=plain(created.username),
                                     role=tr(users.ROLE_LABELS[created.role]).lower())
        st.rerun()  # the table and the list of users now include the new account

names = [a["username"] for a in accounts]
with right.form("change_user"):
    st.subheader(tr("Change a user"), anchor=False)
    target = st.selectbox(tr("User"), names, key="change_username", index=None, placeholder=tr("Choose a user"))
    new_role = st.selectbox(tr("Role"), ("", *users.ROLES), key="change_role",
                            format_func=lambda r: tr(users.ROLE_LABELS[r]) if r in users.ROLE_LABELS else tr("keep"))
    state = st.radio(tr("Account"), ("keep", "enable", "disable"), horizontal=True, key="change_state",
                     format_func=lambda s: tr(STATES[s]))
    new_password = st.text_input(tr("New password (leave empty to keep)"), type="password", key="change_password",
                                 autocomplete="new-password")
    change = st.form_submit_button(tr("Apply"))
if change and target:
    try:
        users.update_user(target, role=new_role or None,
                          disabled=None if state == "keep" else state == "disable",
                          password=new_password or None, acting=admin.username)
    except users.UserError as exc:
        st.error(plain(str(exc)))
    else:
        what = [w for w, on in (("role", bool(new_role)), ("state", state != "keep"),
                                ("password", bool(new_password))) if on]
        auth.log_action("user_changed", user=admin, subject=target, detail="changed " + (", ".join(what) or "nothing"))
        st.session_state[FLASH] = tr("Updated {user}.", user=plain(target))
        st.rerun()
