"""Real-world shapes: what must be flagged, and what must stay clean (all default rules)."""

from __future__ import annotations

import pytest

from resumecheck.lint.config import DEFAULT_CODES
from resumecheck.lint.engine import lint_source, make_rules

CLEAN = {
    "hf-trainer": """
from transformers import Trainer, TrainingArguments
import torch
args = TrainingArguments(output_dir="out", resume_from_checkpoint="out/checkpoint-500")
trainer = Trainer(model=model, args=args, train_dataset=ds)
trainer.train(resume_from_checkpoint=True)
trainer.train(resume_from_checkpoint=args.resume_from_checkpoint)
state = torch.load("x.bin", map_location="cpu", weights_only=True)
""",
    "hf-trainer-with-lightning-imported": """
import pytorch_lightning as pl
import transformers
trainer = transformers.Trainer(model=model)
trainer.train(resume_from_checkpoint=last_checkpoint)
if trainer.resume_from_checkpoint:
    pass
""",
    "lightning-2": """
import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader
import torch

class Model(L.LightningModule):
    def training_step(self, batch, batch_idx):
        return self.loss(batch)

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters(), lr=1e-3)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1)
        return [opt], [sched]

def main(args):
    ckpt = ModelCheckpoint(dirpath="ckpt", every_n_epochs=1, save_last=True)
    trainer = L.Trainer(max_epochs=3, callbacks=[ckpt], enable_checkpointing=True)
    loader = DataLoader(ds, shuffle=True)
    trainer.fit(Model(), loader, ckpt_path="last")
""",
    "strings-comments-dict-keys": """
import pytorch_lightning as pl
# Trainer(resume_from_checkpoint=x) was removed; ModelCheckpoint(period=1) too
doc = "pl.Trainer(resume_from_checkpoint=path, checkpoint_callback=False)"
defaults = {"resume_from_checkpoint": None, "period": 1, "filepath": "x"}
trainer = pl.Trainer(**defaults)
""",
    "user-class-same-names": """
import pytorch_lightning as pl
class Trainer:
    def __init__(self, resume_from_checkpoint=None, checkpoint_callback=None):
        pass
    @classmethod
    def from_argparse_args(cls, args):
        return cls()
class ModelCheckpoint:
    def __init__(self, period=1, filepath=None):
        pass
trainer = Trainer.from_argparse_args(args)
Trainer(resume_from_checkpoint="x", checkpoint_callback=True)
ModelCheckpoint(period=2, filepath="x")
""",
    "shadowed-import": """
from pytorch_lightning import Trainer
def build(Trainer):
    return Trainer(resume_from_checkpoint="x")
""",
    "plain-torch-complete": """
import torch
def train(model, loader, epochs, path):
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=10)
    scaler = torch.cuda.amp.GradScaler()
    for epoch in range(epochs):
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(),
                "epoch": epoch,
            },
            path,
        )
    torch.save(model.state_dict(), "final.pt")
    return torch.load(path, weights_only=False)
""",
    "other-loads": """
import torch, json, pickle, yaml
cfg = json.load(open("c.json"))
obj = pickle.load(f)
model = torch.hub.load("pytorch/vision", "resnet18")
scripted = torch.jit.load("m.pt")
""",
}

FLAGGED = {
    "lightning-1x-script": (
        """
import os
import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint

def main(args):
    checkpoint = ModelCheckpoint(filepath=os.path.join(args.out, "{epoch}"), period=1)
    trainer = pl.Trainer(gpus=1, resume_from_checkpoint=args.resume,
                         checkpoint_callback=checkpoint, weights_save_path=args.out)
    trainer.fit(model)
""",
        ["RC105", "RC103", "RC110", "RC101", "RC102", "RC106"],
    ),
    "argparse-trainer": (
        """
from argparse import ArgumentParser
from pytorch_lightning import Trainer
parser = ArgumentParser()
parser = Trainer.add_argparse_args(parser)
args = parser.parse_args()
trainer = Trainer.from_argparse_args(args, checkpoint_callback=False)
""",
        ["RC107", "RC107", "RC102"],
    ),
    "kwargs-trainer": (
        """
import lightning.pytorch as pl
trainer = pl.Trainer(**kwargs, resume_from_checkpoint=ckpt)
""",
        ["RC101"],
    ),
    "plain-torch-missing-scheduler": (
        """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 30)
for epoch in range(90):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "epoch": epoch}, "checkpoint.pth")
checkpoint = torch.load("checkpoint.pth")
""",
        ["RC302", "RC301"],
    ),
    "torch-load-map-location": (
        "import torch\nstate = torch.load(path, map_location='cpu')\n",
        ["RC301"],
    ),
    "aliases": (
        """
import lightning as L
import lightning.pytorch as lp
from lightning.pytorch import callbacks as cbs
L.Trainer(resume_from_checkpoint=p)
lp.Trainer(checkpoint_callback=True)
cbs.ModelCheckpoint(every_n_val_epochs=1)
L.pytorch.callbacks.ModelCheckpoint(period=1)
""",
        ["RC101", "RC102", "RC104", "RC103"],
    ),
    "try-except-import": (
        """
try:
    import lightning.pytorch as pl
except ImportError:
    import pytorch_lightning as pl
Trainer = pl.Trainer
Trainer(resume_from_checkpoint=p)
""",
        ["RC101"],
    ),
}


def _codes(source: str) -> list[str]:
    result = lint_source(source, "x.py", make_rules(DEFAULT_CODES))
    return [v.code for v in result.violations]


@pytest.mark.parametrize("source", CLEAN.values(), ids=CLEAN.keys())
def test_stays_clean(source: str) -> None:
    assert _codes(source) == []


@pytest.mark.parametrize(("source", "expected"), FLAGGED.values(), ids=FLAGGED.keys())
def test_flags(source: str, expected: list[str]) -> None:
    assert sorted(_codes(source)) == sorted(expected)


def test_reported_at_keyword() -> None:
    source = "import lightning as L\ntrainer = L.Trainer(max_epochs=1, resume_from_checkpoint=p)\n"
    [v] = lint_source(source, "x.py").violations
    assert (v.line, v.column, v.end_line, v.end_column) == (2, 35, 2, 59)


@pytest.mark.parametrize(
    ("comment", "flagged"),
    [
        ("", True),
        ("  # noqa", False),
        ("  # noqa: RC101", False),
        ("  # NOQA:RC101,RC102", False),
        ("  # noqa: RC1", False),
        ("  # noqa: RC102", True),
    ],
)
def test_noqa(comment: str, flagged: bool) -> None:
    source = f"import lightning as L\nL.Trainer(resume_from_checkpoint=p){comment}\n"
    assert bool(lint_source(source).violations) is flagged


def test_fix_moves_ckpt_path_only_when_safe() -> None:
    twice = (
        "import lightning as L\n"
        "trainer = L.Trainer(resume_from_checkpoint=p)\n"
        "trainer.fit(a)\n"
        "trainer.fit(b)\n"
    )
    assert lint_source(twice, fix="safe").source == twice
    multiline = (
        "import lightning as L\n"
        "trainer = L.Trainer(\n"
        "    max_epochs=1,\n"
        "    resume_from_checkpoint=p,\n"
        ")\n"
        "trainer.fit(\n"
        "    model,\n"
        ")\n"
    )
    fixed = lint_source(multiline, fix="safe")
    assert fixed.source == (
        "import lightning as L\n"
        "trainer = L.Trainer(\n"
        "    max_epochs=1,\n"
        ")\n"
        "trainer.fit(\n"
        "    model, ckpt_path=p,\n"
        ")\n"
    )
    assert fixed.violations == []
