"""RC204: an LR scheduler built in ``configure_optimizers`` but not returned."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from resumecheck.lint.facts import FileFacts, FunctionInfo, dotted, walk
from resumecheck.lint.names import is_scheduler
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._common import is_lightning_module


class SchedulerNotReturned(Rule):
    """Flag a scheduler that ``configure_optimizers`` creates and then drops."""

    code = "RC204"
    name = "scheduler-not-returned"
    message = (
        "LR scheduler created in configure_optimizers but not returned: Lightning neither "
        "steps nor checkpoints it; return it, e.g. {'optimizer': opt, 'lr_scheduler': sched}"
    )
    explanation = (
        "Lightning saves and restores only the schedulers configure_optimizers returns. A "
        "scheduler kept in a local variable or on self is not in the checkpoint: after a "
        "resume it restarts from its initial learning rate (and, under automatic optimization, "
        "it is never stepped at all)."
    )
    versions = "all Lightning versions"
    triggers = ("configure_optimizers",)
    VALID = (
        "import torch\n"
        "import lightning.pytorch as pl\n"
        "class M(pl.LightningModule):\n"
        "    def configure_optimizers(self):\n"
        "        opt = torch.optim.Adam(self.parameters())\n"
        "        sched = torch.optim.lr_scheduler.StepLR(opt, 10)\n"
        "        return {'optimizer': opt, 'lr_scheduler': {'scheduler': sched}}\n",
        "import torch\n"
        "import lightning.pytorch as pl\n"
        "from transformers import get_linear_schedule_with_warmup\n"
        "class M(pl.LightningModule):\n"
        "    def configure_optimizers(self):\n"
        "        opt = torch.optim.AdamW(self.parameters())\n"
        "        sched = get_linear_schedule_with_warmup(opt, 10, 100)\n"
        "        cfg = {'scheduler': sched, 'interval': 'step'}\n"
        "        return [opt], [cfg]\n",
    )
    INVALID = (
        "import torch\n"
        "import pytorch_lightning as pl\n"
        "from torch.optim.lr_scheduler import CosineAnnealingLR\n"
        "class M(pl.LightningModule):\n"
        "    def configure_optimizers(self):\n"
        "        opt = torch.optim.Adam(self.parameters())\n"
        "        self.sched = CosineAnnealingLR(opt, T_max=10)\n"
        "        return opt\n",
        "from torch import optim\n"
        "import lightning.pytorch as pl\n"
        "class M(pl.LightningModule):\n"
        "    def configure_optimizers(self):\n"
        "        opt = optim.SGD(self.parameters(), lr=0.1)\n"
        "        scheduler = optim.lr_scheduler.StepLR(opt, 1)\n"
        "        return [opt]\n",
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for fn in facts.functions:
            if fn.name != "configure_optimizers" or fn.klass is None:
                continue
            if is_lightning_module(facts, fn.klass):
                yield from self._function(facts, fn)

    def _function(self, facts: FileFacts, fn: FunctionInfo) -> Iterator[Finding]:
        uses: dict[str, int] = {}
        for node in walk(fn.node.body):
            if isinstance(node, (cst.Name, cst.Attribute)):
                name = dotted(node)
                if name is not None:
                    uses[name] = uses.get(name, 0) + 1
        for call in facts.calls:
            if call.site.function is not fn or call.target is None:
                continue
            if not is_scheduler(facts.call_names(call)):
                continue
            # Bound once and never read again: it cannot reach the returned value.
            if uses.get(call.target, 0) <= 1:
                yield self.finding(call.node)
