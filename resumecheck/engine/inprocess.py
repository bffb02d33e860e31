"""Guards around a run in the caller's own process (kill mode ``exception``).

A job run in this process can hang it, end it (``os._exit``) or leave helper processes behind.
Each of those would be a fault of the check, not a verdict:

- a run past the timeout is stopped by SIGALRM and the check fails with
  :class:`~resumecheck.errors.JobHung`, naming the timeout, the step and where the job was;
- ``os._exit`` in this process raises instead, so the run fails with a message (forked
  children, e.g. DataLoader workers, still exit for real);
- child processes the run started and left running are killed once it ends.

A segfault cannot be caught in-process: it is reported by ``faulthandler`` (pytest and the
CLI enable it); ``mode="sigkill"`` runs each run in a child instead.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from resumecheck.errors import JobHung

if TYPE_CHECKING:
    from resumecheck.engine.runner import RunSpec
    from resumecheck.engine.trajectory import Trajectory
    from resumecheck.jobs import Job


class JobCalledExit(BaseException):
    """Raised in place of ``os._exit`` inside the harness process."""

    def __init__(self, code: int) -> None:
        super().__init__(
            f"the job called os._exit({code}), which would have ended the whole check "
            "(in kill mode 'exception' every run shares the caller's process)"
        )
        self.code = code


def run_guarded(
    execute: Callable[[Job, RunSpec], Trajectory],
    job: Job,
    spec: RunSpec,
    timeout: float | None,
) -> Trajectory:
    from resumecheck.pytest_plugin.watchdog import CheckTimedOut, Watchdog

    limit = 0.0 if timeout is None or math.isinf(timeout) else timeout
    dog = Watchdog(limit)
    dog.phase = _phase(spec)
    before = _children()
    trajectory: Trajectory | None = None
    try:
        with dog, _exit_raises():
            trajectory = execute(job, spec)
    except CheckTimedOut:
        pass  # raised outside the job's own code (e.g. while scanning checkpoints)
    finally:
        _reap(before)
    if dog.fired or trajectory is None:
        dog.disarm()
        raise JobHung(_hung_message(limit, spec, trajectory, dog.stack))
    return trajectory


def _phase(spec: RunSpec) -> str:
    if spec.resume_from is not None:
        return f"the run resumed from {spec.resume_from.name} (step {spec.offset})"
    if spec.kill_at is not None:
        return f"the run to be killed after step {spec.kill_at}"
    return f"the uninterrupted run ({spec.run_dir.name})"


def _hung_message(limit: float, spec: RunSpec, trajectory: Trajectory | None, stack: str) -> str:
    done = spec.offset + (len(trajectory.steps) if trajectory is not None else 0)
    lines = [
        f"the job hung: {_phase(spec)} did not finish within timeout={limit:g} s; "
        f"it was in step {done + 1} (step {done} done); raise timeout= if it is only slow",
    ]
    if stack:
        lines += ["  where it was:", *("  " + ln for ln in stack.rstrip().splitlines())]
    return "\n".join(lines)


@contextlib.contextmanager
def _exit_raises() -> Iterator[None]:
    real_exit = os._exit
    harness_pid = os.getpid()

    def guarded_exit(status: int) -> NoReturn:
        if os.getpid() != harness_pid:  # a forked child (DataLoader worker): exit for real
            real_exit(status)
        raise JobCalledExit(status)

    os._exit = guarded_exit
    try:
        yield
    finally:
        os._exit = real_exit


def _children() -> set[int]:
    """This process's live children (Linux; elsewhere nothing is known, nothing is reaped)."""
    pids: set[int] = set()
    try:
        for task in Path(f"/proc/{os.getpid()}/task").iterdir():
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in (task / "children").read_text().split())
    except OSError:
        pass
    return pids


def _reap(before: set[int], patience: float = 1.0) -> None:
    """Kill the children the run started and left behind (once they had a moment to go)."""
    left = _children() - before
    if not left:
        return  # nothing to reap (a full collection of a big heap costs ~0.4 s per run)
    gc.collect()  # a dead run's DataLoader iterators shut their workers down when collected
    deadline = time.monotonic() + patience
    left = _children() - before
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = _children() - before
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
