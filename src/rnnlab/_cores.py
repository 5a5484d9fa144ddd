"""How many cores this process may use, and whether one of them is free (a leaf module)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def second_core_free() -> bool:
    """Whether a second thread would get a core of its own: two or more usable cores, and the
    1-minute load average leaves at least one of them idle (threads that take turns on one
    core, or wait for each other there, are slower than one thread alone)."""
    cores = usable_cores()
    free = cores - os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return cores >= 2 and free >= 1.0
