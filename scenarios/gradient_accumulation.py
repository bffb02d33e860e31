"""Gradient accumulation (``accumulate_grad_batches=2``) killed between optimizer steps.

What users fear: a kill between the two micro-batches of an accumulation window loses the
half-accumulated gradient, or the resumed run accumulates across the wrong batches.
What happens (Lightning 2.6): checkpoints are written only after an optimizer step, so a
resume always restarts at a window boundary and replays whole windows; with a resumable loader
and the RNG callback the resume is exact, mid-epoch and at epoch ends.
"""

from __future__ import annotations

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common

EXPECTED = None
# 4 optimizer steps per epoch: 1 and 5 are mid-epoch, 4 is the last step of epoch 0.
KILLS = [1, 4, 5]


def job() -> rc.LightningJob:
    return _common.lightning_job(
        lambda: _common.Net(dropout=0.3),
        _common.resumable_loader,
        callbacks=[RngStateCallback()],
        accumulate_grad_batches=2,
    )
