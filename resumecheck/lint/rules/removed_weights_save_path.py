"""RC106: ``Trainer(weights_save_path=...)`` was removed in Lightning 1.8."""

from __future__ import annotations

from collections.abc import Iterator

from resumecheck.lint.facts import FileFacts
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._common import trainer_keyword


class RemovedWeightsSavePath(Rule):
    """Flag ``Trainer(weights_save_path=...)``."""

    code = "RC106"
    name = "removed-weights-save-path"
    message = (
        "Trainer(weights_save_path=...) was removed in Lightning 1.8: "
        "use ModelCheckpoint(dirpath=...) in callbacks="
    )
    explanation = (
        "weights_save_path= told the Trainer where checkpoints go. It was deprecated in 1.6 and "
        "removed in 1.8 (TypeError). Give the directory to ModelCheckpoint(dirpath=...)."
    )
    versions = "pytorch_lightning >= 1.8, lightning 2.x"
    triggers = ("weights_save_path",)
    VALID = (
        "import lightning.pytorch as pl\n"
        "from lightning.pytorch.callbacks import ModelCheckpoint\n"
        "pl.Trainer(callbacks=[ModelCheckpoint(dirpath='weights')])\n",
    )
    INVALID = ("import pytorch_lightning as pl\npl.Trainer(weights_save_path='weights')\n",)

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for _, arg in trainer_keyword(facts, "weights_save_path"):
            yield self.finding(arg)
