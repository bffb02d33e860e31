"""A Lightning callback that checkpoints every global RNG and restores it at the right moment.

Lightning saves no global RNG state in its checkpoints, so dropout masks, augmentations and
``shuffle=True`` permutations differ after a resume. Saving the state is easy; restoring it
at the right moment is the point of this callback, because each DataLoader iterator draws its
base seed from the global torch RNG when it is created (and a ``RandomSampler`` without a
generator draws its permutation seed at the first fetch):

* **Checkpoint at an epoch end** (the last batch, ``on_train_epoch_end``, end-of-epoch
  validation): the uninterrupted run creates the next epoch's iterator *after* the checkpoint,
  so the state is restored as soon as the checkpoint is loaded, before the resumed
  ``fit`` creates its iterator. That iterator then draws exactly what the original one drew.
* **Checkpoint mid-epoch**: the uninterrupted run created this epoch's iterator long before
  the checkpoint; the resumed ``fit`` creates a new one (an extra draw), so the state is
  restored again in ``on_train_start``, after that draw and before the first resumed batch.

Validation inside ``fit`` draws from the global RNG too (its iterator's seed) but is skipped
on resume, so the callback gives the training stream back its state after each validation,
and keeps the RNG out of the validation a resumed fit skips (Lightning still creates that
validation's iterator). Lightning's sanity check is already isolated by Lightning.

The class exists once per Lightning package (``lightning.pytorch`` and ``pytorch_lightning``
have distinct ``Callback`` base classes); :func:`rng_callback_class` builds and caches it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from resumecheck.fixkit.rng import RngState, capture_rng_state, restore_rng_state

STATE_KEY = "RngStateCallback"
_CLASSES: dict[str, type] = {}


def rng_callback_class(package: str | ModuleType = "lightning.pytorch") -> type:
    """The RNG callback class for ``package`` (``"lightning.pytorch"`` or ``"pytorch_lightning"``).

    ``resumecheck.fixkit.RngStateCallback`` is the ``lightning.pytorch`` one and
    ``resumecheck.fixkit.pytorch_lightning.RngStateCallback`` the ``pytorch_lightning`` one.
    """
    pl = importlib.import_module(package) if isinstance(package, str) else package
    if pl.__name__ not in _CLASSES:
        _CLASSES[pl.__name__] = _build(pl)
    return _CLASSES[pl.__name__]


def _at_epoch_end(trainer: Any) -> bool:
    # True from the fetch of an epoch's last batch until the next epoch's first fetch: the
    # window in which Lightning resumes into a *new* epoch (and creates a new iterator).
    loop = trainer.fit_loop.epoch_loop
    return bool(loop.batch_progress.is_last_batch)


def _isolate_skipped_validation(trainer: Any) -> None:
    """Keep the global RNG out of the validation a resumed fit skips.

    Resumed from the checkpoint of an epoch's last batch (written before that epoch's
    validation), Lightning skips the validation but still creates its DataLoader iterator,
    which draws a seed from the global torch RNG (``increment_progress_to_evaluation_end``).
    The uninterrupted run's validation had that draw undone (``on_validation_end`` below), so
    the skipped one must not draw either.
    """
    val_loop: Any = getattr(getattr(trainer.fit_loop, "epoch_loop", None), "val_loop", None)
    skip = getattr(val_loop, "increment_progress_to_evaluation_end", None)
    if val_loop is None or skip is None or getattr(skip, "_rng_isolated", False):
        return

    def isolated() -> None:
        state = capture_rng_state()
        try:
            skip()
        finally:
            restore_rng_state(state)

    isolated._rng_isolated = True  # type: ignore[attr-defined]
    val_loop.increment_progress_to_evaluation_end = isolated


def _build(pl: ModuleType) -> type:
    class RngStateCallback(pl.Callback):  # type: ignore[misc,name-defined]
        """Saves torch/CUDA/numpy/Python RNG states in every checkpoint; restores them exactly.

        Add it to the Trainer's callbacks; it needs no arguments. The saved state loads with
        ``torch.load(..., weights_only=True)``.
        """

        def __init__(self) -> None:
            self._trainer: Any = None
            self._mid_epoch_state: RngState | None = None
            self._before_validation: RngState | None = None

        @property
        def state_key(self) -> str:
            return STATE_KEY

        def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
            self._trainer = trainer
            _isolate_skipped_validation(trainer)

        def state_dict(self) -> dict[str, Any]:
            at_end = self._trainer is not None and _at_epoch_end(self._trainer)
            return {"rng": capture_rng_state(), "epoch_end": at_end}

        def load_state_dict(self, state_dict: dict[str, Any]) -> None:
            rng = state_dict["rng"]
            # Restore now: for an epoch-end checkpoint the new iterator must draw from it.
            restore_rng_state(rng)
            self._mid_epoch_state = None if state_dict.get("epoch_end") else rng

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            # Mid-epoch: undo the resumed fit's extra iterator draw.
            if self._mid_epoch_state is not None:
                restore_rng_state(self._mid_epoch_state)
                self._mid_epoch_state = None

        def on_train_batch_end(
            self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
        ) -> None:
            # Validation (if any) runs right after this hook; the RNG it uses is given back.
            self._before_validation = capture_rng_state()

        def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
            if trainer.sanity_checking or self._before_validation is None:
                return
            restore_rng_state(self._before_validation)
            self._before_validation = None

    RngStateCallback.__module__ = __name__
    RngStateCallback.__qualname__ = "RngStateCallback"
    return RngStateCallback
