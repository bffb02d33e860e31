"""A torchmetrics accumulator logged across a mid-epoch resume.

What users do: ``self.running.update(loss); self.log("running_loss", self.running.compute())``
with a ``torchmetrics.MeanMetric`` reset at the first batch of every epoch.
Why it breaks: metric states are not persistent by default: they are not in the module's
``state_dict`` and so not in the checkpoint. Resumed mid-epoch, the mean restarts from the
resumed batch, and every logged value until the epoch ends differs. (The data order is made
exact with ``ResumableDataLoader`` here, so the metric is the only difference.)
Fix: ``self.running.persistent(True)`` (``fixed_torchmetrics_persistent``).
"""

from __future__ import annotations

from typing import Any

import torch
import torchmetrics

import resumecheck as rc
from scenarios import _common

EXPECTED = rc.Kind.METRICS
KILLS = [_common.MID_EPOCH]


class RunningLoss(_common.Net):
    def __init__(self, persistent: bool = False, reset_at_epoch_end: bool = False) -> None:
        super().__init__()
        self.running = torchmetrics.MeanMetric()
        self.running.persistent(persistent)
        self.reset_at_epoch_end = reset_at_epoch_end

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        # Reset here, not in an epoch hook: see broken_epoch_end_hook_skipped.
        if batch_idx == 0 and not self.reset_at_epoch_end:
            self.running.reset()
        loss = self.loss(batch)
        self.running.update(loss.detach())
        self.log("running_loss", self.running.compute())
        return loss

    def on_train_epoch_end(self) -> None:
        if self.reset_at_epoch_end:
            self.running.reset()


def job() -> rc.LightningJob:
    return _common.lightning_job(RunningLoss, _common.resumable_loader)
