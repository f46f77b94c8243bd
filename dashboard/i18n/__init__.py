"""The dashboard's languages: one message catalogue (English source text as the key, gettext style), the language of
the current run, locale-aware numbers and dates, regimen labels and input-error lines in the chosen language."""
from __future__ import annotations

from dashboard.i18n.catalogue import (
    LANGUAGES,
    N_,
    current_language,
    language_scope,
    regimen_label,
    set_language,
    tr,
    translate_error,
)
from dashboard.i18n.formatting import (
    format_date,
    format_number,
    format_percent,
    format_years,
    horizon_label,
    horizon_short,
)

__all__ = ["LANGUAGES", "N_", "current_language", "language_scope", "format_date", "format_number", "format_percent", "format_years",
           "horizon_label", "horizon_short",
           "regimen_label", "set_language", "tr", "translate_error"]
