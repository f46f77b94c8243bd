"""Who is using the app, what their role lets them open, and the audit of what they do.

Three modes, chosen by ``ONCOTX_AUTH`` (or ``[oncotx] auth`` in ``.streamlit/secrets.toml``), else:

- ``oidc`` when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's ``st.login``: Google,
  Microsoft Entra, Okta, any OpenID Connect provider);
- ``demo`` when no data directory is set (the synthetic demo cohort only): no sign-in, one shared ``demo``
  user, and every page says so;
- ``local`` otherwise: accounts in the database (``dashboard.platform.users``) with a first-administrator setup step.

A local sign-in survives a reload of the page: :func:`sign_in_local` issues a signed, expiring session cookie
(:func:`make_token`: user name + expiry + HMAC-SHA256 under a key derived from the deployment's pseudonym key,
:func:`dashboard.platform.privacy.pseudonym_key`, so no secret is in the repository), set by a small script in
the page (``SameSite=Strict``, ``Secure`` over HTTPS; not ``HttpOnly``: a Streamlit page can only set a cookie from
the page itself). A new browser session with a valid cookie (signature, expiry, account still there and active,
not signed out) is signed in again and audited ``session_restored``. The expiry follows the idle limit
(``ONCOTX_SESSION_MINUTES``): each run of the app re-issues the cookie when it is over a minute old, so a reload
after that many minutes without activity (to within a minute) asks for the password again. Sign-out clears the
cookie, and every cookie of that user issued before the sign-out (as audited) is refused from then on: a sign-out
ends the user's remembered sessions in every browser (an open session elsewhere runs on until it is idle).

Roles: ``clinician`` (Patient, History), ``researcher`` (Cohort, Model lab), ``admin`` (everything, Audit and
Users, every saved analysis). The page list offered by the navigation follows the role, and every page checks
again (:func:`require`), so a typed URL cannot open a page the role does not allow.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Mapping

import streamlit as st

from dashboard.i18n import tr
from dashboard.platform import audit, privacy, users
from dashboard.platform.demo_mode import DEMO_PAGES, demo_mode_on
from dashboard.platform.users import User
from dashboard.ui.secrets import section as _secrets_section  # also registers the pseudonym key secret
from genomics.settings import get_settings

log = logging.getLogger(__name__)

MODES = ("demo", "local", "oidc")
AUTH_KEY, SEEN_KEY, USER_KEY, NOTICE_KEY = "auth_user", "auth_seen", "user", "auth_notice"
TOKEN_KEY, ISSUED_KEY, NO_RESTORE_KEY, CLEAR_KEY = "auth_token", "auth_token_issued", "auth_no_restore", "auth_clear"
COOKIE = "oncotx_session"
REFRESH_S = 60.0  # the cookie is re-issued (its expiry moved on) at most this often
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
    """demo, local or oidc (see the module docstring); always demo in the public demo mode (``ONCOTX_DEMO``)."""
    if demo_mode_on():
        return "demo"
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


# ------------------------------------------------------------------------------------------------------
# The session cookie: a signed, expiring token that brings a local user back after a reload
# ------------------------------------------------------------------------------------------------------


def session_key() -> bytes:
    """The cookie's signing key: derived from the deployment's pseudonym key (one secret to keep, none in the repo;
    a separate key for this purpose, so a token never doubles as a pseudonym)."""
    return hmac.new(privacy.pseudonym_key(), b"oncotx session cookie v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_token(username: str, expires_at: float, *, issued_at: float | None = None, key: bytes | None = None) -> str:
    """``<payload>.<signature>``: the payload is the user name, the expiry and the issue time (Unix milliseconds),
    the signature HMAC-SHA256 of the payload under :func:`session_key`; both URL-safe base64 (a valid cookie)."""
    issued = time.time() if issued_at is None else issued_at
    body = [username, int(expires_at * 1000), int(issued * 1000)]
    payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
    signature = _b64(hmac.new(key or session_key(), payload.encode("ascii"), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def read_token(token: str, *, key: bytes | None = None, now: float | None = None) -> tuple[str, float] | None:
    """(user name, issue time in Unix seconds) of a token whose signature is right and that has not expired."""
    try:
        payload, signature = str(token).split(".")
        expected = _b64(hmac.new(key or session_key(), payload.encode("ascii"), hashlib.sha256).digest())
        if not hmac.compare_digest(signature, expected):
            return None
        username, expires_ms, issued_ms = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError, UnicodeError):
        return None
    current = time.time() if now is None else now
    if not (isinstance(username, str) and isinstance(expires_ms, int) and isinstance(issued_ms, int)):
        return None
    return (username, issued_ms / 1000) if expires_ms / 1000 > current else None


def verify_token(token: str, *, key: bytes | None = None, now: float | None = None) -> str | None:
    """The user name in a token whose signature is right and that has not expired; else None."""
    found = read_token(token, key=key, now=now)
    return None if found is None else found[0]


def _ended_since(username: str, issued: float) -> bool:
    """Whether the user signed out (or a session of theirs expired) after ``issued``: the audit trail is the
    durable record, so a sign-out refuses every older token of the user, across server restarts too."""
    for action in ("sign_out", "session_expired"):
        last = audit.events(user=username, action=action, limit=1)
        if len(last) and last["time"].iloc[0].timestamp() >= issued:
            return True
    return False


def user_from_token(token: str | None) -> User | None:
    """The account a cookie's token names, when the token is valid, its user has not signed out since it was
    issued, and the account exists and is active."""
    found = read_token(token) if token else None
    if found is None or _ended_since(*found):
        return None
    account = users.get_user(found[0])
    return None if account is None else User(account.username, account.role, account.display_name, "local")


def _cookie_script(value: str, max_age: int) -> str:
    return (f"<script>document.cookie = '{COOKIE}={value}; Path=/; Max-Age={max_age}; SameSite=Strict'"
            " + (location.protocol === 'https:' ? '; Secure' : '');</script>")


def _issue_cookie(user: User) -> None:
    """Set (or move on the expiry of) this browser's session cookie, at most every :data:`REFRESH_S` seconds."""
    now = time.time()
    if now - st.session_state.get(ISSUED_KEY, 0.0) < REFRESH_S:
        return
    token = make_token(user.username, now + idle_limit_seconds())
    st.session_state.update({TOKEN_KEY: token, ISSUED_KEY: now})
    st.sidebar.html(_cookie_script(token, int(idle_limit_seconds())), unsafe_allow_javascript=True)


def browser_cookie() -> str | None:
    """The session cookie the browser sent when this session connected (None when none, or no browser)."""
    try:
        return st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 (no browser request behind this session, e.g. a test harness)
        return None


def _clear_cookie_if_asked() -> None:
    """After a sign-out: the page removes the browser's session cookie (once)."""
    if st.session_state.pop(CLEAR_KEY, False):
        st.html(_cookie_script("", 0), unsafe_allow_javascript=True)


def _restore() -> User | None:
    """Sign this new browser session in from its session cookie, once per session (local accounts only)."""
    if st.session_state.get(NO_RESTORE_KEY):
        return None
    st.session_state[NO_RESTORE_KEY] = True  # one try: the cookies are those the browser sent when it connected
    token = browser_cookie()
    user = user_from_token(token)
    if user is None:
        return None
    _start(user)
    st.session_state[TOKEN_KEY] = token
    log_action("session_restored", user=user, detail="local account")
    return user


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
    if user is None and mode == "local":
        user = _restore()
    if user is None:
        _clear_cookie_if_asked()
        return None
    current = users.get_user(user.username)
    now = time.monotonic()
    seen = st.session_state.get(SEEN_KEY)
    if current is None or (seen is not None and now - seen > idle_limit_seconds()):
        expired = current is not None
        if expired:
            log_action("session_expired", user=user)
        sign_out(notice=tr("Your session expired after a period without activity: sign in again.") if expired
                 else tr("Your account is no longer active."), audit_it=False)
        _clear_cookie_if_asked()
        return None
    current = User(current.username, current.role, current.display_name, user.source)
    st.session_state.update({AUTH_KEY: current, USER_KEY: current.username, SEEN_KEY: now})
    if current.source == "local":
        _issue_cookie(current)
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
        log_action("sign_out", user=user)  # also refuses this user's older session cookies (user_from_token)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    # the page clears the browser's cookie on its next run, and this session never restores from it again
    st.session_state.update({NO_RESTORE_KEY: True, CLEAR_KEY: True})
    if notice:
        st.session_state[NOTICE_KEY] = notice
    if user is not None and user.source == "oidc" and st.user.get("is_logged_in", False):
        st.logout()


def allowed(user: User, page: str) -> bool:
    if demo_mode_on() and page not in DEMO_PAGES:  # the public demo: nothing that saves or shows saved things
        return False
    return page in PAGES.get(user.role, frozenset())


def require(page: str) -> User:
    """The signed-in user if their role opens ``page``; otherwise say so and stop the page."""
    user = current()
    if not allowed(user, page):
        role = tr(users.ROLE_LABELS[user.role]) if user.role in users.ROLE_LABELS else tr("not signed in")
        st.error(tr("This page is not available to your role ({role}).", role=role))
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
