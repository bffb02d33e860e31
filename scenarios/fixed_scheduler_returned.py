"""The twin of ``broken_scheduler_stepped_by_hand``: the scheduler is returned to Lightning.

Lightning steps it (every epoch by default) and saves its ``state_dict`` in the checkpoint.
"""

from __future__ import annotations

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common

EXPECTED = None
KILLS = [_common.LAST_BATCH_OF_EPOCH]


def job() -> rc.LightningJob:
    return _common.lightning_job(callbacks=[RngStateCallback()])
