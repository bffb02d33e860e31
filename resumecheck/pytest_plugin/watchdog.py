"""A per-check timeout for jobs that run in this process.

A hung job cannot be stopped from another thread, so on POSIX the watchdog arms ``SIGALRM``:
the handler raises :class:`CheckTimedOut` in the main thread, wherever the job is blocked
(``time.sleep``, a lock, a hung data loader). The runner records it as the run's error like any
crash; the checker then sees :attr:`Watchdog.fired` and reports a timeout instead. Where there
is no ``SIGALRM`` (Windows) or the check does not run in the main thread, the watchdog does
nothing. An alarm that was already pending (e.g. pytest-timeout's ``signal`` method) is given
back what is left of it afterwards.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

STACK_FRAMES = 8
# resumecheck's own frames (the whole package) say nothing useful.
_OWN = str(Path(__file__).resolve().parents[1]) + os.sep


class CheckTimedOut(BaseException):
    """Raised by the watchdog's alarm. A BaseException, so ``except Exception`` in a job
    cannot swallow it; not KeyboardInterrupt, which Lightning turns into ``sys.exit(1)``."""


class Watchdog:
    """Raise :class:`CheckTimedOut` in the main thread once ``seconds`` have passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.phase = "starting"
        self.fired = False
        self.stack = ""
        self._armed = False
        self._old_handler: Any = None
        self._old_timer = (0.0, 0.0)
        self._started = 0.0

    @property
    def supported(self) -> bool:
        return hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()

    def __enter__(self) -> Watchdog:
        if self.seconds > 0 and self.supported:
            self._started = time.monotonic()
            self._old_handler = signal.signal(signal.SIGALRM, self._on_alarm)
            self._old_timer = signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self._armed = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disarm()

    def check(self) -> None:
        """Raise :class:`CheckTimedOut` if the alarm went off (the job may have swallowed it)."""
        if self.fired:
            raise CheckTimedOut

    def disarm(self) -> None:
        """Stop the alarm and restore the previous handler and timer. Idempotent."""
        if not self._armed:
            return
        self._armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._old_handler)
        delay, interval = self._old_timer
        if delay > 0:
            left = delay - (time.monotonic() - self._started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), interval)

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if not self._armed or self.fired:
            return
        self.fired = True
        self.stack = _where(frame)
        raise CheckTimedOut


def _where(frame: FrameType | None) -> str:
    """The innermost frames outside resumecheck: where the job was stuck."""
    if frame is None:
        return ""
    frames = [f for f in traceback.extract_stack(frame) if not f.filename.startswith(_OWN)]
    return "".join(traceback.format_list(frames[-STACK_FRAMES:]))
