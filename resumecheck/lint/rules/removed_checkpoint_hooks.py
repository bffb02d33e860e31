"""RC109: removed checkpoint hooks and private checkpoint-connector use."""

from __future__ import annotations

from collections.abc import Iterator

from resumecheck.lint.facts import AttributeInfo, FileFacts, FunctionInfo
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._common import is_literal

HPC = {
    "on_hpc_save": "on_hpc_save was removed in Lightning 1.8: use on_save_checkpoint",
    "on_hpc_load": "on_hpc_load was removed in Lightning 1.8: use on_load_checkpoint",
}
DATAMODULE = (
    "LightningDataModule.{name} was removed in Lightning 1.8: "
    "implement state_dict()/load_state_dict() instead"
)
RETURNED = (
    "a value returned from Callback.on_save_checkpoint is no longer saved (Lightning 1.8): "
    "implement state_dict()/load_state_dict() instead"
)
INTERRUPT = "Callback.on_keyboard_interrupt was removed in Lightning 1.7: use on_exception"
CONNECTOR = (
    "trainer.{attr} is private and changed between releases: use trainer.save_checkpoint() "
    "and trainer.fit(..., ckpt_path=...)"
)


class RemovedCheckpointHooks(Rule):
    """Flag removed checkpoint hooks and use of the private checkpoint connector."""

    code = "RC109"
    name = "removed-checkpoint-hooks"
    message = "removed checkpoint hook or private checkpoint-connector use"
    explanation = (
        "Lightning 1.7 removed Callback.on_keyboard_interrupt; 1.8 removed on_hpc_save/"
        "on_hpc_load, LightningDataModule.on_save_checkpoint/on_load_checkpoint and callback "
        "state returned from Callback.on_save_checkpoint. Such hooks are silently never "
        "called, so the state they saved or restored is lost on resume. "
        "trainer.checkpoint_connector (and _checkpoint_connector) is private API that was "
        "renamed and changed. Use "
        "state_dict()/load_state_dict() on callbacks and datamodules, on_save_checkpoint/"
        "on_load_checkpoint on the LightningModule, on_exception for interrupts, and "
        "trainer.save_checkpoint()/fit(ckpt_path=...) for checkpoint I/O."
    )
    versions = "pytorch_lightning >= 1.7 (on_keyboard_interrupt), >= 1.8 (the rest), lightning 2.x"
    triggers = (
        "on_hpc_",
        "on_save_checkpoint",
        "on_load_checkpoint",
        "on_keyboard_interrupt",
        "checkpoint_connector",
    )
    VALID = (
        "import lightning.pytorch as pl\n"
        "class Counter(pl.Callback):\n"
        "    def on_save_checkpoint(self, trainer, pl_module, checkpoint):\n"
        "        checkpoint['n'] = 1\n"
        "    def state_dict(self):\n"
        "        return {'n': 1}\n",
        "import lightning.pytorch as pl\n"
        "class Model(pl.LightningModule):\n"
        "    def on_save_checkpoint(self, checkpoint):\n"
        "        checkpoint['extra'] = 1\n",
        "import lightning.pytorch as pl\n"
        "class Plain:\n"
        "    def on_hpc_save(self, checkpoint):\n"
        "        return checkpoint\n",
        "import lightning.pytorch as pl\ndef f(obj):\n    return obj.checkpoint_connector\n",
    )
    INVALID = (
        "import pytorch_lightning as pl\n"
        "class Model(pl.LightningModule):\n"
        "    def on_hpc_save(self, checkpoint):\n"
        "        pass\n",
        "import pytorch_lightning as pl\n"
        "class Data(pl.LightningDataModule):\n"
        "    def on_save_checkpoint(self, checkpoint):\n"
        "        checkpoint['i'] = self.i\n",
        "from pytorch_lightning.callbacks import Callback\n"
        "class Counter(Callback):\n"
        "    def on_save_checkpoint(self, trainer, pl_module, checkpoint):\n"
        "        return {'n': self.n}\n"
        "    def on_keyboard_interrupt(self, trainer, pl_module):\n"
        "        pass\n",
        "import pytorch_lightning as pl\n"
        "trainer = pl.Trainer()\n"
        "trainer.checkpoint_connector.restore(path)\n",
        "import lightning.pytorch as pl\n"
        "def restore(trainer, path):\n"
        "    trainer.checkpoint_connector.restore(path)\n",
        "import lightning.pytorch as pl\n"
        "class Resume(pl.Callback):\n"
        "    def on_train_start(self, trainer, pl_module):\n"
        "        trainer._checkpoint_connector.resume_start(self.path)\n",
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for fn in facts.functions:
            if fn.klass is not None:
                yield from self._method(facts, fn)
        for attr in facts.attributes:
            name = attr.node.attr.value
            if name.endswith("checkpoint_connector") and _trainer(facts, attr):
                yield self.finding(attr.node, CONNECTOR.format(attr=name))

    def _method(self, facts: FileFacts, fn: FunctionInfo) -> Iterator[Finding]:
        assert fn.klass is not None
        kinds = facts.class_kinds(fn.klass)
        if fn.name in HPC and kinds & {"module", "callback", "datamodule"}:
            yield self.finding(fn.node.name, HPC[fn.name])
        elif fn.name in {"on_save_checkpoint", "on_load_checkpoint"} and "datamodule" in kinds:
            yield self.finding(fn.node.name, DATAMODULE.format(name=fn.name))
        elif fn.name == "on_keyboard_interrupt" and "callback" in kinds:
            yield self.finding(fn.node.name, INTERRUPT)
        elif fn.name == "on_save_checkpoint" and "callback" in kinds:
            for ret in fn.returns:
                if ret.value is not None and not is_literal(ret.value, "None"):
                    yield self.finding(ret.value, RETURNED)


def _trainer(facts: FileFacts, attr: AttributeInfo) -> bool:
    # Only Lightning's Trainer has a checkpoint connector, so in a module that uses Lightning
    # any `trainer.` / `x.trainer.` receiver counts, not only ones bound to Trainer(...).
    receiver = attr.receiver or ""
    if facts.mentions_lightning and receiver.rsplit(".", 1)[-1] == "trainer":
        return True
    return facts.is_trainer(attr.node.value, attr.site)
