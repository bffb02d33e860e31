"""Ctrl-C is never a verdict: notice SIGINT during a run, whatever the job turns it into.

Lightning catches ``KeyboardInterrupt`` and exits with ``SystemExit(1)``; other jobs catch it
and carry on. The harness marks the interrupt when the signal arrives (and still lets the
previous handler raise as usual); after the run it raises ``KeyboardInterrupt`` itself.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Interrupts:
    """Whether SIGINT arrived while :func:`noticing_interrupts` was active."""

    def __init__(self) -> None:
        self.seen = False

    def raise_if_seen(self, cause: BaseException | None = None) -> None:
        if self.seen:
            raise KeyboardInterrupt from cause


@contextmanager
def noticing_interrupts() -> Iterator[Interrupts]:
    flag = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous: Any = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if previous is signal.SIG_IGN:
            return
        flag.seen = True
        if callable(previous):
            previous(signum, frame)  # normally default_int_handler: raises KeyboardInterrupt
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
