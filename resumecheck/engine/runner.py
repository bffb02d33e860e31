"""Executes one run of a job (fresh, killed, or resumed) and returns its trajectory.

A runner is chosen by kill mode. ``exception`` runs in this process and interrupts the job
with :class:`~resumecheck.engine.recorder.SimulatedCrash`; process modes run the same
:func:`execute` in a child.
"""

from __future__ import annotations

import logging
import os
import random
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch

from resumecheck.engine.interrupts import noticing_interrupts
from resumecheck.engine.recorder import Recorder, SimulatedCrash
from resumecheck.engine.trajectory import RunError, Trajectory
from resumecheck.jobs import Job

_QUIET_LOGGERS = ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning_fabric")
# Frames that mean "the checkpoint file itself could not be read".
_LOADING_FILES = (
    "torch/serialization.py",
    "torch/_weights_only_unpickler.py",
    "torch/distributed/checkpoint/state_dict_loader.py",  # dcp.load
)


@dataclass(frozen=True)
class RunSpec:
    """Where one run works, what it resumes from, and after which global step it dies."""

    run_dir: Path
    checkpoint_dir: Path
    seed: int
    resume_from: Path | None = None
    kill_at: int | None = None
    offset: int = 0  # global step the resumed run starts after
    # Uninterrupted runs: the killed runs to leave at these steps, in these plans' directories,
    # and how ("copy" or "fork", see engine/prefix.py).
    stash: Mapping[int, tuple[Path, ...]] = field(default_factory=dict)
    stash_by: str = "copy"
    # Steps after which a checkpoint the harness adds (a job without one) is written: where
    # a kill will resume from. ``None``: every step.
    save_at: frozenset[int] | None = None


class Runner(Protocol):
    """Runs a job once under a spec. Implementations differ in how the kill happens."""

    def run(self, job: Job, spec: RunSpec) -> Trajectory: ...


@contextmanager
def isolated(seed: int) -> Iterator[None]:
    """Seed every RNG for a run; afterwards give the caller back its RNG, env and log state."""
    import numpy as np

    saved_rng = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    saved_env = os.environ.get("PL_GLOBAL_SEED")
    # Process-wide torch settings a job may change (set_num_threads, ...): given back too.
    saved_torch = (
        torch.get_num_threads(),
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.get_default_dtype(),
    )
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [lg.level for lg in loggers]
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            # The job's own warnings are not the harness's business (and pytest may make
            # them errors).
            warnings.simplefilter("ignore")
            yield
    finally:
        torch.set_rng_state(saved_rng[0])
        np.random.set_state(saved_rng[1])
        random.setstate(saved_rng[2])
        if saved_env is None:
            os.environ.pop("PL_GLOBAL_SEED", None)
        else:
            os.environ["PL_GLOBAL_SEED"] = saved_env
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        if torch.get_num_threads() != saved_torch[0]:
            torch.set_num_threads(saved_torch[0])
        torch.use_deterministic_algorithms(saved_torch[1], warn_only=saved_torch[2])
        torch.set_default_dtype(saved_torch[3])


def run_error(exc: BaseException) -> RunError:
    frames = traceback.extract_tb(exc.__traceback__)
    while_loading = any(f.filename.endswith(_LOADING_FILES) for f in frames)
    cause = exc.__cause__ or exc.__context__
    if cause is not None and not while_loading:
        cause_frames = traceback.extract_tb(cause.__traceback__)
        while_loading = any(f.filename.endswith(_LOADING_FILES) for f in cause_frames)
    text = "".join(traceback.format_exception(exc))
    return RunError(type(exc).__name__, str(exc).strip(), text[-4000:], while_loading)


def execute(
    job: Job, spec: RunSpec, configure: Callable[[Recorder], None] | None = None
) -> Trajectory:
    """Run the job once in this process; a kill or a crash ends the trajectory early.

    ``configure`` lets a process runner change how the run dies before it starts.
    """
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    spec.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(spec.checkpoint_dir, spec.kill_at, spec.offset)
    if configure is not None:
        configure(recorder)
    if spec.stash:
        from resumecheck.engine import prefix

        prefix.install(recorder, spec.stash, spec.stash_by)
    with isolated(spec.seed), recorder.installed(), noticing_interrupts() as sigint:
        try:
            job.execute(spec, recorder)
        except SimulatedCrash:
            pass
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            sigint.raise_if_seen(exc)  # e.g. Lightning's SystemExit after a Ctrl-C
            recorder.trajectory.error = run_error(exc)
        sigint.raise_if_seen()  # a job that swallowed it
    # Files written while dying (e.g. on-exception checkpoints) belong to the last step done.
    recorder.scan_checkpoints(recorder.completed_steps())
    if recorder.on_run_end is not None:
        recorder.on_run_end(recorder.trajectory)
    return recorder.trajectory


class InProcessRunner:
    """Kill mode ``exception``: the run is interrupted by an exception in this process.

    ``timeout``: seconds a run may take (SIGALRM in the main thread); ``None``: no limit.
    """

    mode = "exception"
    # A killed run is the uninterrupted one forked at its kill point (engine/prefix.py).
    stash_by = "fork"

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout

    def run(self, job: Job, spec: RunSpec) -> Trajectory:
        from resumecheck.engine.inprocess import run_guarded

        return run_guarded(execute, job, spec, self.timeout)
