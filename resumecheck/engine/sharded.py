"""Sharded checkpoints (``torch.distributed.checkpoint``, DCP): when one is complete, and the
optimizer steps DCP makes on its own.

A DCP checkpoint is a directory of shards, one or more ``*.distcp`` files per rank, that is
complete only once the coordinator has written its ``.metadata`` (after every rank's shards).
A run killed before that leaves shards without metadata: never a checkpoint to resume from.

``get_state_dict``/``set_state_dict`` initialize an optimizer that has no state yet by calling
``optimizer.step()`` with zero gradients and a zero learning rate; that call trains nothing and
is not a step of the job.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable
from pathlib import Path

from resumecheck.engine.report import Divergence, Kind

SHARD_SUFFIX = ".distcp"
METADATA = ".metadata"
# ``dcp.load``'s module: a traceback through it was raised while reading a checkpoint.
LOADING_FRAMES = "torch/distributed/checkpoint/state_dict_loader.py"
_INIT_STEP = ("_init_optim_state", "state_dict.py")
_FRAMES = 6  # the hook, optimizer.step's wrappers, then its caller


def complete(path: Path) -> bool:
    """Whether ``path`` may belong to a checkpoint to resume from: not a DCP shard whose
    directory has no ``.metadata`` yet."""
    return path.suffix != SHARD_SUFFIX or (path.parent / METADATA).exists()


def incomplete_dirs(paths: Iterable[Path]) -> list[Path]:
    """The DCP checkpoint directories among ``paths``' parents whose metadata was never written."""
    return sorted({p.parent for p in paths if not complete(p)})


def dcp_internal_step() -> bool:
    """Whether the optimizer step being hooked is DCP initializing an empty optimizer state."""
    frame = sys._getframe(1)
    for _ in range(_FRAMES):
        if frame is None:
            return False
        code = frame.f_code
        if code.co_name == _INIT_STEP[0] and code.co_filename.endswith(_INIT_STEP[1]):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


HINT = (
    "a DCP checkpoint is complete only once dcp.save has written its .metadata (after every "
    "rank's shards): resume from the newest checkpoint directory that has one (or take the "
    "one resumecheck passes as {resume_from})"
)


def refine(divergence: Divergence) -> Divergence:
    """An unloadable DCP checkpoint gets the hint that fits it."""
    if divergence.kind is not Kind.UNLOADABLE_CHECKPOINT:
        return divergence
    said = " ".join([divergence.detail, *(str(row) for row in divergence.rows)])
    if "distributed/checkpoint/" in said or METADATA in said:
        return dataclasses.replace(divergence, hint=HINT)
    return divergence
