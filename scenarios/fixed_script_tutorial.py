"""The twin of ``broken_script_tutorial``: the same script on the fix kit (``--fixed``).

``save_training_state`` writes model, optimizer, the loader's position and every RNG state,
atomically, every step; ``ResumableDataLoader`` shuffles per epoch without the global RNG and
resumes mid-epoch. Kills mid-epoch, at an epoch end and twice in one plan all resume exactly.
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = None
KILLS = [3, 8, [5, 13]]
MODE = "sigkill"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(
        _scripts.python("tutorial.py", "--out={checkpoint_dir}", "--fixed"), resume=["--resume"]
    )
