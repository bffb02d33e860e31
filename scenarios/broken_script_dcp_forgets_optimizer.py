"""A DCP loop that checkpoints the model but not the optimizer.

What users do: ``dcp.save({"model": model_state, "step": step}, checkpoint_id=...)`` with
``get_state_dict``, and ``set_state_dict`` on resume: the weights and the step come back.
Why it breaks: Adam's moments (``exp_avg``, ``exp_avg_sq``) and its step count restart from
zero, so the resumed run's updates differ from the first step on: ``OPTIMIZER`` right after
the restore, on every rank.
Fix: save and load the optimizer state dict too (``fixed_script_dcp_loop``).
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = rc.Kind.OPTIMIZER
KILLS = [6]
MODE = "sigkill"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(
        _scripts.torchrun("ddp_loop.py", "--out={checkpoint_dir}", "--dcp", "--forget_optimizer"),
        resume="--resume={resume_from}",
    )
