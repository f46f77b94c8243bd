"""Pseudonyms for patients: a keyed hash (HMAC-SHA256) of the patient's identifier.

The key comes from the deployment's secrets (``[oncotx] pseudonym_key`` in ``.streamlit/secrets.toml``) or the
``ONCOTX_PSEUDONYM_KEY`` environment variable; without either, a random key is created once under ``ONCOTX_HOME``
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
from pathlib import Path

from genomics.settings import get_settings

log = logging.getLogger(__name__)

ENV_KEY = "ONCOTX_PSEUDONYM_KEY"
MIN_KEY_CHARS = 16
PREFIX = "PT-"


def _from_streamlit_secrets() -> str | None:
    try:
        import streamlit as st

        section = st.secrets.get("oncotx", {})
        value = section.get("pseudonym_key") if hasattr(section, "get") else None
    except Exception:  # noqa: BLE001 (no secrets file, or not inside Streamlit: fall through)
        return None
    return str(value) if value else None


def key_file() -> Path:
    return get_settings().home / "secrets" / "pseudonym.key"


def pseudonym_key() -> bytes:
    """The deployment's pseudonym key (secrets, then environment, then the generated key file)."""
    configured = _from_streamlit_secrets() or os.environ.get(ENV_KEY)
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
