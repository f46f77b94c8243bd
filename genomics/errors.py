"""Typed errors with user-facing messages."""
from __future__ import annotations


class InputError(ValueError):
    """A problem with the user's input, phrased for the user.

    The message is safe to show in the UI: it never contains a traceback or patient values.
    ``problems`` holds one line per problem when there are several.
    """

    def __init__(self, message: str, *, problems: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[str, ...] = tuple(problems) or (message,)

    def __str__(self) -> str:
        return self.message
