"""RC105: ``ModelCheckpoint(filepath=...)`` is now ``dirpath=`` + ``filename=``."""

from __future__ import annotations

from collections.abc import Iterator

from resumecheck.lint.facts import FileFacts
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._common import checkpoint_keyword


class RemovedCheckpointFilepath(Rule):
    """Flag ``ModelCheckpoint(filepath=...)``."""

    code = "RC105"
    name = "removed-checkpoint-filepath"
    message = (
        "ModelCheckpoint(filepath=...) was removed: split it into dirpath= (the directory) "
        "and filename= (the name template, without .ckpt)"
    )
    explanation = (
        "ModelCheckpoint's filepath= was deprecated in Lightning 1.0.4 and removed in 1.2: "
        "ModelCheckpoint() raises TypeError. The directory goes to dirpath= and the file name "
        "template (e.g. '{epoch}-{val_loss:.2f}') to filename=."
    )
    versions = "pytorch_lightning >= 1.2 (removed), lightning 2.x"
    triggers = ("filepath",)
    VALID = (
        "from lightning.pytorch.callbacks import ModelCheckpoint\n"
        "ModelCheckpoint(dirpath='ckpt', filename='{epoch}')\n",
        "import lightning.pytorch as pl\n"
        "trainer = pl.Trainer()\n"
        "trainer.save_checkpoint(filepath='x.ckpt')\n",
    )
    INVALID = (
        "import pytorch_lightning as pl\n"
        "ckpt = pl.callbacks.ModelCheckpoint(filepath=os.path.join(out, '{epoch}'))\n",
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for _, arg in checkpoint_keyword(facts, "filepath"):
            yield self.finding(arg)
