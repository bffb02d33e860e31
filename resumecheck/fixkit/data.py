"""A DataLoader whose order survives a resume, mid-epoch or at an epoch end.

Lightning 2.x saves the ``state_dict()`` of every training loader that has ``state_dict`` and
``load_state_dict`` (``CombinedLoader._state_dicts``), and gives it back before the first
resumed batch is fetched. A plain ``DataLoader`` has neither, so a mid-epoch resume restarts
the epoch at batch 0 while ``batch_idx`` carries on; and ``shuffle=True`` draws each epoch's
permutation, and every iterator's worker base seed, from the *global* torch RNG.

:class:`ResumableDataLoader` shuffles with a permutation seeded by ``(seed, epoch)``, draws the
worker base seed from a generator seeded the same way, counts the batches it has handed out,
and on resume skips exactly those (by index, without loading them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

# Keeps per-epoch seeds of different loaders (and the worker seed) apart.
_EPOCH_STRIDE = 1_000_003
_WORKER_SALT = 0x5EED


class _EpochSampler(Sampler[int]):
    """Yields one epoch's order from a given position; the loader sets both."""

    def __init__(self, size: int, shuffle: bool, seed: int) -> None:
        self.size = size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.start = 0
        self.requested_epoch: int | None = None

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning (and ``DistributedSampler`` users) before each epoch."""
        self.requested_epoch = epoch

    def order(self, epoch: int) -> list[int]:
        if not self.shuffle:
            return list(range(self.size))
        g = torch.Generator().manual_seed(self.seed * _EPOCH_STRIDE + epoch)
        return torch.randperm(self.size, generator=g).tolist()

    def __iter__(self) -> Iterator[int]:
        return iter(self.order(self.epoch)[self.start :])

    def __len__(self) -> int:
        return self.size - self.start


class ResumableDataLoader(DataLoader[Any]):
    """A map-style ``DataLoader`` with exact, resumable order.

    Lightning checkpoints and restores it by itself; in a plain loop, save and load it like a
    model (``save_training_state(..., loader=loader)``).

    Args:
        dataset: a map-style dataset (with ``__len__``).
        batch_size: as for ``DataLoader``.
        shuffle: a new permutation every epoch, seeded by ``seed`` and the epoch.
        seed: the seed of every permutation and of the workers' base seed.
        **kwargs: other ``DataLoader`` arguments (``num_workers``, ``collate_fn``,
            ``drop_last``, ...), except ``sampler``, ``batch_sampler`` and ``generator``.

    The epoch advances by itself each time a finished epoch is iterated again; Lightning's
    ``set_epoch`` calls (via the sampler) are honoured too.
    """

    def __init__(
        self,
        dataset: Dataset[Any],
        batch_size: int = 1,
        shuffle: bool = True,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        for name in ("sampler", "batch_sampler", "generator"):
            if kwargs.get(name) is not None:
                raise TypeError(f"ResumableDataLoader chooses its own {name}; remove {name}=")
            kwargs.pop(name, None)
        if not isinstance(dataset, Sized):
            raise TypeError("ResumableDataLoader needs a map-style dataset with __len__")
        sampler = _EpochSampler(len(dataset), shuffle, seed)
        super().__init__(dataset, batch_size=batch_size, sampler=sampler, **kwargs)
        self.seed = seed
        self.epoch = 0
        self.batches_done = 0  # handed out in ``epoch``

    @property
    def epoch_sampler(self) -> _EpochSampler:
        sampler = self.sampler
        assert isinstance(sampler, _EpochSampler)
        return sampler

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its beginning at the next iteration, unless already in it."""
        self.epoch_sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        # A generator: the position is decided at the first fetch, after Lightning has both
        # loaded this loader's state and called set_epoch (it does both after ``iter()``).
        self._begin_epoch()
        base = super().__iter__()
        for batch in base:
            self.batches_done += 1
            yield batch

    def _begin_epoch(self) -> None:
        if self.batches_done >= self._epoch_length():
            self.epoch, self.batches_done = self.epoch + 1, 0
        sampler = self.epoch_sampler
        requested, sampler.requested_epoch = sampler.requested_epoch, None
        if requested is not None and requested != self.epoch:
            self.epoch, self.batches_done = requested, 0
        sampler.epoch = self.epoch
        sampler.start = self.batches_done * (self.batch_size or 1)
        # The worker base seed: from this generator, not the global RNG, and the same for a
        # resumed epoch as for the original one.
        salt = self.seed * _EPOCH_STRIDE + self.epoch + _WORKER_SALT
        self.generator = torch.Generator().manual_seed(salt)

    def _epoch_length(self) -> int:
        size, bs = self.epoch_sampler.size, self.batch_size or 1
        return size // bs if self.drop_last else -(-size // bs)

    def __len__(self) -> int:
        # Lightning sizes the epoch from len() before the first fetch; the full epoch length
        # keeps batch_idx and "last batch" right after a mid-epoch resume.
        return self._epoch_length()

    def state_dict(self) -> dict[str, int]:
        """The epoch and how many of its batches were handed out."""
        return {"epoch": self.epoch, "batches_done": self.batches_done, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue from a :meth:`state_dict`: the next iteration resumes that epoch."""
        if state.get("seed", self.seed) != self.seed:
            raise ValueError(
                f"this loader has seed={self.seed}, the checkpoint seed={state['seed']}: "
                "resuming would feed a different order"
            )
        self.epoch = int(state["epoch"])
        self.batches_done = int(state["batches_done"])
        self.epoch_sampler.requested_epoch = None
