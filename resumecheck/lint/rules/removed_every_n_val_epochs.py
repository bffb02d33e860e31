"""RC104: ``ModelCheckpoint(every_n_val_epochs=...)`` is now ``every_n_epochs``."""

from __future__ import annotations

from collections.abc import Iterator

from resumecheck.lint.facts import FileFacts
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._rename import renamed_to_every_n_epochs


class RemovedEveryNValEpochs(Rule):
    """Flag ``ModelCheckpoint(every_n_val_epochs=...)``."""

    code = "RC104"
    name = "removed-every-n-val-epochs"
    message = "ModelCheckpoint(every_n_val_epochs=...) was removed: use every_n_epochs="
    explanation = (
        "every_n_val_epochs= was deprecated for every_n_epochs= in Lightning 1.4 and removed "
        "in 1.6; "
        "ModelCheckpoint() raises TypeError on Lightning 2.x."
    )
    versions = "pytorch_lightning >= 1.6 (removed), lightning 2.x"
    fix_summary = "Rename to every_n_epochs= (safe)"
    triggers = ("every_n_val_epochs",)
    VALID = (
        "from pytorch_lightning.callbacks import ModelCheckpoint\n"
        "ModelCheckpoint(every_n_epochs=1)\n",
        "import pytorch_lightning as pl\nconfig = {'every_n_val_epochs': 1}\n",
    )
    INVALID = (
        "from lightning.pytorch.callbacks import ModelCheckpoint\n"
        "ModelCheckpoint(every_n_val_epochs=1)\n",
    )
    FIXES = (
        (
            "from lightning.pytorch.callbacks import ModelCheckpoint\n"
            "ModelCheckpoint(monitor='val_loss', every_n_val_epochs=1)\n",
            "from lightning.pytorch.callbacks import ModelCheckpoint\n"
            "ModelCheckpoint(monitor='val_loss', every_n_epochs=1)\n",
        ),
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        return renamed_to_every_n_epochs(self, facts, "every_n_val_epochs")
