"""Overhead of flopsight's timing mode and counting mode on a BERT-base-sized CPU forward.

The model is transformers' BertModel built from a BERT-base config (hidden 768, 12 layers, 12
heads, intermediate 3072) with random weights; the input is one sequence of 128 token ids. All
forwards run under ``torch.no_grad()``. Three ways of running the same forward are compared,
interleaved round by round so that drift of the machine hits them alike:

- plain: an un-instrumented loop, ``perf_counter`` around each ``model(ids)``;
- timing mode: ``flopsight.timing.measure_time(model, ids)`` with per-module hooks. It runs
  ``repeat`` iterations with no hook (they give the whole-model figures) and ``repeat`` more
  with the module hooks (they give the per-module figures). Its whole-run wall time per
  iteration run (hooks, marks, collecting, statistics included) against the plain loop is the
  overhead that matters (target under 5 %); its reported forward median is shown after the
  table;
- counting mode: ``flopsight.profile(model, ids)``, one counted forward per call.

Wall time (median and min over rounds) and process CPU time (``time.process_time``, less
disturbed when other jobs share the cores) are both shown; the verdict uses CPU time.

    python bench/bench_timing_overhead.py                # 5 rounds of 3 iterations
    python bench/bench_timing_overhead.py --rounds 3 --iterations 5 --threads 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

import flopsight
from flopsight.timing import measure_time

TARGET_OVERHEAD = 0.05


def build_bert() -> torch.nn.Module:
    from transformers import BertConfig, BertModel

    config = BertConfig(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        vocab_size=30522, max_position_embeddings=512,
    )
    torch.manual_seed(0)
    return BertModel(config).eval()


def plain_loop(model: torch.nn.Module, ids: torch.Tensor, iterations: int) -> tuple[float, float]:
    """Wall and CPU seconds of ``iterations`` plain forwards, per forward."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(iterations):
        model(ids)
    return (time.perf_counter() - wall) / iterations, (time.process_time() - cpu) / iterations


def timing_mode(model: torch.nn.Module, ids: torch.Tensor, iterations: int) -> tuple[float, float, int, float]:
    """Wall and CPU seconds per iteration run of a whole ``measure_time`` call (it runs twice
    ``iterations``: hook-free, then hooked), modules hooked, and its reported forward median."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = measure_time(model, ids, warmup=0, repeat=iterations)
    run = 2 * iterations
    return ((time.perf_counter() - wall) / run, (time.process_time() - cpu) / run, len(result.modules),
            result.forward.median)


def counting_mode(model: torch.nn.Module, ids: torch.Tensor) -> tuple[float, float]:
    """Wall and CPU seconds of one ``flopsight.profile`` call (one counted forward)."""
    wall, cpu = time.perf_counter(), time.process_time()
    flopsight.profile(model, ids)
    return time.perf_counter() - wall, time.process_time() - cpu


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=3, help="forwards per round and way")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None)
    options = parser.parse_args()
    if options.threads:
        torch.set_num_threads(options.threads)

    model = build_bert()
    ids = torch.randint(0, 30522, (1, options.seq_len))
    runs: dict[str, list[tuple[float, float]]] = {"plain": [], "timing": [], "counting": []}
    hooked = 0
    reported: list[float] = []
    with torch.no_grad():
        plain_loop(model, ids, 2)  # warm-up: allocator, thread pool, lazy imports
        counting_mode(model, ids)
        for _ in range(options.rounds):
            runs["plain"].append(plain_loop(model, ids, options.iterations))
            wall, cpu, hooked, median = timing_mode(model, ids, options.iterations)
            runs["timing"].append((wall, cpu))
            reported.append(median)
            runs["counting"].append(counting_mode(model, ids))

    def pick(name: str, index: int, reduce: str) -> float:
        values = [run[index] for run in runs[name]]
        return statistics.median(values) if reduce == "median" else min(values)

    labels = {
        "plain": "plain loop (un-instrumented)",
        "timing": f"timing mode, measure_time ({hooked} modules hooked)",
        "counting": "counting mode, flopsight.profile",
    }
    print(f"BERT-base forward (BertModel, random weights), batch 1, seq {options.seq_len}, float32, no_grad")
    print(f"machine: {cpu_name()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), python {platform.python_version()}")
    print(f"{options.rounds} rounds, each: {options.iterations} plain forwards, measure_time(repeat="
          f"{options.iterations}: {2 * options.iterations} forwards), 1 profile; per forward\n")
    width = max(len(label) for label in labels.values())
    header = ["wall median", "overhead", "wall min", "overhead", "CPU median", "overhead"]
    print(f"{'way':<{width}}  " + "  ".join(f"{h:>11}" for h in header))
    overheads: dict[str, float] = {}
    for name, label in labels.items():
        cells = []
        for index, reduce in ((0, "median"), (0, "min"), (1, "median")):
            value, base = pick(name, index, reduce), pick("plain", index, reduce)
            overhead = value / base - 1
            overheads[f"{name} {index} {reduce}"] = overhead
            cells += [f"{value * 1e3:>8.1f} ms", f"{overhead:>+10.1%}"]
        print(f"{label:<{width}}  " + "  ".join(f"{c:>11}" for c in cells))
    plain_median = pick("plain", 0, "median")
    reported_median = statistics.median(reported)
    print(f"\nmeasure_time's reported forward median {reported_median * 1e3:.1f} ms "
          f"({reported_median / plain_median - 1:+.1%} against the plain loop's wall median)")
    timing_overhead = overheads["timing 1 median"]
    verdict = "meets" if timing_overhead < TARGET_OVERHEAD else "misses"
    print(f"\ntiming-mode overhead (CPU time) {timing_overhead:+.1%} {verdict} the {TARGET_OVERHEAD:.0%} target")


if __name__ == "__main__":
    main()
