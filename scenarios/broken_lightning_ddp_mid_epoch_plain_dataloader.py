"""Lightning ``ddp`` on 2 CPU ranks, resumed mid-epoch with a plain ``DataLoader``.

What users do: ``Trainer(strategy="ddp", devices=2)``, checkpoints every step, an ordinary
``DataLoader``; Lightning gives each rank a ``DistributedSampler`` and calls ``set_epoch``.
Why it breaks: as in one process, Lightning cannot fast-forward a loader without
``state_dict``: after a resume at step 6 (the middle of the second epoch) each rank restarts
the epoch at its first batch while the step counter carries on, so rank 0 is fed step 5's
batch again at step 7, and every rank trains on its share of the epoch twice over.
Fix: a loader Lightning can checkpoint (torchdata's ``StatefulDataLoader``, fixed by
``resumecheck.fixkit.torchdata``), or checkpoints at epoch ends only
(``lightning_ddp_epoch_end``).
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _common

EXPECTED = rc.Kind.DATA_ORDER
KILLS = [6]
MODE = "sigkill"


def job() -> rc.LightningJob:
    return _common.lightning_job(
        data=_common.plain_loader, strategy="ddp", devices=2, accelerator="cpu"
    )
