"""Two resumes in a row, the first from the last batch of an epoch: Lightning repeats an epoch.

Found by resumecheck with the kill plan ``[8, 16]`` (Lightning 2.6.6). After resuming from the
checkpoint written at the last batch of epoch 0, the checkpoint written at the last batch of
epoch 1 records one epoch too few (``fit_loop.epoch_progress``), so a second resume from it
replays epoch 1. ``RngStateCallback`` restores the RNGs but not the counters;
``ExactResumeCallback`` repairs them too (``fixed_lightning_second_resume``).
"""

from __future__ import annotations

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common

EXPECTED = rc.Kind.PROGRESS
KILLS = [[_common.LAST_BATCH_OF_EPOCH, 2 * _common.LAST_BATCH_OF_EPOCH]]


def job() -> rc.LightningJob:
    return _common.lightning_job(data=_common.resumable_loader, callbacks=[RngStateCallback()])
