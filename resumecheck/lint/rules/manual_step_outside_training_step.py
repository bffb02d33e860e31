"""RC202: manual optimization that steps an optimizer Lightning does not count."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from resumecheck.lint.facts import CallInfo, ClassInfo, FileFacts, dotted
from resumecheck.lint.names import is_torch_optimizer
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._common import (
    is_lightning_module,
    is_manual_optimization,
    method_of,
)

OUTSIDE = (
    "optimizer.step() outside training_step under manual optimization does not advance "
    "global_step: every_n_train_steps checkpoints and max_steps never fire; step in "
    "training_step"
)
RAW = (
    "step() on a raw torch optimizer does not advance global_step: every_n_train_steps "
    "checkpoints and max_steps never fire; use opt = self.optimizers() and opt.step()"
)


class ManualStepOutsideTrainingStep(Rule):
    """Flag optimizer steps Lightning's manual-optimization loop does not count."""

    code = "RC202"
    name = "manual-step-outside-training-step"
    message = OUTSIDE
    explanation = (
        "Under manual optimization (self.automatic_optimization = False) Lightning counts a "
        "step, and advances trainer.global_step, only when a LightningOptimizer from "
        "self.optimizers() steps inside training_step. A step in another hook (e.g. "
        "on_train_batch_end), or on the raw torch optimizer, changes the weights while "
        "global_step stays put: ModelCheckpoint(every_n_train_steps=...) never saves, "
        "max_steps never stops the run, and a resume restarts the step count."
    )
    versions = "lightning / pytorch_lightning >= 1.3 (manual optimization)"
    triggers = ("automatic_optimization",)
    VALID = (
        "import lightning.pytorch as pl\n"
        "class GAN(pl.LightningModule):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.automatic_optimization = False\n"
        "    def training_step(self, batch, batch_idx):\n"
        "        opt = self.optimizers()\n"
        "        self.manual_backward(self.loss(batch))\n"
        "        opt.step()\n"
        "        opt.zero_grad()\n"
        "    def on_train_epoch_end(self):\n"
        "        self.lr_schedulers().step()\n",
        "import lightning.pytorch as pl\n"
        "class Auto(pl.LightningModule):\n"
        "    def on_train_batch_end(self, outputs, batch, batch_idx):\n"
        "        opt = self.optimizers()\n"
        "        opt.step()\n",
    )
    INVALID = (
        "import lightning.pytorch as pl\n"
        "class Model(pl.LightningModule):\n"
        "    automatic_optimization = False\n"
        "    def training_step(self, batch, batch_idx):\n"
        "        self.manual_backward(self.loss(batch))\n"
        "    def on_train_batch_end(self, outputs, batch, batch_idx):\n"
        "        opt = self.optimizers()\n"
        "        opt.step()\n",
        "import torch\n"
        "import pytorch_lightning as pl\n"
        "class Model(pl.LightningModule):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.automatic_optimization = False\n"
        "        self.opt = torch.optim.Adam(self.parameters())\n"
        "    def training_step(self, batch, batch_idx):\n"
        "        self.manual_backward(self.loss(batch))\n"
        "        self.opt.step()\n",
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for klass in facts.classes:
            if is_manual_optimization(klass) and is_lightning_module(facts, klass):
                yield from self._class(facts, klass)

    def _class(self, facts: FileFacts, klass: ClassInfo) -> Iterator[Finding]:
        raw_attrs = {
            attr
            for attr, values in klass.self_attrs.items()
            if any(_is_raw(facts, v, klass) for v in values)
        }
        for call in facts.calls:
            method = method_of(call.site.function)
            if method is None or method.klass is not klass or not _is_step(call.node):
                continue
            assert isinstance(call.node.func, cst.Attribute)
            receiver = call.node.func.value
            name = dotted(receiver)
            if name in raw_attrs or _local_raw(facts, call, name):
                yield self.finding(call.node, RAW)
            elif _hook(method.name) and _from_optimizers(facts, call, receiver, name):
                yield self.finding(call.node, OUTSIDE)


def _is_step(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Attribute) and call.func.attr.value == "step"


def _hook(name: str) -> bool:
    return name != "training_step" and (name.startswith("on_") or name.endswith("_epoch_end"))


def _is_raw(facts: FileFacts, value: cst.BaseExpression, klass: ClassInfo) -> bool:
    if not isinstance(value, cst.Call):
        return False
    call = next((c for c in facts.calls if c.node is value), None)
    return call is not None and is_torch_optimizer(facts.call_names(call))


def _local_raw(facts: FileFacts, step: CallInfo, name: str | None) -> bool:
    if name is None or "." in name:
        return False
    return any(
        c.target == name
        and c.site.scope is step.site.scope
        and is_torch_optimizer(facts.call_names(c))
        for c in facts.calls
    )


def _optimizers_call(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Subscript):
        node = node.value
    return isinstance(node, cst.Call) and dotted(node.func) == "self.optimizers"


def _from_optimizers(
    facts: FileFacts, step: CallInfo, receiver: cst.BaseExpression, name: str | None
) -> bool:
    if _optimizers_call(receiver):
        return True
    if name is None or "." in name:
        return False
    return any(
        name in a.targets and a.site.scope is step.site.scope and _optimizers_call(a.value)
        for a in facts.assigns
    )
