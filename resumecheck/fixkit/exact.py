"""``ExactResumeCallback``: one Lightning callback for what Lightning does not restore by itself.

It bundles three repairs:

* **Global RNGs**, exactly as :class:`~resumecheck.fixkit.RngStateCallback` does: every
  checkpoint carries the torch (CUDA), numpy and Python RNG states, restored at the moment the
  uninterrupted run would have had them (see :mod:`resumecheck.fixkit.callback`).
* **Epoch counters after an epoch-end resume** (Lightning 2.6). Resuming from a checkpoint
  written at the last batch of an epoch, Lightning counts the finished epoch but never marks
  the next one as started (``fit_loop.epoch_progress.{current,total}.{ready,started}`` stay one
  too low), and writes those counters into every checkpoint of that epoch. A second resume
  from one of them then trains that epoch again (``scenarios/broken_lightning_second_resume``).
  The callback marks the epoch started when the resumed fit begins (so its own checkpoints are
  right), and repairs such counters in a checkpoint as it is loaded (``on_load_checkpoint``
  runs before Lightning restores its loops), so files written without it resume right too.
* **A warning at fit start** when the training loader cannot resume mid-epoch (it has no
  ``state_dict``/``load_state_dict``, so Lightning restarts the epoch at its first batch):
  :class:`~resumecheck.fixkit.ResumableDataLoader` can.

The class exists once per Lightning package; :func:`exact_callback_class` builds and caches it.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import MutableMapping
from types import ModuleType
from typing import Any

from resumecheck.fixkit.callback import rng_callback_class
from resumecheck.fixkit.rng import capture_rng_state, restore_rng_state

STATE_KEY = "ExactResumeCallback"
_CLASSES: dict[str, type] = {}

NOT_RESUMABLE = (
    "ExactResumeCallback: the training loader {name} has no state_dict/load_state_dict, so a "
    "resume from a mid-epoch checkpoint restarts the epoch at its first batch (and a shuffled "
    "one feeds another order); use resumecheck.fixkit.ResumableDataLoader (or torchdata's "
    "StatefulDataLoader) for exact mid-epoch resumes"
)


class MidEpochResumeWarning(UserWarning):
    """The training loader cannot resume mid-epoch; named by :class:`ExactResumeCallback`."""


def exact_callback_class(package: str | ModuleType = "lightning.pytorch") -> type:
    """``ExactResumeCallback`` for ``package`` (``"lightning.pytorch"`` or ``"pytorch_lightning"``).

    ``resumecheck.fixkit.ExactResumeCallback`` is the ``lightning.pytorch`` one and
    ``resumecheck.fixkit.pytorch_lightning.ExactResumeCallback`` the ``pytorch_lightning`` one.
    """
    pl = importlib.import_module(package) if isinstance(package, str) else package
    if pl.__name__ not in _CLASSES:
        _CLASSES[pl.__name__] = _build(pl)
    return _CLASSES[pl.__name__]


def repair_epoch_progress(checkpoint: MutableMapping[str, Any]) -> bool:
    """Raise ``ready``/``started`` of a checkpoint's epoch progress where Lightning left them low.

    A checkpoint written inside epoch ``e`` (``checkpoint["epoch"] == e``) must count that epoch
    as ready and started: ``ready, started >= e + 1``. Lightning 2.6 leaves them at ``e`` after
    an epoch-end resume. Repaired only where the saved counters show they were written inside
    an epoch (a batch in flight, or the epoch already processed), never in a checkpoint taken
    after training ended. Returns whether anything changed.
    """
    epoch = checkpoint.get("epoch")
    fit = checkpoint.get("loops", {}).get("fit_loop", {})
    progress = fit.get("epoch_progress")
    if not isinstance(epoch, int) or not isinstance(progress, dict):
        return False
    batches = fit.get("epoch_loop.batch_progress", {}).get("current", {})
    in_batch = batches.get("ready", 0) > batches.get("completed", 0)
    changed = False
    for part in ("current", "total"):
        counts = progress.get(part)
        if not isinstance(counts, dict) or not {"ready", "started", "processed"} <= counts.keys():
            continue
        # The current epoch (0-based) plus those before it, counted in this part.
        want = epoch + 1 if part == "current" else counts.get("completed", 0) + 1
        processed_ahead = counts["processed"] > counts["started"]
        if not (in_batch or processed_ahead):
            continue
        for field in ("ready", "started"):
            if counts[field] < want:
                counts[field] = want
                changed = True
    return changed


def _mark_epoch_started(trainer: Any) -> None:
    """In a fit resumed into an epoch, count that epoch as ready and started (Lightning 2.6)."""
    loop = trainer.fit_loop
    # Lightning < 2.5 has no restart stages (and counts resumed epochs differently).
    resumed_into_epoch = getattr(loop, "restarted_mid_epoch", False) or getattr(
        loop, "restarted_on_epoch_end", False
    )
    if not resumed_into_epoch:
        return  # Lightning's on_advance_start counts the epoch itself
    for counts in (loop.epoch_progress.current, loop.epoch_progress.total):
        want = counts.completed + 1
        counts.ready = max(counts.ready, want)
        counts.started = max(counts.started, want)


def _loaders(trainer: Any) -> list[Any]:
    combined = getattr(trainer.fit_loop, "_combined_loader", None)
    if combined is not None:
        return list(combined.flattened)
    loader = trainer.train_dataloader
    return [] if loader is None else [loader]


def _warn_if_not_resumable(trainer: Any) -> None:
    for loader in _loaders(trainer):
        if not (hasattr(loader, "state_dict") and hasattr(loader, "load_state_dict")):
            name = type(loader).__name__
            warnings.warn(NOT_RESUMABLE.format(name=name), MidEpochResumeWarning, stacklevel=2)
            return


def _run_skipped_validation(trainer: Any) -> None:
    """Run the validation a resumed fit would skip, as the uninterrupted run ran it.

    A checkpoint written at the last batch of an epoch (or right before a mid-epoch
    validation) comes before that validation; resumed from it, Lightning 2.6 only fast-forwards
    the validation's counters (``increment_progress_to_evaluation_end``), so its metrics are
    never logged and callbacks that watch them (``EarlyStopping``, ``ModelCheckpoint(monitor=)``)
    never see them. The RNG stays as it was, as after the uninterrupted run's validation.
    """
    loop = trainer.fit_loop.epoch_loop
    val_loop = getattr(loop, "val_loop", None)
    if val_loop is None or not hasattr(val_loop, "increment_progress_to_evaluation_end"):
        return

    def validate() -> None:
        state = capture_rng_state()
        logger = trainer._logger_connector
        first_loop_iter = logger._first_loop_iter
        try:
            trainer.validating = True
            # A fresh validation, as in the uninterrupted run: not a restart of the last one.
            val_loop.restarting = False
            val_loop.run()
        finally:
            trainer.training = True
            logger._first_loop_iter = first_loop_iter
            restore_rng_state(state)

    val_loop.increment_progress_to_evaluation_end = validate


def _build(pl: ModuleType) -> type:
    base = rng_callback_class(pl)

    class ExactResumeCallback(base):  # type: ignore[misc,valid-type]
        """Makes a Lightning resume exact: global RNGs, epoch counters, a loader check.

        Add it to the Trainer's callbacks; it needs no arguments::

            Trainer(callbacks=[ExactResumeCallback()])

        Its checkpoint state loads with ``torch.load(..., weights_only=True)``.
        """

        def __init__(self, warn: bool = True) -> None:
            super().__init__()
            self.warn = warn

        @property
        def state_key(self) -> str:
            return STATE_KEY

        def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
            super().setup(trainer, pl_module, stage)
            _run_skipped_validation(trainer)

        def on_load_checkpoint(
            self, trainer: Any, pl_module: Any, checkpoint: dict[str, Any]
        ) -> None:
            repair_epoch_progress(checkpoint)

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            super().on_train_start(trainer, pl_module)
            _mark_epoch_started(trainer)
            if self.warn and trainer.is_global_zero:
                _warn_if_not_resumable(trainer)

    ExactResumeCallback.__module__ = __name__
    ExactResumeCallback.__qualname__ = "ExactResumeCallback"
    return ExactResumeCallback
