"""Small queries shared by several rules."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from resumecheck.lint import names as qn
from resumecheck.lint.facts import CallInfo, ClassInfo, FileFacts, FunctionInfo, keyword


def trainer_calls(facts: FileFacts) -> Iterator[CallInfo]:
    """Calls that construct a Lightning Trainer."""
    return (c for c in facts.calls if facts.is_trainer_call(c))


def checkpoint_calls(facts: FileFacts) -> Iterator[CallInfo]:
    """Calls that construct Lightning's ModelCheckpoint."""
    return (c for c in facts.calls if qn.all_match(facts.call_names(c), qn.MODEL_CHECKPOINT))


def trainer_keyword(facts: FileFacts, name: str) -> Iterator[tuple[CallInfo, cst.Arg]]:
    """``name=`` arguments passed to a Lightning Trainer."""
    for call in trainer_calls(facts):
        arg = keyword(call.node, name)
        if arg is not None:
            yield call, arg


def checkpoint_keyword(facts: FileFacts, name: str) -> Iterator[tuple[CallInfo, cst.Arg]]:
    """``name=`` arguments passed to Lightning's ModelCheckpoint."""
    for call in checkpoint_calls(facts):
        arg = keyword(call.node, name)
        if arg is not None:
            yield call, arg


def is_lightning_module(facts: FileFacts, klass: ClassInfo) -> bool:
    """A LightningModule, or a class shaped like one in a file that uses Lightning.

    A subclass of a project base class defined elsewhere cannot be resolved; a class with both
    ``training_step`` and ``configure_optimizers`` in a file that imports Lightning is one.
    """
    kinds = facts.class_kinds(klass)
    if "module" in kinds:
        return True
    if kinds or not facts.mentions_lightning or not klass.bases:
        return False
    return "training_step" in klass.methods and "configure_optimizers" in klass.methods


def is_manual_optimization(klass: ClassInfo) -> bool:
    """True when the class turns off automatic optimization."""
    values = [
        *klass.attrs.get("automatic_optimization", []),
        *klass.self_attrs.get("self.automatic_optimization", []),
    ]
    if any(isinstance(v, cst.Name) and v.value == "False" for v in values):
        return True
    method = klass.methods.get("automatic_optimization")
    if method is None:
        return False
    return any(isinstance(r.value, cst.Name) and r.value.value == "False" for r in method.returns)


def method_of(fn: FunctionInfo | None) -> FunctionInfo | None:
    """The method a (possibly nested) function belongs to."""
    while fn is not None and fn.klass is None:
        fn = fn.parent
    return fn


def is_literal(node: cst.BaseExpression, *values: str) -> bool:
    """True for the names ``True``/``False``/``None`` listed in ``values``."""
    return isinstance(node, cst.Name) and node.value in values


def string_value(node: cst.BaseExpression) -> str | None:
    """The value of a plain string literal."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None
