"""Distributed script jobs: sharded (DCP) checkpoints, elastic resumes, nothing left behind.

The ``torchrun`` checks cost seconds of start-up per run: few of them, each asserting much.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

import resumecheck as rc
from resumecheck import Kind
from resumecheck.cli import main
from resumecheck.engine.harness import _resume_point
from resumecheck.engine.trajectory import CheckpointFile
from scenarios import _scripts

MARKER = "RESUMECHECK_TEST_MARKER"


def loop_job(*args: str, ranks: int = 2, **options: object) -> rc.ScriptJob:
    command = _scripts.torchrun("ddp_loop.py", "--out={checkpoint_dir}", *args, ranks=ranks)
    return rc.ScriptJob(command, resume="--resume={resume_from}", **options)  # type: ignore[arg-type]


# -- sharded checkpoints: fast -------------------------------------------------------------
def test_an_unfinished_dcp_save_is_never_the_checkpoint_to_resume_from(tmp_path: Path) -> None:
    known = {}
    for step, done in ((4, True), (6, False)):
        folder = tmp_path / f"step-{step}"
        folder.mkdir()
        for rank in (0, 1):
            shard = folder / f"__{rank}_0.distcp"
            shard.write_bytes(b"x")
            known[shard] = CheckpointFile(shard, step, len(known), 0)
        if done:
            (folder / ".metadata").write_bytes(b"m")
    job = rc.ScriptJob("torchrun --nproc_per_node=2 train.py")
    newest = _resume_point(job, known, tmp_path)
    assert newest is not None
    assert (newest.path, newest.step) == (tmp_path / "step-4", 4)
    (tmp_path / "step-4" / ".metadata").unlink()
    assert _resume_point(job, known, tmp_path) is None


def test_dcp_initializing_an_optimizer_is_not_a_step_of_the_job(tmp_path: Path) -> None:
    from torch.distributed.checkpoint.state_dict import get_state_dict

    from resumecheck.adapters.observer import Observer
    from resumecheck.engine.recorder import Recorder

    recorder = Recorder(tmp_path)
    Observer(recorder)
    with recorder.installed():
        model = torch.nn.Linear(2, 1)
        optimizer = torch.optim.Adam(model.parameters())
        _, optim_state = get_state_dict(model, optimizer)  # steps Adam once, with lr 0
        assert optim_state["state"]  # DCP did step it
        model(torch.ones(1, 2)).sum().backward()
        optimizer.step()
    assert recorder.optimizer_steps == 1


# -- elastic resume: fast ------------------------------------------------------------------
def test_resume_nproc_rewrites_torchrun_for_resumed_runs_only(tmp_path: Path) -> None:
    job = rc.ScriptJob(
        "torchrun --standalone --nproc-per-node 2 t.py --nproc_per_node=9 --ckpt={checkpoint_dir}",
        resume="--resume={resume_from}",
        resume_nproc=1,
    )
    assert job.nproc == "2"
    fresh = job.command_for(tmp_path, None)
    assert fresh[:4] == ["torchrun", "--standalone", "--nproc-per-node", "2"]
    resumed = job.command_for(tmp_path, tmp_path / "step-4")
    assert resumed[2:4] == ["--nproc-per-node", "1"]
    # The script's own arguments are the script's.
    assert resumed[5:] == [
        "--nproc_per_node=9",
        f"--ckpt={tmp_path}",
        f"--resume={tmp_path}/step-4",
    ]


@pytest.mark.parametrize(
    ("command", "nproc", "message"),
    [
        ("python train.py", 1, "needs a torchrun command with --nproc_per_node"),
        ("torchrun --nproc_per_node=2 t.py", 0, "resume_nproc=0 is not a process count"),
    ],
)
def test_a_bad_resume_nproc_is_a_usage_error(command: str, nproc: int, message: str) -> None:
    with pytest.raises(rc.ConfigError, match=message):
        rc.ScriptJob(command, resume_nproc=nproc)


def test_cli_run_resume_nproc_is_documented_and_checked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from resumecheck.cli import build_parser
    from resumecheck.cli.run import reproduce_command, script_job

    argv = ["run", "--resume-nproc", "1", "--kills", "6", "--mode", "sigkill", "--"]
    args = build_parser().parse_args([*argv, "torchrun", "--nproc_per_node=2", "t.py"])
    assert script_job(args).resume_nproc == 1
    assert "--resume-nproc=1 --kills '[6]' --mode sigkill -- torchrun" in reproduce_command(
        args, [(6,)]
    )
    assert main(["run", "--resume-nproc", "1", "--", "python", "train.py"]) == 2
    assert "needs a torchrun command" in capsys.readouterr().err
    out = subprocess.run(
        [sys.executable, "-m", "resumecheck", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--resume-nproc N" in out
    assert "elastic resume" in out


def test_a_sample_is_the_same_whichever_rank_batch_carries_it() -> None:
    from resumecheck.engine.elastic import sample_digests

    x, y = torch.randn(16, 3), torch.arange(16)
    whole = sample_digests(((x, y),))
    halves = sample_digests(((x[::2], y[::2]),)) + sample_digests(((x[1::2], y[1::2]),))
    assert len(set(whole)) == 16
    assert sorted(whole) == sorted(halves)
    assert sample_digests((x.double(),))[0] != sample_digests((x,))[0]


def test_weights_are_compared_within_the_rounding_of_another_world_size() -> None:
    from resumecheck.engine.elastic import beyond_tolerance
    from resumecheck.engine.snapshot import Snapshot, tensor_entry

    w = torch.randn(8, 4)

    def snap(t: torch.Tensor, keep: bool = True) -> Snapshot:
        return Snapshot({"param.w": tensor_entry(t, keep), "rng.torch": tensor_entry(t, keep)})

    assert beyond_tolerance(snap(w), snap(w + 1e-8)) == []
    (far,) = beyond_tolerance(snap(w), snap(w + 1e-2))
    assert (far.key, far.kind) == ("param.w", Kind.WEIGHTS)
    (unknown,) = beyond_tolerance(snap(w, False), snap(w + 1e-8, False))
    assert unknown.row.detail == "values not kept"


# -- torchrun: slow ------------------------------------------------------------------------
@dataclass(frozen=True)
class Leftovers:
    """What a check could leave behind, as seen from this machine."""

    processes: frozenset[int]  # processes carrying the test's marker
    listening: frozenset[tuple[str, int]]  # (local address, socket inode) in LISTEN state
    shm: frozenset[str]  # /dev/shm entries
    tmp: frozenset[str]  # torchrun's /tmp/torchelastic_* folders


def leftovers(marker: str) -> Leftovers:
    return Leftovers(
        frozenset(_processes_with(marker)),
        frozenset(_listening()),
        frozenset(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else frozenset(),
        frozenset(p.name for p in Path("/tmp").glob("torchelastic_*")),
    )


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


def _listening() -> list[tuple[str, int]]:
    sockets = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                sockets.append((fields[1], int(fields[9])))
    return sockets


def _socket_owners(inodes: set[int]) -> dict[int, list[int]]:
    """The processes holding each socket inode (those this user may look into)."""
    owners: dict[int, list[int]] = {}
    wanted = {f"socket:[{i}]": i for i in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target in wanted:
                owners.setdefault(wanted[target], []).append(int(pid))
    return owners


def assert_nothing_left(before: Leftovers, after: Leftovers, run_pids: set[int]) -> None:
    """Nothing of the check's: no process, no listening port held by this process or one of
    the check's, no shared-memory segment named after one of its processes, no torchrun temp
    folder (the machine is shared: other people's new sockets and segments are theirs)."""
    assert after.processes == frozenset()
    new_sockets = after.listening - before.listening
    owners = _socket_owners({inode for _, inode in new_sockets})
    ours = run_pids | {os.getpid()}
    held = {s: owners.get(s[1]) for s in new_sockets if set(owners.get(s[1], ())) & ours}
    assert not held, f"listening sockets left: {held}"
    new_shm = after.shm - before.shm
    assert not [n for n in new_shm if any(str(pid) in n for pid in run_pids)], new_shm
    assert after.tmp - before.tmp == frozenset()


def run_pids(artifacts: Path) -> set[int]:
    """Every process of the check that imported torch (its observation file names it)."""
    return {int(p.stem.split("-")[1]) for p in artifacts.rglob("observed-*.pkl")}


def checked(job: rc.ScriptJob, kills: object, mode: str, tmp_path: Path) -> rc.Report:
    return rc.check(
        job,
        kills=kills,  # type: ignore[arg-type]
        mode=mode,
        seed=0,
        control=False,
        keep_artifacts=True,
        artifacts_dir=tmp_path,
    )


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sigkill", "sigterm"])
def test_a_torchrun_dcp_check_leaves_nothing_behind(tmp_path: Path, mode: str) -> None:
    marker = uuid.uuid4().hex
    before = leftovers(marker)
    report = checked(loop_job("--dcp", env={MARKER: marker}), [6], mode, tmp_path)
    assert report.passed, str(report)
    assert report.artifacts is not None
    pids = run_pids(Path(report.artifacts))
    assert len(pids) >= 2 * 3  # two ranks in each of the three runs
    assert_nothing_left(before, leftovers(marker), pids)


@pytest.mark.slow
def test_a_kill_inside_a_shard_write_gets_a_real_crash_verdict(tmp_path: Path) -> None:
    """The job resumes from the newest ``step-N/`` it finds, finished or not."""
    marker = uuid.uuid4().hex
    before = leftovers(marker)
    job = rc.ScriptJob(
        _scripts.torchrun("ddp_loop.py", "--out={checkpoint_dir}", "--dcp"),
        resume="--resume=latest",
        env={MARKER: marker},
    )
    report = checked(job, [1, 6], "midwrite", tmp_path)
    first, sixth = report.divergences
    # Killed inside step-1/'s shards: nothing complete to resume from.
    assert first.kind is Kind.NO_CHECKPOINT, str(report)
    assert any("step-1/ holds DCP shards but no .metadata" in str(r) for r in first.evidence)
    # Killed inside step-6/'s: the job loads it anyway, and DCP refuses it.
    assert sixth.kind is Kind.UNLOADABLE_CHECKPOINT, str(report)
    assert "complete only once dcp.save has written its .metadata" in sixth.advice
    assert report.artifacts is not None
    plan = Path(report.artifacts) / "plan-6"
    assert not (plan / "checkpoints" / "step-6" / ".metadata").exists()
    assert (plan / "checkpoints" / "step-5" / ".metadata").exists()
    assert_nothing_left(before, leftovers(marker), run_pids(Path(report.artifacts)))


@pytest.mark.slow
def test_an_elastic_resume_compares_the_samples_not_the_rank_batches(tmp_path: Path) -> None:
    """2 ranks resumed on 1: a resume that feeds its epoch's first batches again keeps the
    step count but not the samples."""
    report = checked(loop_job("--dcp", "--restart_epoch", resume_nproc=1), [6], "sigkill", tmp_path)
    div = report.divergences[0]
    assert div.kind is Kind.DATA_ORDER, str(report)
    assert div.step == 7
    assert "(all ranks together)" in div.detail
    assert "step 7 feeds the samples of step 5" in div.detail
    assert report.compared is not None
    assert "elastic resume (2 -> 1 processes per node)" in report.compared
    assert "compared: elastic resume" in str(report)
    assert report.to_dict()["compared"] == report.compared
    # The killed run ran on two ranks, the resumed one on one.
    plan = Path(report.artifacts or "") / "plan-6"
    assert [ranks_in(plan / run) for run in ("run-0", "run-1")] == [[0, 1], [0]]


def ranks_in(run_dir: Path) -> list[int]:
    """The ranks whose processes recorded a trajectory in a run (not the launcher)."""
    from resumecheck.engine.safeload import load_records

    loaded = [load_records(p) for p in run_dir.glob("observed-*.pkl")]
    return sorted(r[0].rank for r in loaded if r is not None and r[0].rank is not None)
