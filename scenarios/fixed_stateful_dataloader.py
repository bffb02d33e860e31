"""The torchdata recipe: the fix kit's ``StatefulDataLoader(shuffle=True)`` + ``RngStateCallback``.

``resumecheck.fixkit.torchdata.StatefulDataLoader`` is torchdata's loader with the epoch-end
fix (``broken_stateful_dataloader_epoch_end``). Lightning saves its position and sampler
state. Its ``RandomSampler`` seeds each epoch's permutation from the *global* torch RNG, so
the RNG callback is needed for kills at the end of an epoch: it restores the global RNG
before the resumed run starts the next epoch.

True verdict with dropout: ``RNG`` at an epoch-end kill, because the loaded torchdata loader
draws one number fewer from the global RNG than the original one (see
``resumecheck.fixkit.torchdata``); so this recipe is shown with a deterministic step, and
``fixed_mid_epoch_resumable_loader`` is the one to copy when the step uses randomness.
"""

from __future__ import annotations

from typing import Any

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from resumecheck.fixkit.torchdata import StatefulDataLoader
from scenarios import _common

EXPECTED = None
KILLS = [_common.MID_EPOCH, _common.LAST_BATCH_OF_EPOCH, _common.FIRST_BATCH_OF_EPOCH]


def loader() -> Any:
    return StatefulDataLoader(_common.dataset(), batch_size=8, shuffle=True)


def job() -> rc.LightningJob:
    return _common.lightning_job(data=loader, callbacks=[RngStateCallback()])
