"""RC108: ``training_step(..., optimizer_idx)`` under automatic optimization."""

from __future__ import annotations

from collections.abc import Iterator

from resumecheck.lint.facts import FileFacts
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._common import is_lightning_module, is_manual_optimization


class RemovedOptimizerIdx(Rule):
    """Flag an ``optimizer_idx`` parameter of ``training_step``."""

    code = "RC108"
    name = "removed-optimizer-idx"
    message = (
        "training_step(..., optimizer_idx) with several optimizers was removed in Lightning 2.0: "
        "set self.automatic_optimization = False and step the optimizers yourself"
    )
    explanation = (
        "Lightning 1.x called training_step once per optimizer with optimizer_idx under "
        "automatic optimization (the classic GAN loop). Lightning 2.0 removed this: fitting "
        "raises. Use manual optimization: self.automatic_optimization = False in __init__, "
        "opt_g, opt_d = self.optimizers() in training_step, and self.manual_backward(loss) / "
        "opt.step() / opt.zero_grad() for each optimizer."
    )
    versions = "lightning / pytorch_lightning >= 2.0"
    triggers = ("optimizer_idx",)
    VALID = (
        "import lightning.pytorch as pl\n"
        "class GAN(pl.LightningModule):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.automatic_optimization = False\n"
        "    def training_step(self, batch, batch_idx, optimizer_idx=0):\n"
        "        pass\n",
        "import lightning.pytorch as pl\n"
        "class Loop:\n"
        "    def training_step(self, batch, batch_idx, optimizer_idx):\n"
        "        pass\n",
    )
    INVALID = (
        "import pytorch_lightning as pl\n"
        "class GAN(pl.LightningModule):\n"
        "    def training_step(self, batch, batch_idx, optimizer_idx):\n"
        "        if optimizer_idx == 0:\n"
        "            return self.g_loss(batch)\n",
        "from lightning.pytorch import LightningModule as LM\n"
        "class Base(LM):\n"
        "    pass\n"
        "class GAN(Base):\n"
        "    def training_step(self, batch, batch_idx, optimizer_idx):\n"
        "        pass\n",
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for fn in facts.functions:
            if fn.name != "training_step" or fn.klass is None or "optimizer_idx" not in fn.params:
                continue
            if is_manual_optimization(fn.klass) or not is_lightning_module(facts, fn.klass):
                continue
            params = fn.node.params
            for p in [*params.posonly_params, *params.params, *params.kwonly_params]:
                if p.name.value == "optimizer_idx":
                    yield self.finding(p)
