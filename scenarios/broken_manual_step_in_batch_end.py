"""Manual optimization that calls ``opt.step()`` in ``on_train_batch_end``.

What users do: set ``automatic_optimization = False`` and step the optimizer in a hook after
``training_step`` (e.g. to step once all per-batch bookkeeping is done).
Why it breaks: Lightning counts ``global_step`` from the ``LightningOptimizer`` steps taken
*inside* ``training_step``; stepping elsewhere leaves ``global_step`` at 0, so
``ModelCheckpoint(every_n_train_steps=...)`` never fires and a killed run leaves nothing.
Fix: call ``self.optimizers().step()`` inside ``training_step``
(``fixed_manual_step_in_training_step``).
"""

from __future__ import annotations

from typing import Any

import torch

import resumecheck as rc
from scenarios import _common

EXPECTED = rc.Kind.NO_CHECKPOINT
KILLS = [5]


class StepInBatchEnd(_common.Net):
    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = self.loss(batch)
        self.manual_backward(loss)
        return loss

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.05)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        opt = self.optimizers()
        opt.step()
        opt.zero_grad()


def job() -> rc.LightningJob:
    return _common.lightning_job(StepInBatchEnd)
