"""``fit(ckpt_path="last")`` with a ``ModelCheckpoint`` that has no ``save_last``.

What users do: always resume with ``ckpt_path="last"``, expecting "the newest checkpoint".
Why it breaks: ``"last"`` means the ``last.ckpt`` that ``ModelCheckpoint(save_last=True)``
writes. Without it Lightning finds no such file, warns, and trains from scratch.
Fix: ``ModelCheckpoint(..., save_last=True)`` (``fixed_ckpt_path_last_with_save_last``), or
pass the checkpoint's path.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import ModelCheckpoint

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common

EXPECTED = rc.Kind.NOT_RESTORED
KILLS = [_common.LAST_BATCH_OF_EPOCH]


def resume(trainer: Any, model: Any, data: Any, ckpt_path: str) -> None:
    trainer.fit(model, data, ckpt_path="last")


def job(save_last: bool = False) -> rc.LightningJob:
    checkpoint = ModelCheckpoint(every_n_train_steps=1, save_top_k=-1, save_last=save_last)
    return rc.LightningJob(
        _common.Net,
        _common.plain_loader,
        {"max_epochs": _common.EPOCHS, "callbacks": [checkpoint, RngStateCallback()]},
        resume=resume,
    )
