"""RC206 (off by default): a Callback with mutable state and no ``state_dict``."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from resumecheck.lint.facts import ClassInfo, FileFacts
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._common import method_of

SETUP = frozenset({"__init__", "setup", "teardown", "state_dict", "load_state_dict"})
MUTATORS = frozenset({"append", "extend", "update", "add", "insert", "pop", "clear"})


class CallbackStateNotSaved(Rule):
    """Flag Callback subclasses whose hooks change ``self`` state that is never saved."""

    code = "RC206"
    name = "callback-state-not-saved"
    message = (
        "a Callback changes its state during training but has no "
        "state_dict()/load_state_dict(): it restarts empty after a resume"
    )
    detail = (
        "Callback {name} changes self.{attr} during training but has no "
        "state_dict()/load_state_dict(): it restarts empty after a resume"
    )
    explanation = (
        "Lightning checkpoints a callback's state only through its state_dict() and restores "
        "it with load_state_dict(). A callback that counts, accumulates or tracks a best value "
        "in hooks loses that state on resume. Off by default: some state is meant to be "
        "transient (timers, caches)."
    )
    versions = "lightning / pytorch_lightning >= 1.6 (Callback.state_dict)"
    default = False
    triggers = ("Callback",)
    VALID = (
        "import lightning.pytorch as pl\n"
        "class Counter(pl.Callback):\n"
        "    def __init__(self):\n"
        "        self.n = 0\n"
        "    def on_train_batch_end(self, *args):\n"
        "        self.n += 1\n"
        "    def state_dict(self):\n"
        "        return {'n': self.n}\n"
        "    def load_state_dict(self, state):\n"
        "        self.n = state['n']\n",
    )
    INVALID = (
        "from lightning.pytorch.callbacks import Callback\n"
        "class Counter(Callback):\n"
        "    def __init__(self):\n"
        "        self.losses = []\n"
        "    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):\n"
        "        self.losses.append(outputs['loss'])\n",
    )

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for klass in facts.classes:
            if "plain_callback" not in facts.class_kinds(klass) or _saves(facts, klass):
                continue
            attr = _mutated(facts, klass)
            if attr is not None:
                yield self.finding(klass.node.name, self.detail.format(name=klass.name, attr=attr))


def _saves(facts: FileFacts, klass: ClassInfo | None) -> bool:
    depth = 0
    while klass is not None and depth < 10:
        if "state_dict" in klass.methods:
            return True
        base = klass.bases[0] if klass.bases else None
        klass = facts.local_class(base) if base is not None else None
        depth += 1
    return False


def _mutated(facts: FileFacts, klass: ClassInfo) -> str | None:
    for a in facts.assigns:
        method = method_of(a.site.function)
        if method is None or method.klass is not klass or method.name in SETUP:
            continue
        for t in a.targets:
            if t.startswith("self.") and t.count(".") == 1:
                return t[len("self.") :]
    for call in facts.calls:
        method = method_of(call.site.function)
        if method is None or method.klass is not klass or method.name in SETUP:
            continue
        func = call.node.func
        if isinstance(func, cst.Attribute) and func.attr.value in MUTATORS:
            inner = func.value
            if (
                isinstance(inner, cst.Attribute)
                and isinstance(inner.value, cst.Name)
                and inner.value.value == "self"
            ):
                return inner.attr.value
    return None
