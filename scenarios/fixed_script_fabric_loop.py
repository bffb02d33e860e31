"""A Lightning Fabric loop checkpointing with ``fabric.save``/``fabric.load``, as a script.

What users do: ``state = {"model": model, "optimizer": optimizer, "step": step}``,
``fabric.save(path, state)`` every step, and ``fabric.load(path, state)`` to resume. Fabric
restores the model and optimizer in place; the script adds the global RNG state (dropout) and
takes its data order from the step number, so every resume is exact.
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = None
KILLS = [3, [5, 9]]
MODE = "sigkill"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(
        _scripts.python("fabric_loop.py", "--ckpt_dir={checkpoint_dir}"),
        resume=["--resume={resume_from}"],
    )
