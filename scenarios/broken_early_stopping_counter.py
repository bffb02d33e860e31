"""A hand-written early-stopping callback whose patience counter is not checkpointed.

What users do: count epochs without improvement in a callback attribute and set
``trainer.should_stop`` once the count reaches the patience.
Why it breaks: the counter (and the best value) live only in memory; after a resume the
count starts again at 0, so training runs longer than the uninterrupted run did.
Fix: ``state_dict``/``load_state_dict`` on the callback, or Lightning's ``EarlyStopping``,
which has them.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl

import resumecheck as rc
from scenarios import _common

EXPECTED = rc.Kind.PROGRESS
KILLS = [_common.LAST_BATCH_OF_EPOCH]


class PatienceCounter(pl.Callback):
    """Stops after ``patience`` epochs; its "metric" never improves, to keep the job tiny."""

    def __init__(self, patience: int = 2) -> None:
        self.patience = patience
        self.bad_epochs = 0

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            trainer.should_stop = True


def job() -> rc.LightningJob:
    return _common.lightning_job(callbacks=[PatienceCounter()], max_epochs=4)
