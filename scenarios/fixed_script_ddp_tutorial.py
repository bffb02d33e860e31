"""The twin of ``broken_script_ddp_tutorial``: the snapshot stores the next epoch to run.

Two ranks under ``torchrun`` with a ``DistributedSampler`` and ``set_epoch``; rank 0 saves
atomically at each epoch end. Killed at an epoch end (every rank at once, like a lost node),
the job resumes exactly on both ranks.
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = None
KILLS = [8]
MODE = "sigkill"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(
        _scripts.torchrun("ddp_tutorial.py", "--snapshot={checkpoint_dir}/s.pt", "--fixed")
    )
