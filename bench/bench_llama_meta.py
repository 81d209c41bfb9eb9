"""flopsight vs torch.utils.flop_counter.FlopCounterMode on a Llama-2-7B-sized forward on meta.

The parent process runs each tool in its own fresh child (``--tool ...``), so that peak RSS
is the tool's own: each child builds the model on meta once, reads its baseline RSS, runs one
warm-up and N timed profiles, and reports wall and CPU times, its peak RSS and the totals it
counted. A third child (``--tool none``) times the bare forward, as torch runs it on meta and
with SDPA fused as flopsight runs it, and counts the aten ops of each, for the per-op overhead.
Rounds interleave the tools; the table shows medians pooled over rounds.

    python bench/bench_llama_meta.py                       # the full 32-layer, 2048-token case
    python bench/bench_llama_meta.py --layers 4 --repeats 3
    python bench/bench_llama_meta.py --breakdown           # flopsight's stages vs torch's costs
    python bench/bench_llama_meta.py --tool flopsight --cprofile 25   # hot path of one run

The model (llama_model.py, beside this file) is plain PyTorch shaped like HF's
LlamaForCausalLM, so the bench needs no transformers. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Sequence

import torch
from torch import nn

from llama_model import build  # bench/ is on sys.path when this file runs as a script

RESULT_MARKER = "BENCH_RESULT "
TOOLS = ("flopsight", "flopcounter", "none")
TIME_KEYS = ("times_s", "cpu_times_s", "fused_times_s", "fused_cpu_times_s")


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def make_runner(tool: str, model: nn.Module, input_ids: torch.Tensor) -> Callable[[], dict[str, Any]]:
    """A function doing one complete profile with ``tool`` and returning what it counted.

    The tool's module is imported here, after the baseline RSS was read, so that its import
    is part of its memory overhead.
    """
    if tool == "flopsight":
        import flopsight

        def run_flopsight() -> dict[str, Any]:
            with torch.no_grad():
                result = flopsight.profile(model, input_ids)
            fwd = result.forward
            return {
                "forward_flops": fwd.flops, "forward_macs": fwd.macs, "two_macs": 2 * fwd.macs,
                "bytes": fwd.bytes_read + fwd.bytes_written, "masked_flops": fwd.masked_flops,
                "uncounted_ops": dict(result.uncounted_ops),
            }

        return run_flopsight
    if tool == "flopcounter":
        from torch.utils.flop_counter import FlopCounterMode

        def run_flopcounter() -> dict[str, Any]:
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                model(input_ids)
            return {"total_flops": counter.get_total_flops()}

        return run_flopcounter

    def run_bare() -> dict[str, Any]:
        with torch.no_grad():
            model(input_ids)
        return {}

    return run_bare


def make_fused_attention_runner(model: nn.Module, input_ids: torch.Tensor) -> Callable[[], dict[str, Any]]:
    """The bare forward with SDPA sent to the fused CPU op, as flopsight does on meta.

    On meta PyTorch decomposes SDPA into a dozen ops (a slow Python path); flopsight runs the
    fused op instead, so its op stream is shorter. This baseline has flopsight's op stream with
    no counting, which separates flopsight's own overhead from that saving.
    """
    from flopsight.capture.attention_on_meta import MetaAttentionMode

    def run_bare_fused() -> dict[str, Any]:
        with torch.no_grad(), MetaAttentionMode():
            model(input_ids)
        return {}

    return run_bare_fused


def count_dispatched_ops(runner: Callable[[], dict[str, Any]]) -> int:
    """aten ops one run of ``runner`` dispatches, free views and copies included."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Counter(TorchDispatchMode):
        calls = 0

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            Counter.calls += 1
            return func(*args, **(kwargs or {}))

    with Counter():
        runner()
    return Counter.calls


def run_child(args: argparse.Namespace) -> None:
    model, input_ids = build(args.layers, args.seq_len, getattr(torch, args.dtype))
    gc.collect()
    baseline = peak_rss_mib()
    runner = make_runner(args.tool, model, input_ids)
    if args.cprofile:
        profile_hot_path(runner, args.cprofile)
        return
    counted, times, cpu_times = time_runs(runner, args.repeats)
    peak = peak_rss_mib()
    result = {"tool": args.tool, "times_s": times, "cpu_times_s": cpu_times,
              "baseline_rss_mib": baseline, "peak_rss_mib": peak, "counted": counted}
    if args.tool == "none":
        fused = make_fused_attention_runner(model, input_ids)
        result["fused_times_s"], result["fused_cpu_times_s"] = time_runs(fused, args.repeats)[1:]
        result["dispatched_ops"] = count_dispatched_ops(runner)
        result["fused_dispatched_ops"] = count_dispatched_ops(fused)
    print(RESULT_MARKER + json.dumps(result), flush=True)


def time_runs(runner: Callable[[], dict[str, Any]], repeats: int) -> tuple[dict[str, Any], list[float], list[float]]:
    """One warm-up (first-sight caches, lazy imports), then ``repeats`` timed runs: wall times
    and this process's CPU times (which other processes on a busy machine disturb less)."""
    counted = runner()
    times, cpu_times = [], []
    for _ in range(repeats):
        gc.collect()
        start, cpu_start = time.perf_counter(), time.process_time()
        runner()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return counted, times, cpu_times


def profile_hot_path(runner: Callable[[], dict[str, Any]], top: int) -> None:
    import cProfile
    import pstats

    runner()
    profiler = cProfile.Profile()
    profiler.enable()
    runner()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print("flopsight's own functions, by self time:")
    stats.sort_stats("tottime").print_stats(r"flopsight[/\\](api|capture|costs|tree)", top)


def run_breakdown(args: argparse.Namespace) -> None:
    """Where flopsight's time goes: its stages and torch's own costs, timed in one process,
    interleaved round by round, as CPU-time medians."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode

    import flopsight
    from flopsight.capture import capture
    from flopsight.capture.attention_on_meta import MetaAttentionMode
    from flopsight.tree.build import build_profile

    class NullMode(TorchDispatchMode):  # the price of any Python dispatch mode, counting nothing
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            return func(*args, **(kwargs or {}))

    model, input_ids = build(args.layers, args.seq_len, getattr(torch, args.dtype))
    captured = capture(model, (input_ids,), {})

    def forward(*make_modes: Callable[[], Any]) -> Callable[[], None]:
        """The bare forward under fresh modes made by ``make_modes``, outermost first."""
        def run() -> None:
            with torch.no_grad(), contextlib.ExitStack() as stack:
                for make_mode in make_modes:
                    stack.enter_context(make_mode())
                model(input_ids)
        return run

    def run_capture() -> None:
        with torch.no_grad():
            capture(model, (input_ids,), {})

    def run_build() -> None:
        build_profile(model, captured, metadata={})

    def run_profile() -> None:
        with torch.no_grad():
            flopsight.profile(model, input_ids)

    stages: dict[str, Callable[[], None]] = {
        "bare forward, SDPA decomposed by torch on meta": forward(),
        "bare forward, SDPA as the fused CPU op (flopsight's op stream)": forward(MetaAttentionMode),
        "  + a do-nothing Python TorchDispatchMode": forward(MetaAttentionMode, NullMode),
        "flopsight capture (hooks, dispatch mode, formulas, charges)": run_capture,
        "flopsight build_profile (tree, parameters, sums)": run_build,
        "flopsight.profile (capture + build_profile + metadata)": run_profile,
        "FlopCounterMode": forward(lambda: FlopCounterMode(display=False)),
    }
    times: dict[str, list[float]] = {name: [] for name in stages}
    for run in stages.values():
        run()
    for _ in range(args.rounds * args.repeats):
        for name, run in stages.items():
            gc.collect()
            start = time.process_time()
            run()
            times[name].append(time.process_time() - start)
    width = max(map(len, stages))
    for name, values in times.items():
        print(f"{name:{width}}  {statistics.median(values) * 1e3:8.1f} ms   (min {min(values) * 1e3:.1f})")
    print_formula_replay(model, input_ids, args.rounds * args.repeats)


def print_formula_replay(model: nn.Module, input_ids: torch.Tensor, repeats: int) -> None:
    """Cost lookup plus formulas for every op of one forward, replayed on the recorded
    arguments and outputs without running any kernel: the costs/ part of the per-op price."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from flopsight.capture.attention_on_meta import MetaAttentionMode
    from flopsight.costs import REGISTRY

    recorded: list[tuple[Any, tuple[Any, ...], dict[str, Any], Any]] = []

    class Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            recorded.append((func, args, {k: v for k, v in (kwargs or {}).items() if k != "out"}, out))
            return out

    with torch.no_grad(), MetaAttentionMode(), Recorder():
        model(input_ids)

    def replay() -> int:
        priced = 0
        for func, args, kwargs, out in recorded:
            formula = REGISTRY.resolve(func)
            if callable(formula):  # True marks a free op, None an unknown one
                formula(*args, out=out, **kwargs)
                priced += 1
        return priced

    priced = replay()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        replay()
        times.append(time.process_time() - start)
    took = statistics.median(times)
    print(f"cost lookup + formulas replayed, no kernels: {took * 1e3:.1f} ms for {len(recorded):,} ops "
          f"({priced:,} priced): {took / len(recorded) * 1e6:.1f} us per op, "
          f"{took / max(priced, 1) * 1e6:.1f} us per priced op")


def run_parent(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Each tool in a fresh child per round; the rounds interleave the tools, so that a busy
    spell of the machine slows all of them rather than one. Times are pooled over rounds."""
    results: dict[str, dict[str, Any]] = {}
    for _ in range(args.rounds):
        for tool in ("none", "flopcounter", "flopsight"):
            child = run_one_child(args, tool)
            pooled = results.setdefault(tool, {**child, **{key: [] for key in TIME_KEYS}})
            for key in TIME_KEYS:
                pooled[key] += child.get(key, [])
            pooled["baseline_rss_mib"] = max(pooled["baseline_rss_mib"], child["baseline_rss_mib"])
            pooled["peak_rss_mib"] = max(pooled["peak_rss_mib"], child["peak_rss_mib"])
    return results


def run_one_child(args: argparse.Namespace, tool: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--tool", tool, "--layers", str(args.layers),
               "--seq-len", str(args.seq_len), "--repeats", str(args.repeats), "--dtype", args.dtype]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout + completed.stderr)
        raise SystemExit(f"child --tool {tool} failed with exit code {completed.returncode}")
    line = next(l for l in completed.stdout.splitlines() if l.startswith(RESULT_MARKER))
    return dict(json.loads(line[len(RESULT_MARKER):]))


def render(args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> str:
    fs, fc, bare = results["flopsight"], results["flopcounter"], results["none"]
    fs_counted, fc_flops = fs["counted"], fc["counted"]["total_flops"]
    # Each tool against the bare forward that dispatches the same ops it sees.
    median = statistics.median
    fs_time, fc_time = median(fs["times_s"]), median(fc["times_s"])
    fs_cpu, fc_cpu = median(fs["cpu_times_s"]), median(fc["cpu_times_s"])
    fs_bare, fs_ops = median(bare["fused_cpu_times_s"]), bare["fused_dispatched_ops"]
    fc_bare, fc_ops = median(bare["cpu_times_s"]), bare["dispatched_ops"]
    rows = [
        ("wall time, median", _ms(fs_time), _ms(fc_time)),
        ("wall time, min", _ms(min(fs["times_s"])), _ms(min(fc["times_s"]))),
        ("CPU time, median", _ms(fs_cpu), _ms(fc_cpu)),
        ("bare forward, same op stream, CPU median", _ms(fs_bare), _ms(fc_bare)),
        ("aten ops dispatched", f"{fs_ops:,}", f"{fc_ops:,}"),
        ("tool overhead, CPU (median - bare)", _ms(fs_cpu - fs_bare), _ms(fc_cpu - fc_bare)),
        ("tool overhead per aten op, CPU", _us((fs_cpu - fs_bare) / fs_ops), _us((fc_cpu - fc_bare) / fc_ops)),
        ("baseline RSS (model built)", _mib(fs["baseline_rss_mib"]), _mib(fc["baseline_rss_mib"])),
        ("peak RSS", _mib(fs["peak_rss_mib"]), _mib(fc["peak_rss_mib"])),
        ("tool's own RSS (peak - baseline)", _mib(fs["peak_rss_mib"] - fs["baseline_rss_mib"]),
         _mib(fc["peak_rss_mib"] - fc["baseline_rss_mib"])),
        ("FLOPs, total", f"{fs_counted['forward_flops']:,}", f"{fc_flops:,}"),
        ("2 x MACs (matmul-class)", f"{fs_counted['two_macs']:,}", f"{fc_flops:,}"),
        ("other FLOPs (elementwise, norms, softmax)", f"{fs_counted['forward_flops'] - fs_counted['two_macs']:,}", "not counted"),
        ("FLOPs a causal mask discards (in total)", f"{fs_counted['masked_flops']:,}", "not reported"),
        ("bytes read + written", f"{fs_counted['bytes']:,}", "not reported"),
        ("ops with no formula", str(sum(fs_counted["uncounted_ops"].values())), "not reported"),
    ]
    ratio, cpu_ratio = fs_time / fc_time, fs_cpu / fc_cpu
    return "\n".join([
        f"Llama-2-7B-sized forward on meta: {args.layers} layers, batch 1 x {args.seq_len} tokens, "
        f"{args.dtype}; median of {args.rounds} rounds x {args.repeats} runs, each round a fresh "
        "process per tool with one warm-up",
        f"{_cpu_count()}-core {platform.machine()} CPU, {platform.system()}, "
        f"torch {torch.__version__}, Python {platform.python_version()}",
        "",
        *markdown_table(("", "flopsight.profile", "FlopCounterMode"), rows),
        "",
        f"time ratio flopsight / FlopCounterMode: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU "
        f"(target <= 1.5x: {'met' if max(ratio, cpu_ratio) <= 1.5 else 'NOT met'})",
        f"flopsight 2 x MACs == FlopCounterMode total: {'yes' if fs_counted['two_macs'] == fc_flops else 'NO'}",
    ])


def markdown_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """A GitHub table: first column left-aligned, the others right-aligned, padded to fit."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        return "| " + " | ".join(cells) + " |"

    rule = "|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
    return [line(header), rule, *(line(row) for row in rows)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} us"


def _mib(mib: float) -> str:
    return f"{mib:,.0f} MiB"


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per child, after one warm-up")
    parser.add_argument("--rounds", type=int, default=3, help="fresh children per tool, interleaved")
    parser.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"))
    parser.add_argument("--tool", choices=TOOLS, help="run one tool in this process (what the parent does per child)")
    parser.add_argument("--cprofile", type=int, default=0, metavar="TOP",
                        help="with --tool: print the TOP functions of one cProfile'd run instead of timing")
    parser.add_argument("--breakdown", action="store_true",
                        help="time flopsight's stages against torch's own costs, in this process")
    args = parser.parse_args(argv)
    if min(args.repeats, args.rounds, args.layers, args.seq_len) < 1:
        parser.error("--layers, --seq-len, --repeats and --rounds must be positive")
    if args.cprofile and not args.tool:
        parser.error("--cprofile needs --tool")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.breakdown:
        run_breakdown(args)
        return
    if args.tool:
        run_child(args)
        return
    print(render(args, run_parent(args)))


if __name__ == "__main__":
    main()
