"""RC304: numpy objects put into checkpoint state."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from resumecheck.lint.facts import FileFacts, FunctionInfo, Scope, dotted
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._checkpoint import might_save, saved_dicts

# Calls whose result is a plain Python value again.
CONVERTERS = frozenset({"item", "tolist", "float", "int", "str", "bool"})
HARMLESS = frozenset({"numpy.random.seed"})
STATE_METHODS = frozenset({"state_dict", "on_save_checkpoint"})


class NumpyInCheckpoint(Rule):
    """Flag numpy values stored in checkpoint state."""

    code = "RC304"
    name = "numpy-in-checkpoint"
    message = (
        "numpy object in checkpoint state: torch.load(weights_only=True), the default since "
        "torch 2.6, refuses it; convert with .tolist()/.item() or save torch tensors"
    )
    explanation = (
        "torch.load's weights-only unpickler (the default since torch 2.6) accepts tensors "
        "and plain containers of Python scalars and strings, not numpy arrays, scalars or "
        "random states. A checkpoint holding np.random.get_state() or an np.ndarray cannot be "
        "loaded for a resume without weights_only=False or allow-listing numpy globals. Store "
        "plain Python values (.tolist(), .item()) or tensors instead."
    )
    versions = "torch >= 2.6"
    lightning = False
    triggers = ("numpy",)
    VALID = (
        "import numpy as np\nimport torch\n"
        "torch.save({'best': float(np.mean(scores)), 'hist': np.array(h).tolist()}, 'c.pt')\n",
        "import numpy as np\nimport torch\nstate = np.random.get_state()\nprint(state)\n",
    )
    INVALID = (
        "import numpy as np\nimport torch\n"
        "torch.save({'model': model.state_dict(), 'np_rng': np.random.get_state()}, 'c.pt')\n",
        "import numpy\nimport lightning.pytorch as pl\n"
        "class Rng(pl.Callback):\n"
        "    def state_dict(self):\n"
        "        return {'numpy': numpy.random.get_state()}\n",
        "import numpy as np\nimport lightning.pytorch as pl\n"
        "class M(pl.LightningModule):\n"
        "    def on_save_checkpoint(self, checkpoint):\n"
        "        checkpoint['scores'] = np.array(self.scores)\n",
        "import numpy as np\nimport torch\n"
        "def save(model, path):\n"
        "    rng = np.random.get_state()\n"
        "    torch.save({'model': model.state_dict(), 'rng': rng}, path)\n",
    )

    def might_match(self, source: str) -> bool:
        if "numpy" not in source:
            return False
        # numpy in a torch.save'd dict, or in a Lightning state_dict/on_save_checkpoint.
        lightning = "lightning" in source and any(m in source for m in STATE_METHODS)
        return lightning or might_save(source)

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for saved in saved_dicts(facts):
            for value in saved.values:
                yield from self._value(facts, value, saved.call.site.scope)
        for fn in facts.functions:
            lightning = {"callback", "module", "datamodule"}
            if fn.name in STATE_METHODS and fn.klass and facts.class_kinds(fn.klass) & lightning:
                yield from self._method(facts, fn)

    def _method(self, facts: FileFacts, fn: FunctionInfo) -> Iterator[Finding]:
        for ret in fn.returns:
            if ret.value is not None:
                yield from self._value(facts, ret.value, fn.scope)
        if fn.name != "on_save_checkpoint":
            return
        for a in facts.assigns:
            if a.site.function is fn and a.subscript:
                yield from self._value(facts, a.value, fn.scope)

    def _value(self, facts: FileFacts, node: cst.BaseExpression, scope: Scope) -> Iterator[Finding]:
        for call in _calls(node):
            names = facts.resolve(dotted(call.func), scope)
            if names and all(n.startswith("numpy.") and n not in HARMLESS for n in names):
                yield self.finding(call)
        if isinstance(node, cst.Name):
            for a in facts.assigns:
                same = a.site.scope is scope and a.targets == [node.value] and not a.subscript
                if same and isinstance(a.value, cst.Call) and _numpy(facts, a.value, scope):
                    yield self.finding(node)


def _numpy(facts: FileFacts, call: cst.Call, scope: Scope) -> bool:
    return any(n.startswith("numpy.") for n in facts.resolve(dotted(call.func), scope))


def _calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call):
            func = current.func
            name = func.attr.value if isinstance(func, cst.Attribute) else dotted(func)
            if name in CONVERTERS:
                continue
            yield current
        stack.extend(current.children)
