"""The preloaded fork server that process-mode runs fork from. Torch-free to import, so a
caller can start the server (which imports torch and Lightning in the background) before
importing torch itself: the two imports then overlap."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from typing import Any

PRELOAD = [
    "torch",
    "lightning.pytorch",
    "cloudpickle",
    "fsspec.implementations.local",
    "resumecheck.engine.process",
    "resumecheck.adapters.lightning",
]


def context(start_method: str = "forkserver") -> Any:
    ctx = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)
    return ctx


PROCESS_MODES = ("sigkill", "sigterm", "midwrite")


def start_server() -> None:
    """Start the preloaded fork server now (it imports in the background)."""
    from multiprocessing import forkserver, resource_tracker

    if forkserver_running():
        return
    tracker = resource_tracker._resource_tracker  # type: ignore[attr-defined]
    STATE["tracker_ours"] = STATE["tracker_ours"] or tracker._pid is None  # type: ignore[attr-defined]
    context()
    forkserver.ensure_running()


def stop_server() -> None:
    """Stop the fork server and the resource tracker that came with it; the server's
    children die with it (they asked for SIGKILL on their parent's death)."""
    from multiprocessing import forkserver, resource_tracker

    server = forkserver._forkserver  # type: ignore[attr-defined]
    pid = getattr(server, "_forkserver_pid", None)
    if pid is not None:
        # Killed, not asked: a server busy importing or forking would not answer.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        server._stop()  # type: ignore[attr-defined]
    tracker = resource_tracker._resource_tracker  # type: ignore[attr-defined]
    if getattr(tracker, "_pid", None) is not None and STATE["tracker_ours"]:
        _stop_tracker(tracker)
    STATE["tracker_ours"] = False


def _stop_tracker(tracker: Any, patience: float = 5.0) -> None:
    """Ask the resource tracker to exit (close its pipe); kill it if a straggler that still
    holds the pipe keeps it waiting. ``ResourceTracker._stop`` would wait forever."""
    with tracker._lock:
        if tracker._fd is None:
            return
        os.close(tracker._fd)
        tracker._fd = None
        deadline = time.monotonic() + patience
        while os.waitpid(tracker._pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(tracker._pid, signal.SIGKILL)
                os.waitpid(tracker._pid, 0)
                break
            time.sleep(0.02)
        tracker._pid = None


def forkserver_running() -> bool:
    from multiprocessing import forkserver

    return getattr(forkserver._forkserver, "_forkserver_pid", None) is not None  # type: ignore[attr-defined]


# Whether multiprocessing's resource tracker was started by our server (and so is ours to stop).
STATE = {"tracker_ours": False}
