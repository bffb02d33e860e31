"""``Model.load_from_checkpoint(path)`` followed by ``trainer.fit(model)``.

What users do: load the weights (and hyperparameters) from the checkpoint, then fit again.
Why it breaks: ``load_from_checkpoint`` restores the weights only; ``fit`` without
``ckpt_path`` starts at epoch 0, step 0, with a fresh optimizer and scheduler, so the epochs
already done are trained again.
Fix: ``trainer.fit(model, data, ckpt_path=path)`` with a freshly built model.
"""

from __future__ import annotations

from typing import Any

import resumecheck as rc
from scenarios import _common

EXPECTED = rc.Kind.PROGRESS
KILLS = [_common.LAST_BATCH_OF_EPOCH]


def resume(trainer: Any, model: Any, data: Any, ckpt_path: str) -> None:
    trainer.fit(_common.Net.load_from_checkpoint(ckpt_path), data)


def job() -> rc.LightningJob:
    return rc.LightningJob(
        _common.Net, _common.plain_loader, {"max_epochs": _common.EPOCHS}, resume=resume
    )
