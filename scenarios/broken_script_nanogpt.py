"""karpathy/nanoGPT's ``train.py``, unmodified, on a tiny CPU config: ``DATA_ORDER``.

What users do: ``python train.py --out_dir=DIR ...`` trains; ``--init_from=resume`` reloads
``DIR/ckpt.pt`` (model, optimizer, ``iter_num``), written every ``eval_interval`` iterations at
the top of the next iteration.
Why it breaks: ``ckpt.pt`` holds no RNG state, and the resumed run seeds torch again
(``torch.manual_seed(1337 + seed_offset)``) and draws its batch offsets from there: it is fed
step 1's batch where the uninterrupted run fed step 9's (the data stream restarted).
Fix: save ``torch.get_rng_state()`` (and the prefetched batch) in the checkpoint and restore
them on resume (``fixed_script_random_offsets`` shows the pattern on a small script).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

import resumecheck as rc
from scenarios import _scripts

EXPECTED = rc.Kind.DATA_ORDER
KILLS = [9]
MODE = "sigkill"
NANOGPT = _scripts.SCRIPTS / "nanogpt"
TINY = [
    "--dataset=tiny",
    "--device=cpu",
    "--compile=False",
    "--dtype=float32",
    "--gradient_accumulation_steps=1",
    "--max_iters=12",
    "--eval_interval=4",
    "--eval_iters=2",
    "--log_interval=1",
    "--batch_size=4",
    "--block_size=16",
    "--n_layer=1",
    "--n_head=2",
    "--n_embd=16",
    "--warmup_iters=2",
    "--lr_decay_iters=12",
]


def make_tiny_data(root: Path = NANOGPT) -> None:
    """``data/tiny/{train,val}.bin`` and ``meta.pkl`` as nanoGPT's prepare scripts lay them out:
    uint16 token ids, here random over a 64-token vocabulary (nothing is downloaded)."""
    folder = root / "data" / "tiny"
    if (folder / "meta.pkl").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, size in (("train", 4096), ("val", 512)):
        rng.integers(0, 64, size, dtype=np.uint16).tofile(folder / f"{split}.bin")
    part = folder / f"meta.pkl.{id(rng)}"
    part.write_bytes(pickle.dumps({"vocab_size": 64}))
    part.replace(folder / "meta.pkl")  # last, atomically: the marker that the data is whole


def job() -> rc.ScriptJob:
    make_tiny_data()
    return rc.ScriptJob(
        ["python", "train.py", "--out_dir={checkpoint_dir}", *TINY],
        resume="--init_from=resume",
        checkpoints="ckpt.pt",
        cwd=NANOGPT,
    )
