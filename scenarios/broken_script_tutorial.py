"""The tutorial's plain loop as an unmodified argparse script, checked with ``ScriptJob``.

What users do: ``python train.py --out DIR`` saves epoch, model and optimizer at every epoch
end, and ``--resume`` goes on at the next epoch; dropout and ``DataLoader(shuffle=True)``.
Why it breaks: no RNG state is saved, so the resumed epoch is shuffled in another order
(``DATA_ORDER``; dropout masks differ too).
Fix: the fix kit's ``save_training_state``/``ResumableDataLoader`` (``fixed_script_tutorial``).
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = rc.Kind.DATA_ORDER
KILLS = [8]  # the end of epoch 0, where the first checkpoint is
MODE = "sigkill"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(
        _scripts.python("tutorial.py", "--out={checkpoint_dir}"), resume=["--resume"]
    )
