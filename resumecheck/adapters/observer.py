"""Observes a plain PyTorch run from torch's global hooks, with no help from the job's code.

The same observation serves :class:`~resumecheck.TorchJob` loops and unmodified scripts
(:class:`~resumecheck.ScriptJob`): steps are optimizer steps; a step's batch is the input of
its outermost training module call; parameters are named from the modules that own them
(the outermost modules called); the state is taken at each optimizer pre-step hook, with an
exact digest of the step's gradients.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch

from resumecheck.engine import snapshot as snap
from resumecheck.engine.recorder import Recorder, batch_digest


class Observer:
    """Feeds a :class:`Recorder` from global module and optimizer hooks."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.roots: dict[int, torch.nn.Module] = {}
        self.optimizers: list[torch.optim.Optimizer] = []
        self.schedulers: list[Any] = []
        self._names: dict[int, str] | None = None
        recorder.auto_steps = True
        recorder.on_pre_step = self.pre_step
        recorder.after_step = self.after_step
        recorder.on_forward = self.forward
        recorder.end_snapshot = self.snapshot
        recorder.rename = self.rename

    # -- what the hooks see ------------------------------------------------------------------
    def add_root(self, module: torch.nn.Module) -> None:
        if id(module) not in self.roots:
            self.roots[id(module)] = module
            self._names = None

    def add_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        if not any(o is optimizer for o in self.optimizers):
            self.optimizers.append(optimizer)

    def forward(self, module: torch.nn.Module, args: Any) -> None:
        self.add_root(module)
        self.recorder.ensure_open().batches.append(batch_digest(args))

    def pre_step(self, optimizer: torch.optim.Optimizer) -> None:
        self.add_optimizer(optimizer)
        record = self.recorder.ensure_open()
        if record.start is None and self.recorder.full_next:
            # The state a resume starts from (a run's first step, or the step after one that
            # wrote a checkpoint), where the optimizer is known. Schedulers are known only once
            # run.step names them, after the first pre-step hook: step ends carry them.
            record.start = self.snapshot(schedulers=False)
            self.recorder.full_next = False
        if not self.recorder.closure_step:
            record.grads.append(_grad_digest(optimizer))

    def after_step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.recorder.closure_step:  # the closure computed them inside the step
            self.recorder.ensure_open().grads.append(_grad_digest(optimizer))

    # -- state -------------------------------------------------------------------------------
    def _param_names(self) -> dict[int, str]:
        """Parameter names from the modules that own them, in the order they were first called;
        a name already taken by another module's parameter gets that module's class name."""
        if self._names is None:
            names: dict[int, str] = {}
            taken: set[str] = set()
            for root in self.roots.values():
                for name, param in root.named_parameters():
                    if id(param) in names:
                        continue
                    unique = name if name not in taken else f"{type(root).__name__}.{name}"
                    names[id(param)] = unique
                    taken.add(unique)
            self._names = names
        return self._names

    def snapshot(
        self, full: bool = True, rng: bool = True, schedulers: bool = True
    ) -> snap.Snapshot:
        """Parameters, buffers, learning rates, schedulers and RNG states, and when ``full``
        the optimizer state (see :class:`~resumecheck.engine.snapshot.Snapshot`)."""
        params = [p for o in self.optimizers for g in o.param_groups for p in g["params"]]
        keep = 3 * sum(p.numel() for p in params) <= snap.VALUE_BUDGET
        tensors: dict[str, torch.Tensor] = {}
        names = self._param_names()
        for root in self.roots.values():
            for _, param in root.named_parameters():
                tensors[f"param.{names[id(param)]}"] = param
            for name, buf in root.named_buffers():
                tensors.setdefault(f"buffer.{name}", buf)
        positions: dict[str, Any] = {}
        for o, opt in enumerate(self.optimizers):
            for g, group in enumerate(opt.param_groups):
                for i, param in enumerate(group["params"]):
                    if id(param) not in names:
                        key = f"param.@{o}.{g}.{i}"
                        tensors[key] = param
                        positions[key] = param
        entries = snap.tensor_entries(tensors, keep)
        snap.add_optimizers(entries, self.optimizers, keep, full)
        if schedulers:
            snap.add_schedulers(entries, self.schedulers)
        if rng:
            snap.add_rng(entries)
        return snap.Snapshot(entries, full=full, positions=positions or None)

    def rename(self, snapshot: snap.Snapshot) -> None:
        """Name positional parameters whose module was seen only after the snapshot."""
        if not snapshot.positions:
            snapshot.positions = None
            return
        names = self._param_names()
        renamed: dict[str, snap.Entry] = {}
        for key, entry in snapshot.entries.items():
            param = snapshot.positions.get(key)
            name = names.get(id(param)) if param is not None else None
            renamed[f"param.{name}" if name else key] = entry
        snapshot.entries = renamed
        snapshot.positions = None


def _grad_digest(optimizer: torch.optim.Optimizer) -> str:
    """An exact digest of the gradients an optimizer step is about to apply."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    grads = [p.grad for p in params if p.grad is not None]
    digests = iter(snap.tensor_digests(grads))
    h = hashlib.blake2b(digest_size=16)
    for param in params:
        h.update(b"-" if param.grad is None else next(digests).encode())
    return h.hexdigest()
