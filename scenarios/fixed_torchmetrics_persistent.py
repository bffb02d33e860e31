"""The twin of ``broken_torchmetrics_mid_epoch``: ``metric.persistent(True)``.

Persistent metric states are part of the module's ``state_dict``, so the checkpoint carries
the running sums and a mid-epoch resume logs the same values. The metric is reset at
``batch_idx == 0`` rather than in an epoch hook: see ``broken_epoch_end_hook_skipped``.
"""

from __future__ import annotations

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common
from scenarios.broken_torchmetrics_mid_epoch import RunningLoss

EXPECTED = None
KILLS = [_common.MID_EPOCH, _common.LAST_BATCH_OF_EPOCH, _common.FIRST_BATCH_OF_EPOCH]


def job() -> rc.LightningJob:
    return _common.lightning_job(
        lambda: RunningLoss(persistent=True),
        _common.resumable_loader,
        callbacks=[RngStateCallback()],
    )
