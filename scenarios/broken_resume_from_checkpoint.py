"""Resuming with ``Trainer(resume_from_checkpoint=...)``, an argument Lightning 2.0 removed.

What users do: copy a Lightning 1.x recipe, ``Trainer(resume_from_checkpoint=path).fit(model)``.
Why it breaks: Lightning 2.x has no such argument; ``Trainer.__init__`` raises ``TypeError``,
so the resumed run crashes before training a single step.
Fix: ``trainer.fit(model, data, ckpt_path=path)`` (see ``fixed_fit_ckpt_path``).
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl

import resumecheck as rc
from scenarios import _common

EXPECTED = rc.Kind.RESUME_CRASH
KILLS = [_common.LAST_BATCH_OF_EPOCH]


def resume(trainer: Any, model: Any, data: Any, ckpt_path: str) -> None:
    old_style = pl.Trainer(max_epochs=_common.EPOCHS, resume_from_checkpoint=ckpt_path)  # type: ignore[call-arg]
    old_style.fit(model, data)


def job() -> rc.LightningJob:
    return rc.LightningJob(
        _common.Net, _common.plain_loader, {"max_epochs": _common.EPOCHS}, resume=resume
    )
