"""Exact fingerprints of training state: model, optimizer, LR scheduler, RNGs, metrics.

A snapshot maps a state key (``param.fc.weight``, ``optim.0.state.3.exp_avg``, ``lr.0.0``,
``rng.torch``) to an :class:`Entry`: a fingerprint of the value's bytes plus dtype and shape,
and, for small states, a copy of the value so a mismatch can name its largest difference.

Fingerprints are exact: any changed bit changes them. Small host tensors are hashed with
BLAKE2. Bigger ones (and every tensor on an accelerator) are reduced where they live, with no
copy to the host: their bytes, read as 64-bit words, are multiplied by fixed random odd 64-bit
constants and summed per row of 65536 words, modulo 2**64; only those row sums (8 bytes per
512 KiB) travel to the host to be hashed. A changed word changes its row's sum (an odd
multiplier is invertible modulo 2**64), so no single change can go unseen; unrelated changes
cancel only by a 2**-64 chance. On 2 CPU cores this reads a 16 MB tensor in about 1 ms,
against 20 ms for BLAKE2 over a copy of its bytes.
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
    """State at one point of a run, keyed by state name.

    A *full* snapshot holds everything. Between checkpoints a run records partial ones,
    without the optimizer category: a resume can only restore what a checkpoint holds, so the
    optimizer state matters where a checkpoint was written (and at the end), while the
    weights, learning rates, RNGs and batches found every step find the first divergence.
    """

    entries: dict[str, Entry] = field(default_factory=dict)
    full: bool = True
    # Plain loops and scripts: the parameters behind positional ``param.@o.g.i`` keys, until
    # the module that owns them is seen and names them.
    positions: dict[str, Any] | None = field(default=None, repr=False)


def category_of(key: str) -> str:
    return CATEGORY_BY_PREFIX.get(key.split(".", 1)[0], "other")


def comparable(a: Snapshot, b: Snapshot) -> tuple[dict[str, Entry], dict[str, Entry]]:
    """The entries two snapshots both record: a partial one has no optimizer category."""
    if a.full and b.full:
        return a.entries, b.entries

    def kept(s: Snapshot) -> dict[str, Entry]:
        return {k: e for k, e in s.entries.items() if category_of(k) != "optimizer"}

    return kept(a), kept(b)


def _digest(data: bytes | memoryview) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


_HOST_BYTES = 1 << 16  # host tensors up to this size are hashed directly with BLAKE2
_ROW_WORDS = 1 << 16  # 64-bit words per row of the on-device reduction
# Rows multiplied at once: a 4 MB temporary whatever the tensor's size, small enough to stay
# in a CPU's cache between the multiply and the sum (16 rows, 8 MB, was 1.5x slower).
_BLOCK_ROWS = 8
_MULTIPLIERS: dict[torch.device, torch.Tensor] = {}
_SCRATCH: dict[torch.device, torch.Tensor] = {}


def _multipliers(device: torch.device) -> torch.Tensor:
    """Fixed random odd 64-bit constants, the same in every process."""
    if device not in _MULTIPLIERS:
        g = torch.Generator().manual_seed(0x5EED_F1A9)
        w = torch.randint(-(2**62), 2**62, (_ROW_WORDS,), generator=g, dtype=torch.int64)
        _MULTIPLIERS[device] = (w * 2 + 1).to(device)
    return _MULTIPLIERS[device]


def _scratch(device: torch.device) -> torch.Tensor:
    if device not in _SCRATCH:
        _SCRATCH[device] = torch.empty(_BLOCK_ROWS, _ROW_WORDS, dtype=torch.int64, device=device)
    return _SCRATCH[device]


def _plain_tensor(tensor: torch.Tensor) -> torch.Tensor:
    t = tensor.detach()
    to_local = getattr(t, "to_local", None)
    if to_local is not None:  # a DTensor (FSDP2, tensor parallel): this rank's own shard
        t = to_local()
    if t.is_sparse:
        t = t.to_dense()
    return t.contiguous()


def _row_sums(t: torch.Tensor) -> torch.Tensor:
    """The reduction of a contiguous tensor's bytes, on its own device (int64 vector)."""
    raw = t.reshape(-1).view(torch.uint8)
    n_words = raw.numel() // 8
    try:
        words = raw[: n_words * 8].view(torch.int64)
    except RuntimeError:  # a view at an odd offset of a bigger storage: align a copy
        raw = raw.clone()
        words = raw[: n_words * 8].view(torch.int64)
    w = _multipliers(t.device)
    rows = n_words // _ROW_WORDS
    grid = words[: rows * _ROW_WORDS].view(rows, _ROW_WORDS)
    parts = []
    if rows:
        # One scratch block reused: a fresh temporary per block costs its page faults again.
        scratch = _scratch(t.device)
        for i in range(0, rows, _BLOCK_ROWS):
            block = grid[i : i + _BLOCK_ROWS]
            product = scratch[: block.shape[0]]
            torch.mul(block, w, out=product)
            parts.append(product.sum(dim=1))
    rest = words[rows * _ROW_WORDS :]
    parts.append((rest * w[: rest.numel()]).sum().reshape(1))
    tail = torch.zeros(8, dtype=torch.uint8, device=t.device)
    tail[: raw.numel() - n_words * 8] = raw[n_words * 8 :]
    parts.append(tail.view(torch.int64))
    return torch.cat(parts)


def tensor_digests(tensors: list[torch.Tensor]) -> list[str]:
    """Exact fingerprints of many tensors, with one transfer to the host per device."""
    digests: list[str | None] = [None] * len(tensors)
    reduced: dict[torch.device, list[tuple[int, torch.Tensor]]] = {}
    for i, tensor in enumerate(tensors):
        t = _plain_tensor(tensor)
        nbytes = t.numel() * t.element_size()
        if t.device.type == "cpu" and nbytes <= _HOST_BYTES:
            raw = t.reshape(-1).view(torch.uint8) if nbytes else b""
            digests[i] = _digest(raw.numpy().tobytes() if nbytes else b"")  # type: ignore[union-attr]
        else:
            reduced.setdefault(t.device, []).append((i, _row_sums(t)))
    for items in reduced.values():
        host = torch.cat([sums for _, sums in items]).cpu().numpy()
        at = 0
        for i, sums in items:
            digests[i] = _digest(b"R" + host[at : at + sums.numel()].tobytes())
            at += sums.numel()
    return [d for d in digests if d is not None]


def tensor_entries(tensors: Mapping[str, torch.Tensor], keep_values: bool) -> dict[str, Entry]:
    """Entries for named tensors, fingerprinted together."""
    plain = {key: _plain_tensor(t) for key, t in tensors.items()}
    digests = tensor_digests(list(plain.values()))
    return {
        key: Entry(
            digest,
            str(t.dtype).removeprefix("torch."),
            tuple(t.shape),
            t.cpu().clone() if keep_values else None,
        )
        for (key, t), digest in zip(plain.items(), digests, strict=True)
    }


def tensor_entry(tensor: torch.Tensor, keep_value: bool) -> Entry:
    """Fingerprint a tensor's exact bytes; keep a host copy when asked."""
    return tensor_entries({"": tensor}, keep_value)[""]


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
    tensors: dict[str, torch.Tensor] = {f"param.{n}": p for n, p in module.named_parameters()}
    tensors.update({f"buffer.{name}": b for name, b in module.named_buffers()})
    entries.update(tensor_entries(tensors, keep_values))


def add_optimizers(
    entries: dict[str, Entry],
    optimizers: Iterable[torch.optim.Optimizer],
    keep_values: bool,
    full: bool = True,
) -> None:
    """Learning rates (their own keys), and in a full snapshot the optimizer's state and
    hyperparameters."""
    tensors: dict[str, torch.Tensor] = {}
    for o, opt in enumerate(optimizers):
        if full:
            for p_idx, p_state in opt.state_dict()["state"].items():
                for k, v in p_state.items():
                    key = f"optim.{o}.state.{p_idx}.{k}"
                    if isinstance(v, torch.Tensor):
                        tensors[key] = v
                    else:
                        entries[key] = object_entry(v)
        for g, group in enumerate(opt.param_groups):
            for k, v in group.items():
                if k == "params" or (not full and k not in ("lr", "initial_lr")):
                    continue
                prefix = "lr" if k in ("lr", "initial_lr") else "optim"
                key = f"lr.{o}.{g}" if k == "lr" else f"{prefix}.{o}.group.{g}.{k}"
                if isinstance(v, torch.Tensor):
                    tensors[key] = v
                else:
                    entries[key] = object_entry(v)
    entries.update(tensor_entries(tensors, keep_values))


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
