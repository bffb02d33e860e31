"""The twin of ``broken_non_atomic_save``: ``save_training_state`` writes atomically.

The state goes to a dot-prefixed temporary file in the same directory, is flushed and
``fsync``-ed, then renamed over the checkpoint with ``os.replace``. Killed mid-write, the run
leaves the previous checkpoint intact, and the resume from it is exact.
"""

from __future__ import annotations

import resumecheck as rc
from scenarios import fixed_plain_loop_fixkit

EXPECTED = None
KILLS = [5]
MODE = "midwrite"


def job() -> rc.TorchJob:
    # The same loop as the fix kit's plain-loop twin, killed mid-write this time.
    return rc.TorchJob(fixed_plain_loop_fixkit.train)
