"""One pass over a module that records what every rule asks about.

Rules never walk the tree themselves: the engine parses a file once, runs :class:`Collector`
once, and hands the resulting :class:`FileFacts` to every selected rule. Name resolution is
scope-aware (module, class and function scopes, as Python resolves them) and follows imports
and simple aliases, so ``import lightning.pytorch as pl; pl.Trainer`` resolves to
``lightning.pytorch.Trainer`` while a local ``Trainer`` class or a ``transformers.Trainer``
import does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from resumecheck.lint import names as qn

LOCAL = "<local>"


@dataclass(eq=False)
class Scope:
    """A Python scope and the names bound in it (imports as ``import:<qualified>``)."""

    kind: str
    parent: Scope | None
    bindings: dict[str, list[str]] = field(default_factory=dict)

    def bind(self, name: str, how: str) -> None:
        self.bindings.setdefault(name, []).append(how)


@dataclass(eq=False)
class ClassInfo:
    """A class definition and what its body assigns."""

    node: cst.ClassDef
    name: str
    bases: list[str | None]
    scope: Scope
    methods: dict[str, FunctionInfo] = field(default_factory=dict)
    attrs: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    self_attrs: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)


@dataclass(eq=False)
class FunctionInfo:
    """A function definition; ``klass`` is set when it is a method."""

    node: cst.FunctionDef
    name: str
    scope: Scope
    klass: ClassInfo | None
    parent: FunctionInfo | None
    params: list[str]
    returns: list[cst.Return] = field(default_factory=list)
    has_yield: bool = False


@dataclass(eq=False)
class Site:
    """Where a node sits: scope, enclosing function, loops, and source order."""

    scope: Scope
    function: FunctionInfo | None
    loops: tuple[cst.CSTNode, ...]
    order: int


@dataclass(eq=False)
class CallInfo:
    """A call, its callee as dotted text, and the name its result is assigned to."""

    node: cst.Call
    func: str | None
    site: Site
    target: str | None


@dataclass(eq=False)
class AssignInfo:
    """``target = value`` (``target`` as dotted text; tuple targets list every name)."""

    targets: list[str]
    value: cst.BaseExpression
    site: Site
    subscript: bool = False


@dataclass(eq=False)
class AttributeInfo:
    """An attribute access whose attribute name is one the rules watch."""

    node: cst.Attribute
    receiver: str | None
    site: Site


WATCHED_ATTRIBUTES = frozenset(
    {"resume_from_checkpoint", "checkpoint_connector", "_checkpoint_connector"}
)


def dotted(node: cst.BaseExpression) -> str | None:
    """Return ``a.b.c`` for a chain of names and attributes, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def _import_name(node: cst.BaseExpression) -> str:
    return dotted(node) or ""


class Collector(cst.CSTVisitor):
    """Record scopes, bindings, calls, assignments, classes and functions in one visit."""

    def __init__(self) -> None:
        super().__init__()
        self.module_scope = Scope("module", None)
        self.scope = self.module_scope
        self.function: FunctionInfo | None = None
        self.klass: ClassInfo | None = None
        self.loops: list[cst.CSTNode] = []
        self.order = 0
        self.calls: list[CallInfo] = []
        self.assigns: list[AssignInfo] = []
        self.attributes: list[AttributeInfo] = []
        self.classes: list[ClassInfo] = []
        self.functions: list[FunctionInfo] = []
        self._targets: dict[int, str] = {}
        self._stack: list[tuple[Scope, FunctionInfo | None, ClassInfo | None, list[cst.CSTNode]]]
        self._stack = []

    def site(self) -> Site:
        self.order += 1
        return Site(self.scope, self.function, tuple(self.loops), self.order)

    # Scopes -------------------------------------------------------------------------------

    def _push(self, scope: Scope, fn: FunctionInfo | None, klass: ClassInfo | None) -> None:
        self._stack.append((self.scope, self.function, self.klass, self.loops))
        self.scope, self.function, self.klass = scope, fn, klass
        self.loops = [] if fn is not None else self.loops

    def _pop(self) -> None:
        self.scope, self.function, self.klass, self.loops = self._stack.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scope.bind(node.name.value, LOCAL)
        info = ClassInfo(node, node.name.value, [dotted(b.value) for b in node.bases], self.scope)
        self.classes.append(info)
        self._push(Scope("class", self.scope), self.function, info)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scope.bind(node.name.value, LOCAL)
        klass = self.klass if self.scope.kind == "class" else None
        params = node.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                every.append(star)
        scope = Scope("function", self.scope)
        info = FunctionInfo(
            node, node.name.value, scope, klass, self.function, [p.name.value for p in every]
        )
        for p in every:
            scope.bind(p.name.value, LOCAL)
        self.functions.append(info)
        if klass is not None:
            klass.methods.setdefault(info.name, info)
        self._push(scope, info, self.klass)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._pop()

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        # Lambdas bind only their parameters; nothing in them is a checkpoint pattern.
        return False

    # Loops ---------------------------------------------------------------------------------

    def visit_For(self, node: cst.For) -> None:
        self._bind_target(node.target)
        self.loops.append(node)

    def leave_For(self, original_node: cst.For) -> None:
        self.loops.pop()

    def visit_While(self, node: cst.While) -> None:
        self.loops.append(node)

    def leave_While(self, original_node: cst.While) -> None:
        self.loops.pop()

    # Bindings -------------------------------------------------------------------------------

    def _bind_target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.scope.bind(target.value, LOCAL)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self._bind_target(el.value)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = _import_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.scope.bind(alias.asname.name.value, "import:" + full)
            else:
                head = full.split(".", 1)[0]
                self.scope.bind(head, "import:" + head)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = "." * len(node.relative) + (
            _import_name(node.module) if node.module is not None else ""
        )
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = _import_name(alias.name)
            bound = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                bound = alias.asname.name.value
            sep = "" if module.endswith(".") else "."
            self.scope.bind(bound, f"import:{module}{sep}{name}")

    def visit_Assign(self, node: cst.Assign) -> None:
        targets: list[str] = []
        for t in node.targets:
            self._bind_target(t.target)
            targets.extend(self._target_names(t.target))
        value = node.value
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            alias = dotted(value)
            if alias is not None and self.scope.kind != "function":
                # `Trainer = pl.Trainer`: an alias, resolved through its source.
                self.scope.bindings[node.targets[0].target.value][-1] = "alias:" + alias
        self._record_assign(node.targets[0].target, targets, value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind_target(node.target)
        if node.value is not None:
            self._record_assign(node.target, self._target_names(node.target), node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind_target(node.target)
        self.assigns.append(AssignInfo(self._target_names(node.target), node.value, self.site()))

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind_target(node.name.name)

    def visit_CompFor(self, node: cst.CompFor) -> bool:
        # Comprehension targets live in their own scope; the iterable and ifs still matter.
        return True

    def _target_names(self, target: cst.BaseExpression) -> list[str]:
        if isinstance(target, (cst.Tuple, cst.List)):
            out: list[str] = []
            for el in target.elements:
                out.extend(self._target_names(el.value))
            return out
        if isinstance(target, cst.StarredElement):
            return self._target_names(target.value)
        if isinstance(target, cst.Subscript):
            base = dotted(target.value)
            return [base] if base is not None else []
        name = dotted(target)
        return [name] if name is not None else []

    def _record_assign(
        self, target: cst.BaseExpression, names: list[str], value: cst.BaseExpression
    ) -> None:
        info = AssignInfo(names, value, self.site(), isinstance(target, cst.Subscript))
        self.assigns.append(info)
        if isinstance(value, cst.Call) and len(names) == 1 and not info.subscript:
            self._targets[id(value)] = names[0]
        klass = self.klass
        if klass is None or info.subscript:
            return
        if self.scope.kind == "class":
            for n in names:
                klass.attrs.setdefault(n, []).append(value)
        elif self.function is not None and self.function.klass is klass:
            for n in names:
                if n.startswith("self.") and n.count(".") == 1:
                    klass.self_attrs.setdefault(n, []).append(value)

    # Uses ----------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        target = self._targets.pop(id(node), None)
        self.calls.append(CallInfo(node, dotted(node.func), self.site(), target))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in WATCHED_ATTRIBUTES:
            self.attributes.append(AttributeInfo(node, dotted(node.value), self.site()))

    def visit_Return(self, node: cst.Return) -> None:
        if self.function is not None:
            self.function.returns.append(node)

    def visit_Yield(self, node: cst.Yield) -> None:
        if self.function is not None:
            self.function.has_yield = True


class FileFacts:
    """Everything the rules need about one module, with scope-aware name resolution."""

    def __init__(self, module: cst.Module, source: str) -> None:
        self.module = module
        self.source = source
        collector = Collector()
        module.visit(collector)
        self.module_scope = collector.module_scope
        self.calls = collector.calls
        self.assigns = collector.assigns
        self.attributes = collector.attributes
        self.classes = collector.classes
        self.functions = collector.functions
        self.mentions_lightning = "lightning" in source
        self._class_kinds: dict[int, frozenset[str]] = {}
        self._trainers: dict[int, set[str]] | None = None

    # Resolution ------------------------------------------------------------------------------

    def resolve(self, name: str | None, scope: Scope, depth: int = 0) -> frozenset[str]:
        """Qualified names ``name`` may refer to in ``scope``; empty when unknown or local."""
        if name is None or depth > 5:
            return frozenset()
        head, _, rest = name.partition(".")
        bound = self._lookup(head, scope)
        if not bound:
            return frozenset()
        out: set[str] = set()
        for how in bound:
            if how.startswith("import:"):
                base = how[len("import:") :]
            elif how.startswith("alias:"):
                found = self.resolve(how[len("alias:") :], self._owner(head, scope), depth + 1)
                if not found:
                    return frozenset()
                out.update(f"{f}.{rest}" if rest else f for f in found)
                continue
            else:
                return frozenset()
            out.add(f"{base}.{rest}" if rest else base)
        return frozenset(out)

    def _owner(self, head: str, scope: Scope) -> Scope:
        current: Scope | None = scope
        while current is not None:
            if head in current.bindings:
                return current
            current = current.parent
        return self.module_scope

    def _lookup(self, head: str, scope: Scope) -> list[str]:
        current: Scope | None = scope
        first = True
        while current is not None:
            # Class bodies are not visible from the functions nested in them.
            if (first or current.kind != "class") and head in current.bindings:
                return current.bindings[head]
            first = False
            current = current.parent
        return []

    def call_names(self, call: CallInfo) -> frozenset[str]:
        """Qualified names of the callee of ``call``."""
        return self.resolve(call.func, call.site.scope)

    # Lightning objects -----------------------------------------------------------------------

    def class_kinds(self, info: ClassInfo, depth: int = 0) -> frozenset[str]:
        """Lightning base kinds of a class: module, datamodule, callback, checkpoint, trainer."""
        cached = self._class_kinds.get(id(info))
        if cached is not None:
            return cached
        kinds: set[str] = set()
        for base in info.bases:
            resolved = self.resolve(base, info.scope)
            if resolved:
                kinds.update(_kinds_of(resolved))
            elif base is not None and "." not in base and depth < 10:
                local = self.local_class(base)
                if local is not None and local is not info:
                    kinds.update(self.class_kinds(local, depth + 1))
        result = frozenset(kinds)
        self._class_kinds[id(info)] = result
        return result

    def local_class(self, name: str) -> ClassInfo | None:
        """A module-level class defined in this file."""
        for c in self.classes:
            if c.name == name and c.scope is self.module_scope:
                return c
        return None

    def is_trainer_call(self, call: CallInfo) -> bool:
        """``Trainer(...)`` or ``Trainer.from_argparse_args(...)`` on Lightning's Trainer."""
        names = self.call_names(call)
        return qn.all_match(names, qn.TRAINER) or qn.all_match(
            names, qn.TRAINER, "from_argparse_args"
        )

    def trainer_names(self, scope: Scope) -> set[str]:
        """Names in ``scope`` assigned only Lightning Trainers (``trainer``, ``self.trainer``)."""
        if self._trainers is None:
            self._trainers = self._collect_trainers()
        return self._trainers.get(id(scope), set())

    def _collect_trainers(self) -> dict[int, set[str]]:
        good: dict[int, set[str]] = {}
        bad: dict[int, set[str]] = {}
        trainer_calls = {id(c.node) for c in self.calls if self.is_trainer_call(c)}
        for a in self.assigns:
            if a.subscript:
                continue
            ok = isinstance(a.value, cst.Call) and id(a.value) in trainer_calls
            for t in a.targets:
                (good if ok and len(a.targets) == 1 else bad).setdefault(
                    id(a.site.scope), set()
                ).add(t)
        return {k: v - bad.get(k, set()) for k, v in good.items()}

    def is_trainer(self, expr: cst.BaseExpression, site: Site) -> bool:
        """True when ``expr`` certainly holds a Lightning Trainer at ``site``."""
        if isinstance(expr, cst.Call):
            func = dotted(expr.func)
            return bool(func) and self.is_trainer_call(CallInfo(expr, func, site, None))
        name = dotted(expr)
        if name is None:
            return False
        scope: Scope | None = site.scope
        head = name.split(".", 1)[0]
        while scope is not None:
            if name in self.trainer_names(scope):
                return True
            if head in scope.bindings and scope.kind != "class":
                break
            scope = scope.parent
        fn = site.function
        klass = fn.klass if fn is not None else None
        if klass is None:
            return False
        kinds = self.class_kinds(klass)
        lightning_owner = bool(kinds & {"module", "callback", "datamodule"})
        if name == "self.trainer":
            return lightning_owner
        # Callback hooks receive Lightning's Trainer as their first argument.
        return (
            name in {"trainer", "pl_module.trainer"}
            and "callback" in kinds
            and fn is not None
            and fn.name.startswith("on_")
        )

    def code(self, node: cst.CSTNode) -> str:
        """Source text of ``node``."""
        return self.module.code_for_node(node)


def _kinds_of(resolved: frozenset[str]) -> set[str]:
    kinds: set[str] = set()
    if qn.all_match(resolved, qn.LIGHTNING_MODULE):
        kinds.add("module")
    if qn.all_match(resolved, qn.DATA_MODULE):
        kinds.add("datamodule")
    if qn.all_match(resolved, qn.CALLBACK):
        kinds.update({"callback", "plain_callback"})
    elif all((qn.lightning_tail(r) or "").startswith("callbacks.") for r in resolved):
        kinds.add("callback")
    if qn.all_match(resolved, qn.TRAINER):
        kinds.add("trainer")
    return kinds


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Yield ``node`` and every node below it, depth first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def referenced_names(node: cst.CSTNode) -> set[str]:
    """Dotted names (``x``, ``self.opt``) used anywhere inside ``node``."""
    out: set[str] = set()
    for n in walk(node):
        if isinstance(n, (cst.Name, cst.Attribute)):
            d = dotted(n)
            if d is not None:
                out.add(d)
    return out


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    """The ``name=`` argument of ``call``."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def has_star_kwargs(call: cst.Call) -> bool:
    """True when ``call`` passes ``**kwargs`` (which may hold any keyword)."""
    return any(arg.star == "**" for arg in call.args)


def positional_count(call: cst.Call) -> int:
    """Number of plain positional arguments (a ``*args`` counts as unbounded)."""
    count = 0
    for arg in call.args:
        if arg.star == "*":
            return 10**6
        if arg.keyword is None and arg.star == "":
            count += 1
    return count
