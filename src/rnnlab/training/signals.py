"""SIGINT/SIGTERM during a run: noted, not acted on at once, so the step in progress finishes
and the checkpoint written afterwards is consistent."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

SIGNAL_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}  # the shell's exit codes for them


@contextmanager
def noted_signals(note: Callable[[int], None]) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM call ``note(signum)`` instead of their usual
    handlers. Only the main thread may install handlers: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        note(signum)

    old = {s: signal.signal(s, handler) for s in SIGNAL_STATUS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def signal_name(signum: int) -> str:
    """``"SIGINT"`` for 2, and so on."""
    return signal.Signals(signum).name
