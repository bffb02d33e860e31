"""RC205: mid-epoch checkpoints with a plain shuffling DataLoader."""

from __future__ import annotations

from collections.abc import Iterator

from resumecheck.lint.facts import FileFacts, keyword
from resumecheck.lint.names import DATALOADERS, is_in
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._common import checkpoint_keyword, is_literal


class MidEpochCheckpointWithShuffle(Rule):
    """Flag ``DataLoader(shuffle=True)`` beside step- or time-based checkpoints."""

    code = "RC205"
    name = "mid-epoch-checkpoint-with-shuffle"
    message = (
        "mid-epoch checkpoints (every_n_train_steps/train_time_interval) with a plain "
        "DataLoader(shuffle=True): a resume replays a different data order; use "
        "torchdata's StatefulDataLoader or checkpoint at epoch ends"
    )
    explanation = (
        "A plain DataLoader's RandomSampler keeps no resumable position: resuming from a "
        "checkpoint taken mid-epoch restarts the epoch with a new permutation, so some samples "
        "are seen twice and others not at all before the epoch ends. Lightning restores the "
        "position only for loaders with state_dict()/load_state_dict(), such as "
        "torchdata.stateful_dataloader.StatefulDataLoader."
    )
    versions = "lightning / pytorch_lightning >= 2.0 (no fault-tolerant sampler state)"
    triggers = ("every_n_train_steps", "train_time_interval")
    VALID = (
        "import torch\n"
        "import lightning.pytorch as pl\n"
        "from torchdata.stateful_dataloader import StatefulDataLoader\n"
        "from lightning.pytorch.callbacks import ModelCheckpoint\n"
        "ckpt = ModelCheckpoint(every_n_train_steps=100)\n"
        "loader = StatefulDataLoader(ds, shuffle=True)\n",
        "from torch.utils.data import DataLoader\n"
        "from lightning.pytorch.callbacks import ModelCheckpoint\n"
        "ckpt = ModelCheckpoint(every_n_epochs=1)\n"
        "loader = DataLoader(ds, shuffle=True)\n",
    )
    INVALID = (
        "from torch.utils.data import DataLoader\n"
        "from pytorch_lightning.callbacks import ModelCheckpoint\n"
        "ckpt = ModelCheckpoint(dirpath='c', every_n_train_steps=500)\n"
        "loader = DataLoader(ds, batch_size=32, shuffle=True)\n",
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        mid_epoch = [
            arg
            for name in self.triggers
            for _, arg in checkpoint_keyword(facts, name)
            if not is_literal(arg.value, "None") and not _zero(arg.value)
        ]
        if not mid_epoch:
            return
        for call in facts.calls:
            if not is_in(facts.call_names(call), DATALOADERS):
                continue
            arg = keyword(call.node, "shuffle")
            if arg is not None and is_literal(arg.value, "True"):
                yield self.finding(arg)


def _zero(node: object) -> bool:
    from libcst import Integer

    return isinstance(node, Integer) and node.value == "0"
