"""Output formats: text, json, sarif (2.1.0, for GitHub code scanning) and github annotations."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from resumecheck.lint.catalogue import rule_anchor
from resumecheck.lint.rule import Rule, Violation

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# The rule's section in docs/lint.md (generated from the rules, so the anchor exists).
HELP_URI = "https://github.com/resumecheck/resumecheck/blob/main/docs/lint.md#{anchor}"
TOOL_VERSION = "0.1.0"


def fix_marker(v: Violation, unsafe: bool) -> str:
    """`` [*]`` when ``--fix`` (or ``--unsafe-fixes``) would fix the violation."""
    if v.fix == "safe" or (v.fix == "unsafe" and unsafe):
        return " [*]"
    return ""


def where(v: Violation) -> str:
    """``path:line:col``, or ``path:cell N:line:col`` in a notebook (as ruff writes it)."""
    cell = f"cell {v.cell}:" if v.cell is not None else ""
    return f"{v.path}:{cell}{v.line}:{v.column}"


def text(violations: Sequence[Violation], unsafe: bool = False) -> str:
    """``path:line:col: CODE message`` lines."""
    return "".join(f"{where(v)}: {v.code} {v.message}{fix_marker(v, unsafe)}\n" for v in violations)


def statistics(violations: Sequence[Violation], rules: dict[str, type[Rule]]) -> str:
    """One line per code: count, code, fixable marker, rule name; most frequent first."""
    counts = Counter(v.code for v in violations)
    fixable = {v.code for v in violations if v.fix == "safe"}
    lines = []
    for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        mark = "[*]" if code in fixable else "   "
        name = rules[code].name if code in rules else ""
        lines.append(f"{n:>5}\t{code}\t{mark} {name}\n")
    return "".join(lines)


def as_json(violations: Sequence[Violation]) -> str:
    """A JSON list of findings."""
    return json.dumps([_json(v) for v in violations], indent=2) + "\n"


def _json(v: Violation) -> dict[str, object]:
    fix = None
    if v.fix is not None:
        fix = {"applicability": v.fix, "message": v.fix_description}
    return {
        "path": v.path,
        "cell": v.cell,
        "line": v.line,
        "column": v.column,
        "end_line": v.end_line,
        "end_column": v.end_column,
        "code": v.code,
        "message": v.message,
        "fix": fix,
    }


def sarif(
    violations: Sequence[Violation], rules: Sequence[type[Rule]], errors: Sequence[tuple[str, str]]
) -> str:
    """A SARIF 2.1.0 log with every rule in the driver and one result per violation."""
    index = {r.code: i for i, r in enumerate(rules)}
    driver = {
        "name": "resumecheck",
        "informationUri": "https://github.com/resumecheck/resumecheck",
        "version": TOOL_VERSION,
        "rules": [_sarif_rule(r) for r in rules],
    }
    results = [_sarif_result(v, index) for v in violations]
    run: dict[str, object] = {"tool": {"driver": driver}, "results": results}
    if errors:
        run["invocations"] = [
            {
                "executionSuccessful": False,
                "toolExecutionNotifications": [
                    {
                        "level": "error",
                        "message": {"text": f"cannot parse ({reason})"},
                        "locations": [_location(path)],
                    }
                    for path, reason in errors
                ],
            }
        ]
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2) + "\n"


def _sarif_rule(rule: type[Rule]) -> dict[str, object]:
    return {
        "id": rule.code,
        "name": "".join(p.capitalize() for p in rule.name.split("-")),
        "shortDescription": {"text": rule.message},
        "fullDescription": {"text": rule.explanation},
        "help": {"text": f"{rule.explanation}\n\nFix: {rule.fix_summary or 'manual'}"},
        "helpUri": HELP_URI.format(anchor=rule_anchor(rule)),
        "defaultConfiguration": {"level": "error" if rule.default else "warning"},
        "properties": {"tags": ["resume", "checkpoint"], "versions": rule.versions},
    }


def _location(path: str, v: Violation | None = None) -> dict[str, object]:
    physical: dict[str, object] = {"artifactLocation": {"uri": path.replace("\\", "/")}}
    if v is not None:
        physical["region"] = {
            "startLine": v.line,
            "startColumn": v.column,
            "endLine": v.end_line,
            "endColumn": v.end_column,
        }
    return {"physicalLocation": physical}


def _sarif_result(v: Violation, index: dict[str, int]) -> dict[str, object]:
    result: dict[str, object] = {
        "ruleId": v.code,
        "level": "error",
        "message": {"text": v.message},
        "locations": [_location(v.path, v)],
    }
    if v.code in index:
        result["ruleIndex"] = index[v.code]
    if v.cell is not None:
        result["properties"] = {"cell": v.cell}
    return result


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def github(violations: Sequence[Violation], errors: Sequence[tuple[str, str]]) -> str:
    """GitHub Actions workflow commands: ``::error file=...,line=...::message``."""
    lines = []
    for v in violations:
        props = f"file={_escape_property(v.path)},line={v.line},col={v.column},title={v.code}"
        cell = f"cell {v.cell}: " if v.cell is not None else ""
        lines.append(f"::error {props}::{_escape_data(cell + v.message)}\n")
    for path, reason in errors:
        msg = _escape_data(f"cannot parse ({reason})")
        lines.append(f"::error file={_escape_property(path)},title=resumecheck::{msg}\n")
    return "".join(lines)
