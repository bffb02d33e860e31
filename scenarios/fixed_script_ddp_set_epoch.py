"""A ``torchrun`` loop done right: ``DistributedSampler.set_epoch``, a rank-0 checkpoint every
step (model, optimizer, step; temp file + ``os.replace``), and a mid-epoch resume.

Two ranks on gloo train a DDP model with Adam; a resumed run loads ``{resume_from}`` on every
rank, sets the sampler's epoch from the step and skips the batches that epoch already fed.
Killed mid-epoch (step 6 of 4-step epochs), every rank at once, the job resumes exactly on
both ranks.
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = None
KILLS = [6]
MODE = "sigkill"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(
        _scripts.torchrun("ddp_loop.py", "--out={checkpoint_dir}"),
        resume="--resume={resume_from}",
        checkpoints="ckpt.pt",
    )
