"""Runs a :class:`~resumecheck.LightningJob` with a recording callback.

Works with both package names, ``lightning.pytorch`` and ``pytorch_lightning``: the package
is the one the job's LightningModule comes from.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import torch

from resumecheck.adapters.lightning_facts import lightning_facts
from resumecheck.adapters.lightning_logger import run_loggers, watch_self_log
from resumecheck.engine import snapshot as snap

if TYPE_CHECKING:
    from resumecheck.engine.recorder import Recorder
    from resumecheck.engine.runner import RunSpec
    from resumecheck.jobs import LightningJob

STATE_KEY = "ResumecheckRecorder"
_CALLBACK_CLASSES: dict[str, type] = {}
_CHECKPOINT_CLASSES: dict[str, type] = {}


def lightning_package(model: Any) -> ModuleType:
    """``lightning.pytorch`` or ``pytorch_lightning``, whichever the module derives from."""
    for cls in type(model).__mro__:
        if cls.__module__.startswith("pytorch_lightning"):
            return importlib.import_module("pytorch_lightning")
    return importlib.import_module("lightning.pytorch")


def _lightning_snapshot(
    trainer: Any, module: torch.nn.Module, rng: bool = True, full: bool = True
) -> snap.Snapshot:
    entries: dict[str, snap.Entry] = {}
    keep = snap.keep_values_for(module)
    snap.add_module(entries, module, keep)
    snap.add_optimizers(entries, trainer.optimizers, keep, full)
    snap.add_schedulers(entries, [c.scheduler for c in trainer.lr_scheduler_configs])
    if rng:
        snap.add_rng(entries)
    return snap.Snapshot(entries, full=full)


def _loss_of(outputs: Any) -> Any:
    if isinstance(outputs, Mapping):
        return outputs.get("loss")
    return outputs if isinstance(outputs, torch.Tensor) else None


def recorder_callback_class(pl: ModuleType) -> type:
    """The recording callback, subclassing the right package's ``Callback``."""
    if pl.__name__ in _CALLBACK_CLASSES:
        return _CALLBACK_CLASSES[pl.__name__]

    class ResumecheckRecorder(pl.Callback):  # type: ignore[misc,name-defined]
        """Snapshots state between optimizer steps and kills the run after the planned one."""

        def __init__(self, recorder: Recorder) -> None:
            self.recorder = recorder

        @property
        def state_key(self) -> str:
            return STATE_KEY

        def state_dict(self) -> dict[str, Any]:
            # Stored in every checkpoint, so the harness knows which step it holds.
            return {"completed_steps": self.recorder.completed_steps()}

        def load_state_dict(self, state_dict: dict[str, Any]) -> None:
            self.recorder.trajectory.claimed_checkpoint_step = state_dict.get("completed_steps")

        def _close(self, trainer: Any, module: Any) -> snap.Snapshot | None:
            # Logged values were added to the step as they were logged (lightning_logger).
            def end(full: bool) -> snap.Snapshot:
                return _lightning_snapshot(trainer, module, full=full)

            record = self.recorder.close(end, global_step=trainer.global_step)
            return record.end

        def setup(self, trainer: Any, module: Any, stage: str) -> None:
            # The module being fit (a job's resume may build its own, e.g. load_from_checkpoint).
            watch_self_log(module, self.recorder)

        def on_train_start(self, trainer: Any, module: Any) -> None:
            self.recorder.trajectory.facts = lightning_facts(trainer, module)

        def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, idx: int) -> None:
            rec = self.recorder
            if rec.open_step is None:
                rec.open(_lightning_snapshot(trainer, module), trainer.current_epoch, idx)
            elif rec.stepped_since_open:
                start = self._close(trainer, module)  # may kill the run here
                rec.open(start, trainer.current_epoch, idx)
            rec.add_batch(batch)

        def on_train_batch_end(
            self, trainer: Any, module: Any, outputs: Any, batch: Any, idx: int
        ) -> None:
            loss = _loss_of(outputs)
            if loss is not None:
                self.recorder.set_loss(snap.tensor_entry(loss, True))

        def on_train_end(self, trainer: Any, module: Any) -> None:
            if self.recorder.open_step is not None and self.recorder.stepped_since_open:
                self._close(trainer, module)

    _CALLBACK_CLASSES[pl.__name__] = ResumecheckRecorder
    return ResumecheckRecorder


def harness_checkpoint_class(pl: ModuleType) -> type:
    """The checkpoint callback the harness adds to a job that has none: a ``ModelCheckpoint``
    that saves only after the steps a kill will resume from (every step when not told)."""
    if pl.__name__ in _CHECKPOINT_CLASSES:
        return _CHECKPOINT_CLASSES[pl.__name__]

    class ResumecheckCheckpoint(pl.callbacks.ModelCheckpoint):  # type: ignore[misc,name-defined]
        def __init__(self, recorder: Recorder, save_at: frozenset[int] | None, dirpath: str):
            # Saving every step: "link" makes last.ckpt a symlink to the newest file, one write
            # per save. Saving at kill points only, the newest file is the one to resume from.
            last = "link" if save_at is None else False
            super().__init__(dirpath=dirpath, every_n_train_steps=1, save_last=last)
            self._recorder = recorder
            self._save_at = save_at

        def on_train_batch_end(self, trainer: Any, *args: Any, **kwargs: Any) -> None:
            if self._save_at is None or self._recorder.completed_steps() in self._save_at:
                super().on_train_batch_end(trainer, *args, **kwargs)

    _CHECKPOINT_CLASSES[pl.__name__] = ResumecheckCheckpoint
    return ResumecheckCheckpoint


def _trainer_kwargs(
    job: LightningJob, spec: RunSpec, pl: ModuleType, recorder: Recorder
) -> dict[str, Any]:
    kwargs = dict(job.trainer() if callable(job.trainer) else job.trainer)
    user_callbacks = kwargs.pop("callbacks", None) or []
    if not isinstance(user_callbacks, list | tuple):
        user_callbacks = [user_callbacks]
    # Fresh callbacks per run: a callback's state must come from the checkpoint, not memory.
    callbacks = [copy.deepcopy(cb) for cb in user_callbacks]
    checkpointers = [cb for cb in callbacks if isinstance(cb, pl.callbacks.ModelCheckpoint)]
    on_exception = getattr(pl.callbacks, "OnExceptionCheckpoint", ())
    for cb in callbacks:
        if isinstance(cb, pl.callbacks.ModelCheckpoint | on_exception):
            cb.dirpath = str(spec.checkpoint_dir)
    if not checkpointers and kwargs.get("enable_checkpointing", True) is not False:
        checkpoint = harness_checkpoint_class(pl)
        callbacks.append(checkpoint(recorder, spec.save_at, str(spec.checkpoint_dir)))
    callbacks.insert(0, recorder_callback_class(pl)(recorder))
    kwargs.update(
        callbacks=callbacks,
        default_root_dir=str(spec.run_dir),
        logger=run_loggers(kwargs.get("logger", True), pl, spec.run_dir, recorder),
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    return kwargs


def fit(job: LightningJob, trainer: Any, model: Any, data: Any, resume_from: Path | None) -> None:
    """Train as the job's user does: ``data`` is a datamodule or a train loader; a resume goes
    through the job's own ``resume`` or ``fit(ckpt_path=...)``."""
    pl = lightning_package(model)
    fit_data: dict[str, Any] = {}
    if isinstance(data, pl.LightningDataModule):
        fit_data["datamodule"] = data
    elif data is not None:
        fit_data["train_dataloaders"] = data
    if resume_from is None:
        trainer.fit(model, **fit_data)
    elif job.resume is not None:
        job.resume(trainer, model, data, str(resume_from))
    else:
        trainer.fit(model, **fit_data, ckpt_path=str(resume_from))


def run_lightning_job(job: LightningJob, spec: RunSpec, recorder: Recorder) -> None:
    model = job.model()
    pl = lightning_package(model)
    data = job.data() if job.data is not None else None
    trainer = pl.Trainer(**_trainer_kwargs(job, spec, pl, recorder))
    fit(job, trainer, model, data, spec.resume_from)
    recorder.trajectory.final = _lightning_snapshot(trainer, trainer.lightning_module, rng=False)


def claimed_step(path: Path) -> int | None:
    """The harness step a Lightning checkpoint holds, as its recorder callback stored it.

    Read with ``weights_only=True``: the harness never unpickles a user's checkpoint (only the
    user's own resume code does, inside the run). A checkpoint holding other objects (custom
    hyperparameters) gives ``None``, and the harness uses the step it saw the file appear at.
    """
    from resumecheck.engine.safeload import load_weights_only

    ckpt = load_weights_only(path)
    if not isinstance(ckpt, dict):
        return None
    state = ckpt.get("callbacks", {})
    value = state.get(STATE_KEY, {}).get("completed_steps") if isinstance(state, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
