"""Runs a :class:`~resumecheck.ScriptJob`'s ``python script.py ...`` command in this process,
the way ``python`` would run it, observed at the optimizer.

The process is a child forked from the preloaded server (torch and Lightning already
imported), so a run costs what its steps cost. The script gets its own ``sys.argv``,
``sys.path[0]``, working directory, environment and ``__main__``, and torch's generator in its
start-up state, as in a new interpreter.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import runpy
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resumecheck.adapters.observer import Observer
from resumecheck.jobs import PythonTarget, python_target

if TYPE_CHECKING:
    from resumecheck.engine.recorder import Recorder
    from resumecheck.engine.runner import RunSpec
    from resumecheck.jobs import ScriptJob

_WRITTEN_LIMIT = 50


def run_script_job(job: ScriptJob, spec: RunSpec, recorder: Recorder) -> None:
    argv = job.command_for(spec.checkpoint_dir, spec.resume_from)
    target = python_target(argv)
    if target is None:
        from resumecheck.errors import ConfigError

        raise ConfigError(f"{argv[0]!r} is not a python command; it runs in a fresh process")
    observer = Observer(recorder)
    cwd = Path(job.cwd) if job.cwd is not None else Path.cwd()
    env = _watching_subprocesses({**os.environ, **(job.env or {})}, spec.run_dir)
    with _as_python_would(argv, target, cwd, env), _watch_writes(recorder):
        try:
            if target.module is not None:
                runpy.run_module(target.module, run_name="__main__", alter_sys=True)
            else:
                assert target.path is not None
                runpy.run_path(target.path, run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise ScriptExit(exc.code) from None
    recorder.finish()
    final = observer.snapshot(rng=False)
    observer.rename(final)
    recorder.trajectory.final = final


def _watching_subprocesses(env: dict[str, str], run_dir: Path) -> dict[str, str]:
    """The script's environment, with the bootstrap watching the Python processes it starts:
    one that trains (a rank Lightning re-executes, a spawned worker) stops the run, which the
    runner then starts over as a process tree observed throughout."""
    from resumecheck.engine.command import bootstrap_env

    config = run_dir / "subprocesses.json"
    config.write_text(json.dumps({"detect_only": True, "run_dir": str(run_dir)}))
    return bootstrap_env(env, config)


class ScriptExit(Exception):
    """The script ended itself with a non-zero exit status."""

    def __init__(self, code: object) -> None:
        super().__init__(f"the script exited with status {code}")


@contextlib.contextmanager
def _as_python_would(
    argv: Sequence[str], target: PythonTarget, cwd: Path, env: dict[str, str]
) -> Iterator[None]:
    """``sys.argv``, ``sys.path[0]``, cwd, environment and torch seed of a fresh interpreter."""
    import torch

    saved = (list(sys.argv), list(sys.path), os.getcwd(), dict(os.environ))
    os.chdir(cwd)
    os.environ.update(env)
    if target.path is not None:
        script = Path(target.path)
        sys.argv = [target.path, *target.args]
        sys.path.insert(0, str((cwd / script).resolve().parent))
    else:
        sys.argv = [target.module or "", *target.args]
        sys.path.insert(0, str(cwd))
    # torch as a new interpreter has it; ``random`` and numpy as every run of a check has them
    # (seeded with the job's seed), so a script that never seeds them stays comparable.
    torch.manual_seed(_TORCH_DEFAULT_SEED)
    try:
        yield
    finally:
        sys.argv, sys.path[:] = saved[0], saved[1]
        os.chdir(saved[2])
        os.environ.clear()
        os.environ.update(saved[3])


# torch's default CPU generator seed in a new interpreter (``torch.initial_seed()`` there).
_TORCH_DEFAULT_SEED = 67280421310721


@contextlib.contextmanager
def _watch_writes(recorder: Recorder) -> Iterator[None]:
    """Note the files the script writes (for a message when none lands in the checkpoint dir)."""
    import torch

    written = recorder.trajectory.written
    real_open, real_save = builtins.open, torch.save

    def note(file: Any) -> None:
        if isinstance(file, str | os.PathLike) and len(written) < _WRITTEN_LIMIT:
            path = os.path.abspath(os.fspath(file))
            if path not in written:
                written.append(path)

    def watching_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+"):
            note(file)
        return real_open(file, mode, *args, **kwargs)

    def watching_save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        note(f)
        real_save(obj, f, *args, **kwargs)

    builtins.open, torch.save = watching_open, watching_save
    try:
        yield
    finally:
        builtins.open, torch.save = real_open, real_save
