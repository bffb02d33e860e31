"""Killed runs taken from an uninterrupted run instead of being computed again.

A run killed after step k is, up to step k, the uninterrupted run itself once the control run
has shown the job deterministic, so the check computes that prefix once. The control run, told
the plans' first kill steps (``RunSpec.stash``), leaves at each of them what the killed run
would have left: its checkpoint directory and its trajectory (``killed.pkl`` in the plan's
directory). Without a control run, killed runs are computed (and catch nondeterminism). The
kill itself still happens for real:

``copy``  (``sigkill``) a hard kill right after step k has no side effects: the checkpoint
          directory as it stands at the kill point is what the killed run leaves.
``fork``  (``exception``) the run forks at the kill point; the child raises the kill, so the
          job's own exception handling (``OnExceptionCheckpoint``, ``finally`` blocks) writes
          what it writes, into the same directory, while the parent waits; the parent then
          puts its own directory back and trains on. A child that trains on after the kill (or
          fails to report) leaves nothing, and the harness runs that killed run in full.

Every run of a check sees one checkpoint path (the harness moves directories in and out), so
paths stored inside checkpoints (``ModelCheckpoint.dirpath``) match as in a real resume.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from resumecheck.engine.recorder import Recorder
from resumecheck.engine.trajectory import Trajectory

KILLED = "killed.pkl"
CHECKPOINTS = "checkpoints"
_ASIDE = ".resumecheck-aside"
_CHILD_PATIENCE = 120.0  # seconds a forked killed run may take to die


def install(recorder: Recorder, stash: Mapping[int, tuple[Path, ...]], how: str) -> None:
    """Leave a killed run in each chain directory of ``stash`` when its step closes."""
    after = recorder.on_close

    def on_close(step: int) -> None:
        if after is not None:
            after(step)
        chains = stash.get(step)
        if chains and recorder.kill_at is None:
            (_fork if how == "fork" else _copy)(recorder, step, chains)

    recorder.on_close = on_close


def _copy(recorder: Recorder, step: int, chains: tuple[Path, ...]) -> None:
    killed = _as_killed(recorder.trajectory, step, "by signal SIGKILL")
    for chain in chains:
        _replace_dir(recorder.checkpoint_dir, chain / CHECKPOINTS)
        _write(chain / KILLED, (killed, recorder.files))


def _fork(recorder: Recorder, step: int, chains: tuple[Path, ...]) -> None:
    live = recorder.checkpoint_dir
    aside = live.with_name(live.name + _ASIDE)
    _replace_dir(live, aside)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the killed run: dies here, for real, and reports what it left
        _die_as_killed(recorder, step, chains)
    try:
        done = _wait(pid)
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    first, *others = chains
    if done and (first / KILLED).exists():
        shutil.rmtree(first / CHECKPOINTS, ignore_errors=True)
        live.rename(first / CHECKPOINTS)
        for chain in others:
            _replace_dir(first / CHECKPOINTS, chain / CHECKPOINTS)
            shutil.copyfile(first / KILLED, chain / KILLED)
    else:
        shutil.rmtree(live, ignore_errors=True)
        for chain in chains:
            (chain / KILLED).unlink(missing_ok=True)
    aside.rename(live)
    # The same files, copied back: not new checkpoints of this run.
    recorder.files.clear()
    recorder.files.update(recorder.scan_keys())


def _die_as_killed(recorder: Recorder, step: int, chains: tuple[Path, ...]) -> None:
    """In the forked child: raise the kill, then report once the job has handled it."""
    import torch

    # GNU OpenMP's thread pool does not survive fork(): a parallel op would hang. Numbers
    # computed from here on are never compared (a child that trains on reports nothing).
    torch.set_num_threads(1)
    first = chains[0]
    steps_at_kill = recorder.optimizer_steps

    def report(trajectory: Trajectory) -> None:
        if recorder.optimizer_steps == steps_at_kill and trajectory.error is None:
            _write(first / KILLED, (trajectory, recorder.files))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    recorder.on_run_end = report
    recorder.kill_at = step
    recorder.trajectory.killed_at = step
    first.mkdir(parents=True, exist_ok=True)
    recorder.kill(step)


def _wait(pid: int) -> bool:
    deadline = time.monotonic() + _CHILD_PATIENCE
    while time.monotonic() < deadline:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
        time.sleep(0.005)
    return False


def _as_killed(trajectory: Trajectory, step: int, exit_info: str) -> Trajectory:
    return Trajectory(
        steps=list(trajectory.steps),
        killed_at=step,
        checkpoints=list(trajectory.checkpoints),
        claimed_checkpoint_step=trajectory.claimed_checkpoint_step,
        exit_info=exit_info,
        written=list(trajectory.written),
        rank=trajectory.rank,
        facts=dict(trajectory.facts),
    )


def _replace_dir(source: Path, dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, dest, symlinks=True)
    else:
        dest.mkdir()


def _write(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as fh:
        pickle.dump(value, fh)
    os.replace(tmp, path)


def relocate(trajectory: Trajectory, live: Path, home: Path) -> None:
    """Point a run's checkpoint paths at the directory its files were moved to."""
    from dataclasses import replace

    for t in (trajectory, *trajectory.ranks):
        t.checkpoints = [replace(f, path=moved(f.path, live, home)) for f in t.checkpoints]
        t.written = [str(moved(Path(w), live, home)) for w in t.written]


def moved(path: Path, live: Path, home: Path) -> Path:
    try:
        return home / path.relative_to(live)
    except ValueError:
        return path
