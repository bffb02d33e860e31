"""Runs a :class:`~resumecheck.TorchJob`: the user's loop drives, :class:`Run` records.

``Run`` is the handle a plain PyTorch training loop receives: where to checkpoint, what to
resume from, and ``step()`` to call after optimizer steps. The steps themselves, the batch
and the state are observed at the optimizer (:mod:`resumecheck.adapters.observer`), so where
the loop calls ``run.step`` changes nothing about kills or checkpoints: a step ends when the
next one starts, after anything the loop saved in between.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resumecheck.adapters.observer import Observer
from resumecheck.engine import snapshot as snap
from resumecheck.engine.recorder import batch_digest

if TYPE_CHECKING:
    import torch

    from resumecheck.engine.recorder import Recorder
    from resumecheck.engine.runner import RunSpec
    from resumecheck.jobs import TorchJob


def _as_list(obj: Any) -> list[Any]:
    if obj is None:
        return []
    return list(obj) if isinstance(obj, list | tuple) else [obj]


class Run:
    """One run of a :class:`~resumecheck.TorchJob`.

    Attributes:
        checkpoint_dir: the directory to write checkpoints into (shared by a killed run and
            the run that resumes it).
        resume_from: the newest checkpoint file the killed run left, or ``None`` for a fresh
            run.
    """

    def __init__(self, checkpoint_dir: Path, resume_from: Path | None, recorder: Recorder) -> None:
        self.checkpoint_dir = checkpoint_dir
        self.resume_from = resume_from
        self._recorder = recorder
        self._observer = Observer(recorder)

    def step(
        self,
        step: int,
        *,
        model: torch.nn.Module | None = None,
        optimizer: torch.optim.Optimizer | Sequence[torch.optim.Optimizer] | None = None,
        scheduler: Any = None,
        loss: Any = None,
        batch: Any = None,
        metrics: Mapping[str, Any] | None = None,
        epoch: int | None = None,
        batch_idx: int | None = None,
    ) -> None:
        """Tell the harness about the step that just ran: its number, loss, batch, metrics.

        Optional: steps are counted from ``optimizer.step()`` calls either way. Call it after
        ``optimizer.step()``, before or after the step's checkpoint: the run is killed when the
        next step starts, so a checkpoint saved in between always survives the kill.
        """
        obs = self._observer
        record = self._recorder.ensure_open()
        if model is not None:
            obs.add_root(model)
        for opt in _as_list(optimizer):
            obs.add_optimizer(opt)
        for sched in _as_list(scheduler):
            if not any(s is sched for s in obs.schedulers):
                obs.schedulers.append(sched)
        if batch is not None:
            record.batches.append(batch_digest(batch))
        if loss is not None:
            record.loss = snap.value_entry(loss, True)
        record.reported_step = step
        if epoch is not None:
            record.epoch = epoch
        if batch_idx is not None:
            record.batch_idx = batch_idx
        record.metrics = snap.metric_entries(metrics or {})


def run_torch_job(job: TorchJob, spec: RunSpec, recorder: Recorder) -> None:
    run = Run(spec.checkpoint_dir, spec.resume_from, recorder)
    job.train(run)
    recorder.finish()
    final = run._observer.snapshot(rng=False)
    run._observer.rename(final)
    recorder.trajectory.final = final
    last = recorder.trajectory.steps[-1] if recorder.trajectory.steps else None
    recorder.trajectory.final_metrics = last.metrics if last is not None else {}
