"""Build resume-check jobs from the pieces a Lightning project already has.

Importing this module costs no torch: the classes you pass are only instantiated when a
check runs. Example (a complete test file is in the README's pytest section)::

    from resumecheck.pytest_plugin.helpers import lightning_job

    def test_resumes(resumecheck):
        resumecheck.check(lightning_job(MyModule, MyDataModule, model_kwargs={"lr": 0.01}))
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from resumecheck.jobs import LightningJob, ResumeFn

# Small and CPU-only by default, so a check takes seconds on any CI machine; pass
# trainer={...} to change any of these (e.g. {"accelerator": "gpu"}).
TRAINER_DEFAULTS: Mapping[str, Any] = {
    "accelerator": "cpu",
    "devices": 1,
    "limit_val_batches": 2,
    "enable_model_summary": False,
}


def lightning_job(
    model: Callable[..., Any],
    data: Callable[..., Any] | None = None,
    *,
    max_epochs: int = 2,
    limit_train_batches: int | float = 8,
    model_kwargs: Mapping[str, Any] | None = None,
    data_kwargs: Mapping[str, Any] | None = None,
    trainer: Mapping[str, Any] | None = None,
    seed: int = 0,
    resume: ResumeFn | None = None,
    name: str | None = None,
) -> LightningJob:
    """A :class:`~resumecheck.LightningJob` from a LightningModule class and a DataModule class.

    Every run builds fresh instances: ``model(**model_kwargs)`` and ``data(**data_kwargs)``.
    Training is cut down to ``max_epochs`` epochs of ``limit_train_batches`` batches, on CPU,
    so the check stays fast while still crossing an epoch boundary (kills land both
    mid-epoch and at epoch ends).

    Args:
        model: a LightningModule class, or any callable returning a fresh module.
        data: a LightningDataModule class, a callable returning a train DataLoader, or
            ``None`` when the module defines ``train_dataloader`` itself.
        max_epochs: epochs to train.
        limit_train_batches: batches per epoch (an int), or a fraction of the loader.
        model_kwargs: keyword arguments for ``model``.
        data_kwargs: keyword arguments for ``data``.
        trainer: more ``Trainer`` keyword arguments; they win over the defaults here
            (``TRAINER_DEFAULTS``, ``max_epochs``, ``limit_train_batches``).
        seed: seed for torch, numpy and ``random`` at the start of every run.
        resume: ``(trainer, model, data, ckpt_path) -> None`` if your project resumes some
            other way than ``trainer.fit(model, data, ckpt_path=ckpt_path)``.
        name: shown in reports; defaults to the module's name.

    >>> job = lightning_job(dict, max_epochs=3, trainer={"accelerator": "gpu"})
    >>> job.trainer["max_epochs"], job.trainer["accelerator"], job.name
    (3, 'gpu', 'dict')
    """
    trainer_args = {
        **TRAINER_DEFAULTS,
        "max_epochs": max_epochs,
        "limit_train_batches": limit_train_batches,
        **(trainer or {}),
    }
    return LightningJob(
        model=_bind(model, model_kwargs),
        data=None if data is None else _bind(data, data_kwargs),
        trainer=trainer_args,
        seed=seed,
        resume=resume,
        name=name or getattr(model, "__name__", None),
    )


def _bind(factory: Callable[..., Any], kwargs: Mapping[str, Any] | None) -> Callable[[], Any]:
    if not kwargs:
        return factory
    bound = functools.partial(factory, **kwargs)
    functools.update_wrapper(bound, factory)  # keeps __name__ for reports
    return bound
