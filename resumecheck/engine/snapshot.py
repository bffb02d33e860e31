"""Exact fingerprints of training state: model, optimizer, LR scheduler, RNGs, metrics.

A snapshot maps a state key (``param.fc.weight``, ``optim.0.state.3.exp_avg``, ``lr.0.0``,
``rng.torch``) to an :class:`Entry`: a hash of the value's bytes plus dtype and shape, and,
for small states, a copy of the value so a mismatch can name its largest difference.
"""

from __future__ import annotations

import hashlib
import pickle
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

# Keep tensor copies (for max |Δ| evidence) while a snapshot stays below this many elements.
VALUE_BUDGET = 1 << 18

CATEGORY_BY_PREFIX = {
    "param": "weights",
    "buffer": "weights",
    "optim": "optimizer",
    "lr": "scheduler",
    "sched": "scheduler",
    "rng": "rng",
}


@dataclass(frozen=True, slots=True)
class TensorBytes:
    """A kept tensor value as plain data, the way it travels from a child to the harness:
    rebuilt from its bytes with no unpickling of torch storages (one ``torch.load`` per tensor
    made reading a run's trajectory cost more than the run)."""

    dtype: str  # a torch dtype's name, e.g. "float32"
    shape: tuple[int, ...]
    data: bytes

    @classmethod
    def of(cls, tensor: torch.Tensor) -> TensorBytes:
        t = tensor.detach().cpu().contiguous()
        raw = t.reshape(-1).view(torch.uint8) if t.numel() else t.reshape(-1)
        name = str(t.dtype).removeprefix("torch.")
        return cls(name, tuple(t.shape), raw.numpy().tobytes() if t.numel() else b"")

    def tensor(self) -> torch.Tensor:
        dtype = getattr(torch, self.dtype, None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"not a torch dtype: {self.dtype!r}")
        if not self.data:
            return torch.empty(self.shape, dtype=dtype)
        return torch.frombuffer(bytearray(self.data), dtype=dtype).reshape(self.shape)


@dataclass(frozen=True, slots=True)
class Entry:
    """One fingerprinted value."""

    digest: str
    dtype: str
    shape: tuple[int, ...]
    value: Any = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.value, TensorBytes):
            object.__setattr__(self, "value", self.value.tensor())

    def __reduce__(self) -> tuple[Any, ...]:
        value = TensorBytes.of(self.value) if isinstance(self.value, torch.Tensor) else self.value
        return (Entry, (self.digest, self.dtype, self.shape, value))


@dataclass(slots=True)
class Snapshot:
    """State at one point of a run, keyed by state name."""

    entries: dict[str, Entry] = field(default_factory=dict)
    # Plain loops and scripts: the parameters behind positional ``param.@o.g.i`` keys, until
    # the module that owns them is seen and names them.
    positions: dict[str, Any] | None = field(default=None, repr=False)


def category_of(key: str) -> str:
    return CATEGORY_BY_PREFIX.get(key.split(".", 1)[0], "other")


def _digest(data: bytes | memoryview) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def tensor_entry(tensor: torch.Tensor, keep_value: bool) -> Entry:
    """Hash a tensor's exact bytes; keep a CPU copy when asked."""
    t = tensor.detach()
    to_local = getattr(t, "to_local", None)
    if to_local is not None:  # a DTensor (FSDP2, tensor parallel): this rank's own shard
        t = to_local()
    if t.is_sparse:
        t = t.to_dense()
    t = t.cpu().contiguous()
    raw = t.reshape(-1).view(torch.uint8) if t.numel() else t.reshape(-1)
    digest = _digest(raw.numpy().tobytes() if raw.numel() else b"")
    value = t.clone() if keep_value else None
    return Entry(digest, str(t.dtype).removeprefix("torch."), tuple(t.shape), value)


def object_entry(obj: Any) -> Entry:
    """Hash a plain Python value (numbers, strings, tuples of those)."""
    try:
        data = pickle.dumps(obj, protocol=4)
    except Exception:
        data = repr(obj).encode()
    return Entry(_digest(data), type(obj).__name__, (), obj if _is_plain(obj) else None)


def _is_plain(obj: Any) -> bool:
    return isinstance(obj, int | float | bool | str | type(None))


def value_entry(obj: Any, keep_value: bool) -> Entry:
    if isinstance(obj, torch.Tensor):
        return tensor_entry(obj, keep_value)
    return object_entry(obj)


def add_module(entries: dict[str, Entry], module: torch.nn.Module, keep_values: bool) -> None:
    for name, param in module.named_parameters():
        entries[f"param.{name}"] = tensor_entry(param, keep_values)
    for name, buf in module.named_buffers():
        entries[f"buffer.{name}"] = tensor_entry(buf, keep_values)


def add_optimizers(
    entries: dict[str, Entry], optimizers: Iterable[torch.optim.Optimizer], keep_values: bool
) -> None:
    """Optimizer state tensors and hyperparameters; learning rates get their own keys."""
    for o, opt in enumerate(optimizers):
        state = opt.state_dict()
        for p_idx, p_state in state["state"].items():
            for k, v in p_state.items():
                entries[f"optim.{o}.state.{p_idx}.{k}"] = value_entry(v, keep_values)
        for g, group in enumerate(state["param_groups"]):
            for k, v in group.items():
                if k == "params":
                    continue
                prefix = "lr" if k in ("lr", "initial_lr") else "optim"
                key = f"lr.{o}.{g}" if k == "lr" else f"{prefix}.{o}.group.{g}.{k}"
                entries[key] = value_entry(v, keep_values)


def add_schedulers(entries: dict[str, Entry], schedulers: Iterable[Any]) -> None:
    for s, sched in enumerate(schedulers):
        state = sched.state_dict() if hasattr(sched, "state_dict") else {}
        for k, v in sorted(state.items()):
            if k.startswith("_get_lr_called") or callable(v):
                continue
            entries[f"sched.{s}.{k}"] = value_entry(v, False)


def add_rng(entries: dict[str, Entry]) -> None:
    """torch CPU, CUDA (when initialised), numpy and Python ``random`` generator states."""
    entries["rng.torch"] = tensor_entry(torch.get_rng_state(), False)
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            entries[f"rng.cuda.{i}"] = tensor_entry(s, False)
    entries["rng.python"] = object_entry(random.getstate())
    np_state = _numpy_rng_state()
    if np_state is not None:
        entries["rng.numpy"] = np_state


def _numpy_rng_state() -> Entry | None:
    try:
        import numpy as np
    except ImportError:
        return None
    state: Any = np.random.get_state()
    name, keys, pos, has_gauss, gauss = state
    data = keys.tobytes() + pickle.dumps((name, int(pos), int(has_gauss), float(gauss)))
    return Entry(_digest(data), "numpy", (len(keys),))


def metric_entries(metrics: Mapping[str, Any]) -> dict[str, Entry]:
    return {name: value_entry(v, True) for name, v in sorted(metrics.items())}


def keep_values_for(module: torch.nn.Module | None) -> bool:
    """Copy values only for small models, so evidence is cheap and memory stays bounded."""
    if module is None:
        return True
    # Optimizer state is typically up to 2x the parameters (Adam), hence the factor 3.
    return 3 * sum(p.numel() for p in module.parameters()) <= VALUE_BUDGET


def scalar(value: Any) -> float | None:
    """A float for display, when the value is a one-element number."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach().float().cpu())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
