"""Pseudonyms for patients: a keyed hash (HMAC-SHA256) of the patient's identifier.

The key comes from the deployment's secrets (``[oncotx] pseudonym_key`` in ``.streamlit/secrets.toml``, read by
:mod:`dashboard.ui.secrets`, which registers itself here as a key source) or the ``ONCOTX_PSEUDONYM_KEY``
environment variable; without either, a random key is created once under ``ONCOTX_HOME``
(``secrets/pseudonym.key``, readable by its owner only), never in the repository. With the key, the same patient
always gets the same pseudonym on this deployment; without it, nobody can go from a pseudonym back to the id or
check a guessed id against it (a plain hash of an MRN could be brute-forced).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from genomics.settings import get_settings

log = logging.getLogger(__name__)

ENV_KEY = "ONCOTX_PSEUDONYM_KEY"
MIN_KEY_CHARS = 16
PREFIX = "PT-"
KeySource = Callable[[], str | None]
KEY_SOURCES: list[KeySource] = []  # configured keys, asked in order before the environment (register_key_source)


def register_key_source(source: KeySource) -> None:
    """Add a place the deployment's key is configured in, asked before the environment (the app adds its
    Streamlit secrets: :mod:`dashboard.ui.secrets`). Registering the same source twice has no effect."""
    if source not in KEY_SOURCES:
        KEY_SOURCES.append(source)


def _configured_key() -> str | None:
    """The first key a registered source has (each source returns None when it has none or cannot be read)."""
    return next((str(value) for source in KEY_SOURCES if (value := source())), None)


def key_file() -> Path:
    return get_settings().home / "secrets" / "pseudonym.key"


def pseudonym_key() -> bytes:
    """The deployment's pseudonym key (secrets, then environment, then the generated key file)."""
    configured = _configured_key() or os.environ.get(ENV_KEY)
    if configured:
        if len(configured) < MIN_KEY_CHARS:
            raise ValueError(f"The pseudonym key must have at least {MIN_KEY_CHARS} characters.")
        return configured.encode("utf-8")
    path = key_file()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # race-safe: one process creates it
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        log.warning("no pseudonym key configured: generated one under ONCOTX_HOME (keep it; set %s or "
                    "[oncotx] pseudonym_key in secrets for a fixed one)", ENV_KEY)
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def pseudonym(identifier: str, *, key: bytes | None = None) -> str:
    """``PT-`` + 10 upper-case hex characters of HMAC-SHA256(key, identifier)."""
    digest = hmac.new(key or pseudonym_key(), str(identifier).encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:10].upper()


def patient_pseudonym(*, sample_id: str, record_ref: str | None, input_sha256: str, key: bytes | None = None) -> str:
    """A patient's pseudonym: from the record's own patient id when there is one (the same patient gets the same
    pseudonym across uploads), else from the sample id within this input file."""
    if record_ref:
        return pseudonym(f"patient|{record_ref}", key=key)
    return pseudonym(f"sample|{sample_id}|{input_sha256}", key=key)
