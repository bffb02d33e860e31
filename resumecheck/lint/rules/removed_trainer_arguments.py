"""RC110: other Trainer and ModelCheckpoint arguments that Lightning removed.

The resume arguments have their own codes (RC101-RC106). Each entry here was checked against
Lightning's changelog (the release that removed it) and is absent from Lightning 2.x's
``Trainer.__init__``: passing it raises TypeError, so a resumed job crashes before it trains.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from resumecheck.lint.facts import CallInfo, FileFacts, keyword
from resumecheck.lint.rule import Finding, Fix, RemoveArg, RenameKeyword, ReplaceArg, Rule
from resumecheck.lint.rules._common import checkpoint_calls, trainer_calls


@dataclass(frozen=True, slots=True)
class Removed:
    """A removed argument: the release that removed it, what to do, its old default."""

    version: str
    advice: str
    default: tuple[str, ...] = ()  # source texts equal to the old default (removable)


DEVICE_ADVICE = 'use accelerator="{accelerator}", devices= with the same value'
TRAINER: dict[str, Removed] = {
    # No removable default: 1.x ran on CPU without them, 2.x's accelerator="auto" takes a GPU.
    "gpus": Removed("2.0", DEVICE_ADVICE.format(accelerator="gpu")),
    "tpu_cores": Removed("2.0", DEVICE_ADVICE.format(accelerator="tpu")),
    "num_processes": Removed("2.0", DEVICE_ADVICE.format(accelerator="cpu")),
    "ipus": Removed("2.0", "IPU support moved to the lightning-graphcore package"),
    "auto_select_gpus": Removed("2.0", 'use devices="auto"', ("False", "None")),
    "track_grad_norm": Removed(
        "2.0",
        "log lightning.pytorch.utilities.grad_norm(...) in on_before_optimizer_step",
        ("-1",),
    ),
    "amp_backend": Removed(
        "2.0", "native AMP is the only backend: set precision= (apex is gone)", ("'native'",)
    ),
    "amp_level": Removed("2.0", "apex AMP was removed: set precision= instead", ("None",)),
    "move_metrics_to_cpu": Removed("2.0", "there is no replacement: drop it", ("False",)),
    "replace_sampler_ddp": Removed("2.0", "it was renamed use_distributed_sampler="),
    "auto_lr_find": Removed("2.0", "use Tuner(trainer).lr_find(model)", ("False",)),
    "auto_scale_batch_size": Removed(
        "2.0", "use Tuner(trainer).scale_batch_size(model)", ("False", "None")
    ),
    "multiple_trainloader_mode": Removed(
        "2.0",
        "pass CombinedLoader(loaders, mode=...) as the train dataloader",
        ("'max_size_cycle'",),
    ),
    "stochastic_weight_avg": Removed(
        "1.7", "add a StochasticWeightAveraging(swa_lrs=...) callback", ("False",)
    ),
    "terminate_on_nan": Removed(
        "1.7", "use detect_anomaly=True, or check the loss in training_step", ("False", "None")
    ),
    "prepare_data_per_node": Removed(
        "1.7",
        "set self.prepare_data_per_node in the LightningModule or DataModule",
        ("True", "None"),
    ),
    "flush_logs_every_n_steps": Removed(
        "1.7", "pass flush_logs_every_n_steps= to the logger", ("100", "None")
    ),
    "log_gpu_memory": Removed("1.7", "add a DeviceStatsMonitor() callback", ("None",)),
    "process_position": Removed("1.7", "use TQDMProgressBar(process_position=...)", ("0",)),
    "progress_bar_refresh_rate": Removed(
        "1.7", "use TQDMProgressBar(refresh_rate=...), or enable_progress_bar=False", ("None",)
    ),
    "weights_summary": Removed(
        "1.7", "use enable_model_summary= or a ModelSummary(max_depth=...) callback", ("'top'",)
    ),
    "reload_dataloaders_every_epoch": Removed(
        "1.6", "use reload_dataloaders_every_n_epochs=", ("False",)
    ),
    "truncated_bptt_steps": Removed(
        "1.5 (and the LightningModule attribute in 2.0)",
        "split the sequence yourself under manual optimization",
        ("None",),
    ),
    "distributed_backend": Removed("1.5", "use strategy=", ("None",)),
}
CHECKPOINT: dict[str, Removed] = {
    "prefix": Removed("1.3", "put the prefix in filename=", ("''",)),
}
# accelerator= values of `gpus=`-style arguments.
DEVICE_ARGS = {"gpus": "gpu", "tpu_cores": "tpu", "num_processes": "cpu"}
DEVICE_KEYWORDS = ("accelerator", "devices", *DEVICE_ARGS)
STRATEGIES = frozenset({"ddp", "ddp_spawn", "deepspeed", "fsdp"})


class RemovedTrainerArguments(Rule):
    """Flag Trainer and ModelCheckpoint arguments that Lightning removed (besides RC101-106)."""

    code = "RC110"
    name = "removed-trainer-arguments"
    message = "a Trainer or ModelCheckpoint argument that Lightning removed"
    explanation = (
        "Lightning 2.0 (and 1.5-1.7 before it) removed many Trainer arguments: gpus=, "
        "tpu_cores=, num_processes= and ipus= (use accelerator= and devices=), "
        "auto_select_gpus=, track_grad_norm=, amp_backend=/amp_level=, move_metrics_to_cpu=, "
        "replace_sampler_ddp= (renamed use_distributed_sampler=), auto_lr_find=/"
        "auto_scale_batch_size= (use the Tuner), multiple_trainloader_mode=, "
        "reload_dataloaders_every_epoch=, stochastic_weight_avg=, terminate_on_nan=, "
        "prepare_data_per_node=, flush_logs_every_n_steps=, log_gpu_memory=, "
        "process_position=, progress_bar_refresh_rate=, weights_summary=, "
        "truncated_bptt_steps=, distributed_backend=, and ModelCheckpoint(prefix=). "
        "Trainer() raises TypeError on any of them, so a job written for 1.x crashes when it "
        "is resumed under 2.x. Each message names the release that removed the argument and "
        "its replacement."
    )
    versions = "lightning / pytorch_lightning >= 2.0 (some removed in 1.5-1.7)"
    fix_summary = (
        'gpus=N / tpu_cores=N / num_processes=N -> accelerator="gpu"/"tpu"/"cpu", devices=N '
        "(safe for literal device counts, unsafe for an expression that may be 0 or None); "
        "replace_sampler_ddp= -> use_distributed_sampler=; "
        "reload_dataloaders_every_epoch=True -> reload_dataloaders_every_n_epochs=1; "
        "weights_summary=None -> enable_model_summary=False; progress_bar_refresh_rate=0 -> "
        'enable_progress_bar=False; distributed_backend="ddp" -> strategy="ddp"; an argument '
        "given its old default value is removed (all safe)"
    )
    triggers = (*TRAINER, *CHECKPOINT)
    VALID = (
        "import lightning.pytorch as pl\n"
        "pl.Trainer(accelerator='gpu', devices=1, use_distributed_sampler=False)\n",
        # Hugging Face's and a user's own Trainer take other arguments.
        "from transformers import Trainer\nimport pytorch_lightning as pl\n"
        "Trainer(model=model, args=args, gpus=1)\n",
        "import lightning.pytorch as pl\n"
        "class Trainer:\n"
        "    def __init__(self, gpus=0):\n"
        "        self.gpus = gpus\n"
        "Trainer(gpus=2)\n",
        "import lightning as L\nfabric = L.Fabric(accelerator='gpu', devices=2)\n",
        "import lightning.pytorch as pl\nconfig = {'gpus': 1}\nprint(config['gpus'])\n",
    )
    INVALID = (
        "import pytorch_lightning as pl\ntrainer = pl.Trainer(gpus=1, max_epochs=3)\n",
        "from pytorch_lightning import Trainer\n"
        "trainer = Trainer(tpu_cores=8, auto_select_gpus=True, track_grad_norm=2)\n",
        "import pytorch_lightning as pl\n"
        "pl.Trainer(devices=2, replace_sampler_ddp=False, amp_backend='apex', amp_level='O2')\n",
        "import pytorch_lightning as pl\n"
        "pl.Trainer(auto_lr_find=True, auto_scale_batch_size='binsearch', "
        "multiple_trainloader_mode='min_size', move_metrics_to_cpu=True)\n",
        "import pytorch_lightning as pl\n"
        "pl.Trainer(stochastic_weight_avg=True, terminate_on_nan=True, "
        "prepare_data_per_node=False, flush_logs_every_n_steps=50, log_gpu_memory='all', "
        "process_position=1, progress_bar_refresh_rate=20, weights_summary='full')\n",
        "import pytorch_lightning as pl\n"
        "pl.Trainer(reload_dataloaders_every_epoch=True, truncated_bptt_steps=5, "
        "distributed_backend='ddp', ipus=8, num_processes=2)\n",
        "from pytorch_lightning.callbacks import ModelCheckpoint\n"
        "ModelCheckpoint(dirpath='ckpt', prefix='run1')\n",
        "import pytorch_lightning as pl\ntrainer = pl.Trainer.from_argparse_args(args, gpus=2)\n",
    )
    FIXES = (
        (
            "import pytorch_lightning as pl\ntrainer = pl.Trainer(gpus=1, max_epochs=3)\n",
            "import pytorch_lightning as pl\n"
            'trainer = pl.Trainer(accelerator="gpu", devices=1, max_epochs=3)\n',
        ),
        (
            "import pytorch_lightning as pl\n"
            "pl.Trainer(\n"
            "    tpu_cores=8,\n"
            "    replace_sampler_ddp=False,\n"
            "    weights_summary=None,\n"
            "    progress_bar_refresh_rate=0,\n"
            "    reload_dataloaders_every_epoch=True,\n"
            "    move_metrics_to_cpu=False,\n"
            ")\n",
            "import pytorch_lightning as pl\n"
            "pl.Trainer(\n"
            '    accelerator="tpu", devices=8,\n'
            "    use_distributed_sampler=False,\n"
            "    enable_model_summary=False,\n"
            "    enable_progress_bar=False,\n"
            "    reload_dataloaders_every_n_epochs=1,\n"
            ")\n",
        ),
    )
    UNSAFE_FIXES = (
        # 1.x counted TPU cores in a list from 1, 2.0's devices= from 0: check by hand.
        (
            "import pytorch_lightning as pl\npl.Trainer(tpu_cores=[2])\n",
            'import pytorch_lightning as pl\npl.Trainer(accelerator="tpu", devices=[2])\n',
        ),
        (
            "import pytorch_lightning as pl\ntrainer = pl.Trainer(gpus=args.gpus)\n",
            "import pytorch_lightning as pl\n"
            'trainer = pl.Trainer(accelerator="gpu", devices=args.gpus)\n',
        ),
    )

    @classmethod
    def details(cls) -> str:
        rows = ["| Argument | Removed in | Instead |", "|---|---|---|"]
        for owner, table in (("Trainer", TRAINER), ("ModelCheckpoint", CHECKPOINT)):
            for name, removed in table.items():
                rows.append(f"| `{owner}({name}=)` | {removed.version} | {removed.advice} |")
        return "\n".join(rows)

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for call in trainer_calls(facts):
            yield from self._call(facts, call, "Trainer", TRAINER)
        for call in checkpoint_calls(facts):
            yield from self._call(facts, call, "ModelCheckpoint", CHECKPOINT)

    def _call(
        self, facts: FileFacts, call: CallInfo, owner: str, table: dict[str, Removed]
    ) -> Iterator[Finding]:
        for arg in call.node.args:
            if arg.keyword is None or arg.keyword.value not in table:
                continue
            name = arg.keyword.value
            removed = table[name]
            message = (
                f"{owner}({name}=...) was removed in Lightning {removed.version}: {removed.advice}"
            )
            yield self.finding(arg, message, _fix(facts, call.node, arg, name, removed))


def _fix(facts: FileFacts, call: cst.Call, arg: cst.Arg, name: str, removed: Removed) -> Fix | None:
    value = facts.code(arg.value).replace('"', "'")
    if value in removed.default:
        return Fix(f"Remove {name}= (its old default)", "safe", (RemoveArg(call, arg),))
    if name in DEVICE_ARGS:
        return _device_fix(facts, call, arg, name)

    def rename(new: str, new_value: cst.BaseExpression | None = None) -> Fix | None:
        if keyword(call, new) is not None:
            return None
        if new_value is None:
            return Fix(f"Rename to {new}=", "safe", (RenameKeyword(call, arg, new),))
        edit = ReplaceArg(call, arg, ((new, new_value),))
        return Fix(f"Replace with {new}={facts.code(new_value)}", "safe", (edit,))

    if name == "replace_sampler_ddp":
        return rename("use_distributed_sampler")
    if name == "reload_dataloaders_every_epoch" and value == "True":
        return rename("reload_dataloaders_every_n_epochs", cst.Integer("1"))
    if name == "weights_summary" and value == "None":
        return rename("enable_model_summary", cst.Name("False"))
    if name == "progress_bar_refresh_rate" and value == "0":
        return rename("enable_progress_bar", cst.Name("False"))
    if name == "distributed_backend" and value.strip("'") in STRATEGIES:
        return rename("strategy")
    return None


def _device_fix(facts: FileFacts, call: cst.Call, arg: cst.Arg, name: str) -> Fix | None:
    others = [k for k in DEVICE_KEYWORDS if k != name and keyword(call, k) is not None]
    if others:
        return None  # accelerator=/devices= already there: the user must choose
    accelerator = DEVICE_ARGS[name]
    value = arg.value
    literal = _device_literal(value)
    if literal and name == "tpu_cores" and not isinstance(value, cst.Integer):
        literal = None  # a list picked 1-based TPU cores; devices= indices are 0-based (2.0)
    if literal is False:
        return None  # 0 meant "no device of this kind": no mechanical rewrite
    edit = ReplaceArg(
        call, arg, (("accelerator", cst.SimpleString(f'"{accelerator}"')), ("devices", value))
    )
    description = f'Replace with accelerator="{accelerator}", devices={facts.code(value)}'
    # An expression may be 0 or None at run time, which meant CPU in 1.x.
    return Fix(description, "safe" if literal else "unsafe", (edit,))


def _device_literal(value: cst.BaseExpression) -> bool | None:
    """True for a literal device count or list (not 0), False for 0, None if not literal."""
    if isinstance(value, cst.Integer):
        return value.value not in {"0", "00"}
    if isinstance(value, cst.UnaryOperation) and isinstance(value.expression, cst.Integer):
        return isinstance(value.operator, cst.Minus) and value.expression.value == "1"
    if isinstance(value, cst.List) and value.elements:
        return all(isinstance(e.value, cst.Integer) for e in value.elements)
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value
        if not isinstance(text, str):
            return None
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if parts and all(p.lstrip("-").isdigit() for p in parts):
            return text.strip() not in {"0", ""}
    return None
