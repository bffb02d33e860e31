"""The twin of ``broken_dropout_without_rng_state``: ``RngStateCallback`` restores the RNGs.

The callback stores torch (and CUDA), numpy and Python RNG states in every checkpoint, in a
form ``torch.load(weights_only=True)`` accepts, and restores them before the resumed run's
first draw: at load time for an epoch-end checkpoint (the resumed run's new DataLoader
iterator then draws what the original one drew), in ``on_train_start`` for a mid-epoch one.
"""

from __future__ import annotations

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common

EXPECTED = None
KILLS = [_common.MID_EPOCH, _common.LAST_BATCH_OF_EPOCH, _common.FIRST_BATCH_OF_EPOCH]


def job() -> rc.LightningJob:
    return _common.lightning_job(
        lambda: _common.Net(dropout=0.5),
        lambda: _common.resumable_loader(shuffle=False),
        callbacks=[RngStateCallback()],
    )
