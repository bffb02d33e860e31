"""An elastic resume: an FSDP2 + DCP job trained on 2 ranks resumes on 1 (``resume_nproc=1``).

Each rank holds a dim-0 shard of every parameter and optimizer state (``fully_shard``); the job
keeps its global batch fixed (each rank takes its share) and DCP reshards the checkpoint for
the new world size. What is compared is what must not depend on the world size, with every
run seen as one (the ranks' shards put back together): the restored weights and optimizer
state (exactly), the optimizer step count, the samples fed after the resume (as a set over
all ranks), and the later weights within a float tolerance (averaging gradients over 1 rank
instead of 2 rounds differently). It passes, and the report says what it compared.
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = None
KILLS = [6]
MODE = "sigkill"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(
        _scripts.torchrun("ddp_loop.py", "--out={checkpoint_dir}", "--dcp", "--fsdp"),
        resume="--resume={resume_from}",
        resume_nproc=1,
    )
