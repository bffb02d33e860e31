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
from pathlib import Path
from types import TracebackType
from typing import Any

from resumecheck.adapters.observer import Observer
from resumecheck.engine.recorder import Recorder
from resumecheck.engine.runner import run_error

CONFIG_ENV = "RESUMECHECK_OBSERVE"
_ACTIVE: list[Any] = []


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

    def die(step: int) -> None:
        save()
        (run_dir / "killpoint").write_text(f"{os.getpid()} {step}\n")
        mode = config["mode"]
        if mode == "exception":
            from resumecheck.engine.recorder import SimulatedCrash

            raise SimulatedCrash(step)
        if mode == "sigterm":
            os.killpg(os.getpgid(0), signal.SIGTERM)  # every rank's handler (if any) takes over
            return
        os.killpg(os.getpgid(0), signal.SIGKILL)

    recorder.kill = die
    if config["mode"] == "midwrite":
        from resumecheck.engine.process import arm_midwrite

        arm_midwrite(recorder, die, config["seed"], config["kill_at"], config["offset"])
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
