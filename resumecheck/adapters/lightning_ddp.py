"""Runs a :class:`~resumecheck.LightningJob` whose Trainer starts processes of its own (a DDP
strategy with several devices) as a child command, every rank observed at the optimizer.

In the test runner's process such a job cannot run: ``ddp`` re-executes the current command
(pytest!) as the other ranks, ``ddp_spawn`` pickles the Trainer's callbacks into fresh
interpreters. So each run is ``python -m resumecheck.adapters.lightning_ddp JOB CHECKPOINTS
[--resume-from PATH]``, started like a ``torchrun`` :class:`~resumecheck.ScriptJob` (a fresh
process tree with the bootstrap): ``ddp`` re-executes that command, ``ddp_spawn`` workers start
with the bootstrap's environment, ``ddp_fork`` workers inherit the observer and record under
their own pid. Ranks are judged rank by rank, like ``torchrun`` jobs.
"""

from __future__ import annotations

import argparse
import copy
import os
import pickle
import sys
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from resumecheck.engine.recorder import Recorder
    from resumecheck.engine.runner import RunSpec
    from resumecheck.engine.trajectory import Trajectory
    from resumecheck.jobs import Job, LightningJob

_JOB_FILE = "job.pkl"
# Strategies that run one process per device (Lightning's registry names and class names).
_PARALLEL_NAMES = ("ddp", "fsdp", "deepspeed")
_PARALLEL_CLASSES = {"ParallelStrategy", "DDPStrategy", "FSDPStrategy", "DeepSpeedStrategy"}


def trainer_kwargs(job: LightningJob) -> dict[str, Any]:
    return dict(job.trainer() if callable(job.trainer) else job.trainer)


def starts_processes(job: LightningJob) -> bool:
    """Whether the job's Trainer launches several processes (DDP and friends, > 1 device)."""
    kwargs = trainer_kwargs(job)
    strategy = kwargs.get("strategy", "auto")
    if isinstance(strategy, str):
        parallel = strategy == "auto" or strategy.startswith(_PARALLEL_NAMES)
    else:
        parallel = bool(_PARALLEL_CLASSES & {c.__name__ for c in type(strategy).__mro__})
    return parallel and _processes(kwargs) > 1


def _processes(kwargs: Mapping[str, Any]) -> int:
    """How many processes the Trainer would start on this machine (one per device)."""
    devices = kwargs.get("devices", "auto")
    nodes = kwargs.get("num_nodes", 1)
    if isinstance(devices, list | tuple):
        count = len(devices)
    elif isinstance(devices, int) or (isinstance(devices, str) and devices.lstrip("-").isdigit()):
        count = int(devices)
        if count == -1:
            count = _available(kwargs.get("accelerator", "auto"))
    else:  # "auto"
        count = 1 if kwargs.get("accelerator", "auto") == "cpu" else _available("auto")
    return count * (nodes if isinstance(nodes, int) else 1)


def _available(accelerator: Any) -> int:
    import torch

    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return torch.cuda.device_count()
    return (os.cpu_count() or 1) if accelerator == "cpu" else 1


class LightningDDPRunner:
    """Runs each run of a multi-process Lightning job as a fresh process tree."""

    def __init__(self, mode: str, timeout: float = 300.0, grace: float = 5.0) -> None:
        from resumecheck.engine.command import CommandRunner

        self.mode = mode
        self._commands = CommandRunner(mode, timeout=timeout, grace=grace)

    def run(self, job: Job, spec: RunSpec) -> Trajectory:
        from resumecheck.jobs import LightningJob, ScriptJob

        assert isinstance(job, LightningJob)
        spec.run_dir.mkdir(parents=True, exist_ok=True)
        payload = spec.run_dir / _JOB_FILE
        payload.write_bytes(_pickled(job))
        command = ScriptJob(
            [sys.executable, "-m", __name__, str(payload), "{checkpoint_dir}"],
            resume=["--resume-from", "{resume_from}"],
            name=job.label,
        )
        trajectory = self._commands.run(cast("Job", command), spec)
        if trajectory.error is not None and trajectory.error.type == "ScriptExit":
            # What failed is the job, not a command the user wrote: say so in its terms.
            trajectory.error.message = f"the Lightning job's processes {trajectory.exit_info}"
        return trajectory

    def close(self) -> None:
        self._commands.close()


def _pickled(job: LightningJob) -> bytes:
    """The job, cloudpickled (lambdas, classes defined in tests); modules the child cannot
    import by name (``__main__``, a test file) travel by value."""
    import cloudpickle

    from resumecheck.engine.process import _importable, _job_modules

    for name in _job_modules(cast("Job", job)):
        module = sys.modules.get(name)
        if module is not None and not _importable(name):
            cloudpickle.register_pickle_by_value(module)
    # With the test runner's path: a test module pytest imported from its rootdir is found.
    return pickle.dumps((list(sys.path), bytes(cloudpickle.dumps(job))))


# -- the child ----------------------------------------------------------------------------
def rank_callback_class(pl: ModuleType) -> type:
    """A callback (of the job's Lightning package) reporting each rank to its observer.

    Defined at module level of the job's package so ``ddp_spawn`` can pickle it into workers;
    it holds nothing and finds the process's recorder when called.
    """
    return _RANK_CALLBACKS.get(pl.__name__) or _make_rank_callback(pl)


_RANK_CALLBACKS: dict[str, type] = {}


def _make_rank_callback(pl: ModuleType) -> type:
    from resumecheck.adapters import bootstrap
    from resumecheck.adapters.lightning import STATE_KEY
    from resumecheck.adapters.lightning_facts import lightning_facts
    from resumecheck.adapters.lightning_logger import watch_self_log

    class ResumecheckRank(pl.Callback):  # type: ignore[misc,name-defined]
        """Stores the harness step in checkpoints, records ``self.log``, saves at the end."""

        @property
        def state_key(self) -> str:
            return STATE_KEY

        def state_dict(self) -> dict[str, Any]:
            recorder = bootstrap.active_recorder()
            return {} if recorder is None else {"completed_steps": recorder.completed_steps()}

        def load_state_dict(self, state_dict: dict[str, Any]) -> None:
            recorder = bootstrap.active_recorder()
            if recorder is not None:
                recorder.trajectory.claimed_checkpoint_step = state_dict.get("completed_steps")

        def setup(self, trainer: Any, module: Any, stage: str) -> None:
            recorder = bootstrap.active_recorder()
            if recorder is not None:
                watch_self_log(module, recorder)
                _batches_as_lightning_feeds_them(recorder)

        def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, idx: int) -> None:
            from resumecheck.engine.recorder import batch_digest

            _PENDING[:] = [batch_digest(batch)]

        def on_train_start(self, trainer: Any, module: Any) -> None:
            recorder = bootstrap.active_recorder()
            if recorder is not None:
                recorder.trajectory.facts = lightning_facts(trainer, module)

        def on_fit_end(self, trainer: Any, module: Any) -> None:
            # A forked rank ends with os._exit (no atexit): its trajectory is saved now.
            bootstrap.finish_this_process()

    # Picklable by reference: ``ddp_spawn`` workers import this module and find the class.
    ResumecheckRank.__name__ = ResumecheckRank.__qualname__ = _class_name(pl)
    globals()[_class_name(pl)] = ResumecheckRank
    _RANK_CALLBACKS[pl.__name__] = ResumecheckRank
    return ResumecheckRank


_PENDING: list[str] = []  # the digest of the batch Lightning is about to train on


def _batches_as_lightning_feeds_them(recorder: Recorder) -> None:
    """A step's batch is the one Lightning hands ``training_step`` (the observer would take
    the DDP wrapper's input, which carries ``batch_idx`` too), noted at the step's forward."""
    from resumecheck.adapters.bootstrap import active_observer
    from resumecheck.engine.recorder import batch_digest

    observer = active_observer()
    if observer is None:
        return

    def on_forward(module: Any, args: Any) -> None:
        observer.add_root(module)
        digest = _PENDING.pop() if _PENDING else batch_digest(args)
        recorder.ensure_open().batches.append(digest)

    recorder.on_forward = on_forward


def _class_name(pl: ModuleType) -> str:
    return "ResumecheckRank_" + pl.__name__.replace(".", "_")


def __getattr__(name: str) -> Any:
    """A ``ddp_spawn`` worker unpickling the callback class builds it on first use."""
    import importlib

    for package in ("lightning.pytorch", "pytorch_lightning"):
        if name == "ResumecheckRank_" + package.replace(".", "_"):
            return rank_callback_class(importlib.import_module(package))
    raise AttributeError(name)


def _run_kwargs(
    job: LightningJob, pl: ModuleType, run_dir: Path, checkpoints: Path
) -> dict[str, Any]:
    """The Trainer's arguments for one run: as in a one-process run of the job (fresh user
    callbacks, the harness's checkpoint dir), with the rank callback instead of the recorder."""
    kwargs = trainer_kwargs(job)
    user_callbacks = kwargs.pop("callbacks", None) or []
    if not isinstance(user_callbacks, list | tuple):
        user_callbacks = [user_callbacks]
    callbacks = [copy.deepcopy(cb) for cb in user_callbacks]
    checkpointers = [cb for cb in callbacks if isinstance(cb, pl.callbacks.ModelCheckpoint)]
    on_exception = getattr(pl.callbacks, "OnExceptionCheckpoint", ())
    for cb in callbacks:
        if isinstance(cb, pl.callbacks.ModelCheckpoint | on_exception):
            cb.dirpath = str(checkpoints)
    if not checkpointers and kwargs.get("enable_checkpointing", True) is not False:
        callbacks.append(
            pl.callbacks.ModelCheckpoint(
                dirpath=str(checkpoints), every_n_train_steps=1, save_last="link"
            )
        )
    callbacks.insert(0, rank_callback_class(pl)())
    user_logger = kwargs.get("logger", True)
    kwargs.update(
        callbacks=callbacks,
        default_root_dir=str(run_dir),
        logger=False
        if user_logger is False
        else pl.loggers.CSVLogger(save_dir=str(run_dir / "logs"), name="lightning_logs", version=0),
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    return kwargs


def _spawn_pickles_by_value() -> None:
    """``ddp_spawn`` pickles the module, data and callbacks into fresh interpreters with the
    standard pickler, which cannot name a class or function that came here by value (one
    defined inside a test, or in ``__main__``): those travel by value again (cloudpickle)."""
    from multiprocessing.reduction import ForkingPickler

    import cloudpickle
    from cloudpickle import cloudpickle as internals

    by_reference = getattr(internals, "_should_pickle_by_reference", None)
    if by_reference is None:  # another cloudpickle: leave the standard pickler alone
        return

    def reducer_override(self: Any, obj: Any) -> Any:
        if isinstance(obj, type | types.FunctionType) and not by_reference(obj):
            return pickle.loads, (cloudpickle.dumps(obj),)
        return NotImplemented

    ForkingPickler.reducer_override = reducer_override  # type: ignore[method-assign]


def main(argv: Sequence[str] | None = None) -> None:
    """One run of a job in this process (and the ranks its Trainer starts).

    Run as ``python -m``, this file is ``__main__``; the work is done by the module imported
    by its real name, so the classes it makes pickle by that name into spawned workers.
    """
    parser = argparse.ArgumentParser(prog=f"python -m {__name__}")
    parser.add_argument("job", type=Path)
    parser.add_argument("checkpoint_dir", type=Path)
    parser.add_argument("--resume-from", type=Path, default=None)
    args = parser.parse_args(argv)
    import cloudpickle

    from resumecheck.adapters.lightning import fit, lightning_package
    from resumecheck.engine.runner import isolated

    paths, payload = pickle.loads(args.job.read_bytes())  # a list and bytes: imports nothing
    sys.path[:] = [*paths, *(p for p in sys.path if p not in paths)]
    job: LightningJob = cloudpickle.loads(payload)
    _spawn_pickles_by_value()
    # Seeded as a one-process run is; the re-executed ranks of ``ddp`` start the same way.
    with isolated(job.seed):
        model = job.model()
        pl = lightning_package(model)
        data = job.data() if job.data is not None else None
        trainer = pl.Trainer(**_run_kwargs(job, pl, args.job.parent, args.checkpoint_dir))
        fit(job, trainer, model, data, args.resume_from)


if __name__ == "__main__":
    from resumecheck.adapters import lightning_ddp

    lightning_ddp.main()
