"""An LR scheduler stepped by hand and not returned from ``configure_optimizers``.

What users do: build a scheduler in ``configure_optimizers``, keep it on ``self`` and call
``scheduler.step()`` in ``on_train_epoch_end``.
Why it breaks: Lightning checkpoints only the schedulers it was given. The resumed run builds
a fresh scheduler, so the learning rate jumps back to its initial value.
Fix: ``return [optimizer], [scheduler]`` and let Lightning step it (``fixed_scheduler_returned``).
"""

from __future__ import annotations

from typing import Any

import torch

import resumecheck as rc
from scenarios import _common

EXPECTED = rc.Kind.SCHEDULER
KILLS = [_common.LAST_BATCH_OF_EPOCH]


class HandStepped(_common.Net):
    def configure_optimizers(self) -> Any:
        opt = torch.optim.Adam(self.parameters(), lr=0.01)
        self.scheduler = torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
        return opt

    def on_train_epoch_end(self) -> None:
        self.scheduler.step()


def job() -> rc.LightningJob:
    return _common.lightning_job(HandStepped)
