"""The twin of ``broken_mid_epoch_plain_dataloader``: shuffled data, exact at any kill.

``ResumableDataLoader`` shuffles with a permutation seeded by ``(seed, epoch)``, never draws
from the global RNG, and Lightning checkpoints its position (batches handed out in the
current epoch). Killed mid-epoch, at the last batch of an epoch and at the first batch of
the next, the resumed run feeds the very same batches.
"""

from __future__ import annotations

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common

EXPECTED = None
KILLS = [_common.MID_EPOCH, _common.LAST_BATCH_OF_EPOCH, _common.FIRST_BATCH_OF_EPOCH]


def job() -> rc.LightningJob:
    return _common.lightning_job(data=_common.resumable_loader, callbacks=[RngStateCallback()])
