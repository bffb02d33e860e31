"""Checkpoint helpers for plain PyTorch loops: complete, atomic, weights-only loadable.

A checkpoint written by :func:`save_training_state` holds every stateful object's
``state_dict()`` (model, optimizer, LR scheduler, grad scaler, resumable data loader, ...),
every global RNG state, the step, and any plain extra values. The file is written to a
temporary name in the same directory, flushed to disk and renamed over the target, so a kill
at any moment leaves either the previous checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from resumecheck.fixkit.rng import capture_rng_state, restore_rng_state

STEP_KEY = "step"
RNG_KEY = "rng"
_RESERVED = (STEP_KEY, RNG_KEY)


def save_training_state(path: str | os.PathLike[str], *, step: int, **objects: Any) -> Path:
    """Atomically write the training state to ``path``; return the path.

    Args:
        path: the checkpoint file; its directory is created if needed.
        step: the number of optimizer steps done; :func:`load_training_state` returns it.
        **objects: objects with ``state_dict()`` (``model=``, ``optimizer=``, ``scheduler=``,
            ``scaler=``, ``loader=``, ...) are saved by their state dict; anything else is
            saved as is (keep it to tensors, numbers, strings, lists and dicts, so the file
            loads with ``weights_only=True``). ``None`` values are skipped.
    """
    target = Path(path)
    clash = [name for name in _RESERVED if name in objects]
    if clash:
        raise ValueError(f"{clash[0]!r} is reserved by save_training_state; rename that keyword")
    state: dict[str, Any] = {STEP_KEY: int(step), RNG_KEY: capture_rng_state()}
    for name, obj in objects.items():
        if obj is not None:
            state[name] = obj.state_dict() if hasattr(obj, "state_dict") else obj
    target.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save(state, target)
    return target


def load_training_state(
    path: str | os.PathLike[str],
    *,
    rng: bool = True,
    map_location: str | torch.device | None = "cpu",
    **objects: Any,
) -> int:
    """Restore the objects saved by :func:`save_training_state`; return the saved step.

    Every keyword object gets ``load_state_dict`` with the state saved under its name; a name
    missing from the checkpoint is an error (a silent partial restore is the bug this guards
    against). The RNG states are restored last, so nothing drawn while loading shifts them.

    Args:
        path: the checkpoint file.
        rng: restore the global RNG states (torch, CUDA, numpy, Python).
        map_location: passed to ``torch.load``.
        **objects: the objects to restore, named as when saving.
    """
    state = torch.load(path, map_location=map_location, weights_only=True)
    missing = [name for name in objects if objects[name] is not None and name not in state]
    if missing:
        raise KeyError(f"{os.fspath(path)} holds no state for {', '.join(map(repr, missing))}")
    for name, obj in objects.items():
        if obj is not None:
            obj.load_state_dict(state[name])
    if rng:
        restore_rng_state(state[RNG_KEY])
    return int(state[STEP_KEY])


def _atomic_save(state: dict[str, Any], target: Path) -> None:
    # A dot-prefixed temp name in the same directory: os.replace is atomic only within one
    # filesystem, and checkpoint scanners (resumecheck's, globbing users') skip dot files.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    # Make the rename itself durable (POSIX); not possible on Windows, where it is not needed.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
