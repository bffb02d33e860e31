"""RC107: ``Trainer.add_argparse_args`` / ``Trainer.from_argparse_args`` were removed."""

from __future__ import annotations

from collections.abc import Iterator

from resumecheck.lint import names as qn
from resumecheck.lint.facts import FileFacts
from resumecheck.lint.rule import Finding, Rule

REMOVED = ("add_argparse_args", "from_argparse_args", "parse_argparser")


class RemovedArgparseHelpers(Rule):
    """Flag Lightning's removed Trainer argparse helpers."""

    code = "RC107"
    name = "removed-argparse-helpers"
    message = (
        "Trainer.add_argparse_args/from_argparse_args/parse_argparser were removed in "
        "Lightning 2.0: build the Trainer from explicit arguments, or use LightningCLI"
    )
    detail = (
        "Trainer.{method} was removed in Lightning 2.0: build the Trainer from explicit "
        "arguments, or use LightningCLI"
    )
    explanation = (
        "Trainer.add_argparse_args, Trainer.from_argparse_args and Trainer.parse_argparser "
        "were removed in Lightning 2.0 (AttributeError). Declare the arguments you need and "
        "pass them to Trainer(...), or use lightning.pytorch.cli.LightningCLI. Only Lightning's "
        "own Trainer is flagged, never a class of yours with a method of the same name."
    )
    versions = "lightning / pytorch_lightning >= 2.0"
    triggers = ("argparse",)
    VALID = (
        "import pytorch_lightning as pl\n"
        "class Trainer:\n"
        "    @classmethod\n"
        "    def from_argparse_args(cls, args):\n"
        "        return cls()\n"
        "Trainer.from_argparse_args(args)\n",
        "import lightning.pytorch as pl\n"
        "from transformers import Trainer\n"
        "Trainer.add_argparse_args(parser)\n",
        "import lightning.pytorch as pl\ntrainer = pl.Trainer(max_epochs=args.max_epochs)\n",
    )
    INVALID = (
        "import pytorch_lightning as pl\n"
        "parser = pl.Trainer.add_argparse_args(parser)\n"
        "trainer = pl.Trainer.from_argparse_args(args)\n",
        "from pytorch_lightning import Trainer\n"
        "trainer = Trainer.from_argparse_args(args, logger=logger)\n",
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for call in facts.calls:
            if call.func is None or not call.func.endswith(REMOVED):
                continue
            method = call.func.rsplit(".", 1)[-1]
            if qn.all_match(facts.call_names(call), qn.TRAINER, method):
                yield self.finding(call.node, self.detail.format(method=method))
