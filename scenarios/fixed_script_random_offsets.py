"""The twin of ``broken_script_random_offsets``: the checkpoint holds the RNG state and the
batch already drawn for the next iteration, so a resumed run draws what the uninterrupted one
draws. Kills between checkpoints resume from the last one and repeat the steps since, exactly.
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = None
KILLS = [4, 9, [6, 13]]
MODE = "sigkill"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(
        _scripts.python("random_offsets.py", "--out_dir={checkpoint_dir}", "--save_rng"),
        resume="--init_from=resume",
        checkpoints="ckpt.pt",
    )
