"""Qualified-name helpers: which dotted names are Lightning, torch or numpy objects."""

from __future__ import annotations

from collections.abc import Iterable

# Checked in this order: "lightning.pytorch." must win over "lightning.".
LIGHTNING_ROOTS = ("lightning.pytorch.", "pytorch_lightning.", "lightning.")

TRAINER = frozenset({"Trainer", "trainer.Trainer", "trainer.trainer.Trainer"})
MODEL_CHECKPOINT = frozenset(
    {
        "ModelCheckpoint",
        "callbacks.ModelCheckpoint",
        "callbacks.model_checkpoint.ModelCheckpoint",
    }
)
LIGHTNING_MODULE = frozenset(
    {
        "LightningModule",
        "core.LightningModule",
        "core.module.LightningModule",
        "core.lightning.LightningModule",
    }
)
DATA_MODULE = frozenset(
    {
        "LightningDataModule",
        "core.LightningDataModule",
        "core.datamodule.LightningDataModule",
    }
)
CALLBACK = frozenset(
    {"Callback", "callbacks.Callback", "callbacks.base.Callback", "callbacks.callback.Callback"}
)

TORCH_OPTIM_PREFIX = "torch.optim."
SCHEDULER_PREFIXES = ("torch.optim.lr_scheduler.",)
GRAD_SCALERS = frozenset(
    {
        "torch.cuda.amp.GradScaler",
        "torch.amp.GradScaler",
        "torch.GradScaler",
        "torch.cpu.amp.GradScaler",
    }
)
DATALOADERS = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})


def lightning_tail(qualified: str) -> str | None:
    """Return the part of a Lightning qualified name after the package root.

    >>> lightning_tail("lightning.pytorch.callbacks.ModelCheckpoint")
    'callbacks.ModelCheckpoint'
    >>> lightning_tail("transformers.Trainer") is None
    True
    """
    for root in LIGHTNING_ROOTS:
        if qualified.startswith(root):
            return qualified[len(root) :]
    return None


def all_match(qualified: Iterable[str], tails: frozenset[str], member: str = "") -> bool:
    """True when every candidate name is a Lightning name in ``tails`` (plus ``.member``)."""
    names = list(qualified)
    suffix = f".{member}" if member else ""
    return bool(names) and all(_tail_is(q, tails, suffix) for q in names)


def _tail_is(qualified: str, tails: frozenset[str], suffix: str) -> bool:
    tail = lightning_tail(qualified)
    if tail is None or not tail.endswith(suffix):
        return False
    return tail[: len(tail) - len(suffix)] in tails


def is_torch_optimizer(qualified: Iterable[str]) -> bool:
    """True for ``torch.optim.X`` constructors (not schedulers, not helpers)."""
    names = list(qualified)
    return bool(names) and all(
        q.startswith(TORCH_OPTIM_PREFIX) and q.count(".") == 2 and q.rsplit(".", 1)[1][:1].isupper()
        for q in names
    )


def is_scheduler(qualified: Iterable[str]) -> bool:
    """True for torch LR schedulers and Hugging Face ``get_*_schedule*`` helpers."""
    names = list(qualified)
    return bool(names) and all(_scheduler(q) for q in names)


def _scheduler(q: str) -> bool:
    if q.startswith(SCHEDULER_PREFIXES):
        return q.rsplit(".", 1)[1][:1].isupper()
    last = q.rsplit(".", 1)[-1]
    return q.startswith("transformers.") and last.startswith("get_") and "schedule" in last


def is_in(qualified: Iterable[str], options: frozenset[str]) -> bool:
    """True when every candidate name is one of ``options``."""
    names = list(qualified)
    return bool(names) and all(q in options for q in names)
