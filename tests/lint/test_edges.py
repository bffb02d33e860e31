"""Edges: BOM, big files, stdin, file-level noqa, .pyi in walks, and the prefilter's safety."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from resumecheck.cli import main
from resumecheck.lint.config import ALL_CODES
from resumecheck.lint.engine import lint_source, make_rules
from resumecheck.lint.prefilter import torch_io

RC101 = "import lightning as L\ntrainer = L.Trainer(resume_from_checkpoint=p)\ntrainer.fit(m)\n"
FIXED = "import lightning as L\ntrainer = L.Trainer()\ntrainer.fit(m, ckpt_path=p)\n"


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lint", "--isolated", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_fix_keeps_a_utf8_bom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bom.py"
    path.write_bytes(b"\xef\xbb\xbf" + RC101.encode())
    code, out, _ = lint(capsys, str(path))
    assert code == 1
    assert f"{path}:2:21: RC101" in out  # the BOM is not a column
    lint(capsys, str(path), "--fix")
    assert path.read_bytes() == b"\xef\xbb\xbf" + FIXED.encode()


def test_a_file_over_4_mib_is_linted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "generated.py"
    filler = "# " + "x" * 98 + "\n"
    path.write_text(RC101 + filler * (4 * 1024 * 1024 // len(filler) + 10))
    assert path.stat().st_size > 4 * 1024 * 1024
    code, out, err = lint(capsys, str(path))
    assert code == 1, err
    assert "cannot parse" not in out
    assert f"{path}:2:21: RC101" in out


def _stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, *args: str
) -> tuple[int, str, str]:
    class Stdin:
        buffer = io.BytesIO(text.encode())

    monkeypatch.setattr(sys, "stdin", Stdin)
    return lint(capsys, *args)


def test_stdin_dash(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _stdin(monkeypatch, capsys, RC101, "-")
    assert code == 1
    assert out.startswith("-:2:21: RC101 ")
    assert err == "Checked 1 file: 1 violation in 1 file (1 fixable with --fix).\n"


def test_stdin_filename(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _stdin(monkeypatch, capsys, RC101, "--stdin-filename", "src/train.py")
    assert code == 1
    assert out.startswith("src/train.py:2:21: RC101 ")


def test_stdin_fix_prints_the_fixed_source(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _stdin(monkeypatch, capsys, RC101, "-", "--fix")
    assert (code, out) == (0, FIXED)
    assert "Fixed 1 violation" in err


def test_stdin_notebook(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = Path(__file__).parent / "fixtures" / "notebooks" / "lightning1x.ipynb"
    code, out, _ = _stdin(
        monkeypatch, capsys, nb.read_text(), "--stdin-filename", "nb.ipynb", "--select", "RC101"
    )
    assert code == 1
    assert out.startswith("nb.ipynb:cell 8:6:5: RC101 ")


def test_stdin_through_a_real_pipe(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "resumecheck", "lint", "--isolated", "-"],
        input=RC101,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stdout.startswith("-:2:21: RC101")


def test_stdin_cannot_mix_with_paths(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = lint(capsys, "-", "src")
    assert code == 2
    assert "'-' (stdin) cannot be mixed with paths" in err


@pytest.mark.parametrize(
    ("header", "flagged"),
    [
        ("# resumecheck: noqa\n", set()),
        ("#resumecheck:noqa: RC101\n", {"RC301"}),
        ("# resumecheck: noqa: RC1, RC3\n", set()),
        ("# RESUMECHECK: NOQA: RC3\n", {"RC101"}),
        ("x = 1  # resumecheck: noqa\n", {"RC101", "RC301"}),  # not on a line of its own
        ("", {"RC101", "RC301"}),
    ],
)
def test_file_level_noqa(header: str, flagged: set[str]) -> None:
    source = header + RC101 + "import torch\ntorch.load(p)\n"
    assert {v.code for v in lint_source(source).violations} == flagged


def test_pyi_files_are_walked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stubs.pyi").write_text(RC101)
    (tmp_path / "notes.txt").write_text(RC101)
    code, out, err = lint(capsys, str(tmp_path))
    assert code == 1
    assert "stubs.pyi:2:21: RC101" in out
    assert err.startswith("Checked 1 file:")


# The second-stage prefilter must keep every file a rule could flag.
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import torch\ntorch.save({'model': m}, p)\n", {"save"}),
        ("import torch as th\nth . save(\n {}, p)\n", {"save"}),
        ("import torch\nstate = {}\ntorch.save(state, p)\n", {"save"}),
        ("import torch\nself.state = {'a': 1}\ntorch.save(obj=self.state, f=p)\n", {"save"}),
        ("import torch\nfor i in x:\n    torch.save(model, p)\n", {"save"}),
        ("import torch\nth = torch\nt2 = th\nt2.load(p)\n", {"load"}),
        ("from torch import save as s, load\ns({}, p)\nload(p)\n", {"save", "load"}),
        ("from torch import (\n    load,\n)\nload(p)\n", {"load"}),
        ("import torch\nsave = torch.save\nwhile True:\n    save(x, p)\n", {"save"}),
        ("import torch\nfn = torch.load\nfn(p)\n", {"load"}),
        ("import torch\ndef f(torch):\n    torch.load(p)\n", {"load"}),
        # Nothing that can match: no parse.
        ("import torch\nimport json\njson.load(f)\nself.save(p)\n", set()),
        ("import torch\ntorch.load(p, weights_only=True)\n", set()),
        ("import torch\ntorch.load(p, **kw)\ntorch.jit.save(m, p)\n", set()),
        ("import numpy as np\nnp.save(p, a)\n", set()),
        # A torch.save of a tensor or module outside a loop: no checkpoint rule applies.
        ("import torch\ntorch.save(model, p)\ndef f():\n    torch.save(t, p)\n", set()),
        ("import torch\nfor i in x:\n    def f():\n        torch.save(t, p)\n", set()),
    ],
)
def test_prefilter(source: str, expected: set[str]) -> None:
    assert set(torch_io(source)) >= expected
    if not expected:
        assert torch_io(source) == frozenset()


def test_prefilter_never_drops_a_flagged_example() -> None:
    from resumecheck.lint.rules import ALL_RULES

    rules = make_rules(ALL_CODES)
    for rule in ALL_RULES:
        for code in rule.INVALID:
            flagged = {v.code for v in lint_source(code, rules=rules).violations}
            assert rule.code in flagged, (rule.code, code)
