"""``resumecheck lint`` and ``resumecheck rules`` through ``main([...])``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resumecheck.cli import main
from resumecheck.lint import engine

BAD = (
    "import pytorch_lightning as pl\n"
    "trainer = pl.Trainer(max_epochs=10, resume_from_checkpoint=args.resume)\n"
    "trainer.fit(model)\n"
)
FIXED = (
    "import pytorch_lightning as pl\n"
    "trainer = pl.Trainer(max_epochs=10)\n"
    "trainer.fit(model, ckpt_path=args.resume)\n"
)
GOOD = "import lightning.pytorch as pl\ntrainer = pl.Trainer()\ntrainer.fit(model, ckpt_path=p)\n"
LOAD = "import torch\nstate = torch.load(path)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "good.py").write_text(GOOD)
    return tmp_path


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lint", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_and_summary(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = lint(capsys)
    assert code == 1
    assert out == (
        "./bad.py:2:37: RC101 Trainer(resume_from_checkpoint=...) was removed in Lightning 2.0: "
        "pass ckpt_path= to trainer.fit() instead [*]\n"
    )
    assert err == "Checked 2 files: 1 violation in 1 file (1 fixable with --fix).\n"


def test_clean_exit_zero(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = lint(capsys, "good.py")
    assert (code, out, err) == (0, "", "Checked 1 file: no problems.\n")


def test_exit_zero_flag(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "bad.py", "--exit-zero")
    assert code == 0
    assert "RC101" in out


def test_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "bad.py", "--format", "json")
    [item] = json.loads(out)
    assert code == 1
    assert item == {
        "path": "bad.py",
        "cell": None,
        "line": 2,
        "column": 37,
        "end_line": 2,
        "end_column": 71,
        "code": "RC101",
        "message": item["message"],
        "fix": {"applicability": "safe", "message": "Move resume_from_checkpoint to "
                "trainer.fit(ckpt_path=...)"},
    }  # fmt: skip


def test_sarif_is_valid_for_code_scanning(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = lint(capsys, "--format", "sarif")
    log = json.loads(out)
    assert code == 1
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {"RC101", "RC301"} <= {r["id"] for r in rules}
    assert all(r["shortDescription"]["text"] and r["helpUri"] for r in rules)
    [result] = run["results"]
    assert result["ruleId"] == "RC101"
    assert rules[result["ruleIndex"]]["id"] == "RC101"
    assert result["message"]["text"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "./bad.py"
    assert location["region"] == {"startLine": 2, "startColumn": 37, "endLine": 2, "endColumn": 71}


def test_github(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = lint(capsys, "bad.py", "--format", "github")
    assert out.startswith("::error file=bad.py,line=2,col=37,title=RC101::Trainer(")


def test_statistics(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "load.py").write_text(LOAD + LOAD.replace("import torch\n", ""))
    code, out, _ = lint(capsys, "--statistics")
    assert code == 1
    assert out.splitlines() == [
        "    2\tRC301\t    torch-load-without-weights-only",
        "    1\tRC101\t[*] removed-resume-from-checkpoint",
    ]


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        ([], {"RC101", "RC301"}),
        (["--select", "RC3"], {"RC301"}),
        (["--select", "ALL", "--ignore", "RC1"], {"RC301"}),
        (["--ignore", "RC301"], {"RC101"}),
        (["--select", "RC101", "--extend-select", "RC30"], {"RC101", "RC301"}),
    ],
)
def test_selection(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], codes: set[str]
) -> None:
    (project / "load.py").write_text(LOAD)
    _, out, _ = lint(capsys, *args)
    assert {line.split()[1] for line in out.splitlines()} == codes


def test_off_by_default_rules(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "loop.py").write_text(
        "import torch\nfor epoch in range(3):\n    torch.save({'model': m.state_dict()}, 'c.pt')\n"
    )
    assert lint(capsys, "loop.py")[0] == 0
    code, out, _ = lint(capsys, "loop.py", "--extend-select", "RC305")
    assert code == 1
    assert " RC305 " in out


def test_bad_selector(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = lint(capsys, "--select", "XX1")
    assert code == 2
    assert "--select" in err
    assert "XX1" in err


def test_noqa(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "bad.py").write_text(BAD.replace("args.resume)", "args.resume)  # noqa: RC101"))
    assert lint(capsys, "bad.py")[0] == 0


def test_diff_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (project / "bad.py").stat().st_mtime_ns
    code, out, err = lint(capsys, "bad.py", "--diff")
    assert code == 1
    assert "-trainer = pl.Trainer(max_epochs=10, resume_from_checkpoint=args.resume)" in out
    assert "+trainer.fit(model, ckpt_path=args.resume)" in out
    assert "Would fix 1 violation" in err
    assert (project / "bad.py").read_text() == BAD
    assert (project / "bad.py").stat().st_mtime_ns == before


def test_fix_writes_atomically_and_is_idempotent(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = lint(capsys, "--fix")
    assert code == 0
    assert out == ""
    assert "Fixed 1 violation in 1 file" in err
    assert (project / "bad.py").read_text() == FIXED
    assert sorted(p.name for p in project.iterdir()) == ["bad.py", "good.py"]
    assert lint(capsys, "--fix") == (0, "", "Checked 2 files: no problems.\n")
    assert (project / "bad.py").read_text() == FIXED


def test_unsafe_fix_only_with_flag(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "load.py").write_text(LOAD)
    code, out, _ = lint(capsys, "load.py", "--fix")
    assert code == 1
    assert "RC301" in out
    assert "[*]" not in out
    assert (project / "load.py").read_text() == LOAD
    assert lint(capsys, "load.py", "--fix", "--unsafe-fixes")[0] == 0
    assert "weights_only=True" in (project / "load.py").read_text()


def test_unparsable_files_do_not_stop_the_run(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "syntax.py").write_text("import torch\ntorch.load(\n")
    (project / "latin.py").write_bytes(b"import torch\nx = '\xff'\n")
    (project / "loop.py").symlink_to(project / "loop.py")
    code, out, _ = lint(capsys)
    assert code == 2
    errors = [line for line in out.splitlines() if ": ERROR: cannot parse (" in line]
    assert sorted(e.split(":")[0] for e in errors) == [
        "./latin.py", "./loop.py", "./syntax.py"
    ]  # fmt: skip
    assert "RC101" in out  # the other files were still checked


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "secret.py"
    path.write_text(LOAD)
    path.chmod(0)
    code, out, _ = lint(capsys, "secret.py")
    assert code == 2
    assert "secret.py: ERROR: cannot parse (" in out


def test_missing_path(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "nope.py")
    assert code == 2
    assert "nope.py: ERROR" in out


def test_skips_venvs_and_build_dirs(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for folder in (".git", ".venv", "build", "__pycache__", "env1", "pkg.egg-info"):
        (project / folder).mkdir()
        (project / folder / "x.py").write_text(BAD)
    (project / "env1" / "pyvenv.cfg").write_text("")
    _code, out, _ = lint(capsys)
    assert out.count("RC101") == 1


CONFIG = """
[tool.resumecheck.lint]
extend-select = ["RC305"]
ignore = ["RC301"]
exclude = ["generated"]
[tool.resumecheck.lint.per-file-ignores]
"legacy/*.py" = ["RC1"]
"""


def test_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text(CONFIG)
    (project / "load.py").write_text(LOAD)
    (project / "generated").mkdir()
    (project / "generated" / "x.py").write_text(BAD)
    (project / "legacy").mkdir()
    (project / "legacy" / "old.py").write_text(BAD)
    (project / "sub").mkdir()
    (project / "sub" / "loop.py").write_text(
        "import torch\nfor epoch in range(3):\n    torch.save({'model': m.state_dict()}, 'c.pt')\n"
    )
    code, out, _ = lint(capsys, ".")
    assert code == 1
    assert [(line.split(":")[0], line.split()[1]) for line in out.splitlines()] == [
        ("./bad.py", "RC101"),
        ("./sub/loop.py", "RC305"),
    ]
    # Found by walking up from a path inside the project.
    assert "RC305" in lint(capsys, str(project / "sub"))[1]
    assert "RC301" in lint(capsys, "load.py", "--isolated")[1]


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('select = ["RC9"]', "select"),
        ('ignore = "RC101"', "ignore"),
        ("colour = true", "colour"),
        ('[tool.resumecheck.lint.per-file-ignores]\n"a.py" = ["nope"]', "per-file-ignores"),
    ],
)
def test_bad_config(project: Path, capsys: pytest.CaptureFixture[str], toml: str, key: str) -> None:
    (project / "pyproject.toml").write_text("[tool.resumecheck.lint]\n" + toml + "\n")
    code, out, err = lint(capsys)
    assert code == 2
    assert out == ""
    assert key in err
    assert "pyproject.toml" in err


def test_process_pool_matches_serial(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(engine.PARALLEL_MIN_FILES + 6):
        (project / f"m{i}.py").write_text(BAD if i % 2 else GOOD)
    paths = sorted(str(p) for p in project.glob("m*.py"))
    jobs = [(p, frozenset({"RC101"})) for p in paths]
    pooled = engine.check_files(jobs, workers=2)
    serial = engine.check_files(jobs, workers=1)
    assert [r.violations for r in pooled] == [r.violations for r in serial]
    assert sum(len(r.violations) for r in pooled) == (len(paths)) // 2


def test_rules_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "RC101  on   fix  removed-resume-from-checkpoint" in out
    assert "RC206  off" in out


def test_rules_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "rc101"]) == 0
    out = capsys.readouterr().out
    for part in ("RC101 removed-resume-from-checkpoint", "Why:", "Versions:", "Invalid:",
                 "Valid:", "Before the fix:", "ckpt_path="):  # fmt: skip
        assert part in out
    assert main(["rules", "RC999"]) == 2


def test_cli_module_is_cheap_to_import() -> None:
    code = (
        "import sys, argparse\n"
        "from resumecheck.cli.lint import add_lint_arguments\n"
        "add_lint_arguments(argparse.ArgumentParser())\n"
        "assert 'libcst' not in sys.modules, 'libcst imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_subprocess_smoke(project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "resumecheck", "lint", str(project)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "RC101" in proc.stdout
    assert "Checked 2 files" in proc.stderr
