"""The twin of ``broken_resume_from_checkpoint``: resume with ``fit(ckpt_path=...)``.

``trainer.fit(model, data, ckpt_path=path)`` restores weights, optimizer, LR scheduler, loop
counters and callback states. With dropout and shuffled data it is exact only with the fix
kit: ``RngStateCallback`` for the global RNGs and ``ResumableDataLoader`` for the order.
"""

from __future__ import annotations

from typing import Any

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common

EXPECTED = None
KILLS = [_common.MID_EPOCH, _common.LAST_BATCH_OF_EPOCH, _common.FIRST_BATCH_OF_EPOCH]


def resume(trainer: Any, model: Any, data: Any, ckpt_path: str) -> None:
    trainer.fit(model, data, ckpt_path=ckpt_path)


def job() -> rc.LightningJob:
    return rc.LightningJob(
        lambda: _common.Net(dropout=0.3),
        _common.resumable_loader,
        {"max_epochs": _common.EPOCHS, "callbacks": [RngStateCallback()]},
        resume=resume,
    )
