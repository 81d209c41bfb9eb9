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
Issue 13: 405B at most 1.1x the floor (``import torch; from transformers import
LlamaForCausalLM``, the imports any run of a Llama needs), by wall and by CPU time;
``--help``, ``models`` and an argument error under 0.5 s (they import no torch).

    python bench/bench_cli.py --cases help models "argument error"   # start-up only
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

FLOOR = "floor: import torch, LlamaForCausalLM"
FLOOR_NO_GC = "floor, collector off"
CASES: dict[str, list[str]] = {
    "help": ["-m", "flopsight.cli", "--help"],
    "models": ["-m", "flopsight.cli", "models"],
    "argument error": ["-m", "flopsight.cli", "profile", "gpt2", "--batch-size", "0"],
    FLOOR: ["-c", "import torch; from transformers import LlamaForCausalLM"],
    # The same imports as the CLI makes them (cli/heavy.collection_paused): flopsight's own share.
    FLOOR_NO_GC: ["-c", "import gc; gc.disable(); import torch; from transformers import LlamaForCausalLM"],
    "imports only": ["-c", "import flopsight.cli, transformers; transformers.LlamaForCausalLM"],
    "llama-3-70b --seq-len 2048": ["-m", "flopsight.cli", "profile", "llama-3-70b", "--seq-len", "2048"],
    "llama-3.1-405b --seq-len 2048": ["-m", "flopsight.cli", "profile", "llama-3.1-405b", "--seq-len", "2048"],
}
TARGET_S = {"llama-3-70b --seq-len 2048": 8.0, "llama-3.1-405b --seq-len 2048": 15.0,
            "help": 0.5, "models": 0.5, "argument error": 0.5}
FLOOR_RATIO_TARGET = ("llama-3.1-405b --seq-len 2048", 1.1)  # issue 13: at most 1.1x the floor
TARGET_RSS_MIB = 2048.0


def run_one(argv: list[str]) -> dict[str, float]:
    """Run ``python argv`` once as a child of this process; its wall and CPU time, peak RSS."""
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    expected = 2 if argv == CASES["argument error"] else 0  # the error case exits 2 by design
    if completed.returncode != expected:
        raise SystemExit(f"{' '.join(argv)} failed: {completed.stderr.strip()}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mib = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": peak_mib}


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
        "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "min_wall_s": min(walls),
        "max_peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES), metavar="CASE",
                        help=f"which cases to run (default all: {', '.join(CASES)})")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one case, print its figures
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(CASES[args.one])))
        return
    import os

    import torch
    import transformers

    results = [measure(case, args.repeats) for case in args.cases]
    machine = {
        "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
        "cpus": os.cpu_count(), "platform": platform.platform(),
    }
    if args.json:
        print(json.dumps({"machine": machine, "results": results}, indent=2))
        return
    print(f"{machine['platform']}, {machine['cpus']} CPUs, torch {machine['torch']}, transformers {machine['transformers']}")
    print(f"{'case':<36} {'median s':>9} {'min s':>7} {'CPU s':>7} {'target s':>9} {'peak RSS MiB':>13}")
    for r in results:
        target = TARGET_S.get(r["case"])
        print(f"{r['case']:<36} {r['median_wall_s']:>9.2f} {r['min_wall_s']:>7.2f} {r['median_cpu_s']:>7.2f} "
              f"{target if target else '':>9} {r['max_peak_rss_mib']:>13.0f}")
    print(f"peak RSS target: {TARGET_RSS_MIB:.0f} MiB")
    by_case = {r["case"]: r for r in results}
    case, target_ratio = FLOOR_RATIO_TARGET
    for floor in (FLOOR, FLOOR_NO_GC):
        if case in by_case and floor in by_case:
            wall = by_case[case]["median_wall_s"] / by_case[floor]["median_wall_s"]
            cpu = by_case[case]["median_cpu_s"] / by_case[floor]["median_cpu_s"]
            target = f" (target <= {target_ratio}x)" if floor == FLOOR else ""
            print(f"{case} / {floor}: {wall:.2f}x wall, {cpu:.2f}x CPU{target}")


if __name__ == "__main__":
    main()
