"""Lightning ``ddp`` on 2 CPU ranks, checkpointed at every epoch end, killed at an epoch end.

What users do: ``Trainer(strategy="ddp", devices=2)`` with ``ModelCheckpoint(every_n_epochs=1)``
and ``fit(ckpt_path=...)`` to resume. Lightning re-executes the program for rank 1; resumecheck
runs the job as a child command of its own, so rank 1 is never the test runner run again.
Both ranks die together after step 8 (the end of the second epoch: 4 steps per rank per
epoch) and the resume is exact on each of them, judged rank by rank.
"""

from __future__ import annotations

import lightning.pytorch as pl

import resumecheck as rc
from scenarios import _common

EXPECTED = None
KILLS = [8]
MODE = "sigkill"


def job() -> rc.LightningJob:
    return _common.lightning_job(
        strategy="ddp",
        devices=2,
        accelerator="cpu",
        callbacks=[pl.callbacks.ModelCheckpoint(every_n_epochs=1)],
    )
