"""The report (text and JSON), kill-plan arguments, and ``resumecheck check`` exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import resumecheck as rc
from resumecheck.cli import main
from resumecheck.engine.plan import normalize_plans
from tests.engine import jobs

JOBS_FILE = """
from tests.engine import jobs

def good():
    return jobs.plain_job()

def no_rng():
    return jobs.plain_job(dropout=0.5, save_rng=False)

def crashing():
    def train(run):
        raise RuntimeError("data file missing")
    import resumecheck as rc
    return rc.TorchJob(train)

not_a_job = 42
"""


@pytest.fixture
def jobs_file(tmp_path: Path) -> Path:
    path = tmp_path / "myjobs.py"
    path.write_text(JOBS_FILE)
    return path


def test_public_api_names() -> None:
    for name in [
        "LightningJob",
        "TorchJob",
        "Run",
        "check",
        "assert_resumes",
        "Report",
        "Divergence",
        "Kind",
        "ResumeDivergence",
    ]:
        assert hasattr(rc, name), name
        assert name in rc.__all__
    assert issubclass(rc.ResumeDivergence, AssertionError)


def test_failing_report_text_and_json(tmp_path: Path) -> None:
    report = rc.check(
        jobs.plain_job(dropout=0.5, save_rng=False), kills=[3], seed=7, artifacts_dir=tmp_path
    )
    text = str(report)
    lines = text.splitlines()
    assert lines[0] == "resume diverged: killed after step 3, resumed from ckpt.pt (step 3)"
    assert lines[1].startswith("  RNG at step 4: ")
    assert "  hint: save and restore torch, numpy and random RNG states" in text
    assert '  reproduce: rc.check(job, kills=[3], mode="exception")' in text
    assert f"  artifacts kept: {report.artifacts}" in text
    assert Path(report.artifacts or "").is_dir()  # kept after a failure
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is False
    assert data["seed"] == 7
    assert data["divergences"][0]["kind"] == "RNG"
    assert data["divergences"][0]["checkpoint_step"] == 3
    assert data["reproduce"]["python"] == 'rc.check(job, kills=[3], mode="exception")'


def test_passing_report_and_drawn_kills(tmp_path: Path) -> None:
    report = rc.check(jobs.plain_job(), kills=4, seed=3, artifacts_dir=tmp_path)
    assert report.passed
    assert len(report.plans) == 4
    assert all(1 <= p[0] < 12 for p in report.plans)
    assert report.plans == rc.check(jobs.plain_job(), kills=4, seed=3).plans  # seeded
    assert str(report).startswith("resume ok: train, 4 kill plan(s)")
    assert report.artifacts is None


def test_assert_resumes_raises_with_the_report(tmp_path: Path) -> None:
    with pytest.raises(rc.ResumeDivergence) as info:
        rc.assert_resumes(jobs.plain_job(restore=False), kills=[4], artifacts_dir=tmp_path)
    assert info.value.report.kinds == [rc.Kind.NOT_RESTORED]
    assert str(info.value).startswith("resume diverged")


@pytest.mark.parametrize(
    ("kills", "message"),
    [
        (0, "at least 1"),
        ([], "at least one kill step"),
        ([[5, 3]], "increasing"),
        (["x"], "bad kill plan"),
        (True, "number of kills"),
    ],
)
def test_bad_kills_are_config_errors(kills: object, message: str) -> None:
    with pytest.raises(rc.ConfigError, match=message):
        normalize_plans(kills)  # type: ignore[arg-type]


def test_kill_step_out_of_range_names_the_range(tmp_path: Path) -> None:
    with pytest.raises(rc.ConfigError, match="between 1 and 11"):
        rc.check(jobs.plain_job(), kills=[12], artifacts_dir=tmp_path)


def test_bad_mode_and_bad_job() -> None:
    with pytest.raises(rc.ConfigError, match="not a kill mode"):
        rc.check(jobs.plain_job(), mode="sigstop")
    with pytest.raises(rc.ConfigError, match="LightningJob, TorchJob or ScriptJob"):
        rc.check(object())  # type: ignore[arg-type]


def test_broken_job_is_a_job_error_not_a_divergence(tmp_path: Path) -> None:
    def train(run: rc.Run) -> None:
        raise RuntimeError("data file missing")

    with pytest.raises(rc.JobError, match="RuntimeError: data file missing"):
        rc.check(rc.TorchJob(train), kills=[2], artifacts_dir=tmp_path)


# -- the CLI ------------------------------------------------------------------------------
def cli(*args: str, tmp_path: Path) -> list[str]:
    return ["check", *args, "--seed", "0", "--artifacts-dir", str(tmp_path / "art")]


def test_cli_pass_exit_0(
    jobs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(cli(f"{jobs_file}::good", "--kills", "3,7", tmp_path=tmp_path)) == 0
    out, err = capsys.readouterr()
    summary, verdict = out.splitlines()[:2]
    assert summary.startswith("0 of 2 plans diverged in ")
    assert verdict.startswith("resume ok: train, 2 kill plan(s) [3, 7]")
    # The seed first, then the plans, then one line per finished run (stderr is no terminal).
    lines = err.splitlines()
    assert "seed 0 (replay with --seed 0)" in lines[0]
    assert lines[1] == "resumecheck: reference run, steps 1-12, " + lines[1].split(", ")[-1]
    assert lines[3] == "resumecheck: 2 kill plan(s) over 12 steps: [3], [7]"
    assert (
        lines[4]
        == "resumecheck: plan [3]: killed run, steps 1-3: the control run's own, not run again"
    )
    assert lines[5].startswith("resumecheck: plan [3]: resumed run from step 3, steps 4-12, ")
    assert lines[6] == "resumecheck: plan [3] exact [1/2 judged, 0 diverged]"


def test_cli_divergence_exit_1_with_a_command_to_reproduce(
    jobs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(cli(f"{jobs_file}::no_rng", "--kills", "[4]", tmp_path=tmp_path)) == 1
    out = capsys.readouterr().out
    assert out.startswith("1 of 1 plan diverged (RNG) in ")
    assert out.splitlines()[1].startswith("resume diverged: killed after step 4")
    assert f"reproduce: resumecheck check {jobs_file}::no_rng --kills '[4]' --mode exception" in out


def test_cli_json(jobs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = cli(f"{jobs_file}::no_rng", "--kills", "[[2, 6]]", "--format", "json", tmp_path=tmp_path)
    assert main(args) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["plans"] == [[2, 6]]
    assert data["divergences"][0]["kind"] == "RNG"


@pytest.mark.parametrize(
    ("target", "extra", "message"),
    [
        ("missing.py::good", [], "no such file"),
        ("{file}", [], "expected FILE::FACTORY"),
        ("{file}::nope", [], "has no 'nope'"),
        ("{file}::not_a_job", [], "not a resumecheck.LightningJob"),
        ("{file}::crashing", [], "RuntimeError: data file missing"),
        ("{file}::good", ["--kills", "many"], "--kills 'many'"),
        ("{file}::good", ["--mode", "sigstop"], "not a kill mode"),
    ],
)
def test_cli_usage_and_job_errors_exit_2(
    target: str,
    extra: list[str],
    message: str,
    jobs_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = cli(target.format(file=jobs_file), *extra, tmp_path=tmp_path)
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_cli_unknown_option_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check", "x.py::y", "--frobnicate"])
    assert info.value.code == 2
    assert "Try 'resumecheck --help'" in capsys.readouterr().err


@pytest.mark.slow
def test_python_dash_m_resumecheck_check(jobs_file: Path, tmp_path: Path) -> None:
    root = Path(__file__).parents[2]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "resumecheck",
            *cli(f"{jobs_file}::good", "--kills", "2", tmp_path=tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": ""},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("resume ok")


def test_cli_starts_the_fork_server_before_importing_torch(jobs_file: Path) -> None:
    """The server's import of torch and Lightning overlaps this process's own only if the
    server starts first: validating the options must not import torch."""
    probe = (
        "import sys\n"
        "from resumecheck.engine import forkserver\n"
        "def start_server():\n"
        "    print('torch' in sys.modules)\n"
        "    raise SystemExit(0)\n"
        "forkserver.start_server = start_server\n"
        "from resumecheck.cli import main\n"
        f"main(['check', {str(jobs_file)!r} + '::good', '--mode', 'sigkill', '--kills', '2'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "False"
