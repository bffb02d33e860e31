"""The rule base class, findings, fixes and ``# noqa`` parsing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, Literal

import libcst as cst

from resumecheck.lint.facts import FileFacts

Applicability = Literal["safe", "unsafe"]

# A bare noqa comment suppresses everything on its line; one with codes (RC101, RC2)
# only those codes and prefixes, as flake8 and ruff users expect.
NOQA = re.compile(
    r"""
    \#\s*noqa
    (?::\s*
        (?P<codes>[A-Za-z]+[0-9]*(?:[\s,]+[A-Za-z]+[0-9]*)*)
    )?
    """,
    re.VERBOSE | re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class RenameKeyword:
    """Rename the keyword of ``arg`` in ``call``."""

    call: cst.Call
    arg: cst.Arg
    new: str


@dataclass(frozen=True, slots=True)
class RemoveArg:
    """Remove ``arg`` from ``call``."""

    call: cst.Call
    arg: cst.Arg


@dataclass(frozen=True, slots=True)
class AppendKeyword:
    """Append ``keyword=value`` to ``call``."""

    call: cst.Call
    keyword: str
    value: cst.BaseExpression


@dataclass(frozen=True, slots=True)
class ReplaceArg:
    """Replace ``arg`` of ``call`` in place by ``keyword=value`` arguments, in order."""

    call: cst.Call
    arg: cst.Arg
    keywords: tuple[tuple[str, cst.BaseExpression], ...]


Edit = RenameKeyword | RemoveArg | AppendKeyword | ReplaceArg


@dataclass(frozen=True, slots=True)
class Fix:
    """A mechanical rewrite: what it does, whether it is safe, and its edits."""

    description: str
    applicability: Applicability
    edits: tuple[Edit, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's raw finding: the node to report at, the message, an optional fix."""

    code: str
    node: cst.CSTNode
    message: str
    fix: Fix | None = None


@dataclass(frozen=True, slots=True)
class Violation:
    """A finding placed in a file (1-based lines and columns)."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    message: str
    fix: Applicability | None = None
    fix_description: str | None = None
    cell: int | None = None  # a notebook's code cell (from 1); ``line`` is then in the cell


class Rule:
    """One problem: its code, message, explanation, examples, and the check itself.

    ``VALID`` and ``INVALID`` are run as tests; ``FIXES`` pairs (before, after) are checked
    through the real fixer. ``triggers`` are words one of which appears in any file the rule
    can flag; files mentioning none are never parsed for it.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    message: ClassVar[str]
    explanation: ClassVar[str]
    versions: ClassVar[str]
    fix_summary: ClassVar[str] = ""
    default: ClassVar[bool] = True
    lightning: ClassVar[bool] = True
    triggers: ClassVar[tuple[str, ...]]
    VALID: ClassVar[tuple[str, ...]]
    INVALID: ClassVar[tuple[str, ...]]
    FIXES: ClassVar[tuple[tuple[str, str], ...]] = ()
    UNSAFE_FIXES: ClassVar[tuple[tuple[str, str], ...]] = ()

    @classmethod
    def details(cls) -> str:
        """Extra Markdown for the rule's section in docs/lint.md (a table, say)."""
        return ""

    def might_match(self, source: str) -> bool:
        """Cheap text test: False only when the rule cannot flag anything in ``source``."""
        if self.lightning and not mentions_lightning(source):
            return False
        return any(t in source for t in self.triggers)

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        """Yield the findings of this rule in one module."""
        raise NotImplementedError

    def finding(self, node: cst.CSTNode, message: str = "", fix: Fix | None = None) -> Finding:
        """A finding of this rule at ``node`` (``message`` defaults to the rule's)."""
        return Finding(self.code, node, message or self.message, fix)


# `# resumecheck: noqa` on a line of its own skips the file; with codes, only those codes.
FILE_NOQA = re.compile(
    r"^[ \t]*\#[ \t]*resumecheck[ \t]*:[ \t]*noqa"
    r"(?:[ \t]*:[ \t]*(?P<codes>[A-Za-z]+[0-9]*(?:[ \t,]+[A-Za-z]+[0-9]*)*))?[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)


def file_noqa(source: str) -> frozenset[str] | None:
    """Codes a file-level ``# resumecheck: noqa`` suppresses: None if none, empty for all.

    >>> file_noqa("# resumecheck: noqa\nx = 1\n")
    frozenset()
    >>> sorted(file_noqa("x = 1\n# resumecheck: noqa: RC101, RC3\n") or [])
    ['RC101', 'RC3']
    >>> file_noqa("x = 1  # resumecheck: noqa\n") is None
    True
    """
    if "resumecheck" not in source.lower():
        return None
    everything: set[str] = set()
    found = False
    for m in FILE_NOQA.finditer(source):
        found = True
        codes = m.group("codes")
        if not codes:
            return frozenset()
        everything.update(c.upper() for c in re.split(r"[\s,]+", codes) if c)
    return frozenset(everything) if found else None


@lru_cache(maxsize=4)
def mentions_lightning(source: str) -> bool:
    """``"lightning" in source``, asked once per file however many rules ask."""
    return "lightning" in source


def noqa_codes(line: str) -> frozenset[str] | None:
    """Codes a ``# noqa`` comment on ``line`` suppresses: None if none, empty for all.

    >>> sorted(noqa_codes("x = 1  # noqa: RC101, RC2") or [])
    ['RC101', 'RC2']
    >>> noqa_codes("x = 1  # noqa")
    frozenset()
    >>> noqa_codes("x = 1") is None
    True
    """
    if "noqa" not in line.lower():
        return None
    m = NOQA.search(line)
    if m is None:
        return None
    codes = m.group("codes")
    if not codes:
        return frozenset()
    return frozenset(c.upper() for c in re.split(r"[\s,]+", codes) if c)


def suppressed(code: str, line: str) -> bool:
    """True when a ``# noqa`` on ``line`` covers ``code``."""
    codes = noqa_codes(line)
    if codes is None:
        return False
    return not codes or any(code.startswith(c) for c in codes)
