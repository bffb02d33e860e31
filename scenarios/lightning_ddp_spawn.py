"""Lightning ``ddp_spawn`` on 2 CPU ranks, killed at an epoch end.

What users do: ``Trainer(strategy="ddp_spawn", devices=2)``: Lightning pickles the Trainer
(callbacks included) into two spawned workers. resumecheck's own callback holds nothing and
pickles by name; every worker starts observed. Killed after step 4 (the first epoch end: 4
steps per rank per epoch), the job resumes exactly on both ranks.
"""

from __future__ import annotations

import lightning.pytorch as pl

import resumecheck as rc
from scenarios import _common

EXPECTED = None
KILLS = [4]
MODE = "sigkill"


def job() -> rc.LightningJob:
    return _common.lightning_job(
        strategy="ddp_spawn",
        devices=2,
        accelerator="cpu",
        callbacks=[pl.callbacks.ModelCheckpoint(every_n_epochs=1)],
    )
