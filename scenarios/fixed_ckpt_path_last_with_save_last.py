"""The twin of ``broken_ckpt_path_last_without_save_last``: ``save_last=True``."""

from __future__ import annotations

import resumecheck as rc
from scenarios import _common
from scenarios.broken_ckpt_path_last_without_save_last import job as _job

EXPECTED = None
KILLS = [_common.LAST_BATCH_OF_EPOCH]


def job() -> rc.LightningJob:
    return _job(save_last=True)
