"""Typed errors with user-facing messages."""
from __future__ import annotations


class InputError(ValueError):
    """A problem with the user's input, phrased for the user.

    The message is safe to show in the UI: it never contains a traceback or patient values, and is phrased for a
    clinician (no environment variable or code name). ``problems`` holds one line per problem when there are
    several. ``detail`` holds what an administrator or a command-line user needs to fix it (an environment
    variable, a folder): the command-line tools print it, the pages never show it.
    """

    def __init__(self, message: str, *, problems: tuple[str, ...] | list[str] = (), detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[str, ...] = tuple(problems) or (message,)
        self.detail = detail

    def __str__(self) -> str:
        return self.message
