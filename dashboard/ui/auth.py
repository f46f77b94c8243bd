"""Who is using the app, what their role lets them open, and the audit of what they do.

Three modes, chosen by ``ONCOTX_AUTH`` (or ``[oncotx] auth`` in ``.streamlit/secrets.toml``), else:

- ``oidc`` when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's ``st.login``: Google,
  Microsoft Entra, Okta, any OpenID Connect provider);
- ``demo`` when no data directory is set (the synthetic demo cohort only): no sign-in, one shared ``demo``
  user, and every page says so;
- ``local`` otherwise: accounts in the database (``dashboard.platform.users``) with a first-administrator setup step.

Roles: ``clinician`` (Patient, History), ``researcher`` (Cohort, Model lab), ``admin`` (everything, Audit and
Users, every saved analysis). The page list offered by the navigation follows the role, and every page checks
again (:func:`require`), so a typed URL cannot open a page the role does not allow.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping

import streamlit as st

from dashboard.platform import audit, users
from dashboard.platform.users import User
from dashboard.ui.secrets import section as _secrets_section  # also registers the pseudonym key secret
from genomics.settings import get_settings

log = logging.getLogger(__name__)

MODES = ("demo", "local", "oidc")
AUTH_KEY, SEEN_KEY, USER_KEY, NOTICE_KEY = "auth_user", "auth_seen", "user", "auth_notice"
DEMO = User("demo", "demo", "Demo user", "demo")
PAGES = {
    "clinician": frozenset({"patient", "history"}),
    "researcher": frozenset({"cohort", "models"}),
    "admin": frozenset({"patient", "history", "cohort", "models", "audit", "users"}),
    "demo": frozenset({"patient", "history", "cohort", "models", "audit"}),
}
DEMO_NOTICE = ("Demo mode: there is no sign-in. Everyone using this server is the same 'demo' user and shares its "
               "saved analyses. Synthetic data only: do not upload real patient data.")


def oidc_providers() -> list[str | None]:
    """The OpenID Connect providers configured in secrets (``None`` is the unnamed default provider)."""
    section = _secrets_section("auth")
    if "redirect_uri" not in section or "cookie_secret" not in section:
        return []
    named = [str(k) for k, v in section.items() if isinstance(v, Mapping)]
    return named or ([None] if "client_id" in section else [])


def auth_mode() -> str:
    """demo, local or oidc (see the module docstring)."""
    wanted = os.environ.get("ONCOTX_AUTH") or _secrets_section("oncotx").get("auth")
    if wanted:
        wanted = str(wanted).strip().lower()
        if wanted not in MODES:
            raise ValueError(f"ONCOTX_AUTH must be one of {', '.join(MODES)}, not {wanted!r}")
        return wanted
    if oidc_providers():
        return "oidc"
    return "demo" if get_settings().data_dir is None else "local"


def idle_limit_seconds() -> float:
    return 60.0 * float(os.environ.get("ONCOTX_SESSION_MINUTES", "30"))


def _oidc_user() -> User | None:
    if not st.user.get("is_logged_in", False):
        return None
    identity = st.user.get("email") or st.user.get("sub")
    if not identity:
        return None
    settings = _secrets_section("oncotx")
    known: User | None = st.session_state.get(AUTH_KEY)
    if known is not None and known.username == str(identity).lower():
        return known
    user = users.oidc_user(str(identity), display_name=str(st.user.get("name") or ""),
                           default_role=str(settings.get("default_role", "clinician")),
                           admins=tuple(settings.get("admins", ())))
    log_action("sign_in", user=user, detail="identity provider")
    return user


def signed_in() -> User | None:
    """The user of this session (refreshed from the database each run: a role change or a disabled account takes
    effect at once), or None when nobody is signed in. Idle sessions expire (``ONCOTX_SESSION_MINUTES``, 30)."""
    mode = auth_mode()
    if mode == "demo":
        st.session_state[USER_KEY] = DEMO.username
        return DEMO
    user = _oidc_user() if mode == "oidc" else st.session_state.get(AUTH_KEY)
    if user is None:
        return None
    current = users.get_user(user.username)
    now = time.monotonic()
    seen = st.session_state.get(SEEN_KEY)
    if current is None or (seen is not None and now - seen > idle_limit_seconds()):
        expired = current is not None
        if expired:
            log_action("session_expired", user=user)
        sign_out(notice="Your session expired after a period without activity: sign in again." if expired
                 else "Your account is no longer active.", audit_it=False)
        return None
    current = User(current.username, current.role, current.display_name, user.source)
    st.session_state.update({AUTH_KEY: current, USER_KEY: current.username, SEEN_KEY: now})
    return current


def sign_in_local(username: str, password: str) -> User:
    """Check the password; on success the session is signed in (and audited). :class:`users.UserError` if not."""
    try:
        user = users.authenticate(username, password)
    except users.UserError:
        name = username.strip().lower()
        log_action("sign_in", user=User(name if users.USERNAME.match(name) else "-", "-"), outcome="refused",
                   detail="wrong name or password, or locked")
        raise
    _start(user)
    log_action("sign_in", user=user, detail="local account")
    return user


def set_up_first_admin(username: str, password: str, display_name: str = "") -> User:
    user = users.create_first_admin(username, password, display_name=display_name)
    log_action("first_admin", user=user)
    _start(user)
    log_action("sign_in", user=user, detail="local account")
    return user


def _start(user: User) -> None:
    for key in list(st.session_state.keys()):  # nothing of a previous user survives into this session
        del st.session_state[key]
    st.session_state.update({AUTH_KEY: user, USER_KEY: user.username, SEEN_KEY: time.monotonic()})


def sign_out(*, notice: str | None = None, audit_it: bool = True) -> None:
    """Forget everything of this session (patient data included); for OIDC, end the provider session too."""
    user = st.session_state.get(AUTH_KEY)
    if audit_it and user is not None:
        log_action("sign_out", user=user)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if notice:
        st.session_state[NOTICE_KEY] = notice
    if user is not None and user.source == "oidc" and st.user.get("is_logged_in", False):
        st.logout()


def allowed(user: User, page: str) -> bool:
    return page in PAGES.get(user.role, frozenset())


def require(page: str) -> User:
    """The signed-in user if their role opens ``page``; otherwise say so and stop the page."""
    user = current()
    if not allowed(user, page):
        role = users.ROLE_LABELS.get(user.role, "not signed in")
        st.error(f"This page is not available to your role ({role}).")
        st.stop()
    return user


def store_owner(user: User) -> str | None:
    """Whose saved analyses a user sees: their own, or everyone's for an administrator."""
    return None if user.role == "admin" else user.username


def current() -> User:
    """This session's user (the demo user in demo mode; ``-`` when nobody is signed in)."""
    return st.session_state.get(AUTH_KEY) or (DEMO if auth_mode() == "demo" else User("-", "-"))


def log_action(action: str, *, user: User | None = None, outcome: str = "ok", subject: str = "", input_sha256: str = "",
               cohort_id: str = "", model_id: str = "", bundle_sha256: str = "", detail: str = "") -> None:
    """Audit an action by ``user`` (default: this session's). Raises :class:`audit.AuditError` if it cannot."""
    who = user or current()
    audit.record(audit.Event(user=who.username, role=who.role, action=action, outcome=outcome,
                             subject=subject, input_sha256=input_sha256, cohort_id=cohort_id, model_id=model_id,
                             bundle_sha256=bundle_sha256, detail=detail))
