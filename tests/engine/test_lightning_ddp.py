"""Lightning DDP (``ddp``, ``ddp_spawn``, ``ddp_fork``; 2 CPU ranks, gloo): every rank observed,
never re-running the test command, killed together, nothing left behind.

Each 2-rank run costs seconds of start-up: these checks are few, small and slow.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.strategies import DDPStrategy
from torch.utils.data import DataLoader, TensorDataset

import resumecheck as rc
from resumecheck.adapters.lightning_ddp import starts_processes
from resumecheck.cli import main
from resumecheck.engine.harness import CheckSession, make_runner
from scenarios import _scripts


class Boring(pl.LightningModule):
    """Defined in a test module: it travels to the ranks by value."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def loader() -> DataLoader[Any]:
    g = torch.Generator().manual_seed(1)
    return DataLoader(
        TensorDataset(torch.randn(32, 4, generator=g), torch.randn(32, 1, generator=g)),
        batch_size=8,
    )


def ddp_job(strategy: Any, **trainer: Any) -> rc.LightningJob:
    """2 epochs of 2 steps per rank (32 samples, batch 8, 2 ranks)."""
    return rc.LightningJob(
        Boring,
        loader,
        {"strategy": strategy, "devices": 2, "accelerator": "cpu", "max_epochs": 2, **trainer},
    )


@pytest.mark.parametrize(
    ("trainer", "expected"),
    [
        ({"strategy": "ddp", "devices": 2, "accelerator": "cpu"}, True),
        ({"strategy": "ddp_spawn", "devices": "2", "accelerator": "cpu"}, True),
        ({"strategy": "ddp_fork", "devices": [0, 1]}, True),
        ({"strategy": DDPStrategy(), "devices": 2, "accelerator": "cpu"}, True),
        ({"devices": 2, "accelerator": "cpu"}, True),  # "auto" with 2 devices is ddp
        ({"strategy": "ddp", "devices": 1, "accelerator": "cpu"}, False),
        ({"accelerator": "cpu"}, False),
        ({"strategy": "auto", "devices": "auto", "accelerator": "cpu"}, False),
    ],
)
def test_which_jobs_start_processes(trainer: dict[str, Any], expected: bool) -> None:
    assert starts_processes(rc.LightningJob(Boring, loader, trainer)) is expected


def _marked(marker: str) -> list[int]:
    """Processes whose environment mentions ``marker`` (the check's artifacts directory)."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except (OSError, ValueError):
            continue
        if marker.encode() in environ and int(pid) != os.getpid():
            found.append(int(pid))
    return found


def _listening() -> dict[int, int]:
    """Listening TCP sockets: inode -> port (IPv4 and IPv6)."""
    ports = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                ports[int(fields[9])] = int(fields[1].rsplit(":", 1)[1], 16)
    return ports


def _semaphores() -> set[str]:
    return {p.name for p in Path("/dev/shm").glob("sem.mp-*")}


def _leftovers(marker: str, before: tuple[dict[int, int], set[str]]) -> list[list[Any]]:
    """What the check left: its processes still alive, TCP ports opened since ``before``
    still listening in one of them (a rendezvous store, a gloo listener), and multiprocessing
    semaphores created since ``before`` that no live process holds (``ddp_spawn``'s queues)."""
    ports_before, semaphores_before = before
    marked = _marked(marker)
    sockets: set[int] = set()
    for pid in marked:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    sockets.add(int(link[8:-1]))
        except OSError:
            continue
    new = {inode: port for inode, port in _listening().items() if inode not in ports_before}
    ports = sorted(port for inode, port in new.items() if inode in sockets)
    semaphores = _unheld(_semaphores() - semaphores_before)
    # Names carry no owner: those of a check running alongside (another xdist worker) vanish
    # when it ends, a leak stays. Look again for up to a minute.
    deadline = time.monotonic() + 60
    while semaphores and time.monotonic() < deadline:
        time.sleep(1)
        semaphores &= _unheld(_semaphores())
    return [marked, ports, sorted(semaphores)]


def _unheld(names: set[str]) -> set[str]:
    """The semaphores of ``names`` that no live process has open."""
    held = set()
    for maps in Path("/proc").glob("[0-9]*/maps"):
        try:
            held.update(line.rsplit("/", 1)[-1] for line in maps.read_text().splitlines())
        except OSError:
            continue
    return names - held


def _now() -> tuple[dict[int, int], set[str]]:
    return _listening(), _semaphores()


@pytest.mark.slow
def test_ddp_killed_at_an_epoch_end_passes_on_every_rank_and_leaves_nothing(tmp_path: Path) -> None:
    before = _now()
    job = ddp_job("ddp", callbacks=[pl.callbacks.ModelCheckpoint(every_n_epochs=1)])
    session = CheckSession(job, make_runner("sigkill", job=job), tmp_path, control=False)
    try:
        session.prepare()
        # Both ranks recorded (never the test runner re-run as rank 1: it would not be here).
        assert session.reference.rank == 0
        assert [r.rank for r in session.reference.ranks] == [1]
        assert session.steps == 4
        verdict = session.try_plan((2,))
    finally:
        session.close()
    assert verdict.divergence is None, verdict.divergence
    assert _leftovers(str(tmp_path), before) == [[], [], []]


@pytest.mark.slow
def test_ddp_spawn_one_rank_raises_and_the_others_are_torn_down(tmp_path: Path) -> None:
    class Local(Boring):
        """Defined inside the test: pickled by value into the job's child and its workers."""

    before = _now()
    job = rc.LightningJob(Local, lambda: loader(), ddp_job("ddp_spawn").trainer)
    report = rc.check(
        job, kills=[2], mode="exception", seed=0, control=False, artifacts_dir=tmp_path
    )
    assert report.passed, str(report)
    assert _leftovers(str(tmp_path), before) == [[], [], []]
    assert list(tmp_path.iterdir()) == []  # a passing check keeps no artifacts


@pytest.mark.slow
def test_ddp_fork_ranks_record_their_own_trajectories(tmp_path: Path) -> None:
    job = ddp_job(DDPStrategy(start_method="fork"))
    session = CheckSession(job, make_runner("sigkill", job=job), tmp_path, control=False)
    try:
        session.prepare()
        ranks = [session.reference, *session.reference.ranks]
        assert [r.rank for r in ranks] == [0, 1]
        assert all(len(r.steps) == 4 for r in ranks)
        # The ranks train on different halves of the data.
        assert ranks[0].steps[0].batches != ranks[1].steps[0].batches
        verdict = session.try_plan((2,))
    finally:
        session.close()
    assert verdict.divergence is None, verdict.divergence
    assert _marked(str(tmp_path)) == []


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["ddp", "ddp_spawn"])
def test_a_lightning_ddp_script_run_as_users_run_it(
    tmp_path: Path, strategy: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``resumecheck run -- python train.py``: the forked run notices rank 1 (or the workers)
    training in processes of their own and the check goes on as a process tree."""
    before = _now()
    command = _scripts.python(
        "lightning_ddp.py", "--ckpt_dir={checkpoint_dir}", f"--strategy={strategy}", "--epochs=2"
    )
    code = main(
        [
            "run",
            "--kills=[4]",
            "--mode=sigkill",
            "--seed=0",
            "--resume=--resume",
            f"--artifacts-dir={tmp_path}",
            "--",
            *command,
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "resume ok" in out.out + out.err
    assert _leftovers(str(tmp_path), before) == [[], [], []]
    assert sys.executable  # the script ran with this interpreter


MP_SPAWN = """
import os, sys
import torch, torch.distributed as dist, torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

def main(rank, world_size, snapshot):
    os.environ["MASTER_ADDR"] = "localhost"
    os.environ["MASTER_PORT"] = os.environ["PORT"]
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    ds = TensorDataset(torch.randn(32, 4, generator=g), torch.randn(32, 1, generator=g))
    loader = DataLoader(ds, batch_size=8, sampler=DistributedSampler(ds, seed=0))
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    start = 0
    if os.path.exists(snapshot):
        state = torch.load(snapshot)
        model.load_state_dict(state["MODEL_STATE"])
        start = state["EPOCHS_RUN"]
    ddp = DDP(model)
    for epoch in range(start, 3):
        loader.sampler.set_epoch(epoch)
        for x, y in loader:
            opt.zero_grad()
            torch.nn.functional.mse_loss(ddp(x), y).backward()
            opt.step()
        if rank == 0:
            torch.save({"MODEL_STATE": ddp.module.state_dict(), "EPOCHS_RUN": epoch}, snapshot)
    dist.destroy_process_group()

if __name__ == "__main__":
    mp.spawn(main, args=(2, sys.argv[1]), nprocs=2)
"""


@pytest.mark.slow
def test_an_mp_spawn_script_is_checked_rank_by_rank(tmp_path: Path) -> None:
    """The DDP tutorial's ``multigpu.py`` pattern, ``python multigpu.py``: ``mp.spawn`` starts
    the ranks, whose snapshot stores the epoch just finished (a resume repeats it)."""
    import socket

    script = tmp_path / "multigpu.py"
    script.write_text(MP_SPAWN)
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    job = rc.ScriptJob(
        [sys.executable, str(script), "{checkpoint_dir}/snapshot.pt"], env={"PORT": str(port)}
    )
    before = _now()
    report = rc.check(job, kills=[4], mode="sigkill", seed=0, artifacts_dir=tmp_path / "art")
    assert report.kinds == [rc.Kind.PROGRESS], str(report)
    assert report.divergences[0].detail.startswith("rank 0: ")
    assert "every rank diverges" in report.divergences[0].detail
    assert _leftovers(str(tmp_path), before) == [[], [], []]
