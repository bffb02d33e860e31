"""Epoch hooks are skipped when resuming from a checkpoint taken at the last batch of an epoch.

What users do: reset accumulators (here a persistent torchmetrics mean) or update state in
``on_train_epoch_end``, and checkpoint every N steps.
Why it breaks (Lightning 2.6): ``ModelCheckpoint(every_n_train_steps=...)`` saves in
``on_train_batch_end``, before the epoch-end hooks run. Resumed from that checkpoint,
Lightning runs neither ``on_train_epoch_end`` of the finished epoch nor
``on_train_epoch_start`` of the next one (found by resumecheck: moving the reset to
``on_train_epoch_start`` fails the same way), so the accumulator is not reset and the next
epoch logs different values.
Fix: reset at ``batch_idx == 0`` in ``training_step`` (``fixed_torchmetrics_persistent``), or
checkpoint at epoch ends with ``ModelCheckpoint(every_n_epochs=1)``, which saves after the
module's ``on_train_epoch_end``.
"""

from __future__ import annotations

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common
from scenarios.broken_torchmetrics_mid_epoch import RunningLoss

EXPECTED = rc.Kind.METRICS
KILLS = [_common.LAST_BATCH_OF_EPOCH]


def job() -> rc.LightningJob:
    return _common.lightning_job(
        lambda: RunningLoss(persistent=True, reset_at_epoch_end=True),
        _common.resumable_loader,
        callbacks=[RngStateCallback()],
    )
