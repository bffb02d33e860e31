"""RC201: ``Model.load_from_checkpoint(p)`` then ``trainer.fit(model)`` without ``ckpt_path``."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from resumecheck.lint.facts import (
    CallInfo,
    FileFacts,
    dotted,
    has_star_kwargs,
    keyword,
    positional_count,
)
from resumecheck.lint.rule import Finding, Rule


class LoadFromCheckpointThenFit(Rule):
    """Flag a fit on a model restored with ``load_from_checkpoint`` (weights only)."""

    code = "RC201"
    name = "load-from-checkpoint-then-fit"
    message = (
        "fit() on a model from load_from_checkpoint() restores only the weights: optimizer, "
        "LR scheduler, epoch and step restart; pass ckpt_path= to fit() to resume"
    )
    explanation = (
        "LightningModule.load_from_checkpoint() builds a model and loads its weights (and "
        "hyperparameters). Training it with trainer.fit(model) starts a new run: the optimizer "
        "and LR scheduler state, the epoch and global step, and callback state are all fresh. "
        "To continue a run, construct the model normally and call trainer.fit(model, "
        "ckpt_path=path). A deliberate warm start is not flagged when the same function also "
        "has a fit() that passes ckpt_path (a resume branch beside it)."
    )
    versions = "all Lightning versions"
    triggers = ("load_from_checkpoint",)
    VALID = (
        "import lightning.pytorch as pl\n"
        "model = LitModel.load_from_checkpoint('best.ckpt')\n"
        "model = LitModel()\n"
        "pl.Trainer().fit(model)\n",
        "import lightning.pytorch as pl\n"
        "model = Model()\n"
        "trainer = pl.Trainer()\n"
        "trainer.fit(model, ckpt_path=args.ckpt)\n",
        "import lightning.pytorch as pl\n"
        "def main(args):\n"
        "    trainer = pl.Trainer()\n"
        "    if args.resume:\n"
        "        trainer.fit(Model(), ckpt_path=args.resume)\n"
        "    else:\n"
        "        model = Model.load_from_checkpoint(args.pretrained)\n"
        "        trainer.fit(model)\n",
        "import lightning.pytorch as pl\n"
        "model = Model.load_from_checkpoint(path)\n"
        "trainer = pl.Trainer()\n"
        "trainer.test(model)\n",
    )
    INVALID = (
        "import pytorch_lightning as pl\n"
        "def main(args):\n"
        "    model = LitModel.load_from_checkpoint(args.checkpoint)\n"
        "    trainer = pl.Trainer(max_epochs=10)\n"
        "    trainer.fit(model, datamodule=dm)\n",
        "from lightning.pytorch import Trainer\n"
        "model = LitModel.load_from_checkpoint('last.ckpt', strict=False)\n"
        "Trainer().fit(model=model)\n",
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        loads = [
            c
            for c in facts.calls
            if c.func is not None
            and c.func.endswith(".load_from_checkpoint")
            and c.target is not None
            and "." not in c.target
        ]
        for load in loads:
            yield from self._fits_after(facts, load)

    def _fits_after(self, facts: FileFacts, load: CallInfo) -> Iterator[Finding]:
        scope = load.site.scope
        fits = [c for c in facts.calls if c.site.scope is scope and _is_fit(c)]
        if any(_passes_ckpt(c.node) for c in fits):
            return
        # A rebinding of the name in between (`model = LitModel()`) ends the loaded model's
        # reach, as in a notebook that shows several examples one after another.
        rebinds = [
            a.site.order
            for a in facts.assigns
            if a.site.scope is scope and load.target in a.targets and a.site.order > load.site.order
        ]
        for fit in fits:
            if fit.site.order <= load.site.order or _model_arg(fit.node) != load.target:
                continue
            if any(order < fit.site.order for order in rebinds):
                continue
            yield self.finding(fit.node)


def _is_fit(call: CallInfo) -> bool:
    func = call.node.func
    return isinstance(func, cst.Attribute) and func.attr.value == "fit"


def _passes_ckpt(call: cst.Call) -> bool:
    return (
        keyword(call, "ckpt_path") is not None
        or has_star_kwargs(call)
        or positional_count(call) >= 5
    )


def _model_arg(call: cst.Call) -> str | None:
    model = keyword(call, "model")
    if model is None and call.args and call.args[0].keyword is None and not call.args[0].star:
        model = call.args[0]
    return dotted(model.value) if model is not None else None
