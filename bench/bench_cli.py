"""Whole-process time and peak RSS of ``flopsight profile`` on the biggest bundled models.

Each case runs the installed CLI (``python -m flopsight.cli``) as a fresh child process, as a
user would, on meta and with the default text report written to /dev/null. Wall time is
measured around the child; its peak RSS comes from ``resource.getrusage(RUSAGE_CHILDREN)``
read in a small wrapper process that runs exactly one case, so that the figure is that case's
own. A baseline case times the imports alone (torch, transformers and the model class), the
part of the wall time no profiler can save.

    python bench/bench_cli.py                  # 70B and 405B at 2048 tokens, 3 runs each
    python bench/bench_cli.py --repeats 5 --json

Targets (issue 3, on a 2-core machine): 70B under 8 s, 405B under 15 s, peak RSS under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

CASES: dict[str, list[str]] = {
    "imports only": ["-c", "import flopsight.cli, transformers; transformers.LlamaForCausalLM"],
    "llama-3-70b --seq-len 2048": ["-m", "flopsight.cli", "profile", "llama-3-70b", "--seq-len", "2048"],
    "llama-3.1-405b --seq-len 2048": ["-m", "flopsight.cli", "profile", "llama-3.1-405b", "--seq-len", "2048"],
}
TARGET_S = {"llama-3-70b --seq-len 2048": 8.0, "llama-3.1-405b --seq-len 2048": 15.0}
TARGET_RSS_MIB = 2048.0


def run_one(argv: list[str]) -> dict[str, float]:
    """Run ``python argv`` once as a child of this process; its wall time and peak RSS."""
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {completed.stderr.strip()}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak_mib = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    return {"wall_s": wall, "peak_rss_mib": peak_mib}


def measure(case: str, repeats: int) -> dict[str, Any]:
    """``repeats`` runs of one case, each in its own wrapper so RUSAGE_CHILDREN is that run's."""
    runs = []
    for _ in range(repeats):
        wrapper = subprocess.run(
            [sys.executable, __file__, "--one", case], capture_output=True, text=True, check=True
        )
        runs.append(json.loads(wrapper.stdout))
    walls = [r["wall_s"] for r in runs]
    return {
        "case": case,
        "runs": runs,
        "median_wall_s": statistics.median(walls),
        "min_wall_s": min(walls),
        "max_peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one case, print its figures
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(CASES[args.one])))
        return
    import os

    import torch
    import transformers

    results = [measure(case, args.repeats) for case in CASES]
    machine = {
        "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
        "cpus": os.cpu_count(), "platform": platform.platform(),
    }
    if args.json:
        print(json.dumps({"machine": machine, "results": results}, indent=2))
        return
    print(f"{machine['platform']}, {machine['cpus']} CPUs, torch {machine['torch']}, transformers {machine['transformers']}")
    print(f"{'case':<32} {'median s':>9} {'min s':>7} {'target s':>9} {'peak RSS MiB':>13}")
    for r in results:
        target = TARGET_S.get(r["case"])
        print(f"{r['case']:<32} {r['median_wall_s']:>9.2f} {r['min_wall_s']:>7.2f} "
              f"{target if target else '':>9} {r['max_peak_rss_mib']:>13.0f}")
    print(f"peak RSS target: {TARGET_RSS_MIB:.0f} MiB")


if __name__ == "__main__":
    main()
