"""A ``torchrun`` loop checkpointing with ``torch.distributed.checkpoint`` (DCP), killed in the
middle of writing a shard.

Two ranks save ``step-N/`` every step with ``dcp.save`` (model and optimizer state from
``get_state_dict``, and the step) and resume with ``dcp.load`` + ``set_state_dict``. The kill
for step 6 lands part-way through the shards of ``step-6/``, before its ``.metadata`` exists:
that directory is no checkpoint, so the job resumes from ``step-5/``, exactly, on both ranks.
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = None
KILLS = [6]
MODE = "midwrite"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(
        _scripts.torchrun("ddp_loop.py", "--out={checkpoint_dir}", "--dcp"),
        resume="--resume={resume_from}",
    )
