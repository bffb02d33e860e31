"""Shared check for ModelCheckpoint keywords renamed to ``every_n_epochs``."""

from __future__ import annotations

from collections.abc import Iterator

from resumecheck.lint.facts import FileFacts, keyword
from resumecheck.lint.rule import Finding, Fix, RenameKeyword, Rule
from resumecheck.lint.rules._common import checkpoint_keyword

EPOCH_KEYWORDS = ("every_n_epochs", "period", "every_n_val_epochs")


def renamed_to_every_n_epochs(rule: Rule, facts: FileFacts, old: str) -> Iterator[Finding]:
    """Flag ``ModelCheckpoint(old=...)``; rename it unless that would clash."""
    for call, arg in checkpoint_keyword(facts, old):
        others = [k for k in EPOCH_KEYWORDS if k != old and keyword(call.node, k) is not None]
        fix = None
        if not others:
            edit = RenameKeyword(call.node, arg, "every_n_epochs")
            fix = Fix("Rename to every_n_epochs=", "safe", (edit,))
        yield rule.finding(arg, fix=fix)
