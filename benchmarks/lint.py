"""Benchmark ``resumecheck lint`` on big installed trees: torch, Lightning and transformers.

Usage::

    python benchmarks/lint.py                        # torch + lightning (+ transformers if found)
    python benchmarks/lint.py --jobs 2 --transformers /tmp/tfvenv/lib/python3.11/site-packages
    RESUMECHECK_TRANSFORMERS=/path/to/site-packages python benchmarks/lint.py
    python benchmarks/lint.py --torchfix             # also time TorchFix on the same trees

Each tree is linted by a fresh ``python -m resumecheck lint`` subprocess with every rule
selected, so interpreter start-up, imports and the process pool count. transformers is found
in this interpreter's packages, or in the ``site-packages`` folder given with
``--transformers`` / ``RESUMECHECK_TRANSFORMERS`` (it needs no torch: a separate venv made with
``python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install transformers`` will do); without
it the tree is skipped with a message. For each tree the table shows the files, how many the
text prefilter sent to the parser, the wall time, files/s, and the findings and crashes
(files that could not be checked).
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

ENV_TRANSFORMERS = "RESUMECHECK_TRANSFORMERS"


def installed(name: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def transformers_tree(option: str | None) -> tuple[Path | None, str]:
    """The transformers package folder and where it came from (or why it is missing)."""
    where = option or os.environ.get(ENV_TRANSFORMERS)
    if where:
        folder = Path(where)
        folder = folder if folder.name == "transformers" else folder / "transformers"
        if folder.is_dir():
            return folder, str(folder)
        return None, f"{folder} does not exist"
    found = installed("transformers")
    if found is not None:
        return found, str(found)
    return None, (
        f"transformers is not installed here; pass --transformers SITE_PACKAGES or set "
        f"{ENV_TRANSFORMERS} (e.g. python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install "
        "transformers)"
    )


def sources(tree: Path) -> list[str]:
    """What ``resumecheck lint`` walks: .py, .pyi and .ipynb files."""
    from resumecheck.lint.engine import iter_python_files

    return [path for path, problem in iter_python_files([str(tree)]) if problem is None]


def sent_to_parser(files: list[str]) -> int:
    """Files the prefilter lets through to libcst (every rule selected)."""
    from resumecheck.lint.config import ALL_CODES
    from resumecheck.lint.engine import FileCheckError, make_rules, read_source

    rules = make_rules(ALL_CODES)
    count = 0
    for path in files:
        try:
            text, _ = read_source(path)
        except FileCheckError:
            continue
        count += any(r.might_match(text) for r in rules)
    return count


def lint(tree: Path, jobs: int) -> tuple[float, int, int]:
    """Wall time, findings and files that could not be checked, from one CLI run."""
    cmd = [sys.executable, "-m", "resumecheck", "lint", str(tree), "--isolated",
           "--select", "ALL", "--exit-zero", "--format", "json", "--jobs", str(jobs)]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    findings = done.stdout.count('"code":')
    crashes = done.stderr.count(": ERROR: cannot parse (")
    if done.returncode not in (0, 2):
        raise SystemExit(f"resumecheck lint {tree} failed ({done.returncode}): {done.stderr}")
    return seconds, findings, crashes


def torchfix(tree: Path, jobs: int) -> float | None:
    """TorchFix's wall time on the same tree, or None when it is not installed."""
    exe = shutil.which("torchfix", path=str(Path(sys.executable).parent)) or shutil.which(
        "torchfix"
    )
    if exe is None:
        return None
    start = time.perf_counter()
    subprocess.run([exe, "-j", str(jobs), str(tree)], capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> int:
    """Lint each tree and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="Worker processes")
    parser.add_argument(
        "--transformers",
        metavar="SITE_PACKAGES",
        help=f"site-packages holding transformers (or set {ENV_TRANSFORMERS})",
    )
    parser.add_argument("--torchfix", action="store_true", help="Also time TorchFix")
    args = parser.parse_args()
    trees: list[tuple[str, Path]] = []
    for name, folder in (("torch", installed("torch")), ("lightning", installed("lightning"))):
        if folder is None:
            print(f"{name}: not installed, skipped")
        else:
            trees.append((name, folder))
    tf, where = transformers_tree(args.transformers)
    if tf is None:
        print(f"transformers: skipped: {where}")
    else:
        trees.append(("transformers", tf))
    print(f"{args.jobs} jobs; every rule selected\n")
    print(f"{'tree':<13} {'files':>6} {'parsed':>6} {'seconds':>8} {'files/s':>8} "
          f"{'findings':>8} {'crashes':>7}")  # fmt: skip
    failed = False
    for name, folder in trees:
        files = sources(folder)
        parsed = sent_to_parser(files)
        seconds, findings, crashes = lint(folder, args.jobs)
        failed |= crashes > 0
        print(f"{name:<13} {len(files):>6} {parsed:>6} {seconds:>8.2f} "
              f"{len(files) / seconds:>8.1f} {findings:>8} {crashes:>7}")  # fmt: skip
        if args.torchfix:
            theirs = torchfix(folder, args.jobs)
            if theirs is None:
                print("  torchfix: not installed (pip install torchfix)")
            else:
                print(f"  torchfix: {theirs:.2f} s, {len(files) / theirs:.1f} files/s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
