"""The second stage of the text prefilter: which ``torch.save``/``torch.load`` calls can match.

A word test (``torch`` and ``.save``) lets through most of a big library's files, and libcst
parses about a hundred times slower than CPython's own parser. So the files that pass the
words are parsed with :mod:`ast`, and only those with a call that can resolve to ``torch.save``
(or a ``torch.load`` without ``weights_only=``) go on to libcst. The test is conservative:
every name bound by ``import torch``, ``from torch import save``, or an assignment from one of
those counts, in any scope, so it keeps every file the rules could flag.
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
    if LOAD not in words:
        return words
    # Whether a torch.load call lacks weights_only= needs its arguments: ask CPython's parser.
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return words  # libcst reports the problem
    return _calls(tree, {SAVE, LOAD} if SAVE in words else {LOAD})


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
            if bits and bits[0] in (SAVE, LOAD) and bits[0] not in found:
                if re.search(rf"(?<!\w){re.escape(bits[-1])}\s*\(", source):
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
    pattern = rf"^[ \t]*{re.escape(name)}[ \t]*=[ \t]*(\w+)[ \t]*(?:#.*)?$"
    for value in re.findall(pattern, source, re.M):
        if value in modules or (value != name and _alias_of(source, value, modules, depth + 1)):
            return True
    return False


def _calls(tree: ast.Module, words: set[str]) -> frozenset[str]:
    modules = {"torch"}  # names that may hold the torch module
    direct: dict[str, str] = {}  # names that may hold torch.save / torch.load
    assigns: list[tuple[str, ast.expr]] = []
    calls: list[ast.Call] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            calls.append(node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "torch" and alias.asname:
                    modules.add(alias.asname)
        elif isinstance(node, ast.ImportFrom):
            if node.module == "torch" and not node.level:
                for alias in node.names:
                    if alias.name in words:
                        direct[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                assigns.append((target.id, node.value))
    # Aliases (`th = torch`, `save = torch.save`), chains included.
    changed = True
    while changed:
        changed = False
        for name, value in assigns:
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
    for call in calls:
        func = call.func
        what = None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.attr in words and func.value.id in modules:
                what = func.attr
        elif isinstance(func, ast.Name):
            what = direct.get(func.id)
        if what == LOAD and not _load_counts(call):
            continue
        if what is not None:
            found.add(what)
            if found == words:
                break
    return frozenset(found)


def _load_counts(call: ast.Call) -> bool:
    """A torch.load call RC301 would flag (no weights_only=, pickle_module=, **kwargs)."""
    if any(k.arg is None or k.arg in LOAD_OPTED for k in call.keywords):
        return False
    if any(isinstance(a, ast.Starred) for a in call.args):
        return False
    return len(call.args) < 3
