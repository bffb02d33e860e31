"""A Lightning ``ddp`` training script launched as users launch it: ``python train.py``.

What users do: ``Trainer(strategy="ddp", devices=2, accelerator="cpu")`` in a script, a
``ModelCheckpoint(save_last=True)`` saving at epoch ends, ``--resume`` passing
``ckpt_path=last.ckpt`` to ``fit``. Lightning re-executes ``python train.py`` as rank 1: the
run forked from resumecheck's server stops as soon as that fresh process steps an optimizer,
and every run of the check is then a process tree of its own with both ranks observed, as
under ``torchrun``. Killed at the end of the second epoch (4 steps per rank per epoch), the
job resumes exactly on both ranks.
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = None
KILLS = [8]
MODE = "sigkill"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(
        _scripts.python("lightning_ddp.py", "--ckpt_dir={checkpoint_dir}"), resume="--resume"
    )
