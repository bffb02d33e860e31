"""A restore that silently does nothing (the Lightning 2.0.6 report).

What happened: the checkpoint was loaded, but stored under a mistyped attribute, so every
``restore_*`` step found nothing to restore and returned quietly; training restarted from the
initial weights and nothing failed. Simulated here by patching the trainer's checkpoint
connector so the loaded checkpoint lands under ``_loaded_checkpont``.
Why it matters: loss curves of a from-scratch run look plausible; only a comparison with the
uninterrupted run shows it.
Fix: upgrade Lightning; resumecheck in CI catches any regression of this kind.
"""

from __future__ import annotations

from typing import Any

import resumecheck as rc
from scenarios import _common

EXPECTED = rc.Kind.NOT_RESTORED
KILLS = [_common.LAST_BATCH_OF_EPOCH]


def resume(trainer: Any, model: Any, data: Any, ckpt_path: str) -> None:
    connector = trainer._checkpoint_connector
    resume_start = connector.resume_start

    def mistyped_resume_start(*args: Any, **kwargs: Any) -> None:
        resume_start(*args, **kwargs)
        connector._loaded_checkpont = connector._loaded_checkpoint  # the typo
        connector._loaded_checkpoint = {}

    connector.resume_start = mistyped_resume_start
    trainer.fit(model, data, ckpt_path=ckpt_path)


def job() -> rc.LightningJob:
    return rc.LightningJob(
        _common.Net, _common.plain_loader, {"max_epochs": _common.EPOCHS}, resume=resume
    )
