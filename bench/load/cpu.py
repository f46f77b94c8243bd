"""CPU time of the server process and of the whole machine, from Linux /proc (None elsewhere); the cores a run
is pinned to."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from urllib.parse import urlparse


def server_pid(url: str) -> int | None:
    """The pid of the ``streamlit run`` serving ``url`` (Linux /proc; None elsewhere)."""
    wanted = f"--server.port\0{urlparse(url).port}\0".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes()
            if b"streamlit" in cmdline and wanted in cmdline:
                return int(proc.name)
    return None


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process so far."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores spent busy since boot (/proc/stat), for the machine's share during the run."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def pin_cores(n: int | None) -> list[int] | None:
    """Run this process, and every process it starts from now on (the server, the browser), on its first ``n``
    allowed cores (Linux); the cores chosen, or None when not pinned (``n`` falsy, or no affinity support)."""
    if not n or not hasattr(os, "sched_setaffinity"):
        return None
    chosen = sorted(os.sched_getaffinity(0))[:n]
    os.sched_setaffinity(0, chosen)
    return chosen


def allowed_cores() -> set[int] | None:
    return set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


def restore_cores(cores: set[int] | None) -> None:
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
