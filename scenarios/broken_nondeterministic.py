"""A job that is not deterministic to begin with: unseeded numpy noise.

What users do: ``np.random.default_rng()`` (no seed) for augmentation or noise.
Why it matters: two uninterrupted runs already differ, so no resume can be bit-identical;
resumecheck says so (``NONDETERMINISTIC``, from its control run) instead of blaming the resume.
Fix: seed every generator from the run's seed, and checkpoint generators you own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import resumecheck as rc
from scenarios import _common

EXPECTED = rc.Kind.NONDETERMINISTIC
KILLS = [_common.LAST_BATCH_OF_EPOCH]


class UnseededNoise(_common.Net):
    def __init__(self) -> None:
        super().__init__()
        self.rng = np.random.default_rng()  # seeded from the OS: differs every run

    def loss(self, batch: Any) -> torch.Tensor:
        x, y = batch
        noise = torch.from_numpy(self.rng.normal(0.0, 0.1, size=tuple(x.shape))).float()
        return super().loss((x + noise, y))


def job() -> rc.LightningJob:
    return _common.lightning_job(UnseededNoise)
