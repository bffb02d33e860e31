"""RC103: ``ModelCheckpoint(period=...)`` is now ``every_n_epochs``."""

from __future__ import annotations

from collections.abc import Iterator

from resumecheck.lint.facts import FileFacts
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._rename import renamed_to_every_n_epochs


class RemovedCheckpointPeriod(Rule):
    """Flag ``ModelCheckpoint(period=...)``."""

    code = "RC103"
    name = "removed-checkpoint-period"
    message = "ModelCheckpoint(period=...) was removed: use every_n_epochs="
    explanation = (
        "ModelCheckpoint's period= became every_n_val_epochs= in Lightning 1.3 and "
        "every_n_epochs= in 1.5; the old name was removed, so ModelCheckpoint() raises "
        "TypeError and no checkpoint is ever written."
    )
    versions = "pytorch_lightning >= 1.5 (removed), lightning 2.x"
    fix_summary = "Rename to every_n_epochs= (safe)"
    triggers = ("period",)
    VALID = (
        "from lightning.pytorch.callbacks import ModelCheckpoint\n"
        "ModelCheckpoint(dirpath='ckpt', every_n_epochs=1)\n",
        "import lightning.pytorch as pl\n"
        "from my_lib import ModelCheckpoint\n"
        "ModelCheckpoint(period=1)\n",
    )
    INVALID = (
        "import pytorch_lightning as pl\n"
        "ckpt = pl.callbacks.ModelCheckpoint(filepath=os.path.join(out, 'x'), period=1)\n",
        "from pytorch_lightning.callbacks.model_checkpoint import ModelCheckpoint as MC\n"
        "MC(monitor='val_loss', period=2, every_n_val_epochs=2)\n",
    )
    FIXES = (
        (
            "from pytorch_lightning.callbacks import ModelCheckpoint\n"
            "ModelCheckpoint(dirpath='ckpt', period=2)\n",
            "from pytorch_lightning.callbacks import ModelCheckpoint\n"
            "ModelCheckpoint(dirpath='ckpt', every_n_epochs=2)\n",
        ),
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        return renamed_to_every_n_epochs(self, facts, "period")
