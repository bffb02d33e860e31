"""Before/after counts for issue 11: false verdicts on correct jobs, leaked processes, leaked
temp dirs, hangs, code run from a checkpoint. Each case runs in its own interpreter with its own
TMPDIR, under a hard timeout, so a hang or a crash is counted, never suffered.

    python benchmarks/trust_counts.py            # this tree
    python benchmarks/trust_counts.py --tree DIR # another checkout (e.g. the previous commit),
                                                 # with tests/trust copied into it
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

API_CASES = {
    # name: (python code printing a JSON dict, kind of case)
    "correct logging job, kills 3/8/11/16": (
        "r = rc.check(tj.logging_job(), kills=[3, 8, 11, 16], seed=0)\n"
        "out(false=len(r.divergences))",
        "correct",
    ),
    "LearningRateMonitor job": (
        "import lightning.pytorch as pl\n"
        "job = tj.logging_job(callbacks=[pl.callbacks.LearningRateMonitor('step')], logger=True)\n"
        "r = rc.check(job, kills=[5, 8], seed=0)\nout(false=len(r.divergences))",
        "correct",
    ),
    "job ignoring SIGTERM (sigterm mode)": (
        "r = rc.check(cj.ignores_sigterm(), kills=[2, 4], mode='sigterm', grace=1)\n"
        "out(false=len(r.divergences))",
        "correct",
    ),
    "functools.partial job (sigkill)": (
        "r = rc.check(cj.partial_job(), kills=[2, 4], mode='sigkill')\n"
        "out(false=len(r.divergences))",
        "correct",
    ),
    "job that never steps an optimizer": (
        "r = rc.check(cj.never_steps(), kills=[2])\n"
        "out(false=int(bool(r.divergences) or r.passed))",
        "fault",
    ),
    "job leaving a helper process (exception mode)": (
        "r = rc.check(cj.leaves_a_helper(), kills=[3, 5])\nout()",
        "fault",
    ),
    "kill step out of range (config error after the reference)": (
        "r = rc.check(cj.partial_job(), kills=[40])\nout()",
        "fault",
    ),
    "hostile checkpoint (sigkill)": (
        "marker = os.path.join(os.environ['TMPDIR'], 'marker')\n"
        "os.environ[tj.MARKER_ENV] = marker\n"
        "r = rc.check(tj.logging_job(tj.HostileCheckpointNet), kills=[5], mode='sigkill')\n"
        "pids = open(marker).read().split() if os.path.exists(marker) else []\n"
        "out(code_run_in_harness=int(str(os.getpid()) in pids))",
        "fault",
    ),
}

PRELUDE = """
import json, os, sys
sys.path.insert(0, os.getcwd())
import resumecheck as rc
from tests.trust import trust_jobs as tj, cli_jobs as cj
def out(**kw):
    print("RESULT " + json.dumps(kw))
"""

CLI_CASES = {
    "Ctrl-C, exception-mode Lightning check": (["cli_jobs.py::slow", "--kills", "3"], "sigint"),
    "hang, exception mode, --timeout 5": (
        ["cli_jobs.py::hang", "--timeout", "5", "--kills", "[3]", "--no-control"],
        None,
    ),
    "hang, sigkill mode, --timeout 5": (
        [
            "cli_jobs.py::hang",
            "--timeout",
            "5",
            "--kills",
            "[3]",
            "--no-control",
            "--mode",
            "sigkill",
        ],
        None,
    ),
    "os._exit(0) in exception mode": (["cli_jobs.py::exits", "--kills", "[3]"], None),
    "--kills '[null]'": (["cli_jobs.py::partial_job", "--kills", "[null]"], None),
    "--kills '[1.5]'": (["cli_jobs.py::partial_job", "--kills", "[1.5]"], None),
    "--artifacts-dir FILE": (
        ["cli_jobs.py::partial_job", "--artifacts-dir", "pyproject.toml"],
        None,
    ),
    "--timeout 0 (exception mode)": (["cli_jobs.py::partial_job", "--timeout", "0"], None),
}


def _children_of(pid: int) -> set[int]:
    found: set[int] = set()
    pending = [pid]
    while pending:
        p = pending.pop()
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = [int(k) for k in (task / "children").read_text().split()]
                found.update(kids)
                pending += kids
        except OSError:
            pass
    return found


def _run(cmd: list[str], tree: Path, tmp: Path, limit: float, sigint: bool) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(tree), TMPDIR=str(tmp))
    env["RESUMECHECK_TEST_STARTED"] = str(tmp / "started")
    proc = subprocess.Popen(
        cmd,
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # Ctrl-C must reach it even when this script runs in the background (SIGINT ignored).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    start, hung, seen = time.monotonic(), False, set()
    if sigint:
        while not (tmp / "started").exists() and time.monotonic() - start < 60:
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
    try:
        while proc.poll() is None and time.monotonic() - start < limit:
            seen |= _children_of(proc.pid)
            time.sleep(0.1)
        hung = proc.poll() is None
    finally:
        if hung:
            seen |= _children_of(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    time.sleep(0.5)
    leaked = [p for p in seen if Path(f"/proc/{p}").exists()]
    for p in leaked:  # ours to clean up: started by this case
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    dirs = [d.name for d in tmp.iterdir() if d.name.startswith("resumecheck-")]
    said = sum(1 for d in dirs if d in err or d in out)
    result = next((json.loads(ln[7:]) for ln in out.splitlines() if ln.startswith("RESULT ")), {})
    return {
        "rc": proc.returncode,
        "hung": hung,
        "leaked_processes": len(leaked),
        "leaked_dirs": len(dirs) - said,
        "traceback": "Traceback" in err,
        "seconds": round(time.monotonic() - start, 1),
        "last_err": (err.strip().splitlines() or [""])[-1][:160],
        **result,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, default=HERE)
    parser.add_argument("--limit", type=float, default=120)
    parser.add_argument("--only", default="", help="run only the cases whose name has this")
    args = parser.parse_args()
    rows = {}
    for name, (code, kind) in API_CASES.items():
        if args.only not in name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-c", PRELUDE + code]
            rows[name] = {"kind": kind, **_run(cmd, args.tree, Path(tmp), args.limit, False)}
            print(name, rows[name], flush=True)
    for name, (argv, how) in CLI_CASES.items():
        if args.only not in name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            argv = [a if "::" not in a else f"tests/trust/{a}" for a in argv]
            cmd = [sys.executable, "-m", "resumecheck", "check", *argv]
            row = _run(cmd, args.tree, Path(tmp), args.limit, how == "sigint")
            rows[name] = {"kind": "cli", **row}
            print(name, rows[name], flush=True)
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
