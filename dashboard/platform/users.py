"""Local user accounts: the ``users`` table, argon2 password hashes, roles, lockout.

For demos and small sites without an identity provider. Passwords are stored only as argon2id hashes (salted,
memory-hard; ``argon2-cffi`` defaults), verified in constant time; an unknown user name costs the same as a wrong
password (a dummy hash is checked) so that sign-in does not reveal who has an account. Five failed attempts lock
an account for five minutes. Users signed in through OpenID Connect get a row too (``source="oidc"``, no
password), so that an administrator can give them a role.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Boolean, DateTime, Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from dashboard.i18n import N_
from dashboard.platform.db import Base, session_scope

log = logging.getLogger(__name__)

ROLES = ("clinician", "researcher", "admin")
ROLE_LABELS = {"clinician": N_("Clinician"), "researcher": N_("Researcher"), "admin": N_("Administrator"), "demo": N_("Demo")}
MIN_PASSWORD, MAX_PASSWORD = 12, 256
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=5)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{1,63}$")
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a real password, only here to spend the same time")


class UserError(Exception):
    """A user cannot be created, changed or signed in (plain message, safe to show)."""


@dataclass(frozen=True)
class User:
    """Who is signed in: ``username`` (lower case), ``role`` and how they signed in (local, oidc, demo)."""

    username: str
    role: str
    display_name: str = ""
    source: str = "local"

    @property
    def label(self) -> str:
        return f"{self.display_name or self.username} ({ROLE_LABELS.get(self.role, self.role)})"


class UserRow(Base):
    """One account."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="local")
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def normalise_username(name: str) -> str:
    """Lower-case, stripped; :class:`UserError` when it is not a valid user name."""
    text = str(name or "").strip().lower()
    if not USERNAME.match(text):
        raise UserError("A user name is 2-64 characters: letters, digits and . _ @ + - (starting with a letter "
                        "or digit).")
    return text


def check_password(password: str) -> None:
    """:class:`UserError` unless the password is long enough (length beats composition rules)."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters (a passphrase is best).")
    if len(set(password)) < 5:
        raise UserError("That password is too simple: use a passphrase of several words.")


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"A role is one of {', '.join(ROLES)}.")
    return role


def _user(row: UserRow) -> User:
    return User(row.username, row.role, row.display_name or "", row.source)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def count_users(*, url: str | None = None) -> int:
    with session_scope(url) as s:
        return int(s.execute(select(func.count()).select_from(UserRow)).scalar_one())


def create_user(username: str, password: str | None, *, role: str, display_name: str = "", source: str = "local",
                url: str | None = None) -> User:
    """A new account (``password`` None only for OIDC accounts). :class:`UserError` if the name is taken."""
    name = normalise_username(username)
    _check_role(role)
    if source == "local":
        check_password(password or "")
    hashed = _HASHER.hash(password) if password else None
    with session_scope(url) as s:
        if s.get(UserRow, name) is not None:
            raise UserError("That user name is taken.")
        row = UserRow(username=name, display_name=str(display_name)[:128], role=role, source=source,
                      password_hash=hashed, created=datetime.now(UTC), disabled=False, failures=0)
        s.add(row)
        return _user(row)


def create_first_admin(username: str, password: str, *, display_name: str = "", url: str | None = None) -> User:
    """The first administrator, allowed only while there is no account at all (the setup step)."""
    with session_scope(url) as s:
        if s.execute(select(func.count()).select_from(UserRow)).scalar_one():
            raise UserError("Setup is done: an administrator already exists. Sign in instead.")
    return create_user(username, password, role="admin", display_name=display_name, url=url)


def authenticate(username: str, password: str, *, url: str | None = None) -> User:
    """The user for a correct name and password; :class:`UserError` (one message for every failure) if not."""
    refused = UserError("Wrong user name or password.")
    try:
        name = normalise_username(username)
    except UserError:
        _verify(_DUMMY_HASH, password)
        raise refused from None
    now = datetime.now(UTC)
    with session_scope(url) as s:
        row = s.get(UserRow, name)
        if row is None or row.password_hash is None or row.source != "local":
            _verify(_DUMMY_HASH, password)
            raise refused
        locked = _utc(row.locked_until)
        if locked is not None and locked > now:
            _verify(_DUMMY_HASH, password)
            raise UserError("Too many failed attempts: this account is locked for a few minutes.")
        if not _verify(row.password_hash, password):
            row.failures = int(row.failures or 0) + 1
            if row.failures >= MAX_FAILURES:
                row.locked_until, row.failures = now + LOCKOUT, 0
                log.warning("account locked after %d failed sign-ins", MAX_FAILURES)
            s.commit()
            raise refused
        if row.disabled:
            raise UserError("This account is disabled; ask an administrator.")
        row.failures, row.locked_until = 0, None
        if _HASHER.check_needs_rehash(row.password_hash):
            row.password_hash = _HASHER.hash(password)
        return _user(row)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, str(password or ""))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def oidc_user(username: str, *, display_name: str = "", default_role: str = "clinician",
              admins: tuple[str, ...] = (), url: str | None = None) -> User:
    """The account of someone signed in by OpenID Connect (created on first sign-in with the default role)."""
    name = normalise_username(username)
    with session_scope(url) as s:
        row = s.get(UserRow, name)
        if row is None:
            role = "admin" if name in {a.lower() for a in admins} else _check_role(default_role)
            row = UserRow(username=name, display_name=str(display_name)[:128], role=role, source="oidc",
                          password_hash=None, created=datetime.now(UTC), disabled=False, failures=0)
            s.add(row)
        elif row.disabled:
            raise UserError("This account is disabled; ask an administrator.")
        return _user(row)


def get_user(username: str, *, url: str | None = None) -> User | None:
    """The current state of an account (None when it is gone or disabled): roles change while signed in."""
    with session_scope(url) as s:
        row = s.get(UserRow, str(username).lower())
        return None if row is None or row.disabled else _user(row)


def list_users(*, url: str | None = None) -> list[dict]:
    """Every account, for the administrator (no hashes)."""
    with session_scope(url) as s:
        rows = s.execute(select(UserRow).order_by(UserRow.username)).scalars().all()
        return [{"username": r.username, "display_name": r.display_name, "role": r.role, "source": r.source,
                 "created": _utc(r.created), "disabled": bool(r.disabled),
                 "locked": bool(_utc(r.locked_until) and _utc(r.locked_until) > datetime.now(UTC))} for r in rows]


def update_user(username: str, *, role: str | None = None, disabled: bool | None = None,
                password: str | None = None, acting: str | None = None, url: str | None = None) -> User:
    """Change an account's role, enable/disable it or set a new password (administrators only, by the caller).

    An administrator cannot demote or disable themselves (``acting``), so there is always one left.
    """
    name = normalise_username(username)
    if role is not None:
        _check_role(role)
    if password is not None:
        check_password(password)
    with session_scope(url) as s:
        row = s.get(UserRow, name)
        if row is None:
            raise UserError("There is no such user.")
        if acting and name == acting.lower() and ((role not in (None, "admin")) or disabled):
            raise UserError("You cannot remove your own administrator role or disable yourself.")
        if role is not None:
            row.role = role
        if disabled is not None:
            row.disabled = bool(disabled)
        if password is not None:
            if row.source != "local":
                raise UserError("This account signs in through the identity provider; it has no password here.")
            row.password_hash, row.failures, row.locked_until = _HASHER.hash(password), 0, None
        return _user(row)
