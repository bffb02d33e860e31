"""Runs a :class:`~resumecheck.TorchJob`: the user's loop drives, :class:`Run` records.

``Run`` is the handle a plain PyTorch training loop receives: where to checkpoint, what to
resume from, and ``step()`` to call after every optimizer step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from resumecheck.engine.recorder import Recorder
    from resumecheck.engine.runner import RunSpec
    from resumecheck.engine.snapshot import Snapshot
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
        self._keep_values = True

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
        """Record the step that just ended; the harness may kill the run here.

        Call it after ``optimizer.step()`` (and after any checkpoint this step writes, if the
        checkpoint should survive a kill at this step).
        """
        from resumecheck.engine import snapshot as snap

        rec = self._recorder
        record = rec.ensure_open()
        if batch is not None:
            record.batches.append(_batch_digest(batch))
        rec.set_loss(snap.value_entry(loss, True) if loss is not None else None)
        if model is not None:
            self._keep_values = snap.keep_values_for(model)
            if record.start is not None:
                _name_params(record.start, model)
        entries: dict[str, snap.Entry] = {}
        if model is not None:
            snap.add_module(entries, model, self._keep_values)
        snap.add_optimizers(entries, _as_list(optimizer), self._keep_values)
        snap.add_schedulers(entries, _as_list(scheduler))
        snap.add_rng(entries)
        if epoch is not None:
            record.epoch = epoch
        if batch_idx is not None:
            record.batch_idx = batch_idx
        record.metrics = snap.metric_entries(metrics or {})
        end = snap.Snapshot(entries)
        rec.trajectory.final = end
        rec.trajectory.final_metrics = record.metrics
        rec.close(end, reported_step=step)

    def _pre_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Snapshot the state the step starts from, as seen from the optimizer."""
        from resumecheck.engine import snapshot as snap

        entries: dict[str, snap.Entry] = {}
        for g, group in enumerate(optimizer.param_groups):
            for i, param in enumerate(group["params"]):
                entries[f"param.@{g}.{i}"] = snap.tensor_entry(param, self._keep_values)
        snap.add_optimizers(entries, [optimizer], self._keep_values)
        snap.add_rng(entries)
        positions = [p for group in optimizer.param_groups for p in group["params"]]
        self._recorder.open(snap.Snapshot(entries, positions), None, None)


def _batch_digest(batch: Any) -> str:
    from resumecheck.engine.recorder import batch_digest

    return batch_digest(batch)


def _name_params(start: Snapshot, model: torch.nn.Module) -> None:
    """Rename positional ``param.@g.i`` keys to the model's parameter names."""
    positions = start.positions
    if not positions:
        return
    names = {id(p): n for n, p in model.named_parameters()}
    flat = iter(positions)
    renamed: dict[str, Any] = {}
    for key, entry in start.entries.items():
        if key.startswith("param.@"):
            name = names.get(id(next(flat)))
            renamed[f"param.{name}" if name else key] = entry
        else:
            renamed[key] = entry
    start.entries = renamed
    start.positions = None


def run_torch_job(job: TorchJob, spec: RunSpec, recorder: Recorder) -> None:
    run = Run(spec.checkpoint_dir, spec.resume_from, recorder)
    recorder.on_pre_step = run._pre_step
    job.train(run)
