"""RC101: ``Trainer(resume_from_checkpoint=...)`` was removed in Lightning 2.0."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from resumecheck.lint.facts import (
    CallInfo,
    FileFacts,
    has_star_kwargs,
    keyword,
    positional_count,
    referenced_names,
)
from resumecheck.lint.rule import AppendKeyword, Finding, Fix, RemoveArg, Rule
from resumecheck.lint.rules._common import trainer_keyword

# How many positional arguments fill up to `ckpt_path` in each method (Lightning 2.x).
CKPT_POSITION = {"fit": 5, "validate": 3, "test": 3}


class RemovedResumeFromCheckpoint(Rule):
    """Flag the removed ``resume_from_checkpoint`` Trainer argument and attribute."""

    code = "RC101"
    name = "removed-resume-from-checkpoint"
    message = (
        "Trainer(resume_from_checkpoint=...) was removed in Lightning 2.0: "
        "pass ckpt_path= to trainer.fit() instead"
    )
    attribute_message = (
        "trainer.resume_from_checkpoint was removed in Lightning 2.0: "
        "pass ckpt_path= to trainer.fit() instead"
    )
    explanation = (
        "Lightning 1.x resumed a run with Trainer(resume_from_checkpoint=path). Lightning 2.0 "
        "removed the argument (and the trainer attribute): Trainer() raises TypeError, and "
        "code that only reads the attribute crashes. The checkpoint now goes to the call that "
        "runs the loop: trainer.fit(model, ckpt_path=path), which restores weights, optimizer, "
        "LR schedulers, loop counters and callback state."
    )
    versions = "lightning / pytorch_lightning >= 2.0 (deprecated in 1.5)"
    fix_summary = (
        "Move the value to ckpt_path= of the one trainer.fit/validate/test call that follows "
        "(safe; only when there is exactly one, outside any loop, without **kwargs)"
    )
    triggers = ("resume_from_checkpoint",)
    VALID = (
        "import lightning.pytorch as pl\n"
        "trainer = pl.Trainer(max_epochs=3)\n"
        "trainer.fit(model, ckpt_path=args.resume)\n",
        # Hugging Face's Trainer takes resume_from_checkpoint in train(): valid API.
        "from transformers import Trainer\n"
        "import pytorch_lightning as pl\n"
        "trainer = Trainer(model=model, args=training_args)\n"
        "trainer.train(resume_from_checkpoint=True)\n",
        "import transformers\n"
        "args = transformers.TrainingArguments(output_dir='o', resume_from_checkpoint='ckpt')\n",
        # Strings, dict keys and comments that merely mention the name.
        "import lightning as L\n"
        "cfg = {'resume_from_checkpoint': None}  # resume_from_checkpoint\n"
        "print('resume_from_checkpoint')\n"
        "trainer = L.Trainer(**cfg)\n",
        # A user class with the same keyword.
        "import lightning.pytorch as pl\n"
        "class Trainer:\n"
        "    def __init__(self, resume_from_checkpoint=None):\n"
        "        self.resume_from_checkpoint = resume_from_checkpoint\n"
        "t = Trainer(resume_from_checkpoint='x')\n"
        "t.resume_from_checkpoint\n",
    )
    INVALID = (
        "import pytorch_lightning as pl\n"
        "trainer = pl.Trainer(max_epochs=10, resume_from_checkpoint=args.resume)\n"
        "trainer.fit(model)\n",
        "from pytorch_lightning import Trainer\n"
        "trainer = Trainer(max_epochs=10, resume_from_checkpoint=args.resume)\n",
        "import lightning as L\n"
        "def main(args):\n"
        "    trainer = L.Trainer(resume_from_checkpoint='last.ckpt', max_epochs=3)\n"
        "    for _ in range(2):\n"
        "        trainer.fit(model)\n",
        "from lightning.pytorch import Trainer as T\nT(resume_from_checkpoint=None)\n",
        "import lightning.pytorch as pl\n"
        "trainer = pl.Trainer()\n"
        "print(trainer.resume_from_checkpoint)\n",
    )
    FIXES = (
        (
            "import pytorch_lightning as pl\n"
            "trainer = pl.Trainer(max_epochs=10, resume_from_checkpoint=args.resume)\n"
            "trainer.fit(model, dm)\n",
            "import pytorch_lightning as pl\n"
            "trainer = pl.Trainer(max_epochs=10)\n"
            "trainer.fit(model, dm, ckpt_path=args.resume)\n",
        ),
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for call, arg in trainer_keyword(facts, "resume_from_checkpoint"):
            yield self.finding(arg, fix=_fix(facts, call, arg))
        for attr in facts.attributes:
            if attr.node.attr.value != "resume_from_checkpoint":
                continue
            if facts.is_trainer(attr.node.value, attr.site):
                yield self.finding(attr.node, self.attribute_message)


def _fix(facts: FileFacts, call: CallInfo, arg: cst.Arg) -> Fix | None:
    name = call.target
    if name is None or "." in name or call.func is None or call.func.endswith("_args"):
        return None
    scope = call.site.scope
    runs = [
        c
        for c in facts.calls
        if c.site.scope is scope
        and c.site.order > call.site.order
        and c.func in {f"{name}.{m}" for m in CKPT_POSITION}
    ]
    if len(runs) != 1:
        return None
    run = runs[0]
    method = (run.func or "").rsplit(".", 1)[1]
    if (
        [id(n) for n in run.site.loops] != [id(n) for n in call.site.loops]
        or keyword(run.node, "ckpt_path") is not None
        or has_star_kwargs(run.node)
        or positional_count(run.node) >= CKPT_POSITION[method]
    ):
        return None
    if not _stable(facts, call, run, name, arg.value):
        return None
    return Fix(
        f"Move resume_from_checkpoint to {name}.{method}(ckpt_path=...)",
        "safe",
        (RemoveArg(call.node, arg), AppendKeyword(run.node, "ckpt_path", arg.value)),
    )


def _stable(
    facts: FileFacts, call: CallInfo, run: CallInfo, name: str, value: cst.BaseExpression
) -> bool:
    """The trainer name is bound once and the value's names are not rebound in between."""
    heads = {n.split(".", 1)[0] for n in referenced_names(value)}
    scope = call.site.scope
    bound = 0
    for a in facts.assigns:
        if a.site.scope is not scope:
            continue
        if name in a.targets:
            bound += 1
        between = call.site.order < a.site.order < run.site.order
        if between and any(t.split(".", 1)[0] in heads for t in a.targets):
            return False
    return bound == 1
