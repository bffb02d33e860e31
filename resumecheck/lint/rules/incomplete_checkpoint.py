"""RC302: a checkpoint dict that leaves out state existing in the same scope."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from resumecheck.lint import names as qn
from resumecheck.lint.facts import (
    LOCAL,
    AssignInfo,
    ClassInfo,
    FileFacts,
    FunctionInfo,
    Scope,
    dotted,
)
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._checkpoint import (
    SavedDict,
    has_model_state,
    might_save,
    saved_dicts,
)
from resumecheck.lint.rules._common import method_of

COUNTER = re.compile(
    r"^(epoch|epochs|ep|step|steps|global_step|iteration|iter|it|n_iter|"
    r"\w+_epoch|\w+_step|\w+_iter|epoch_\w+|step_\w+)$"
)
OPTIMIZER_PARAM = re.compile(r"^(optim|optimizer)(_\w+)?$|^\w+_optimizer$")
SCHEDULER_PARAM = re.compile(r"^(lr_)?sched(uler)?(_\w+)?$|^\w+_scheduler$")
SCALER_PARAM = re.compile(r"^(grad_)?scaler$|^\w+_scaler$")
KINDS = ("optimizer", "scheduler", "scaler")
KEY_WORDS = {"optimizer": ("optim",), "scheduler": ("sched",), "scaler": ("scaler",)}


class IncompleteCheckpoint(Rule):
    """Flag a resume checkpoint that omits optimizer, scheduler, scaler or counter state."""

    code = "RC302"
    name = "incomplete-checkpoint"
    message = (
        "checkpoint leaves out optimizer, scheduler, GradScaler or step-counter state that "
        "exists in the same scope: a resume restarts it; save its state_dict() in the dict"
    )
    detail = (
        "checkpoint leaves out {missing}, which {verb} here: a resume restarts {them}; "
        "save {their} state_dict() (and the counter) in the dict"
    )
    explanation = (
        "A resume checkpoint must hold everything that changes during training: the model, "
        "the optimizer (moments, step counts), the LR scheduler (last epoch, current LR), a "
        "GradScaler (loss scale), and the epoch/step counter. Leaving one out makes a resumed "
        "run differ from an uninterrupted one. Only objects that exist in the same scope are "
        "reported, and only for dicts that already look like resume checkpoints (model state "
        "plus optimizer or counter): a weights-only export is not flagged."
    )
    versions = "all torch versions"
    lightning = False
    triggers = ("torch",)
    VALID = (
        "import torch\n"
        "def train(model, loader, epochs):\n"
        "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)\n"
        "    for epoch in range(epochs):\n"
        "        torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(),\n"
        "                    'scheduler': scheduler.state_dict(), 'epoch': epoch}, 'ckpt.pt')\n",
        "import torch\n"
        "def export(model, optimizer, scheduler):\n"
        "    torch.save(model.state_dict(), 'weights.pt')\n"
        "    torch.save({'model': model.state_dict()}, 'best.pt')\n",
        "import torch\n"
        "def save(model, optimizer, epoch):\n"
        "    torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(),\n"
        "                'epoch': epoch}, 'ckpt.pt')\n",
        # `opt` holding argparse options (yolov5) is not an optimizer.
        "import torch\n"
        "def train(hyp, opt, model, epochs):\n"
        "    for epoch in range(epochs):\n"
        "        opt.step = 1\n"
        "        state = {'model': model.state_dict(), 'epoch': epoch, 'opt': vars(opt)}\n"
        "        torch.save(state, 'x')\n",
        # Reassigned name: the dict saved last is complete.
        "import torch\n"
        "scaler = torch.cuda.amp.GradScaler()\n"
        "checkpoint = torch.load('ckpt.pt')\n"
        "checkpoint = {'model': model.state_dict(), 'optimizer': optimizer.state_dict(),\n"
        "              'scaler': scaler.state_dict(), 'iter_num': iter_num}\n"
        "torch.save(checkpoint, 'ckpt.pt')\n",
        # A module-level function saving only its own arguments' weights.
        "import torch\n"
        "optimizer = torch.optim.SGD(net.parameters(), lr=0.1)\n"
        "def export(model, path):\n"
        "    torch.save({'model': model.state_dict(), 'epoch': 0}, path)\n",
    )
    INVALID = (
        "import torch\n"
        "def train(model, loader, epochs):\n"
        "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)\n"
        "    for epoch in range(epochs):\n"
        "        torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(),\n"
        "                    'epoch': epoch}, 'ckpt.pt')\n",
        "import torch\n"
        "def train(model, optimizer, loader):\n"
        "    scaler = torch.cuda.amp.GradScaler()\n"
        "    for step, batch in enumerate(loader):\n"
        "        state = {'model': model.state_dict(), 'optimizer': optimizer.state_dict()}\n"
        "        torch.save(state, 'ckpt.pt')\n",
        # nanoGPT: the name first holds the loaded checkpoint, later the dict that is saved.
        "import torch\n"
        "checkpoint = torch.load('ckpt.pt', weights_only=True)\n"
        "scaler = torch.cuda.amp.GradScaler(enabled=True)\n"
        "while True:\n"
        "    checkpoint = {'model': model.state_dict(), 'optimizer': optimizer.state_dict(),\n"
        "                  'iter_num': iter_num}\n"
        "    torch.save(checkpoint, 'ckpt.pt')\n",
        # The PyTorch DDP tutorial: the optimizer is a constructor parameter kept on self.
        "import torch\n"
        "class Trainer:\n"
        "    def __init__(self, model, optimizer, path):\n"
        "        self.model = model\n"
        "        self.optimizer = optimizer\n"
        "    def _save_snapshot(self, epoch):\n"
        "        snapshot = {'MODEL_STATE': self.model.state_dict(), 'EPOCHS_RUN': epoch}\n"
        "        torch.save(snapshot, self.path)\n",
        # pytorch-cifar: module-level optimizer and scheduler, saved in a function.
        "import torch\nimport torch.optim as optim\n"
        "net = Net()\n"
        "optimizer = optim.SGD(net.parameters(), lr=0.1)\n"
        "scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=200)\n"
        "def test(epoch):\n"
        "    state = {'net': net.state_dict(), 'acc': acc, 'epoch': epoch}\n"
        "    torch.save(state, './checkpoint/ckpt.pth')\n",
        # An optimizer named `opt`, known by its use.
        "import torch\n"
        "def train(model, opt, loader, epochs):\n"
        "    for epoch in range(epochs):\n"
        "        opt.zero_grad()\n"
        "        opt.step()\n"
        "        torch.save({'model': model.state_dict(), 'epoch': epoch}, 'ckpt.pt')\n",
    )

    def might_match(self, source: str) -> bool:
        return might_save(source)

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for saved in saved_dicts(facts):
            if not has_model_state(saved):
                continue
            present = _objects_in_scope(facts, saved)
            resume_like = saved.mentions("optim", "epoch", "step", "iter") or any(
                saved.references(n) for n in present["optimizer"]
            )
            if not resume_like:
                continue
            missing = [
                f"the {kind} ({', '.join(sorted(present[kind]))})"
                for kind in KINDS
                if present[kind]
                and not any(saved.references(n) for n in present[kind])
                and not saved.mentions(*KEY_WORDS[kind])
            ]
            counters = present["counter"]
            if (
                counters
                and not saved.mentions("epoch", "step", "iter")
                and not any(saved.references(n) for n in counters)
            ):
                missing.append(f"the step/epoch counter ({', '.join(sorted(counters))})")
            if missing:
                one = len(missing) == 1
                message = self.detail.format(
                    missing=", ".join(missing),
                    verb="exists" if one else "exist",
                    them="it" if one else "them",
                    their="its" if one else "their",
                )
                yield self.finding(saved.call.node, message)


def _objects_in_scope(facts: FileFacts, saved: SavedDict) -> dict[str, set[str]]:
    call = saved.call
    found: dict[str, set[str]] = {
        "optimizer": set(),
        "scheduler": set(),
        "scaler": set(),
        "counter": set(),
    }
    scopes = _scope_chain(call.site.scope)
    if _uses_module_state(facts, saved, scopes):
        # A function that saves module-level training state (`net` built at module level,
        # pytorch-cifar) is checked against the module's optimizer and scheduler too.
        scopes.append(facts.module_scope)
    for c in facts.calls:
        if c.target is None or c.site.scope not in scopes:
            continue
        kind = _kind(facts.call_names(c))
        if kind is not None:
            found[kind].add(c.target)
    found["optimizer"] |= _used_as_optimizer(facts, scopes)
    fn = call.site.function
    if fn is not None:
        for param in fn.params:
            for kind, pattern in PARAM_KINDS:
                if pattern.match(param):
                    found[kind].add(param)
            if COUNTER.match(param):
                found["counter"].add(param)
    for loop in call.site.loops:
        if isinstance(loop, cst.For):
            for name in _target_names(loop.target):
                if COUNTER.match(name):
                    found["counter"].add(name)
    method = method_of(fn)
    if method is not None and method.klass is not None:
        for attr, values in method.klass.self_attrs.items():
            for v in values:
                kind = _attr_kind(facts, method.klass, v)
                if kind is not None:
                    found[kind].add(attr)
    return found


PARAM_KINDS = (
    ("optimizer", OPTIMIZER_PARAM),
    ("scheduler", SCHEDULER_PARAM),
    ("scaler", SCALER_PARAM),
)


def _attr_kind(facts: FileFacts, klass: ClassInfo, value: cst.BaseExpression) -> str | None:
    """What ``self.x = value`` holds: a constructor call, or a parameter or local of the
    method (``self.optimizer = optimizer`` in ``__init__``, the PyTorch DDP tutorial)."""
    if isinstance(value, cst.Call):
        info = next((c for c in facts.calls if c.node is value), None)
        return _kind(facts.call_names(info)) if info is not None else None
    if not isinstance(value, cst.Name):
        return None
    method = next(
        (f for f in klass.methods.values() if any(a.value is value for a in _assigns_in(facts, f))),
        None,
    )
    if method is None:
        return None
    name = value.value
    for a in _assigns_in(facts, method):
        if a.targets == [name] and not a.subscript and isinstance(a.value, cst.Call):
            info = next((c for c in facts.calls if c.node is a.value), None)
            kind = _kind(facts.call_names(info)) if info is not None else None
            if kind is not None:
                return kind
    if name in method.params:
        for kind, pattern in PARAM_KINDS:
            if pattern.match(name):
                return kind
    return None


def _assigns_in(facts: FileFacts, fn: FunctionInfo) -> list[AssignInfo]:
    return [a for a in facts.assigns if a.site.function is fn]


def _uses_module_state(facts: FileFacts, saved: SavedDict, scopes: list[Scope]) -> bool:
    """A module-level function whose dict references a module-level variable."""
    if facts.module_scope in scopes or saved.call.site.function is None:
        return False
    if saved.call.site.function.klass is not None:
        return False
    inner = set().union(*(s.bindings for s in scopes))
    for name in saved.names:
        head = name.split(".", 1)[0]
        if head in inner:
            continue
        bound = facts.module_scope.bindings.get(head, [])
        if bound and all(how == LOCAL for how in bound) and head not in _defined(facts):
            return True
    return False


def _defined(facts: FileFacts) -> set[str]:
    """Module-level names bound by def/class (not state)."""
    return {f.name for f in facts.functions if f.scope.parent is facts.module_scope} | {
        c.name for c in facts.classes if c.scope is facts.module_scope
    }


def _used_as_optimizer(facts: FileFacts, scopes: list[Scope]) -> set[str]:
    """Names used as an optimizer in ``scopes``: the first argument of an LR scheduler, the
    argument of ``scaler.step(...)``, or both ``.zero_grad()`` and ``.step()`` called on
    them (``opt``, which elsewhere may be argparse options, counts only then)."""
    out: set[str] = set()
    methods: dict[str, set[str]] = {}
    for c in facts.calls:
        if c.site.scope not in scopes:
            continue
        if c.node.args and c.node.args[0].keyword is None:
            first = dotted(c.node.args[0].value)
            if first is not None and "." not in first and qn.is_scheduler(facts.call_names(c)):
                out.add(first)
        if c.func is not None and c.func.count(".") == 1:
            receiver, method = c.func.split(".")
            methods.setdefault(receiver, set()).add(method)
    return out | {name for name, used in methods.items() if {"zero_grad", "step"} <= used}


def _kind(names: frozenset[str]) -> str | None:
    if qn.is_scheduler(names):
        return "scheduler"
    if qn.is_torch_optimizer(names):
        return "optimizer"
    if qn.is_in(names, qn.GRAD_SCALERS):
        return "scaler"
    return None


def _scope_chain(scope: Scope) -> list[Scope]:
    out: list[Scope] = []
    current: Scope | None = scope
    while current is not None and current.kind == "function":
        out.append(current)
        current = current.parent
    return out or [scope]


def _target_names(node: cst.BaseExpression) -> list[str]:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for el in node.elements for n in _target_names(el.value)]
    return []
