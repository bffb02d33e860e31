"""nanoGPT's data pattern: batches at random offsets, a checkpoint with no RNG state.

What users do: seed torch once at start (``torch.manual_seed(1337)``), draw batch offsets with
``torch.randint``, and save model, optimizer and iteration every few steps at the top of the
next iteration; ``--init_from=resume`` reloads them (karpathy/nanoGPT's ``train.py``).
Why it breaks: the resumed run seeds again and draws the first batches of a fresh run: step 9
is fed step 1's batch (``DATA_ORDER``: the data stream restarted).
Fix: save ``torch.get_rng_state()`` and the batch already drawn, restore both
(``fixed_script_random_offsets``).
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = rc.Kind.DATA_ORDER
KILLS = [9]
MODE = "sigkill"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(
        _scripts.python("random_offsets.py", "--out_dir={checkpoint_dir}"),
        resume="--init_from=resume",
        checkpoints="ckpt.pt",
    )
