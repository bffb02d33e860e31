"""SIGTERM preemption (SLURM, spot instances) with checkpoints only at epoch ends.

What users do: ``ModelCheckpoint(every_n_epochs=1)`` and rely on it when the scheduler sends
SIGTERM before killing the job.
Why it breaks: Lightning handles SIGTERM by stopping after the current batch, but writes no
checkpoint on the way out; a preemption in the middle of the first epoch leaves nothing to
resume from, and later ones lose the partial epoch.
Fix: add ``OnExceptionCheckpoint(dirpath=...)``, which saves when the run stops on the
signal (``fixed_sigterm_on_exception_checkpoint``).
"""

from __future__ import annotations

from lightning.pytorch.callbacks import ModelCheckpoint

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common

EXPECTED = rc.Kind.NO_CHECKPOINT
KILLS = [_common.MID_EPOCH]
MODE = "sigterm"


def job() -> rc.LightningJob:
    return _common.lightning_job(
        data=_common.resumable_loader,
        callbacks=[ModelCheckpoint(every_n_epochs=1), RngStateCallback()],
    )
