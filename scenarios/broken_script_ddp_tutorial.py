"""The PyTorch DDP tutorial's ``torchrun`` script: its snapshot stores the epoch just finished.

What users do (pytorch/examples ``ddp-tutorial-series/multigpu_torchrun.py``, here on CPU with
gloo): ``torchrun --nproc_per_node=2 train.py``; rank 0 saves ``{"MODEL_STATE": ...,
"EPOCHS_RUN": epoch}`` after each epoch, and a restarted job loads it and runs
``for epoch in range(epochs_run, max_epochs)``.
Why it breaks: ``EPOCHS_RUN`` is the epoch that just ended, so the resumed job trains it again:
step 9 is fed step 5's batch and the job makes 4 optimizer steps more than an uninterrupted one
(``PROGRESS``, on every rank).
Fix: store ``epoch + 1`` (``fixed_script_ddp_tutorial``).
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = rc.Kind.PROGRESS
KILLS = [8]  # the end of epoch 1 (4 steps per epoch on each of 2 ranks)
MODE = "sigkill"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(_scripts.torchrun("ddp_tutorial.py", "--snapshot={checkpoint_dir}/s.pt"))
