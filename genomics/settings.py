"""Settings in one place: where reference data live and where state goes.

``ONCOTX_DATA``: folder of reference data (read-only; unset means the demo cohort only).
``ONCOTX_HOME``: folder for state: database, trained model bundles, caches (default ``.oncotx/`` in the checkout).
``ONCOTX_DEVICE``: ``auto`` (default), ``cpu`` or ``cuda`` for xgboost, torch and GPU preprocessing
(resolved by :func:`models.device.resolve_device`).
``ONCOTX_DEMO=1``: the read-only public demo (:mod:`dashboard.platform.demo_mode`): no data folder, and state goes to
a temporary folder removed when the process exits, never under ``ONCOTX_HOME``.

All are read from the environment first, then from a TOML config file
(``ONCOTX_CONFIG``, else ``oncotx.toml`` in the working directory) with keys ``data``, ``home`` and ``device``.
"""
from __future__ import annotations

import atexit
import functools
import logging
import os
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """Resolved folders. ``data_dir`` is None when no reference data are configured."""

    data_dir: Path | None
    home: Path
    device: str = "auto"  # auto | cpu | cuda (validated by models.device.resolve_device)
    device_source: str = "default"  # where ``device`` came from: ONCOTX_DEVICE, the config file, or the default

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def database_url(self) -> str:
        if demo_mode_on():  # never the shared database: nothing of a public demo is kept
            return f"sqlite:///{self.home / 'oncotx.sqlite'}"
        return os.environ.get("ONCOTX_DATABASE_URL") or f"sqlite:///{self.home / 'oncotx.sqlite'}"

    def ensure_home(self) -> Path:
        """Create the state folders (never inside the data folder)."""
        for folder in (self.home, self.cache_dir, self.models_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self.home


def _config_file() -> dict:
    path = Path(os.environ.get("ONCOTX_CONFIG", "oncotx.toml"))
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def demo_mode_on() -> bool:
    """True in the read-only public demo (``ONCOTX_DEMO`` set to 1, true or yes)."""
    return os.environ.get("ONCOTX_DEMO", "").strip().lower() in ("1", "true", "yes")


@functools.lru_cache(maxsize=1)
def _demo_home() -> Path:
    """This process's temporary state folder in demo mode, removed at exit."""
    path = Path(tempfile.mkdtemp(prefix="oncotx-demo-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def get_settings() -> Settings:
    """Read settings now (environment, then config file, then defaults)."""
    if demo_mode_on():  # the public demo: synthetic cohort only, state in a temporary folder
        device = os.environ.get("ONCOTX_DEVICE", "auto").strip().lower()
        return Settings(data_dir=None, home=_demo_home(), device=device, device_source="ONCOTX_DEMO")
    config = _config_file()
    data = os.environ.get("ONCOTX_DATA") or config.get("data")
    home = os.environ.get("ONCOTX_HOME") or config.get("home") or REPO_ROOT / ".oncotx"
    data_dir = Path(data).expanduser().resolve() if data else None
    if data_dir is not None and not data_dir.is_dir():
        log.warning("ONCOTX_DATA is not a folder (%s): only the demo cohort is available", data_dir)
        data_dir = None
    device, source = "auto", "default"
    if os.environ.get("ONCOTX_DEVICE"):
        device, source = os.environ["ONCOTX_DEVICE"], "ONCOTX_DEVICE"
    elif config.get("device"):
        device, source = str(config["device"]), "config file"
    return Settings(data_dir=data_dir, home=Path(home).expanduser().resolve(), device=device.strip().lower(),
                    device_source=source)
