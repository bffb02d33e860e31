"""Job descriptions: what to train, how to resume. Plain data; importing this costs no torch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resumecheck.adapters.torch_loop import Run

TrainerArgs = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
ResumeFn = Callable[[Any, Any, Any, str], None]


@dataclass(frozen=True)
class LightningJob:
    """A Lightning training job.

    Args:
        model: zero-arg callable returning a fresh LightningModule (a class works).
        data: zero-arg callable returning a LightningDataModule or a train DataLoader; ``None``
            when the module defines its own dataloaders.
        trainer: Trainer keyword arguments, or a zero-arg callable returning them. The harness
            overrides the checkpoint directory, logger and progress bar; callbacks are copied
            fresh for every run.
        seed: seed for torch, numpy and ``random`` at the start of every run.
        resume: ``(trainer, model, data, ckpt_path) -> None`` replacing the default
            ``trainer.fit(model, data, ckpt_path=ckpt_path)``.
        name: shown in reports; defaults to the model's name.
    """

    model: Callable[[], Any]
    data: Callable[[], Any] | None = None
    trainer: TrainerArgs = field(default_factory=dict)
    seed: int = 0
    resume: ResumeFn | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return str(self.name or getattr(self.model, "__name__", type(self.model).__name__))


@dataclass(frozen=True)
class TorchJob:
    """A plain PyTorch training loop: ``train(run)`` trains, checkpoints and calls ``run.step``.

    The loop resumes from ``run.resume_from`` when it is set, writes checkpoints under
    ``run.checkpoint_dir`` and calls ``run.step(...)`` after every optimizer step.
    """

    train: Callable[[Run], None]
    seed: int = 0
    name: str | None = None

    @property
    def label(self) -> str:
        return str(self.name or getattr(self.train, "__name__", "train"))


Job = LightningJob | TorchJob
