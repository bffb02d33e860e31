"""docs/lint.md is generated from the rules; SARIF links land on its sections; no raw
placeholders reach ``resumecheck rules``; removal versions match Lightning's changelog."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from resumecheck.cli import main
from resumecheck.lint import catalogue
from resumecheck.lint.engine import lint_source, make_rules
from resumecheck.lint.output import sarif
from resumecheck.lint.rules import ALL_RULES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lint.md"
PLACEHOLDER = re.compile(r"\{\w*\}")


def test_docs_catalogue_is_up_to_date() -> None:
    document = DOCS.read_text(encoding="utf-8")
    assert catalogue.current_block(document) == catalogue.markdown(ALL_RULES), (
        "docs/lint.md is stale: run python -m resumecheck.lint.catalogue docs/lint.md"
    )


def test_sarif_help_uris_point_at_existing_sections() -> None:
    document = DOCS.read_text(encoding="utf-8")
    anchors = {
        catalogue.anchor(m.group(1)) for m in re.finditer(r"^#+ (.+)$", document, re.MULTILINE)
    }
    log = json.loads(sarif([], ALL_RULES, []))
    uris = [r["helpUri"] for r in log["runs"][0]["tool"]["driver"]["rules"]]
    assert len(uris) == len(ALL_RULES)
    for uri in uris:
        page, _, fragment = uri.partition("#")
        assert page.endswith("/docs/lint.md")
        assert fragment in anchors, uri


def test_rules_output_has_no_placeholders(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    for rule in ALL_RULES:
        assert main(["rules", rule.code]) == 0
    assert main(["rules", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert not PLACEHOLDER.search(out.replace("{epoch}", "")), PLACEHOLDER.findall(out)


def test_rules_markdown_one_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "RC110", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "#### RC110 removed-trainer-arguments" in out
    assert "| `Trainer(gpus=)` | 2.0 |" in out
    assert "#### RC101" not in out


def test_rc101_explanation_shows_lightning_2_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "RC101"]) == 0
    out = capsys.readouterr().out
    assert "gpus=" not in out


# Release that removed each hook, from Lightning's CHANGELOG (1.7.0: #13438; 1.8.0: #14315,
# #14909, #14835).
@pytest.mark.parametrize(
    ("source", "version"),
    [
        (
            "import pytorch_lightning as pl\n"
            "class C(pl.Callback):\n"
            "    def on_keyboard_interrupt(self, trainer, pl_module):\n"
            "        pass\n",
            "1.7",
        ),
        (
            "import pytorch_lightning as pl\n"
            "class M(pl.LightningModule):\n"
            "    def on_hpc_save(self, checkpoint):\n"
            "        pass\n",
            "1.8",
        ),
        (
            "import pytorch_lightning as pl\n"
            "class D(pl.LightningDataModule):\n"
            "    def on_load_checkpoint(self, checkpoint):\n"
            "        pass\n",
            "1.8",
        ),
    ],
)
def test_rc109_removal_versions(source: str, version: str) -> None:
    [v] = lint_source(source, rules=make_rules(frozenset({"RC109"}))).violations
    assert f"Lightning {version}" in v.message
