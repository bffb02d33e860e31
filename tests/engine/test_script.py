"""ScriptJob: unmodified programs in real processes, observed at the optimizer."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import torch

import resumecheck as rc
from resumecheck import Kind
from resumecheck.cli import main
from resumecheck.jobs import ScriptJob
from scenarios import _scripts

pytestmark = pytest.mark.slow

TUTORIAL = str(_scripts.SCRIPTS / "tutorial.py")
OFFSETS = str(_scripts.SCRIPTS / "random_offsets.py")


def check(job: ScriptJob, kills: object, tmp_path: Path, mode: str = "sigkill") -> rc.Report:
    return rc.check(job, kills=kills, mode=mode, seed=0, artifacts_dir=tmp_path)  # type: ignore[arg-type]


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_python_target_doctests() -> None:
    import resumecheck.jobs

    failures, tried = doctest.testmod(resumecheck.jobs)
    assert tried
    assert not failures


def test_building_a_script_job_imports_no_torch() -> None:
    code = (
        "import sys, resumecheck as rc; rc.ScriptJob('python t.py'); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_bad_script_jobs_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(rc.ConfigError, match="command is empty"):
        rc.ScriptJob("")
    with pytest.raises(rc.ConfigError, match="is not a directory"):
        rc.ScriptJob("python t.py", cwd=tmp_path / "missing")


@pytest.mark.parametrize("mode", ["exception", "sigkill", "sigterm", "midwrite"])
def test_an_exact_script_passes_in_every_mode(tmp_path: Path, mode: str) -> None:
    job = rc.ScriptJob(
        [sys.executable, OFFSETS, "--out_dir={checkpoint_dir}", "--save_rng"],
        resume="--init_from=resume",
        checkpoints="ckpt.pt",
    )
    report = check(job, [6, [8, 13]], tmp_path, mode)
    assert report.passed, str(report)


def test_the_data_stream_restart_is_named(tmp_path: Path) -> None:
    job = rc.ScriptJob(
        [sys.executable, OFFSETS, "--out_dir={checkpoint_dir}"], resume="--init_from=resume"
    )
    report = check(job, [9], tmp_path)
    div = report.divergences[0]
    assert div.kind is Kind.DATA_ORDER, str(report)
    # The checkpoint is written at the top of iteration 9, after step 8: it belongs to step 8.
    assert div.checkpoint_step == 8
    assert "fed step 1's batch at step 9 (the data stream restarted)" in div.detail


def test_a_fresh_process_tree_is_observed_and_killed_whole(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    job = rc.ScriptJob(
        ["/usr/bin/env", sys.executable, OFFSETS, "--out_dir={checkpoint_dir}", "--save_rng"],
        resume="--init_from=resume",
        env={"RESUMECHECK_TEST_MARKER": marker},
    )
    assert not job.runs_in_fork_server
    report = check(job, [6], tmp_path)
    assert report.passed, str(report)
    broken = rc.ScriptJob(
        ["/usr/bin/env", sys.executable, OFFSETS, "--out_dir={checkpoint_dir}"],
        resume="--init_from=resume",
        env={"RESUMECHECK_TEST_MARKER": marker},
    )
    assert check(broken, [9], tmp_path).kinds == [Kind.DATA_ORDER]
    assert _processes_with(marker) == []


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except (OSError, ValueError):
            continue
        if marker.encode() in environ:
            found.append(int(pid))
    return found


def test_a_resume_that_ignores_the_checkpoint_is_not_restored(tmp_path: Path) -> None:
    job = rc.ScriptJob([sys.executable, TUTORIAL, "--out={checkpoint_dir}"])  # no --resume
    assert check(job, [8], tmp_path).kinds == [Kind.NOT_RESTORED]


OLDER_CHECKPOINT = """
    import os, sys, torch
    out = sys.argv[1]
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step = 0
    if "--resume" in sys.argv:
        state = torch.load(os.path.join(out, "old.pt"))  # the wrong file: 4 steps at a time
        model.load_state_dict(state["model"]); opt.load_state_dict(state["opt"])
        step = state["step"]
    x = torch.arange(48.0).reshape(12, 4) / 48
    while step < 12:
        loss = model(x[step : step + 1]).pow(2).sum()
        opt.zero_grad(); loss.backward(); opt.step(); step += 1
        state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step}
        torch.save(state, os.path.join(out, "ckpt.pt"))
        if step % 4 == 0:
            torch.save(state, os.path.join(out, "old.pt"))
"""


def test_a_state_from_another_step_is_placed_by_comparison(tmp_path: Path) -> None:
    job = rc.ScriptJob(
        [sys.executable, script(tmp_path, OLDER_CHECKPOINT), "{checkpoint_dir}"],
        resume="--resume",
        checkpoints="ckpt.pt",
    )
    report = check(job, [6], tmp_path / "artifacts")
    div = report.divergences[0]
    assert div.kind is Kind.PROGRESS, str(report)
    assert "starts from the state after step 4" in div.detail
    assert "repeats 2 step(s)" in div.detail


def test_a_script_writing_its_checkpoint_elsewhere_says_where(tmp_path: Path) -> None:
    body = OFFSETS_ELSEWHERE = f"""
        import runpy, sys
        sys.argv = [{OFFSETS!r}, "--out_dir={tmp_path / "elsewhere"}"]
        __import__("os").makedirs({str(tmp_path / "elsewhere")!r}, exist_ok=True)
        runpy.run_path({OFFSETS!r}, run_name="__main__")
    """
    del OFFSETS_ELSEWHERE
    job = rc.ScriptJob([sys.executable, script(tmp_path, body)], resume="--init_from=resume")
    report = check(job, [5], tmp_path / "artifacts")
    div = report.divergences[0]
    assert div.kind is Kind.NO_CHECKPOINT, str(report)
    assert any(str(tmp_path / "elsewhere" / "ckpt.pt") in str(row) for row in div.evidence), str(
        report
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("print('no training here')\n", "never stepped an optimizer"),
        ("import sys\nprint('bad config', file=sys.stderr)\nsys.exit(3)\n", "bad config"),
    ],
    ids=["no-optimizer", "exits-non-zero"],
)
def test_a_broken_program_is_a_job_error_naming_the_command(
    tmp_path: Path, body: str, message: str
) -> None:
    job = rc.ScriptJob([sys.executable, script(tmp_path, body), "--x"])
    with pytest.raises(rc.JobError, match=re.escape(message)) as info:
        check(job, 2, tmp_path / "artifacts")
    assert "train.py --x" in str(info.value)


def test_plain_loop_saving_after_run_step_is_judged_by_its_data(tmp_path: Path) -> None:
    """``run.step`` before the save: the kill lands after the save all the same."""
    from torch.utils.data import DataLoader, TensorDataset

    def train(run: rc.Run) -> None:
        g = torch.Generator().manual_seed(1)
        loader = DataLoader(
            TensorDataset(torch.randn(32, 4, generator=g), torch.randn(32, 1, generator=g)),
            batch_size=8,
            shuffle=True,
        )
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        step = 0
        if run.resume_from is not None:
            ck = torch.load(run.resume_from)
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["opt"])
            step = ck["step"]
        while step < 12:
            for x, y in loader:
                loss = torch.nn.functional.mse_loss(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                run.step(step, model=model, optimizer=opt, loss=loss)
                state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step}
                torch.save(state, run.checkpoint_dir / "last.pt")
                if step == 12:
                    break

    report = rc.check(rc.TorchJob(train), kills=[2], seed=0, artifacts_dir=tmp_path)
    assert report.kinds == [Kind.DATA_ORDER], str(report)
    assert report.divergences[0].checkpoint_step == 2


def test_cli_run_checks_a_command_and_prints_its_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--resume=--resume", "--kills", "[8]", "--mode", "sigkill", "--seed", "0"]
    argv += [
        "--artifacts-dir",
        str(tmp_path),
        "--",
        sys.executable,
        TUTORIAL,
        "--out={checkpoint_dir}",
    ]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "DATA_ORDER" in out
    assert "reproduce: resumecheck run --resume=--resume --kills '[8]' --mode sigkill --" in out


def test_cli_run_without_a_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--kills", "3"]) == 2
    assert "no command to check" in capsys.readouterr().err


def test_the_pytest_fixture_checks_a_script_job(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_scripts=f"""
        import sys
        import resumecheck as rc

        def test_offsets(resumecheck):
            resumecheck.check(rc.ScriptJob(
                [sys.executable, {OFFSETS!r}, "--out_dir={{checkpoint_dir}}"],
                resume="--init_from=resume",
            ))
        """
    )
    result = pytester.runpytest_subprocess(
        "--resumecheck", "--resumecheck-kill-steps=9", "-p", "no:cacheprovider", timeout=300
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*DATA_ORDER at step 9*fed step 1's batch at step 9*",
            "*reproduce: pytest 'test_scripts.py::test_offsets' --resumecheck "
            "--resumecheck-kill-steps=9*",
        ]
    )


def test_torchrun_ranks_are_killed_together_and_leave_nothing(tmp_path: Path) -> None:
    from scenarios import broken_script_ddp_tutorial

    marker = uuid.uuid4().hex
    job = broken_script_ddp_tutorial.job()
    job = rc.ScriptJob(job.command, env={"RESUMECHECK_TEST_MARKER": marker})
    report = check(job, [8], tmp_path)
    div = report.divergences[0]
    assert div.kind is Kind.PROGRESS, str(report)
    assert div.detail.startswith("rank 0: ")
    assert "fed step 5's batch at step 9" in div.detail
    assert _processes_with(marker) == []
