"""The twin of ``broken_lightning_second_resume``: ``ExactResumeCallback`` repairs the counters.

Resumed from the last batch of an epoch, Lightning 2.6 never marks the next epoch as started,
so that epoch's checkpoints record one epoch too few. ``ExactResumeCallback`` counts the epoch
as started when the resumed fit begins (and repairs such counters in a checkpoint as it is
loaded), so a second and a third resume from epoch ends continue where they should. It also
restores the global RNGs, so the dropout and the shuffled loader here stay exact.
"""

from __future__ import annotations

import resumecheck as rc
from resumecheck.fixkit import ExactResumeCallback
from scenarios import _common

EXPECTED = None
KILLS = [
    [_common.LAST_BATCH_OF_EPOCH, 2 * _common.LAST_BATCH_OF_EPOCH],
    [_common.LAST_BATCH_OF_EPOCH, 2 * _common.LAST_BATCH_OF_EPOCH - _common.MID_EPOCH],
    [_common.MID_EPOCH, _common.LAST_BATCH_OF_EPOCH, _common.FIRST_BATCH_OF_EPOCH + 8],
]


def job() -> rc.LightningJob:
    return _common.lightning_job(
        lambda: _common.Net(dropout=0.5),
        _common.resumable_loader,
        callbacks=[ExactResumeCallback()],
    )
