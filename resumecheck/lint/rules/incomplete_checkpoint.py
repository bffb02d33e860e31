"""RC302: a checkpoint dict that leaves out state existing in the same scope."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from resumecheck.lint import names as qn
from resumecheck.lint.facts import CallInfo, FileFacts, Scope
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._checkpoint import (
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
        "checkpoint leaves out {missing}, which exist here: a resume restarts them; "
        "save their state_dict() (and the counter) in the dict"
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
    )

    def might_match(self, source: str) -> bool:
        return might_save(source)

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for saved in saved_dicts(facts):
            if not has_model_state(saved):
                continue
            present = _objects_in_scope(facts, saved.call)
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
                yield self.finding(saved.call.node, self.message.format(missing=", ".join(missing)))


def _objects_in_scope(facts: FileFacts, call: CallInfo) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {
        "optimizer": set(),
        "scheduler": set(),
        "scaler": set(),
        "counter": set(),
    }
    scopes = _scope_chain(call.site.scope)
    for c in facts.calls:
        if c.target is None or c.site.scope not in scopes:
            continue
        kind = _kind(facts.call_names(c))
        if kind is not None:
            found[kind].add(c.target)
    fn = call.site.function
    if fn is not None:
        for param in fn.params:
            for kind, pattern in (
                ("optimizer", OPTIMIZER_PARAM),
                ("scheduler", SCHEDULER_PARAM),
                ("scaler", SCALER_PARAM),
            ):
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
                info = next((c for c in facts.calls if c.node is v), None)
                kind = _kind(facts.call_names(info)) if info is not None else None
                if kind is not None:
                    found[kind].add(attr)
    return found


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
