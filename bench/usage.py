"""This process's own resource use, as the benchmarks report it: peak resident memory and CPU seconds."""
from __future__ import annotations

import resource


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_cpu_seconds() -> float:
    """User + system CPU seconds this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
