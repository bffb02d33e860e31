"""A mid-epoch resume with a plain ``DataLoader``.

What users do: checkpoint every N steps (``ModelCheckpoint(every_n_train_steps=N)``) and feed
data with an ordinary ``DataLoader``.
Why it breaks: Lightning can only fast-forward loaders that have ``state_dict`` /
``load_state_dict``. A plain ``DataLoader`` restarts the epoch at batch 0 while ``batch_idx``
carries on, so the first batches of the epoch are seen twice and the last ones never.
Fix: ``resumecheck.fixkit.ResumableDataLoader`` (``fixed_mid_epoch_resumable_loader``), or
torchdata's ``StatefulDataLoader`` (``fixed_stateful_dataloader``).
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _common

EXPECTED = rc.Kind.DATA_ORDER
KILLS = [_common.MID_EPOCH]


def job() -> rc.LightningJob:
    return _common.lightning_job(data=_common.plain_loader)
