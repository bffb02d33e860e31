"""What a ``torch.save`` call saves: the dict, its keys, and the names it references."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from resumecheck.lint.facts import CallInfo, FileFacts, dotted, referenced_names, walk
from resumecheck.lint.prefilter import SAVE, torch_io

TORCH_SAVE = frozenset({"torch.save"})
TORCH_LOAD = frozenset({"torch.load"})


@dataclass(eq=False)
class SavedDict:
    """A dict given to ``torch.save``: its values, keys and referenced names."""

    call: CallInfo
    values: list[cst.BaseExpression] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    text: str = ""

    def mentions(self, *words: str) -> bool:
        """True when a key or the saved code mentions one of ``words``."""
        hay = " ".join(self.keys).lower() + " " + self.text.lower()
        return any(w in hay for w in words)

    def references(self, name: str) -> bool:
        """True when ``name`` (or an attribute of it) is used in the dict."""
        return any(n == name or n.startswith(name + ".") for n in self.names)


def might_save(source: str) -> bool:
    """Cheap test for a module that may call ``torch.save``."""
    return SAVE in torch_io(source)


def saved_dicts(facts: FileFacts) -> Iterator[SavedDict]:
    """Every ``torch.save(<dict>, ...)``, following a name bound to a dict in the scope."""
    for call in facts.calls:
        if not call.node.args or call.func is None or not call.func.endswith("save"):
            continue
        if facts.call_names(call) != TORCH_SAVE:
            continue
        saved = _saved(facts, call)
        if saved is not None:
            yield saved


def _saved(facts: FileFacts, call: CallInfo) -> SavedDict | None:
    obj = call.node.args[0].value
    out = SavedDict(call)
    if isinstance(obj, cst.Dict):
        _add_dict(facts, out, obj)
        return out
    name = dotted(obj)
    if name is None:
        return None
    scope = call.site.scope
    bound = [a for a in facts.assigns if a.site.scope is scope and name in a.targets]
    # The name may be bound more than once (`checkpoint = torch.load(...)` to resume, later
    # `checkpoint = {...}` to save): what is saved is the last binding before the save.
    before = [a for a in bound if not a.subscript and a.site.order < call.site.order]
    if not before or not isinstance(before[-1].value, cst.Dict):
        return None
    start = before[-1].site.order
    _add_dict(facts, out, before[-1].value)
    for a in bound:
        if a.subscript and start < a.site.order < call.site.order:
            out.values.append(a.value)
            out.names |= referenced_names(a.value)
            out.text += " " + facts.code(a.value)
    for c in facts.calls:
        if c.func == f"{name}.update" and c.site.scope is scope and c.site.order > start:
            for arg in c.node.args:
                out.values.append(arg.value)
                out.names |= referenced_names(arg.value)
                out.text += " " + facts.code(arg.value)
    # Keys added with `state["scheduler"] = ...` count as keys.
    out.keys.extend(re.findall(rf"{re.escape(name)}\[\s*['\"](\w+)['\"]", facts.source))
    return out


def _add_dict(facts: FileFacts, out: SavedDict, node: cst.Dict) -> None:
    for el in node.elements:
        out.values.append(el.value)
        if isinstance(el, cst.DictElement) and isinstance(el.key, cst.SimpleString):
            key = el.key.evaluated_value
            if isinstance(key, str):
                out.keys.append(key)
    out.names |= referenced_names(node)
    out.text += facts.code(node)


def has_model_state(saved: SavedDict) -> bool:
    """The dict holds some module's weights."""
    if any(k.lower() in {"model", "state_dict", "net", "model_state_dict"} for k in saved.keys):
        return True
    return any(
        isinstance(n, cst.Attribute) and n.attr.value == "state_dict"
        for v in saved.values
        for n in walk(v)
    )
