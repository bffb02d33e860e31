"""Benchmark ``resumecheck lint`` against TorchFix on the same tree of installed sources.

Usage::

    python benchmarks/lint.py            # lightning.pytorch + torch.optim/utils.data/nn
    python benchmarks/lint.py --full     # all of torch, lightning (+ transformers if installed)

Both tools run as a fresh subprocess on the same paths with the same number of jobs, so
interpreter start-up and imports count for both. TorchFix must be installed
(``pip install torchfix``); pass ``--skip-torchfix`` to time resumecheck alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_TREE = ("lightning/pytorch", "torch/optim", "torch/utils/data", "torch/nn")
FULL_TREE = ("torch", "lightning", "transformers")


def site_packages() -> Path:
    """The folder that holds the installed torch package."""
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        raise SystemExit("torch is not installed")
    return Path(spec.origin).parent.parent


def tree(full: bool) -> list[str]:
    """Existing source folders to lint."""
    root = site_packages()
    return [str(root / p) for p in (FULL_TREE if full else DEFAULT_TREE) if (root / p).is_dir()]


def count_files(paths: list[str]) -> int:
    """Python files under ``paths`` (what both tools walk)."""
    return sum(
        1
        for p in paths
        for folder, dirs, files in os.walk(p)
        if "__pycache__" not in folder
        for f in files
        if f.endswith(".py")
    )


def timed(cmd: list[str]) -> float:
    """Wall time of ``cmd``; its output is discarded."""
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    """Run both tools and print files/s and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="Lint all of torch and lightning")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="Worker processes")
    parser.add_argument("--skip-torchfix", action="store_true", help="Time resumecheck only")
    args = parser.parse_args()
    paths = tree(args.full)
    files = count_files(paths)
    print(f"tree: {files} Python files in {', '.join(paths)}; {args.jobs} jobs")
    ours = timed([sys.executable, "-m", "resumecheck", "lint", *paths, "--exit-zero"])
    print(f"resumecheck: {ours:8.2f} s  {files / ours:8.1f} files/s")
    if args.skip_torchfix:
        return 0
    exe = shutil.which("torchfix", path=str(Path(sys.executable).parent)) or shutil.which(
        "torchfix"
    )
    if exe is None:
        print("torchfix: not installed (pip install torchfix)")
        return 1
    theirs = timed([exe, "-j", str(args.jobs), *paths])
    print(f"torchfix:    {theirs:8.2f} s  {files / theirs:8.1f} files/s")
    print(f"ratio: resumecheck is {theirs / ours:.1f}x the files/s of TorchFix")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
