"""Typed errors of the model layer."""
from __future__ import annotations


class ModelError(RuntimeError):
    """A model cannot serve this request (incompatible bundle, missing features); message is user-facing."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
