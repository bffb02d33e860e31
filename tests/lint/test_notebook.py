"""Jupyter notebooks: found in walks, linted cell by cell, fixed into valid notebooks.

``fixtures/notebooks/lightning1x.ipynb`` is a Lightning 1.x notebook with markdown cells, line
and cell magics, shell lines, outputs (an image among them) and metadata. Goldens: the
findings (``.txt``) and the notebook after ``--fix`` (``.fixed.ipynb``); regenerate with
``RESUMECHECK_REGEN=1``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from resumecheck.cli import main
from resumecheck.lint import notebook
from resumecheck.lint.engine import check_text

HERE = Path(__file__).parent / "fixtures" / "notebooks"
NOTEBOOK = HERE / "lightning1x.ipynb"
REGEN = os.environ.get("RESUMECHECK_REGEN") == "1"


def _compare(path: Path, actual: str) -> None:
    if REGEN:
        path.write_text(actual, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == actual


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lint", "--isolated", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "nb" / NOTEBOOK.name
    target.parent.mkdir()
    shutil.copy(NOTEBOOK, target)
    return target


def test_findings_per_cell(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Found by a folder walk, reported as path:cell N:line:col.
    code, out, err = lint(capsys, "nb")
    assert code == 1
    _compare(HERE / "lightning1x.txt", out.replace(f"nb{os.sep}lightning", "lightning"))
    assert "Checked 1 file: 5 violations" in err
    # The torch.load next to a masked `!ls` line keeps its own line and column.
    assert "cell 7:5:13: RC301" in out


def test_named_notebook_is_linted_not_read_as_a_dict(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = lint(capsys, str(copy), "--select", "RC101")
    assert code == 1
    assert out.startswith(f"{copy}:cell 8:6:5: RC101 ")


def test_fix_writes_a_valid_notebook(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = json.loads(copy.read_text(encoding="utf-8"))
    code, _, err = lint(capsys, str(copy), "--fix")
    assert "Fixed 3 violations in 1 file" in err
    assert code == 1  # two findings have no fix
    text = copy.read_text(encoding="utf-8")
    _compare(HERE / "lightning1x.fixed.ipynb", text)
    after = json.loads(text)
    assert after["metadata"] == before["metadata"]
    assert (after["nbformat"], after["nbformat_minor"]) == (4, 5)
    assert len(after["cells"]) == len(before["cells"])
    changed = []
    for old, new in zip(before["cells"], after["cells"], strict=True):
        # Outputs, metadata, ids, execution counts: untouched.
        assert {k: v for k, v in old.items() if k != "source"} == {
            k: v for k, v in new.items() if k != "source"
        }
        assert isinstance(new["source"], type(old["source"]))
        if old["source"] != new["source"]:
            changed.append("".join(new["source"]))
    [fixed] = changed
    assert 'accelerator="gpu", devices=1,' in fixed
    assert "trainer.fit(model, train_dataloaders=loader, ckpt_path=CKPT)" in fixed
    # Magics and shell lines survive a fix of their cell's notebook.
    cells = ["".join(c["source"]) for c in after["cells"]]
    assert "!pip install pytorch-lightning==1.9.5 torchmetrics\n%matplotlib inline" in cells[1]
    assert "    !ls -la checkpoints\n" in cells[6]
    # A second run has nothing more to fix.
    assert lint(capsys, str(copy), "--fix")[2].startswith("Checked 1 file: 2 violations")
    assert copy.read_text(encoding="utf-8") == text


def test_diff_names_the_cell(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = copy.read_bytes()
    code, out, _ = lint(capsys, str(copy), "--diff")
    assert code == 1
    assert out.startswith(f"--- {copy}:cell 8\n+++ {copy}:cell 8\n")
    assert "\\ No newline at end of file" in out
    assert copy.read_bytes() == original


def test_magics_neither_crash_nor_hide_findings() -> None:
    source = json.dumps(
        {
            "cells": [
                {"cell_type": "code", "metadata": {}, "outputs": [], "source": src}
                for src in (
                    "import torch\n%time x = torch.load('a.pt')",
                    "%%capture\ny = torch.load('b.pt')",
                    "%%writefile x.py\ntorch.load('not python here')",
                    "files = !ls\nobj??\n%env A=1\nz = torch.load('c.pt')",
                )
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )
    result = check_text(source, "m.ipynb", frozenset({"RC301"}), "none")
    assert result.error is None
    # `%time x = torch.load(...)` is IPython, masked; the others are Python lines.
    assert [(v.cell, v.line, v.column) for v in result.violations] == [(2, 2, 5), (4, 4, 5)]


def test_a_broken_cell_is_reported_and_the_others_still_linted() -> None:
    source = json.dumps(
        {
            "cells": [
                {"cell_type": "code", "source": ["print 'python 2'"]},
                {"cell_type": "code", "source": ["import torch\n", "torch.load('x')"]},
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 4,
        }
    )
    result = check_text(source, "old.ipynb", frozenset({"RC301"}), "none")
    assert result.error is not None
    assert result.error.startswith("cell 1: line 1")
    assert [(v.cell, v.line) for v in result.violations] == [(2, 2)]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{not json", "not valid notebook JSON"),
        ('{"metadata": {}}', "no 'cells' list"),
        ('{"cells": [{"cell_type": "code", "source": [1]}]}', "not a string or a list"),
    ],
)
def test_not_a_notebook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, why: str
) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_text(text)
    code, out, _ = lint(capsys, str(path))
    assert code == 2
    assert f"{path}: ERROR: cannot parse (" in out
    assert why in out


def test_string_sources_and_formatting_are_kept() -> None:
    raw = (
        '{\n  "cells": [\n    {\n      "cell_type": "code",\n      "metadata": {},\n'
        '      "outputs": [],\n      "source": "import lightning as L\\n'
        'L.Trainer(gpus=2)"\n    }\n  ],\n  "metadata": {},\n  "nbformat": 4,\n'
        '  "nbformat_minor": 5\n}'
    )
    nb = notebook.read(raw)
    fixed = check_text(raw, "s.ipynb", frozenset({"RC110"}), "safe").source
    assert fixed is not None
    assert fixed == raw.replace("gpus=2", 'accelerator=\\"gpu\\", devices=2')
    assert nb.cells[0].text == "import lightning as L\nL.Trainer(gpus=2)"


def test_a_cell_indented_as_a_whole_is_dedented_as_ipython_does() -> None:
    source = json.dumps(
        {
            "cells": [
                {"cell_type": "code", "source": [" import lightning as L\n", " L.Trainer(gpus=1)"]}
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )
    result = check_text(source, "indented.ipynb", frozenset({"RC110"}), "safe")
    assert result.error is None
    # Reported where it is in the cell; never rewritten (the dedent could not be undone).
    assert [(v.cell, v.line, v.column) for v in result.violations] == [(1, 2, 12)]
    assert result.source is None
