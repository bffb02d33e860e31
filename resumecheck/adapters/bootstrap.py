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
    (run_dir / f"killpoint-rank{rank}").write_text(f"{step}\n")
    deadline = time.monotonic() + _RANK_PATIENCE
    while len(list(run_dir.glob("killpoint-rank*"))) < world and time.monotonic() < deadline:
        time.sleep(0.01)


def observe_this_process(config_path: str) -> None:
    """Install the hooks for the rest of this process's life."""
    if _ACTIVE:
        return
    config = json.loads(Path(config_path).read_text())
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
    out = run_dir / f"observed-{os.getpid()}.pkl"
    _ACTIVE.append((recorder, observer, hooks))

    def save() -> None:
        tmp = out.with_suffix(".part")
        with tmp.open("wb") as fh:
            pickle.dump((recorder.trajectory, recorder.files, recorder.completed_steps()), fh)
        os.replace(tmp, out)

    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    if "RANK" in os.environ:
        recorder.trajectory.rank = rank

    def die(step: int) -> None:
        save()
        _all_ranks_at_the_kill_point(run_dir, rank, world, step)
        mode = config["mode"]
        if rank == 0:
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
        if rank != 0:
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
    previous_hook = sys.excepthook

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if recorder.trajectory.error is None and recorder.trajectory.killed_at is None:
            recorder.trajectory.error = run_error(exc)
        previous_hook(kind, exc, tb)

    sys.excepthook = excepthook

    @atexit.register
    def at_exit() -> None:
        if recorder.trajectory.killed_at is None:
            # A kill planned at the very end is not a kill.
            with contextlib.suppress(BaseException):
                recorder.finish()
            final = observer.snapshot(rng=False)
            observer.rename(final)
            recorder.trajectory.final = final
        save()
