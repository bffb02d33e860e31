"""The fix kit: what to reach for once resumecheck has shown a resume divergence.

* :class:`ExactResumeCallback`: the one Lightning callback for exact resumes: global RNGs,
  the epoch counters Lightning 2.6 gets wrong after an epoch-end resume, and a warning when
  the training loader cannot resume mid-epoch
  (``resumecheck.fixkit.pytorch_lightning.ExactResumeCallback`` for ``pytorch_lightning``).
* :class:`RngStateCallback`: Lightning callback that checkpoints and exactly restores every
  global RNG (``resumecheck.fixkit.pytorch_lightning.RngStateCallback`` for the
  ``pytorch_lightning`` package name).
* :class:`ResumableDataLoader`: shuffled data whose order survives mid-epoch and epoch-end
  resumes; Lightning checkpoints it by itself.
* :func:`save_training_state` / :func:`load_training_state`: complete, atomic,
  ``weights_only``-loadable checkpoints for plain PyTorch loops.
* :func:`capture_rng_state` / :func:`restore_rng_state`: the RNG part on its own.

Importing this package imports torch; Lightning is imported only when the callback is used.
"""

from __future__ import annotations

from typing import Any

from resumecheck.fixkit.callback import rng_callback_class
from resumecheck.fixkit.data import ResumableDataLoader
from resumecheck.fixkit.exact import MidEpochResumeWarning, exact_callback_class
from resumecheck.fixkit.rng import capture_rng_state, restore_rng_state
from resumecheck.fixkit.state import load_training_state, save_training_state

__all__ = [
    "ExactResumeCallback",
    "MidEpochResumeWarning",
    "ResumableDataLoader",
    "RngStateCallback",
    "capture_rng_state",
    "exact_callback_class",
    "load_training_state",
    "restore_rng_state",
    "rng_callback_class",
    "save_training_state",
]


def __getattr__(name: str) -> Any:
    # Built on first use, so importing the fix kit does not import Lightning.
    if name == "RngStateCallback":
        return rng_callback_class("lightning.pytorch")
    if name == "ExactResumeCallback":
        return exact_callback_class("lightning.pytorch")
    raise AttributeError(f"module 'resumecheck.fixkit' has no attribute {name!r}")
