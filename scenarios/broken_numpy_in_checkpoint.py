"""numpy objects in checkpoint state, loaded by torch >= 2.6.

What users do: save ``np.random.get_state()`` (or any numpy array or scalar) from a
callback's ``state_dict`` so a numpy-based augmentation resumes exactly.
Why it breaks: since torch 2.6, ``torch.load`` defaults to ``weights_only=True``, whose
unpickler refuses numpy arrays and dtypes; Lightning's resume cannot read the checkpoint.
Fix: store tensors and plain Python values; ``RngStateCallback`` does this for every RNG
(``fixed_numpy_rng_state``).
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch

import resumecheck as rc
from scenarios import _common

EXPECTED = rc.Kind.UNLOADABLE_CHECKPOINT
KILLS = [_common.LAST_BATCH_OF_EPOCH]


class NumpyJitter(_common.Net):
    """Adds numpy-drawn noise to the inputs: a stand-in for numpy-based augmentation."""

    def loss(self, batch: Any) -> torch.Tensor:
        x, y = batch
        noise = torch.from_numpy(np.random.normal(0.0, 0.1, size=tuple(x.shape))).float()
        return super().loss((x + noise, y))


class NumpyRngState(pl.Callback):
    def state_dict(self) -> dict[str, Any]:
        return {"numpy_rng": np.random.get_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        np.random.set_state(state_dict["numpy_rng"])


def job() -> rc.LightningJob:
    return _common.lightning_job(NumpyJitter, callbacks=[NumpyRngState()])
