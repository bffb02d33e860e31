"""A callback with state but no ``state_dict``: an EMA of the weights.

What users do: keep an exponential moving average of the weights in a callback, updated
after every batch, and copy it into the model when training ends.
Why it breaks: Lightning checkpoints a callback's state only through its ``state_dict`` /
``load_state_dict``. The resumed run starts the average again from the current weights, so
the final (averaged) weights differ.
Fix: give the callback ``state_dict`` and ``load_state_dict`` (``fixed_callback_with_state_dict``).
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common

EXPECTED = rc.Kind.WEIGHTS
KILLS = [_common.LAST_BATCH_OF_EPOCH]


class EMA(pl.Callback):
    """Averages the weights; installs the average at the end of training."""

    def __init__(self, decay: float = 0.9) -> None:
        self.decay = decay
        self.average: dict[str, torch.Tensor] = {}

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        with torch.no_grad():
            for name, param in pl_module.named_parameters():
                if name not in self.average:
                    self.average[name] = param.detach().clone()
                else:
                    self.average[name].mul_(self.decay).add_(param.detach(), alpha=1 - self.decay)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        with torch.no_grad():
            for name, param in pl_module.named_parameters():
                param.copy_(self.average[name])


def job() -> rc.LightningJob:
    # RngStateCallback keeps the RNG out of the picture (an RNG that differs after the resume
    # would be reported as the cause, though this job draws no random numbers).
    return _common.lightning_job(callbacks=[EMA(), RngStateCallback()])
