"""RC102: ``Trainer(checkpoint_callback=...)`` was removed in Lightning 1.7."""

from __future__ import annotations

from collections.abc import Iterator

from resumecheck.lint.facts import FileFacts, keyword
from resumecheck.lint.rule import Finding, Fix, RenameKeyword, Rule
from resumecheck.lint.rules._common import is_literal, trainer_keyword


class RemovedCheckpointCallbackArgument(Rule):
    """Flag ``Trainer(checkpoint_callback=...)``."""

    code = "RC102"
    name = "removed-checkpoint-callback-argument"
    message = (
        "Trainer(checkpoint_callback=...) was removed in Lightning 1.7: use "
        "enable_checkpointing= for a bool, callbacks=[ModelCheckpoint(...)] for an instance"
    )
    bool_message = (
        "Trainer(checkpoint_callback=<bool>) was removed in Lightning 1.7: "
        "use enable_checkpointing=<bool>"
    )
    explanation = (
        "Lightning 1.x accepted checkpoint_callback=True/False (and, before 1.3, a "
        "ModelCheckpoint instance). Lightning 1.7 removed it: Trainer() raises TypeError. A "
        "bool becomes enable_checkpointing=; a ModelCheckpoint instance goes into callbacks=."
    )
    versions = "pytorch_lightning >= 1.7 (deprecated in 1.5), lightning 2.x"
    fix_summary = "Rename to enable_checkpointing= when the value is True or False (safe)"
    triggers = ("checkpoint_callback",)
    VALID = (
        "import lightning.pytorch as pl\npl.Trainer(enable_checkpointing=False)\n",
        "import lightning.pytorch as pl\n"
        "from lightning.pytorch.callbacks import ModelCheckpoint\n"
        "pl.Trainer(callbacks=[ModelCheckpoint(dirpath='ckpt')])\n",
        "import pytorch_lightning as pl\n"
        "def f(checkpoint_callback):\n"
        "    return dict(checkpoint_callback=checkpoint_callback)\n",
    )
    INVALID = (
        "import pytorch_lightning as pl\npl.Trainer(checkpoint_callback=False)\n",
        "from pytorch_lightning import Trainer\n"
        "from pytorch_lightning.callbacks import ModelCheckpoint\n"
        "ckpt = ModelCheckpoint(dirpath='ckpt')\n"
        "trainer = Trainer(checkpoint_callback=ckpt, max_epochs=2)\n",
        "import pytorch_lightning as pl\n"
        "trainer = pl.Trainer.from_argparse_args(args, checkpoint_callback=True)\n",
    )
    FIXES = (
        (
            "import pytorch_lightning as pl\npl.Trainer(max_epochs=1, checkpoint_callback=False)\n",
            "import pytorch_lightning as pl\n"
            "pl.Trainer(max_epochs=1, enable_checkpointing=False)\n",
        ),
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for call, arg in trainer_keyword(facts, "checkpoint_callback"):
            if not is_literal(arg.value, "True", "False"):
                yield self.finding(arg)
                continue
            fix = None
            if keyword(call.node, "enable_checkpointing") is None:
                edit = RenameKeyword(call.node, arg, "enable_checkpointing")
                fix = Fix("Rename to enable_checkpointing=", "safe", (edit,))
            yield self.finding(arg, self.bool_message, fix)
