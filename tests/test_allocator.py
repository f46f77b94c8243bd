"""models.dask.allocator: the glibc settings batch scoring relies on are applied where glibc is the C library."""
from __future__ import annotations

import platform

import pytest

from models.dask.allocator import tune_allocator


def test_settings_take_effect_on_glibc() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc: tune_allocator is a no-op here")
    assert tune_allocator() is True
    assert tune_allocator() is True  # once per process, then remembered
