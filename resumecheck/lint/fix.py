"""Apply fix edits to a module in one transform, keeping the source's formatting."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import libcst as cst

from resumecheck.lint.rule import AppendKeyword, Edit, RemoveArg, RenameKeyword, ReplaceArg


def apply_edits(module: cst.Module, edits: Iterable[Edit]) -> str:
    """Return the source of ``module`` with ``edits`` applied."""
    by_call: dict[int, list[Edit]] = {}
    for edit in edits:
        by_call.setdefault(id(edit.call), []).append(edit)
    return module.visit(_Apply(by_call)).code


class _Apply(cst.CSTTransformer):
    def __init__(self, by_call: dict[int, list[Edit]]) -> None:
        super().__init__()
        self.by_call = by_call

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        edits = self.by_call.get(id(original_node))
        if not edits:
            return updated_node
        index = {id(arg): i for i, arg in enumerate(original_node.args)}
        args = list(updated_node.args)
        removed: set[int] = set()
        replaced: dict[int, list[cst.Arg]] = {}
        for edit in edits:
            i = index[id(edit.arg)] if not isinstance(edit, AppendKeyword) else -1
            if isinstance(edit, RenameKeyword):
                args[i] = args[i].with_changes(keyword=cst.Name(edit.new))
            elif isinstance(edit, RemoveArg):
                removed.add(i)
            elif isinstance(edit, ReplaceArg):
                replaced[i] = _replacement(args[i], edit.keywords)
        if replaced:
            args = [new for i, a in enumerate(args) for new in replaced.get(i, [a])]
            shift, moved = 0, set()
            for i in range(len(updated_node.args)):
                if i in removed:
                    moved.add(i + shift)
                shift += len(replaced[i]) - 1 if i in replaced else 0
            removed = moved
        args = _remove(args, removed)
        for edit in edits:
            if isinstance(edit, AppendKeyword):
                args = _append(args, edit.keyword, edit.value)
        return updated_node.with_changes(args=args)


def _replacement(
    arg: cst.Arg, keywords: tuple[tuple[str, cst.BaseExpression], ...]
) -> list[cst.Arg]:
    """``keywords`` as arguments in the place of ``arg``: the last takes ``arg``'s comma."""
    out = []
    for n, (name, value) in enumerate(keywords):
        last = n == len(keywords) - 1
        comma: cst.Comma | cst.MaybeSentinel = (
            arg.comma if last else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
        out.append(
            cst.Arg(
                keyword=cst.Name(name),
                value=value,
                equal=arg.equal
                if isinstance(arg.equal, cst.AssignEqual)
                else cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
                comma=comma,
                whitespace_after_arg=arg.whitespace_after_arg if last else cst.SimpleWhitespace(""),
            )
        )
    return out


def _remove(args: Sequence[cst.Arg], removed: set[int]) -> list[cst.Arg]:
    kept = [a for i, a in enumerate(args) if i not in removed]
    if kept and len(args) - 1 in removed:
        # The new last argument takes the removed last one's comma (or none), so a
        # trailing comma and the closing bracket's indentation stay as they were.
        kept[-1] = kept[-1].with_changes(comma=args[-1].comma)
    return kept


def _append(args: Sequence[cst.Arg], keyword: str, value: cst.BaseExpression) -> list[cst.Arg]:
    new = cst.Arg(
        keyword=cst.Name(keyword),
        value=value,
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    if not args:
        return [new]
    last = args[-1]
    if not isinstance(last.comma, cst.Comma):
        return [*args, new]
    # A trailing comma: reuse the separator between earlier arguments, and move the
    # trailing comma (with the closing bracket's whitespace) to the new last argument.
    sep: cst.Comma | cst.MaybeSentinel = cst.MaybeSentinel.DEFAULT
    if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
        sep = args[-2].comma
    return [*args[:-1], last.with_changes(comma=sep), new.with_changes(comma=last.comma)]
