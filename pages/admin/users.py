"""Users page (administrators): add accounts, change roles, disable, reset passwords.

Thin: dashboard.platform.users does the work; every change is audited (without passwords).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.platform import users
from dashboard.text import plain
from dashboard.ui import auth

FLASH = "users_flash"

admin = auth.require("users")
st.title("Users")
st.caption("Roles: clinician (Patient, History), researcher (Cohort, Model lab), administrator (everything, "
           "including every saved analysis, the audit trail and this page). Passwords are stored as argon2 hashes.")

if st.session_state.get(FLASH):
    st.success(st.session_state.pop(FLASH))
accounts = users.list_users()
table = pd.DataFrame(accounts, columns=["username", "display_name", "role", "source", "created", "disabled", "locked"])
table["created"] = pd.to_datetime(table["created"], utc=True).dt.strftime("%Y-%m-%d %H:%M UTC")
table["role"] = table["role"].map(users.ROLE_LABELS)
table["source"] = table["source"].map({"local": "local account", "oidc": "identity provider"})
st.dataframe(table.rename(columns={"username": "User name", "display_name": "Display name", "role": "Role",
                                   "source": "Signs in with", "created": "Created", "disabled": "Disabled",
                                   "locked": "Locked"}), hide_index=True, width="stretch")

left, right = st.columns(2)
with left.form("add_user", clear_on_submit=True):
    st.subheader("Add a user", anchor=False)
    name = st.text_input("User name", key="new_username")
    display = st.text_input("Display name (optional)", key="new_display")
    role = st.selectbox("Role", users.ROLES, key="new_role", format_func=users.ROLE_LABELS.get)
    password = st.text_input("Initial password (12+ characters)", type="password", key="new_password",
                             autocomplete="new-password")
    add = st.form_submit_button("Add user", type="primary")
if add:
    try:
        created = users.create_user(name, password, role=role, display_name=display)
    except users.UserError as exc:
        st.error(plain(str(exc)))
    else:
        auth.log_action("user_created", user=admin, subject=created.username, detail=f"role {created.role}")
        st.session_state[FLASH] = f"Added {plain(created.username)} as {users.ROLE_LABELS[created.role].lower()}."
        st.rerun()  # the table and the list of users now include the new account

names = [a["username"] for a in accounts]
with right.form("change_user"):
    st.subheader("Change a user", anchor=False)
    target = st.selectbox("User", names, key="change_username", index=None, placeholder="Choose a user")
    new_role = st.selectbox("Role", ("", *users.ROLES), key="change_role",
                            format_func=lambda r: users.ROLE_LABELS.get(r, "keep"))
    state = st.radio("Account", ("keep", "enable", "disable"), horizontal=True, key="change_state")
    new_password = st.text_input("New password (leave empty to keep)", type="password", key="change_password",
                                 autocomplete="new-password")
    change = st.form_submit_button("Apply")
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
        st.session_state[FLASH] = f"Updated {plain(target)}."
        st.rerun()
