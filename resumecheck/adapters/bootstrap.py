"""Observation of a freshly started process (a ``torchrun`` rank, a wrapper's child).

``_bootstrap/sitecustomize.py`` calls :func:`observe_this_process` once the program has
imported torch. The run's configuration comes from a JSON file the harness wrote; the
trajectory goes back as ``observed-<pid>.pkl`` in the run's directory, written at exit and
right before a planned kill. The kill takes down the whole process group the harness started
(the launcher and every rank, like a lost node).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pickle
import random
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from resumecheck.adapters.observer import Observer
from resumecheck.engine.recorder import Recorder
from resumecheck.engine.runner import run_error

CONFIG_ENV = "RESUMECHECK_OBSERVE"
_RANK_PATIENCE = 60.0  # seconds a rank waits for the others at the kill point
_ACTIVE: list[Any] = []


def _all_ranks_at_the_kill_point(run_dir: Path, rank: int, world: int, step: int) -> None:
    """Wait until every rank has finished step ``step`` (and its checkpoint): a kill takes
    them down together, never half-way through another rank's save."""
    # The pid tells the runner this process signals itself (sigterm): no second SIGTERM.
    (run_dir / f"killpoint-rank{rank}").write_text(f"{step} {os.getpid()}\n")
    deadline = time.monotonic() + _RANK_PATIENCE
    while len(list(run_dir.glob("killpoint-rank*"))) < world and time.monotonic() < deadline:
        time.sleep(0.01)


def observe_this_process(config_path: str) -> None:
    """Install the hooks for the rest of this process's life."""
    if _ACTIVE:
        return
    config = json.loads(Path(config_path).read_text())
    if config.get("detect_only"):
        _stop_on_training(Path(config["run_dir"]))
        return
    # ``random`` and numpy seeded as in every run of a check (torch is the program's business).
    random.seed(config["seed"])
    with contextlib.suppress(ImportError):
        import numpy as np

        np.random.seed(config["seed"] % 2**32)
    run_dir = Path(config["run_dir"])
    recorder = Recorder(Path(config["checkpoint_dir"]), config["kill_at"], config["offset"])
    observer = Observer(recorder)
    hooks = recorder.installed()
    hooks.__enter__()
    rank = _Rank()
    state = _State()
    _ACTIVE.append((recorder, observer, hooks, state))

    def save() -> None:
        if state.silent:
            return
        recorder.trajectory.rank = rank.known()
        # Named by the pid at the time of saving: a rank forked from this process has its own.
        out = run_dir / f"observed-{os.getpid()}.pkl"
        tmp = out.with_suffix(".part")
        with tmp.open("wb") as fh:
            pickle.dump((recorder.trajectory, recorder.files, recorder.completed_steps()), fh)
        os.replace(tmp, out)

    def die(step: int, together: bool = True) -> None:
        save()
        me, world = rank.known() or 0, rank.world
        if together:
            _all_ranks_at_the_kill_point(run_dir, me, world, step)
        else:
            (run_dir / f"killpoint-rank{me}").write_text(f"{step} {os.getpid()}\n")
        mode = config["mode"]
        if me == 0:
            # The runner takes the rest of the process tree down when it sees this.
            (run_dir / "killpoint").write_text(f"{os.getpid()} {step}\n")
        if mode == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)  # each rank's handler (if any) takes over
            # Still alive: the job ignores SIGTERM (or winds down). Keep saving how far it
            # gets, so the runner places the checkpoints it writes before the SIGKILL.
            recorder.kill = lambda step: None
            recorder.on_close = lambda step: save()
            recorder.on_post_step = save
            return
        if mode != "exception":
            os.kill(os.getpid(), signal.SIGKILL)
        if me != 0:
            while True:  # a crash on rank 0; the launcher tears the other ranks down
                time.sleep(1)
        from resumecheck.engine.recorder import SimulatedCrash

        raise SimulatedCrash(step)

    def die_mid_write(step: int) -> None:
        # The rank whose write reached the budget dies at once, and the runner takes the
        # others down wherever they are: in a sharded save they may be past their own shard,
        # waiting for this one, so no rank waits for the others here.
        save()
        (run_dir / "killpoint").write_text(f"{os.getpid()} {step}\n")
        os.kill(os.getpid(), signal.SIGKILL)

    if config.get("samples"):
        from resumecheck.engine.elastic import record_samples

        record_samples(recorder)
    recorder.kill = die
    if config["mode"] == "midwrite":
        from resumecheck.engine.process import arm_midwrite

        arm_midwrite(recorder, die_mid_write, config["seed"], config["kill_at"], config["offset"])
        armed, kill_at = recorder.on_close, config["kill_at"]

        def on_close(step: int) -> None:
            if armed is not None:
                armed(step)
            if kill_at is not None and step + 1 == kill_at and rank.world > 1:
                # What this rank will have done when another dies mid-write in the next step,
                # saved now: it may be killed in a collective before its own kill point.
                recorder.trajectory.killed_at = kill_at
                save()
                recorder.trajectory.killed_at = None

        recorder.on_close = on_close
    previous_hook = sys.excepthook

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if recorder.trajectory.error is None and recorder.trajectory.killed_at is None:
            recorder.trajectory.error = run_error(exc)
        previous_hook(kind, exc, tb)

    sys.excepthook = excepthook

    def finish() -> None:
        if state.finished:
            return
        state.finished = True
        if recorder.trajectory.killed_at is None:
            # A kill planned at the very end is not a kill.
            with contextlib.suppress(BaseException):
                recorder.finish()
            final = observer.snapshot(rng=False)
            observer.rename(final)
            recorder.trajectory.final = final
        save()

    state.finish = finish
    atexit.register(finish)

    def forked() -> None:
        # A process forked from this one: a rank started by fork (Lightning's ddp_fork) starts
        # with nothing recorded and saves under its own pid; a copy of a process that already
        # trained (a DataLoader worker) has nothing of its own to say.
        if recorder.trajectory.steps or recorder.optimizer_steps:
            state.silent = True
        rank.forked()

    os.register_at_fork(after_in_child=forked)


def _stop_on_training(run_dir: Path) -> None:
    """A process started by a script forked from the server: if it trains, the run must be
    redone as a process tree of its own; say so, and end the run now (its process group)."""
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    from resumecheck.engine.command import SUBPROCESS_MARKER

    def found(*args: Any) -> None:
        (run_dir / f"{SUBPROCESS_MARKER}{os.getpid()}").write_text(" ".join(sys.argv) + "\n")
        os.killpg(os.getpgid(0), signal.SIGKILL)

    register_optimizer_step_pre_hook(found)


@dataclass
class _State:
    finished: bool = False
    silent: bool = False  # a forked copy that must not write a trajectory
    finish: Callable[[], None] = lambda: None


class _Rank:
    """This process's distributed rank and world size: from the process group once one is
    up (ranks that a launcher forks or spawns have no ``RANK`` variable), else ``RANK``."""

    def __init__(self) -> None:
        self._rank: int | None = None
        self.world = 1
        self._env()
        # Noted at every optimizer step until the process group is seen: it may be gone by
        # the time the process exits.
        self._handle: Any = None
        self._watch()

    def _watch(self) -> None:
        from torch.optim.optimizer import register_optimizer_step_post_hook

        if self._handle is None:
            self._handle = register_optimizer_step_post_hook(lambda *args: self._from_group())

    def _env(self) -> None:
        if "RANK" in os.environ:
            self._rank = int(os.environ["RANK"])
            self.world = int(os.environ.get("WORLD_SIZE", "1"))

    def _from_group(self) -> None:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            self._rank, self.world = dist.get_rank(), dist.get_world_size()
            if self._handle is not None:
                self._handle.remove()
                self._handle = None

    def known(self) -> int | None:
        if self._handle is not None:
            self._from_group()
        return self._rank

    def forked(self) -> None:
        self._rank, self.world = None, 1
        self._env()
        self._watch()


def finish_this_process() -> None:
    """Close the last step and save the trajectory now (a rank that exits without running
    ``atexit``, e.g. a ``multiprocessing`` fork child, calls this when its training ends)."""
    if _ACTIVE:
        _ACTIVE[0][3].finish()


def active_recorder() -> Recorder | None:
    """The recorder observing this process, if resumecheck observes it."""
    return _ACTIVE[0][0] if _ACTIVE else None


def active_observer() -> Observer | None:
    """The observer feeding :func:`active_recorder`."""
    return _ACTIVE[0][1] if _ACTIVE else None
