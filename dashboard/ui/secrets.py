"""The deployment's Streamlit secrets (``.streamlit/secrets.toml``), read in one place.

:func:`section` serves sign-in (:mod:`dashboard.ui.auth`); importing this module also registers the
``[oncotx] pseudonym_key`` secret as the first pseudonym key source of :mod:`dashboard.platform.privacy`
(every page imports it through :mod:`dashboard.ui.auth`).
"""
from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from dashboard.platform import privacy


def section(name: str) -> Mapping:
    """A section of the secrets (``{}`` when there is no or no readable secrets file, or no such section)."""
    try:
        found = st.secrets.get(name, {})
    except Exception:  # noqa: BLE001 (no or unreadable secrets.toml: no section)
        return {}
    return found if isinstance(found, Mapping) else {}


def pseudonym_key_secret() -> str | None:
    """``[oncotx] pseudonym_key`` from the secrets, or None."""
    value = section("oncotx").get("pseudonym_key")
    return str(value) if value else None


privacy.register_key_source(pseudonym_key_secret)
