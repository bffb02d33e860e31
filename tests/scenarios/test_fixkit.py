"""Unit tests of the fix kit: RNG round trips, weights-only loading, atomic writes, order."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from resumecheck import fixkit
from resumecheck.fixkit import (
    ResumableDataLoader,
    capture_rng_state,
    load_training_state,
    restore_rng_state,
    save_training_state,
)
from resumecheck.fixkit import state as state_module


def draws() -> tuple[Any, ...]:
    return (torch.rand(4), np.random.rand(4).tolist(), random.random())


def test_rng_round_trip_restores_every_generator() -> None:
    saved = capture_rng_state()
    first = draws()
    restore_rng_state(saved)
    second = draws()
    assert torch.equal(first[0], second[0])
    assert first[1:] == second[1:]


def test_rng_state_survives_a_weights_only_load(tmp_path: Path) -> None:
    np.random.normal()  # leaves a cached gaussian in numpy's state
    torch.save(capture_rng_state(), tmp_path / "rng.pt")
    expected = draws()
    restore_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    got = draws()
    assert torch.equal(expected[0], got[0])
    assert expected[1:] == got[1:]


def model_and_optimizer() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    return net, opt


def test_training_state_round_trip_loads_weights_only(tmp_path: Path) -> None:
    net, opt = model_and_optimizer()
    sched = torch.optim.lr_scheduler.StepLR(opt, 1)
    sched.step()
    path = save_training_state(
        tmp_path / "sub" / "state.pt", step=7, model=net, optimizer=opt, scheduler=sched, note="x"
    )
    assert torch.load(path, weights_only=True)["note"] == "x"
    expected = torch.rand(3)

    fresh = torch.nn.Linear(3, 2)
    fresh_opt = torch.optim.Adam(fresh.parameters())
    fresh_sched = torch.optim.lr_scheduler.StepLR(fresh_opt, 1)
    step = load_training_state(path, model=fresh, optimizer=fresh_opt, scheduler=fresh_sched)
    assert step == 7
    assert torch.equal(fresh.weight, net.weight)
    assert fresh_opt.state_dict()["state"][0]["exp_avg"].equal(
        opt.state_dict()["state"][0]["exp_avg"]
    )
    assert fresh_sched.last_epoch == 1
    assert torch.equal(torch.rand(3), expected)  # RNG restored


def test_load_refuses_a_missing_object(tmp_path: Path) -> None:
    net, _ = model_and_optimizer()
    save_training_state(tmp_path / "s.pt", step=1, model=net)
    with pytest.raises(KeyError, match="'optimizer'"):
        load_training_state(
            tmp_path / "s.pt", model=net, optimizer=torch.optim.SGD(net.parameters())
        )


def test_reserved_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'rng' is reserved"):
        save_training_state(tmp_path / "s.pt", step=1, rng=1)


def test_a_write_killed_midway_leaves_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.pt"
    save_training_state(path, step=1)
    before = path.read_bytes()

    def dies_midway(obj: Any, fh: Any) -> None:
        fh.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt  # stands in for a kill between two writes

    monkeypatch.setattr(state_module.torch, "save", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        save_training_state(path, step=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"]  # no temp file left


def test_the_temporary_file_is_in_the_same_directory_and_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Path] = []
    real_replace = state_module.os.replace

    def spy(src: Any, dst: Any) -> None:
        seen.append(Path(src))
        real_replace(src, dst)

    monkeypatch.setattr(state_module.os, "replace", spy)
    save_training_state(tmp_path / "state.pt", step=1)
    assert seen[0].parent == tmp_path
    assert seen[0].name.startswith(".state.pt.")


def loader(**kwargs: Any) -> ResumableDataLoader:
    data = TensorDataset(torch.arange(20.0).unsqueeze(1))
    return ResumableDataLoader(data, batch_size=4, **kwargs)


def order(batches: Any) -> list[list[float]]:
    return [b[0].flatten().tolist() for b in batches]


def test_resumable_loader_never_touches_the_global_rng() -> None:
    before = torch.get_rng_state()
    for _ in range(2):
        list(loader(shuffle=True))
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("consumed", [0, 2, 5, 7, 10])
def test_resumable_loader_resumes_mid_epoch_and_at_epoch_ends(consumed: int) -> None:
    reference = loader(shuffle=True)
    full = order(reference) + order(reference) + order(reference)  # 3 epochs of 5 batches
    killed = loader(shuffle=True)
    taken = 0
    while taken < consumed:
        it = iter(killed)
        for _ in range(min(5, consumed - taken)):
            next(it)
            taken += 1
    resumed = loader(shuffle=True)
    resumed.load_state_dict(torch.load(_saved(killed.state_dict()), weights_only=True))
    epoch_end = -(-(consumed + 1) // 5) * 5  # the end of the epoch the resume continues
    assert order(resumed) == full[consumed:epoch_end]


def _saved(state: dict[str, int]) -> Any:
    import io

    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return buf


def test_resumable_loader_epochs_differ_and_set_epoch_is_honoured() -> None:
    dl = loader(shuffle=True)
    epoch0, epoch1 = order(dl), order(dl)
    assert epoch0 != epoch1
    again = loader(shuffle=True)
    again.set_epoch(1)
    assert order(again) == epoch1


def test_resumable_loader_refuses_another_seed() -> None:
    with pytest.raises(ValueError, match="seed"):
        loader(seed=1).load_state_dict(loader(seed=0).state_dict())


def test_the_callback_subclasses_each_package_callback() -> None:
    import lightning.pytorch
    import pytorch_lightning

    from resumecheck.fixkit import pytorch_lightning as pl_kit

    assert issubclass(fixkit.RngStateCallback, lightning.pytorch.Callback)
    assert issubclass(pl_kit.RngStateCallback, pytorch_lightning.Callback)
    assert fixkit.rng_callback_class("lightning.pytorch") is fixkit.RngStateCallback


@pytest.mark.parametrize(
    ("name", "kills"),
    [
        ("RngStateCallback", [2, 5, 6]),
        # Two resumes from epoch ends: only the exact callback repairs Lightning's counters.
        ("ExactResumeCallback", [2, 5, 6, [5, 10]]),
    ],
)
def test_the_callback_works_with_pytorch_lightning(
    name: str, kills: list[Any], tmp_path: Path
) -> None:
    import pytorch_lightning

    import resumecheck as rc
    from resumecheck.fixkit import pytorch_lightning as pl_kit

    callback = getattr(pl_kit, name)

    class OldStyle(pytorch_lightning.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.Dropout(0.5))

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            return self.net(batch[0]).pow(2).mean()

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    job = rc.LightningJob(OldStyle, lambda: loader(), {"max_epochs": 3, "callbacks": [callback()]})
    report = rc.check(job, kills=kills, seed=0, artifacts_dir=tmp_path)
    assert report.passed, str(report)
    assert report.warnings == ()


@pytest.mark.filterwarnings("ignore::FutureWarning")  # Lightning's own pytree deprecations
def test_callback_checkpoint_state_loads_weights_only(tmp_path: Path) -> None:
    import lightning.pytorch as pl

    from scenarios import _common

    trainer = pl.Trainer(
        max_steps=3,
        callbacks=[fixkit.RngStateCallback()],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(_common.Net(dropout=0.5), _common.plain_loader())
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)
    state = torch.load(path, weights_only=True)["callbacks"]["RngStateCallback"]
    assert set(state["rng"]) >= {"torch", "python", "numpy"}


class _KillAt(Exception):
    pass


def _fit_until(
    tmp_path: Path, resume: Path | None, kill_at: int | None, callbacks: list[Any]
) -> Any:
    """Plain Lightning, 5 epochs of 8 steps, a checkpoint every step, killed after ``kill_at``."""
    import lightning.pytorch as pl

    from scenarios import _common

    class Killer(pl.Callback):
        def on_train_batch_start(self, trainer: Any, *args: Any) -> None:
            if trainer.global_step == kill_at:
                raise _KillAt

    every_step = pl.callbacks.ModelCheckpoint(
        dirpath=tmp_path, every_n_train_steps=1, save_top_k=-1, filename="{step}"
    )
    trainer = pl.Trainer(
        max_epochs=5,
        callbacks=[every_step, Killer(), *callbacks],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=True,
        default_root_dir=tmp_path,
    )
    with contextlib.suppress(_KillAt):
        trainer.fit(_common.Net(), _common.resumable_loader(), ckpt_path=resume)
    return trainer


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")  # Lightning's own pytree deprecations
@pytest.mark.filterwarnings("ignore::UserWarning")  # Lightning's small-data advice
def test_exact_callback_repairs_epoch_counters_written_without_it(tmp_path: Path) -> None:
    # Plain Lightning 2.6, no resumecheck: resumed from the last batch of epoch 0, the run
    # writes epoch 1's checkpoints one epoch short; resuming from step 16 repeats epoch 1.
    _fit_until(tmp_path, None, 8, [])
    _fit_until(tmp_path, tmp_path / "step=8.ckpt", 16, [])
    bad = torch.load(tmp_path / "step=16.ckpt", weights_only=False)
    assert bad["loops"]["fit_loop"]["epoch_progress"]["current"]["ready"] == 1
    plain = _fit_until(tmp_path / "plain", tmp_path / "step=16.ckpt", None, [])
    assert plain.global_step == 48  # epoch 1 trained again: the bug
    fixed = _fit_until(
        tmp_path / "fixed", tmp_path / "step=16.ckpt", None, [fixkit.ExactResumeCallback()]
    )
    assert fixed.global_step == 40
    assert fixed.current_epoch == 5


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_exact_callback_writes_right_counters_after_an_epoch_end_resume(tmp_path: Path) -> None:
    callback = fixkit.ExactResumeCallback
    _fit_until(tmp_path, None, 8, [callback()])
    _fit_until(tmp_path, tmp_path / "step=8.ckpt", 16, [callback()])
    for step in (12, 16):
        saved = torch.load(tmp_path / f"step={step}.ckpt", weights_only=True)
        progress = saved["loops"]["fit_loop"]["epoch_progress"]
        assert progress["current"]["ready"] == progress["current"]["started"] == 2, step
    again = _fit_until(tmp_path / "again", tmp_path / "step=16.ckpt", None, [callback()])
    assert again.global_step == 40


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore:.*does not have many workers:UserWarning")
def test_exact_callback_warns_about_a_loader_that_cannot_resume_mid_epoch(tmp_path: Path) -> None:
    import lightning.pytorch as pl

    from scenarios import _common

    def fit(loader: Any) -> None:
        trainer = pl.Trainer(
            max_steps=2,
            callbacks=[fixkit.ExactResumeCallback()],
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            default_root_dir=tmp_path,
        )
        trainer.fit(_common.Net(), loader)

    with pytest.warns(fixkit.MidEpochResumeWarning, match="ResumableDataLoader"):
        fit(_common.plain_loader(shuffle=True))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", fixkit.MidEpochResumeWarning)
        fit(_common.resumable_loader())


def test_the_exact_callback_exists_for_each_package() -> None:
    import lightning.pytorch
    import pytorch_lightning

    from resumecheck.fixkit import pytorch_lightning as pl_kit

    assert issubclass(fixkit.ExactResumeCallback, lightning.pytorch.Callback)
    assert issubclass(fixkit.ExactResumeCallback, fixkit.RngStateCallback)
    assert issubclass(pl_kit.ExactResumeCallback, pytorch_lightning.Callback)
    assert fixkit.ExactResumeCallback().state_key == "ExactResumeCallback"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "passes"), [("RngStateCallback", False), ("ExactResumeCallback", True)]
)
def test_the_validation_a_resume_skips_is_run_by_the_exact_callback(
    name: str, passes: bool, tmp_path: Path
) -> None:
    # Resumed from the checkpoint of an epoch's last batch, Lightning 2.6 skips that epoch's
    # validation (its val_loss is never logged) but still draws its loader's seed.
    import resumecheck as rc
    from scenarios import _common

    class WithValidation(_common.Net):
        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("val_loss", self.loss(batch))

        def val_dataloader(self) -> Any:
            return _common.plain_loader()

    job = _common.lightning_job(
        lambda: WithValidation(dropout=0.5),
        _common.resumable_loader,
        callbacks=[getattr(fixkit, name)()],
        limit_val_batches=2,
    )
    plans = [_common.LAST_BATCH_OF_EPOCH, [_common.LAST_BATCH_OF_EPOCH, 16]]
    report = rc.check(job, kills=plans, seed=0, artifacts_dir=tmp_path)
    assert report.passed is passes, str(report)
    if not passes:
        # Logged values from before a run's first step are not compared (the skipped
        # validation), so what shows is Lightning's epoch counter after the second resume.
        assert report.kinds == [rc.Kind.PROGRESS], str(report)
