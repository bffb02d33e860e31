"""Facts about a Lightning job that decide which hint fits a divergence (engine/hints.py):
where its learning rate comes from, which data loader it uses, which fixes it already has."""

from __future__ import annotations

from typing import Any

import torch

_OWN_PACKAGES = ("lightning", "pytorch_lightning", "resumecheck")
# Lightning's own callbacks that change learning rates.
_LR_CALLBACKS = {"StochasticWeightAveraging", "LearningRateFinder", "BackboneFinetuning"}


def lightning_facts(trainer: Any, module: Any) -> dict[str, Any]:
    returned = [c.scheduler for c in trainer.lr_scheduler_configs]
    scheduler_type = torch.optim.lr_scheduler.LRScheduler
    held = [
        f"self.{name}"
        for name, value in vars(module).items()
        if isinstance(value, scheduler_type) and not any(value is r for r in returned)
    ]
    callbacks = [type(cb) for cb in trainer.callbacks]
    user_callbacks = [
        c.__qualname__
        for c in callbacks
        if not c.__module__.startswith(_OWN_PACKAGES) or c.__qualname__ in _LR_CALLBACKS
    ]
    return {
        "framework": "lightning",
        "returned_schedulers": [type(s).__name__ for s in returned],
        "held_schedulers": held,
        "user_callbacks": user_callbacks,
        "rng_callback": any(c.__qualname__ == "RngStateCallback" for c in callbacks),
        "loader": _loader_kind(trainer),
    }


def _loader_kind(trainer: Any) -> str:
    """``torchdata`` (its StatefulDataLoader), ``fixkit`` (the fix kit's loaders) or ``plain``."""
    try:
        loaders = trainer.train_dataloader
    except Exception:
        return "plain"
    pending, found = [loaders], "plain"
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending += list(item.values())
        elif isinstance(item, list | tuple):
            pending += list(item)
        elif item is not None:
            module = type(item).__module__
            if module.startswith("resumecheck.fixkit"):
                return "fixkit"
            if module.startswith("torchdata") and type(item).__name__ == "StatefulDataLoader":
                found = "torchdata"
    return found
