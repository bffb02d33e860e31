"""Real process kills: SIGKILL, SIGTERM with a grace period, and kills mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import torch

import resumecheck as rc
from resumecheck import Kind
from tests.engine import jobs

pytestmark = pytest.mark.slow


def check(job: Any, kills: Any, tmp_path: Path, mode: str, **kw: Any) -> rc.Report:
    return rc.check(job, kills=kills, mode=mode, seed=0, artifacts_dir=tmp_path, **kw)


@pytest.mark.parametrize(
    ("make_job", "kills", "kind"),
    [
        (lambda: jobs.plain_job(), [3, [2, 6]], None),
        (lambda: jobs.plain_job(restore=False), [5], Kind.NOT_RESTORED),
        (lambda: jobs.plain_job(dropout=0.5, save_rng=False), [3], Kind.RNG),
        (lambda: jobs.lightning_job(lambda: jobs.Net(dropout=0.5)), [8], Kind.RNG),
        (lambda: jobs.lightning_job(), [3], Kind.DATA_ORDER),
    ],
    ids=["plain-ok", "plain-not-restored", "plain-rng", "lightning-rng", "lightning-data-order"],
)
def test_sigkill_verdicts_equal_exception_verdicts(
    make_job: Any, kills: Any, kind: Kind | None, tmp_path: Path
) -> None:
    by_exception = check(make_job(), kills, tmp_path / "e", "exception")
    by_sigkill = check(make_job(), kills, tmp_path / "k", "sigkill")
    assert by_sigkill.kinds == by_exception.kinds == ([kind] if kind else []), str(by_sigkill)
    if kind is not None:
        assert "killed run: by signal SIGKILL" in map(str, by_sigkill.divergences[0].evidence)


def test_jobs_defined_inside_a_test_travel_to_the_child(tmp_path: Path) -> None:
    class LocalNet(jobs.Net):  # a class that no child could import by name
        pass

    job = rc.LightningJob(lambda: LocalNet(), lambda: jobs.loader(), {"max_epochs": 2})
    report = check(job, [8], tmp_path, "sigkill")
    assert report.passed, str(report)


def test_safe_after_the_parent_started_torch_thread_pools(tmp_path: Path) -> None:
    torch.set_num_threads(2)
    a = torch.randn(512, 512)
    for _ in range(5):
        a = torch.tanh(a @ a)  # runs the intra-op pool in this process
    report = check(jobs.plain_job(), [4], tmp_path, "sigkill", timeout=60)
    assert report.passed, str(report)


# -- SIGTERM ----------------------------------------------------------------------------------
def preemptible_job(handle_sigterm: bool, ignore: bool = False) -> rc.TorchJob:
    """Checkpoints only when told to stop, as preemption-aware loops do."""

    def train(run: rc.Run) -> None:
        data, target = jobs.tensors(40)
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        stop = {"now": False}
        if handle_sigterm:
            signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        start = 0
        if run.resume_from is not None:
            ck = torch.load(run.resume_from)
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            start = ck["step"]
        for step in range(start, 10):
            x, y = data[step % 5 * 8 :][:8], target[step % 5 * 8 :][:8]
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(step + 1, model=model, optimizer=opt, loss=loss)
            if stop["now"] and not ignore:
                state = {"model": model.state_dict(), "optimizer": opt.state_dict()}
                torch.save({**state, "step": step + 1}, run.checkpoint_dir / "preempted.pt")
                raise SystemExit(0)
            if stop["now"]:
                time.sleep(0.5)  # ignores the notice and keeps going, slowly

    return rc.TorchJob(train)


def test_sigterm_without_a_handler_leaves_no_checkpoint(tmp_path: Path) -> None:
    report = check(preemptible_job(handle_sigterm=False), [4], tmp_path, "sigterm")
    assert report.kinds == [Kind.NO_CHECKPOINT], str(report)


def test_sigterm_handler_that_checkpoints_resumes_exactly(tmp_path: Path) -> None:
    report = check(preemptible_job(handle_sigterm=True), [4, 7], tmp_path, "sigterm")
    assert report.passed, str(report)


def test_sigterm_ignored_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    job = preemptible_job(handle_sigterm=True, ignore=True)
    report = check(job, [4], tmp_path, "sigterm", grace=1.0)
    assert report.kinds == [Kind.NO_CHECKPOINT], str(report)
    assert any(
        "still running 1 s after SIGTERM; SIGKILLed" in str(e)
        for e in report.divergences[0].evidence
    )


def test_lightning_on_exception_checkpoint_saves_on_sigterm(tmp_path: Path) -> None:
    from lightning.pytorch.callbacks import ModelCheckpoint, OnExceptionCheckpoint

    epochs_only = {"max_epochs": 2, "callbacks": [ModelCheckpoint(every_n_epochs=1)]}
    without = check(jobs.lightning_job(trainer=epochs_only), [3], tmp_path / "a", "sigterm")
    assert without.kinds == [Kind.NO_CHECKPOINT], str(without)
    epochs_only["callbacks"] = [*epochs_only["callbacks"], OnExceptionCheckpoint(".")]
    with_it = check(jobs.lightning_job(trainer=epochs_only), [3], tmp_path / "b", "sigterm")
    # Lightning finishes the batch under way, saves on SIGTERMException, and resumes mid-epoch
    # from it: the plain DataLoader restarts at batch 0.
    div = with_it.divergences[0]
    assert div.kind is Kind.DATA_ORDER, str(with_it)
    assert div.checkpoint == "on_exception.ckpt"
    assert div.checkpoint_step == 4


# -- kills mid-write --------------------------------------------------------------------------
def test_midwrite_finds_a_non_atomic_save(tmp_path: Path) -> None:
    report = check(jobs.plain_job(checkpoint="direct"), [5], tmp_path, "midwrite")
    assert report.kinds == [Kind.UNLOADABLE_CHECKPOINT], str(report)
    assert report.divergences[0].checkpoint == "ckpt.pt"


def test_midwrite_passes_temp_file_and_replace(tmp_path: Path) -> None:
    report = check(jobs.plain_job(), [2, 5, 9], tmp_path, "midwrite")
    assert report.passed, str(report)


def test_midwrite_passes_lightning_atomic_save(tmp_path: Path) -> None:
    from lightning.pytorch.callbacks import ModelCheckpoint

    trainer = {"callbacks": [ModelCheckpoint(every_n_epochs=1, save_last=True)]}
    report = check(jobs.lightning_job(trainer=trainer), [16], tmp_path, "midwrite")
    assert report.passed, str(report)


# -- reliability ------------------------------------------------------------------------------
def dying_job(how: str, at_step: int, only_when_resumed: bool = False) -> rc.TorchJob:
    inner = jobs.plain_job()

    def train(run: rc.Run) -> None:
        if not only_when_resumed or run.resume_from is not None:
            original = run.step

            def step(n: int, **kw: Any) -> None:
                original(n, **kw)
                if n == at_step:
                    if how == "hang":
                        time.sleep(3600)
                    elif how == "exit":
                        os._exit(3)
                    elif how == "segv":
                        os.kill(os.getpid(), signal.SIGSEGV)

            run.step = step  # type: ignore[method-assign]
        inner.train(run)

    return rc.TorchJob(train)


def test_crashed_reference_child_is_a_job_error(tmp_path: Path) -> None:
    with pytest.raises(rc.JobError, match="died with code 3"):
        check(dying_job("exit", 2), [4], tmp_path, "sigkill")


def test_hung_child_is_killed_after_the_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(rc.JobError, match="hung"):
        check(dying_job("hang", 2), [4], tmp_path, "sigkill", timeout=3)
    assert time.monotonic() - started < 30


def test_resumed_child_killed_by_a_signal_is_a_resume_crash(tmp_path: Path) -> None:
    report = check(dying_job("segv", 8, only_when_resumed=True), [4], tmp_path, "sigkill")
    div = report.divergences[0]
    assert div.kind is Kind.RESUME_CRASH, str(report)
    assert "SIGSEGV" in div.detail


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


SCRIPT = """
import sys, time
sys.path.insert(0, {root!r})
import resumecheck as rc
from tests.engine.test_process import dying_job
print("checking", flush=True)
try:
    rc.check(dying_job({how!r}, 2), kills=[4], mode="sigkill", artifacts_dir={tmp!r}, timeout=60)
except rc.JobError:
    pass
import resumecheck.engine.forkserver
assert resumecheck.engine.forkserver.forkserver_running() is False
print("finished", flush=True)
"""


@pytest.mark.parametrize("how", ["ok", "exit", "hang", "interrupt-early"])
def test_no_process_or_temp_dir_left_behind(how: str, tmp_path: Path) -> None:
    """After a passing check, a crashing one, Ctrl-C in a hung one and Ctrl-C at start-up."""
    marker = f"RESUMECHECK_TEST_{uuid.uuid4().hex}"
    env = {**os.environ, marker: "1", "TMPDIR": str(tmp_path)}
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    root = str(Path(__file__).parents[2])
    code = textwrap.dedent(SCRIPT.format(root=root, how=how, tmp=str(artifacts)))
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
    )
    if how == "interrupt-early":
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "checking"
        time.sleep(0.5)  # the fork server is still importing torch
        proc.send_signal(signal.SIGINT)
    if how == "hang":
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "checking"
        deadline = time.monotonic() + 60
        while len(_processes_with(marker)) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)  # parent, resource tracker, fork server and the hung child
        proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(marker) == []
    if how == "ok":
        assert proc.returncode == 0
        assert list(artifacts.iterdir()) == []
    leftovers = [p for p in tmp_path.iterdir() if p.name != "artifacts"]
    assert leftovers == []


def test_dataloader_workers_of_killed_runs_do_not_outlive_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers start as in the parent (fork, not the server's "forkserver"); a SIGKILLed run's
    workers die with its process group; the check then stops cleanly."""
    from torch.utils.data import DataLoader, TensorDataset

    marker = f"RESUMECHECK_TEST_{uuid.uuid4().hex}"
    monkeypatch.setenv(marker, "1")
    data = lambda: DataLoader(TensorDataset(*jobs.tensors()), batch_size=8, num_workers=2)  # noqa: E731
    started = time.monotonic()
    report = check(rc.LightningJob(jobs.Net, data, {"max_epochs": 2}), [8], tmp_path, "sigkill")
    assert report.passed, str(report)
    assert time.monotonic() - started < 120
    # /proc/<pid>/environ shows a process's initial environment: ours lacks the marker.
    assert _processes_with(marker) == []
