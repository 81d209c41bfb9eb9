"""flopsight on meta with and without its output cache, beside the bare forward and
FlopCounterMode, on Llama-2-7B-, Llama-3-70B- and Llama-3.1-405B-shaped decoders.

One process, one torch thread, process CPU time (the machine is shared); each round runs every
way once, in turn, so a busy spell slows all of them; the table gives medians over the rounds.
The cache is switched per run with ``FLOPSIGHT_META_CACHE`` (``capture/meta_cache.py``), and the
two profiles are checked equal. The target (issue 13): flopsight with the cache at most 0.5x
the bare forward, as torch runs it on meta.

    python bench/bench_meta_cache.py                         # 7b, 70b, 405b at 2048 tokens
    python bench/bench_meta_cache.py --sizes 7b --rounds 3 --seq-len 512

Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import flopsight
from flopsight.capture.session import META_CACHE_VARIABLE
from llama_model import SIZES, build  # bench/ is on sys.path when this file runs as a script


def runners(model: nn.Module, ids: torch.Tensor) -> dict[str, Callable[[], Any]]:
    def bare() -> None:
        with torch.no_grad():
            model(ids)

    def flopcounter() -> None:
        with torch.no_grad(), FlopCounterMode(display=False):
            model(ids)

    def flopsight_with(cache: bool) -> Callable[[], Any]:
        def run() -> Any:
            os.environ[META_CACHE_VARIABLE] = "1" if cache else "0"
            with torch.no_grad():
                return flopsight.profile(model, ids)
        return run

    return {"bare forward": bare, "FlopCounterMode": flopcounter,
            "flopsight, no cache": flopsight_with(False), "flopsight, cache": flopsight_with(True)}


def measure(size: str, args: argparse.Namespace) -> dict[str, float]:
    model, ids = build(SIZES[size].layers, args.seq_len, torch.bfloat16, size)
    ways = runners(model, ids)
    cached, uncached = ways["flopsight, cache"]().to_dict(), ways["flopsight, no cache"]().to_dict()
    if cached != uncached:
        raise SystemExit(f"{size}: the profiles with and without the cache differ")
    for run in ways.values():  # warm-up
        run()
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, run in ways.items():
            start = time.process_time()
            run()
            times[name].append(time.process_time() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"batch 1 x {args.seq_len} tokens, bf16, meta; CPU-time medians of {args.rounds} rounds; "
          f"{len(os.sched_getaffinity(0))}-core {platform.machine()}, torch {torch.__version__}")
    print("| model | bare forward | FlopCounterMode | flopsight, no cache | flopsight, cache | cache / bare | cache / no cache |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for size in args.sizes:
        m = measure(size, args)
        bare, cached, uncached = m["bare forward"], m["flopsight, cache"], m["flopsight, no cache"]
        print(f"| {size} | {bare * 1e3:,.1f} ms | {m['FlopCounterMode'] * 1e3:,.1f} ms | {uncached * 1e3:,.1f} ms "
              f"| {cached * 1e3:,.1f} ms | {cached / bare:.2f}x | {cached / uncached:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
