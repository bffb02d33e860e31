"""Dropout (any randomness in the step) without the RNG state in the checkpoint.

What users do: train with dropout and resume with ``fit(ckpt_path=...)``.
Why it breaks: Lightning checkpoints weights, optimizer, schedulers and loops, but not the
global torch/numpy/Python RNG states. The resumed run draws different dropout masks, so its
weights drift from the uninterrupted run's after the first resumed step.
Fix: add ``resumecheck.fixkit.RngStateCallback()`` to the callbacks
(``fixed_dropout_rng_callback``).
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _common

EXPECTED = rc.Kind.RNG
KILLS = [_common.LAST_BATCH_OF_EPOCH]


def job() -> rc.LightningJob:
    return _common.lightning_job(lambda: _common.Net(dropout=0.5))
