"""Text helpers: user-supplied text shown as text, never as markup."""
from __future__ import annotations

import re

RESEARCH_NOTICE = (
    "Research use only: OncoTx is not a medical device. It shows options with their evidence, "
    "never treatment directives; decisions rest with the clinical team."
)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """Escape markdown/HTML so that file names, gene ids or record fields render literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
