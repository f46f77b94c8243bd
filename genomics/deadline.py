"""The wall-clock parse budget (:class:`Deadline`) that every reader of an upload checks while it works.

The budget comes from the caller, from ``ONCOTX_PARSE_SECONDS`` or defaults to 60 s (:func:`parse_seconds`).
"""
from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TypeVar

from genomics.errors import InputError

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_PARSE_SECONDS = 60.0
PARSE_SECONDS_ENV = "ONCOTX_PARSE_SECONDS"
_clock = time.monotonic  # the deadline's clock (tests replace it)


def parse_seconds(seconds: float | None = None) -> float:
    """The parse budget in seconds: ``seconds`` if given, else ``ONCOTX_PARSE_SECONDS``, else 60.

    Raises
    ------
    ValueError
        When ``seconds`` is given but is not a positive finite number (a programming error). A bad
        environment value is logged and the default is used.
    """
    if seconds is not None:
        value = float(seconds)
        if not (math.isfinite(value) and value > 0):
            raise ValueError("the parse budget must be a positive number of seconds")
        return value
    raw = os.environ.get(PARSE_SECONDS_ENV, "").strip()
    if not raw:
        return DEFAULT_PARSE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        _warn_bad_budget(raw)
        return DEFAULT_PARSE_SECONDS
    return value


@lru_cache(maxsize=8)
def _warn_bad_budget(raw: str) -> None:
    """Log a bad ``ONCOTX_PARSE_SECONDS`` once per value (not on every upload)."""
    logger.warning("%s is not a positive number of seconds; using %g s", PARSE_SECONDS_ENV, DEFAULT_PARSE_SECONDS)


class Deadline:
    """A wall-clock budget for reading one upload, checked cooperatively by the parsers.

    Created when reading starts (:func:`genomics.io.read_expression`, :func:`genomics.records.read_records`,
    :func:`genomics.validate.check_upload`); the parsing loops call :meth:`check` (every block) or
    :meth:`tick` (every item, checked every ``every`` items) so that a huge or pathological file stops
    with a plain :class:`InputError` instead of holding the app. Uses ``time.monotonic``.

    Parameters
    ----------
    seconds
        Budget; ``None`` reads ``ONCOTX_PARSE_SECONDS`` (default 60 s).
    every
        :meth:`tick` looks at the clock once per this many calls.
    """

    __slots__ = ("_count", "_end", "every", "seconds")

    def __init__(self, seconds: float | None = None, *, every: int = 1024) -> None:
        self.seconds = parse_seconds(seconds)
        self.every = max(int(every), 1)
        self._count = 0
        self._end = _clock() + self.seconds

    @classmethod
    def of(cls, value: Deadline | float | None) -> Deadline:
        """``value`` itself when it is a Deadline (a shared budget), else a new one of that many seconds."""
        return value if isinstance(value, Deadline) else cls(value)

    @classmethod
    def unlimited(cls) -> Deadline:
        """A deadline that never expires (defaults of internal helpers; not for reading uploads)."""
        out = cls.__new__(cls)
        out.seconds, out.every, out._count, out._end = math.inf, 1 << 30, 0, math.inf
        return out

    @property
    def remaining(self) -> float:
        """Seconds left (negative once expired)."""
        return self._end - _clock()

    @property
    def expired(self) -> bool:
        return _clock() > self._end

    @property
    def message(self) -> str:
        return (f"Reading this file took longer than the {self.seconds:g} s limit; it is too large or malformed. "
                "Nothing was stored.")

    def check(self) -> None:
        """Raise :class:`InputError` when the budget is spent."""
        if _clock() > self._end:
            raise InputError(self.message)

    def tick(self) -> None:
        """Count one unit of work; looks at the clock every ``every`` calls (cheap in tight loops)."""
        self._count += 1
        if self._count >= self.every:
            self._count = 0
            self.check()

    def iterate(self, items: Iterable[_T]) -> Iterator[_T]:
        """Yield ``items``, ticking once per item."""
        for item in items:
            self.tick()
            yield item

    def __repr__(self) -> str:
        return f"Deadline({self.seconds:g} s, {self.remaining:.3f} s left)"


__all__ = ["DEFAULT_PARSE_SECONDS", "PARSE_SECONDS_ENV", "Deadline", "parse_seconds"]
