"""The twin of ``broken_sigterm_without_exception_checkpoint``: ``OnExceptionCheckpoint``.

On SIGTERM Lightning finishes the current batch and raises ``SIGTERMException``;
``OnExceptionCheckpoint`` saves a full checkpoint then, mid-epoch, and the resume from it is
exact with ``ResumableDataLoader`` and ``RngStateCallback``.
"""

from __future__ import annotations

from lightning.pytorch.callbacks import ModelCheckpoint, OnExceptionCheckpoint

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common

EXPECTED = None
KILLS = [_common.MID_EPOCH]
MODE = "sigterm"


def job() -> rc.LightningJob:
    return _common.lightning_job(
        data=_common.resumable_loader,
        callbacks=[
            ModelCheckpoint(every_n_epochs=1),
            OnExceptionCheckpoint(dirpath="."),  # the harness points it at its own directory
            RngStateCallback(),
        ],
    )
