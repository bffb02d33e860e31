"""Every rule's VALID and INVALID examples, and its fix examples, run as tests (Fixit)."""

from __future__ import annotations

import pytest

from resumecheck.lint.engine import lint_source, make_rules
from resumecheck.lint.rule import Rule
from resumecheck.lint.rules import ALL_RULES


def _cases(kind: str) -> list[object]:
    return [
        pytest.param(rule, code, id=f"{rule.code}-{kind}-{i}")
        for rule in ALL_RULES
        for i, code in enumerate(getattr(rule, kind.upper()))
    ]


def _fix_cases(attr: str) -> list[object]:
    return [
        pytest.param(rule, before, after, id=f"{rule.code}-{attr.lower()}-{i}")
        for rule in ALL_RULES
        for i, (before, after) in enumerate(getattr(rule, attr))
    ]


def _codes(source: str, rule: type[Rule]) -> list[str]:
    result = lint_source(source, "example.py", make_rules(frozenset({rule.code})))
    return [v.code for v in result.violations]


@pytest.mark.parametrize(("rule", "code"), _cases("valid"))
def test_valid(rule: type[Rule], code: str) -> None:
    assert _codes(code, rule) == []


@pytest.mark.parametrize(("rule", "code"), _cases("invalid"))
def test_invalid(rule: type[Rule], code: str) -> None:
    found = _codes(code, rule)
    assert found, f"{rule.code} did not flag:\n{code}"
    assert set(found) == {rule.code}


@pytest.mark.parametrize(("rule", "before", "after"), _fix_cases("FIXES"))
def test_safe_fix(rule: type[Rule], before: str, after: str) -> None:
    rules = make_rules(frozenset({rule.code}))
    fixed = lint_source(before, "example.py", rules, fix="safe")
    assert fixed.source == after
    assert lint_source(after, "example.py", rules, fix="safe").source == after


@pytest.mark.parametrize(("rule", "before", "after"), _fix_cases("UNSAFE_FIXES"))
def test_unsafe_fix_needs_unsafe(rule: type[Rule], before: str, after: str) -> None:
    rules = make_rules(frozenset({rule.code}))
    assert lint_source(before, "example.py", rules, fix="safe").source == before
    assert lint_source(before, "example.py", rules, fix="unsafe").source == after


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_rule_metadata(rule: type[Rule]) -> None:
    assert rule.code.startswith("RC")
    assert len(rule.code) == 5
    assert rule.message
    assert rule.explanation
    assert rule.versions
    assert rule.triggers
    assert rule.VALID
    assert rule.INVALID
    # The prefilter must never drop a file the rule flags.
    for code in rule.INVALID:
        assert rule().might_match(code)


def test_codes_are_unique_and_sorted() -> None:
    codes = [r.code for r in ALL_RULES]
    assert codes == sorted(set(codes))
