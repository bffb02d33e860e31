"""torchdata's ``StatefulDataLoader``, fixed for checkpoints taken at the last batch of an epoch.

Lightning never asks a sized loader for a batch past the last one, so the state saved with
a checkpoint at the last batch of an epoch says "all batches yielded, iterator not finished".
``StatefulDataLoader`` resumes such a state as an *empty* epoch: the resumed run skips a whole
epoch (resumecheck: ``PROGRESS``, scenario ``broken_stateful_dataloader_epoch_end``). This
subclass marks a fully consumed epoch as finished on load, so the next iteration starts the
next epoch, in the same order as the uninterrupted run.

Known limit (torchdata 0.11, Lightning 2.6): after such an epoch-end resume the loader draws
one number fewer from the global torch RNG than the uninterrupted run's loader did at the same
point, so a training step that uses the global RNG (dropout) diverges (``RNG``) even with
``RngStateCallback``. Use ``ResumableDataLoader`` for random training steps.

Leave ``generator`` unset: torchdata drops a finished epoch's sampler state, so with an
explicit generator the epoch after such a resume gets a different permutation. Without one,
each epoch's permutation is seeded from the global torch RNG, which ``RngStateCallback``
restores. ``ResumableDataLoader`` has neither caveat.
"""

from __future__ import annotations

from typing import Any

from torchdata.stateful_dataloader import StatefulDataLoader as _TorchdataLoader

__all__ = ["StatefulDataLoader"]


class StatefulDataLoader(_TorchdataLoader):  # type: ignore[misc]
    """``torchdata.stateful_dataloader.StatefulDataLoader`` that resumes epoch ends correctly."""

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load ``state_dict``; a fully consumed epoch counts as finished."""
        state = dict(state_dict)
        yielded = state.get("_num_yielded")
        if isinstance(yielded, int) and not state.get("_iterator_finished") and _sized(self):
            state["_iterator_finished"] = yielded >= len(self)
        super().load_state_dict(state)


def _sized(loader: Any) -> bool:
    try:
        len(loader)
    except TypeError:
        return False
    return True
