"""A Lightning Fabric loop whose ``fabric.save`` checkpoint leaves out the global RNG state.

What users do: ``fabric.save(path, {"model": model, "optimizer": optimizer, "step": step})``
every step and ``fabric.load(path, state)`` to resume, with dropout in the model.
Why it breaks: model, optimizer and step come back, but the resumed run draws dropout masks
from a freshly seeded generator: the same batch gives other gradients (``RNG``).
Fix: put ``torch.get_rng_state()`` in the saved state and restore it
(``fixed_script_fabric_loop``), or use ``lightning.fabric``'s ``seed_everything`` per step.
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import _scripts

EXPECTED = rc.Kind.RNG
KILLS = [5]
MODE = "sigkill"


def job() -> rc.ScriptJob:
    return rc.ScriptJob(
        _scripts.python("fabric_loop.py", "--ckpt_dir={checkpoint_dir}", "--no-rng"),
        resume=["--resume={resume_from}"],
    )
