"""The prefilter for the checkpoint rules: which ``torch.save``/``torch.load`` calls can match.

A word test (``torch`` and ``.save``) lets through most of a big library's files, and libcst
parses and visits far slower than CPython's own parser. So a linear text scan first looks for
``m.save(`` / ``m.load(`` on a name bound to torch (``import torch as th``, ``th = torch``,
``from torch import save``); the few files it finds are parsed with :mod:`ast`, and only those
with a call a rule can flag go on to libcst: a ``torch.load`` without ``weights_only=``, a
``torch.save`` of a dict (or of a name bound to one), or a ``torch.save`` in a loop. Every test
is conservative (any scope, any alias chain), so no file a rule could flag is dropped.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache

SAVE, LOAD = "save", "load"
# Keywords that make a torch.load call one RC301 leaves alone.
LOAD_OPTED = frozenset({"weights_only", "pickle_module"})
# Every pattern starts with a literal, so a search skips ahead fast: a leading `\b`, `\w` or a
# lazy scan across the file cost seconds on big trees.
TORCH_AS = re.compile(r"import\s+torch\s+as\s+(\w+)")
FROM_TORCH = re.compile(r"from\s+torch\s+import\s*(\([^)]*\)|[^\n;]*)")
CALL_SITE = re.compile(r"\.\s*(save|load)\s*\(")
RECEIVER = re.compile(r"(\w+)\s*$")


@lru_cache(maxsize=4)
def torch_io(source: str) -> frozenset[str]:
    """``{"save", "load"}``, or the part of it, that ``source`` may call on torch."""
    if "torch" not in source or not ("save" in source or "load" in source):
        return frozenset()
    words = _words(source)
    if not words:
        return words
    # What a call passes (weights_only=, a dict) and where it runs (a loop) needs the
    # arguments: ask CPython's parser, fifty times faster than libcst.
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return words  # libcst reports the problem
    return _calls(tree, set(words))


def _words(source: str) -> frozenset[str]:
    """A text scan: ``m.save(`` / ``m.load(`` on a name bound to torch, or an imported one."""
    modules = {"torch", *TORCH_AS.findall(source)}
    found: set[str] = set()
    receivers: dict[str, bool] = {}
    for m in CALL_SITE.finditer(source):
        what = m.group(1)
        if what in found:
            continue
        before = RECEIVER.search(source, max(0, m.start() - 80), m.start())
        if before is None:
            continue
        name = before.group(1)
        if name not in receivers:
            receivers[name] = name in modules or _alias_of(source, name, modules)
        if receivers[name]:
            found.add(what)
    for names in FROM_TORCH.findall(source):
        for part in names.strip("()").split(","):
            bits = part.split()
            called = bits and re.search(rf"(?<!\w){re.escape(bits[-1])}\s*\(", source)
            if called and bits[0] in (SAVE, LOAD):
                found.add(bits[0])
    if len(found) < 2:
        # `save = torch.save`, a callback argument...: a use that is not a call. Let the
        # parser decide.
        for mod in modules:
            if re.search(rf"(?<![\w.]){re.escape(mod)}\s*\.\s*(save|load)\b(?!\s*\()", source):
                return frozenset({SAVE, LOAD})
    return frozenset(found)


def _alias_of(source: str, name: str, modules: set[str], depth: int = 0) -> bool:
    """``name = torch`` (or an alias of an alias) somewhere in ``source``."""
    if depth > 3:
        return False
    # Starts with the literal name (fast to search); the match must begin its line.
    pattern = rf"(?<![\w.]){re.escape(name)}[ \t]*=[ \t]*(\w+)[ \t]*(?:#[^\n]*)?$"
    for m in re.finditer(pattern, source, re.M):
        start = source.rfind("\n", 0, m.start()) + 1
        if source[start : m.start()].strip(" \t"):
            continue
        value = m.group(1)
        if value in modules or (value != name and _alias_of(source, value, modules, depth + 1)):
            return True
    return False


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _Scan(ast.NodeVisitor):
    """Imports, aliases, names bound to dict literals, and calls with their loop depth."""

    def __init__(self, words: set[str]) -> None:
        self.words = words
        self.modules = {"torch"}  # names that may hold the torch module
        self.direct: dict[str, str] = {}  # names that may hold torch.save / torch.load
        self.aliases: list[tuple[str, ast.expr]] = []
        self.dicts: set[str] = set()  # dotted names assigned a dict literal somewhere
        self.calls: list[tuple[ast.Call, bool]] = []
        self.loops = 0

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "torch" and alias.asname:
                self.modules.add(alias.asname)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "torch" and not node.level:
            for alias in node.names:
                if alias.name in self.words:
                    self.direct[alias.asname or alias.name] = alias.name

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bound(target, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._bound(node.target, node.value)
        self.generic_visit(node)

    def _bound(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.aliases.append((target.id, value))
        name = _dotted(target)
        if name is not None and isinstance(value, ast.Dict):
            self.dicts.add(name)

    def visit_Call(self, node: ast.Call) -> None:
        self.calls.append((node, self.loops > 0))
        self.generic_visit(node)

    def _loop(self, node: ast.AST) -> None:
        self.loops += 1
        self.generic_visit(node)
        self.loops -= 1

    visit_For = visit_AsyncFor = visit_While = _loop

    def _function(self, node: ast.AST) -> None:
        # A function body is not inside the loop that defines it (as facts.Collector sees it).
        loops, self.loops = self.loops, 0
        self.generic_visit(node)
        self.loops = loops

    visit_FunctionDef = visit_AsyncFunctionDef = _function


def _calls(tree: ast.Module, words: set[str]) -> frozenset[str]:
    scan = _Scan(words)
    scan.visit(tree)
    modules, direct = scan.modules, scan.direct
    # Aliases (`th = torch`, `save = torch.save`), chains included.
    changed = True
    while changed:
        changed = False
        for name, value in scan.aliases:
            if isinstance(value, ast.Name) and value.id in modules and name not in modules:
                modules.add(name)
                changed = True
            elif isinstance(value, ast.Name) and value.id in direct and name not in direct:
                direct[name] = direct[value.id]
                changed = True
            elif (
                isinstance(value, ast.Attribute)
                and value.attr in words
                and isinstance(value.value, ast.Name)
                and value.value.id in modules
                and name not in direct
            ):
                direct[name] = value.attr
                changed = True
    found: set[str] = set()
    for call, in_loop in scan.calls:
        func = call.func
        what = None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.attr in words and func.value.id in modules:
                what = func.attr
        elif isinstance(func, ast.Name):
            what = direct.get(func.id)
        if what == LOAD and not _load_counts(call):
            continue
        if what == SAVE and not _save_counts(call, in_loop, scan.dicts):
            continue
        if what is not None:
            found.add(what)
            if found == words:
                break
    return frozenset(found)


def _save_counts(call: ast.Call, in_loop: bool, dicts: set[str]) -> bool:
    """A torch.save call a checkpoint rule can look at: it saves a dict literal or a name
    bound to one (RC302-RC304), or it runs in a loop (RC305)."""
    values = [*call.args, *(k.value for k in call.keywords)]
    if not values:
        return False
    if in_loop and len(values) >= 2:
        return True
    first = call.args[0] if call.args else call.keywords[0].value
    if isinstance(first, (ast.Dict, ast.Starred)) or any(k.arg is None for k in call.keywords):
        return True
    name = _dotted(first)
    return name is not None and name in dicts


def _load_counts(call: ast.Call) -> bool:
    """A torch.load call RC301 would flag (no weights_only=, pickle_module=, **kwargs)."""
    if any(k.arg is None or k.arg in LOAD_OPTED for k in call.keywords):
        return False
    if any(isinstance(a, ast.Starred) for a in call.args):
        return False
    return len(call.args) < 3
