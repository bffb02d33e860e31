"""The twin of ``broken_numpy_in_checkpoint``: ``RngStateCallback`` stores the numpy state as
a tensor and plain values, which ``weights_only=True`` loads, and restores it exactly."""

from __future__ import annotations

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common
from scenarios.broken_numpy_in_checkpoint import NumpyJitter

EXPECTED = None
KILLS = [_common.MID_EPOCH, _common.LAST_BATCH_OF_EPOCH]


def job() -> rc.LightningJob:
    return _common.lightning_job(
        NumpyJitter, lambda: _common.resumable_loader(False), callbacks=[RngStateCallback()]
    )
