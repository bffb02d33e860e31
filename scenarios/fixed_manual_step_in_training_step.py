"""The twin of ``broken_manual_step_in_batch_end``: step inside ``training_step``.

``self.optimizers()`` returns a ``LightningOptimizer`` whose ``step()`` advances
``global_step`` when called in ``training_step``, so ``ModelCheckpoint`` fires and the resume
is exact (with ``ResumableDataLoader`` for mid-epoch kills).
"""

from __future__ import annotations

from typing import Any

import torch

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common

EXPECTED = None
KILLS = [_common.MID_EPOCH, _common.LAST_BATCH_OF_EPOCH]


class StepInTrainingStep(_common.Net):
    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        opt = self.optimizers()
        loss = self.loss(batch)
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()
        return loss

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.05)


def job() -> rc.LightningJob:
    return _common.lightning_job(
        StepInTrainingStep, _common.resumable_loader, callbacks=[RngStateCallback()]
    )
