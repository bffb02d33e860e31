"""RC203: ``fit(ckpt_path="last")`` with no ``ModelCheckpoint(save_last=True)``."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from resumecheck.lint.facts import FileFacts, keyword
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._common import checkpoint_keyword, is_literal, string_value


class CkptPathLastWithoutSaveLast(Rule):
    """Flag ``ckpt_path="last"`` when nothing in the module writes a last checkpoint."""

    code = "RC203"
    name = "ckpt-path-last-without-save-last"
    message = (
        'fit(ckpt_path="last") finds no checkpoint unless a ModelCheckpoint has '
        "save_last=True: the run silently trains from scratch; add save_last=True"
    )
    explanation = (
        'ckpt_path="last" resumes from the last.ckpt written by a ModelCheckpoint with '
        "save_last=True. Without one, Lightning only warns that no last checkpoint was found "
        "and fits from scratch, so every restart of a preempted job starts over. Flagged only "
        "when the module has no save_last at all (a config or factory that mentions save_last "
        "keeps the rule quiet)."
    )
    versions = 'lightning / pytorch_lightning >= 1.9 (ckpt_path="last")'
    triggers = ("ckpt_path",)
    VALID = (
        "import lightning.pytorch as pl\n"
        "from lightning.pytorch.callbacks import ModelCheckpoint\n"
        "trainer = pl.Trainer(callbacks=[ModelCheckpoint(save_last=True)])\n"
        "trainer.fit(model, ckpt_path='last')\n",
        "import lightning.pytorch as pl\n"
        "trainer = pl.Trainer(callbacks=make_callbacks(save_last=cfg.save_last))\n"
        "trainer.fit(model, ckpt_path='last')\n",
        "import lightning.pytorch as pl\n"
        "trainer = pl.Trainer()\n"
        "trainer.fit(model, ckpt_path=args.ckpt)\n",
    )
    INVALID = (
        "import lightning.pytorch as pl\n"
        "from lightning.pytorch.callbacks import ModelCheckpoint\n"
        "trainer = pl.Trainer(callbacks=[ModelCheckpoint(every_n_epochs=1)])\n"
        'trainer.fit(model, ckpt_path="last")\n',
        "import lightning.pytorch as pl\n"
        "from lightning.pytorch.callbacks import ModelCheckpoint\n"
        "ckpt = ModelCheckpoint(save_last=False)\n"
        "pl.Trainer(callbacks=[ckpt]).fit(model, dm, ckpt_path='last')\n",
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        falsy = sum(
            1
            for _, arg in checkpoint_keyword(facts, "save_last")
            if is_literal(arg.value, "False", "None")
        )
        if facts.source.count("save_last") > falsy:
            return
        for call in facts.calls:
            func = call.node.func
            if not isinstance(func, cst.Attribute) or func.attr.value != "fit":
                continue
            arg = keyword(call.node, "ckpt_path")
            if arg is not None and string_value(arg.value) == "last":
                yield self.finding(arg)
