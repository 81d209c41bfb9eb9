"""Llama-3.1-405B on 1,024 simulated ranks (FSDP 128 x TP 8), forward + backward, in one CPU
process: ``flopsight.distributed.simulate`` against the target of 60 s and 2 GB of RSS.

Each tool runs in its own fresh child, one torch thread, so the peak RSS is its own:

- ``simulate``: rank 0's Profile, wall time and peak RSS, its stored (local) parameters and
  the FLOPs flopsight counts.
- ``flopcounter``: the same fake-world TP x FSDP run under ``torch.utils.flop_counter``'s
  FlopCounterMode, which sees the DTensor ops at their global (logical) shapes: it counts the
  whole TP group's FLOPs, tp times one rank's.

    python bench/bench_simulate_405b.py                    # both, seq_len 128 (the CLI default)
    python bench/bench_simulate_405b.py --seq-len 4096 --memory
    python bench/bench_simulate_405b.py --tool simulate --cprofile 30
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

RESULT_MARKER = "BENCH_RESULT "
MODEL, DP, TP = "llama-3.1-405b", 128, 8


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_simulate(seq_len: int, memory: bool) -> dict[str, Any]:
    from flopsight.distributed import simulate
    from flopsight.report import render_job
    from flopsight.tree.job import comm_rows

    start = time.perf_counter()
    sim = simulate(MODEL, dp=DP, tp=TP, fsdp=True, backward=True, seq_len=seq_len, memory=memory)
    wall = time.perf_counter() - start
    profile = sim.rank_profile
    stage = sim.figures.rank_stage
    return {
        "tool": "simulate", "wall_s": wall, "world_size": sim.figures.mesh.world_size,
        "params_global": profile.params, "params_local": stage.local_params,
        "forward_flops": profile.forward.flops,
        "backward_flops": profile.backward.flops,
        "comm": [[kind.value, label, size, t.calls, t.payload_bytes, t.bus_bytes]
                 for (kind, label, size), t in comm_rows(profile).items()],
        "job": render_job(sim.job()),
    }


def run_flopcounter(seq_len: int, memory: bool) -> dict[str, Any]:
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils.flop_counter import FlopCounterMode

    from flopsight.distributed.fake_world import fake_world
    from flopsight.distributed.pipeline import build_stage, split_layers, stage_inputs
    from flopsight.distributed.plans import device_mesh, parallelize
    from flopsight.hf import build_model, make_config, resolve_source

    start = time.perf_counter()
    model = build_model(make_config(resolve_source(MODEL)), dtype="bfloat16")
    (plan,) = split_layers(len(model.model.layers), 1)  # type: ignore[arg-type, union-attr]
    with fake_world(DP * TP, 0):
        stage = build_stage(model, plan)
        stage.train()
        parallelize(stage, device_mesh(1, DP, TP), fsdp=True)
        with FakeTensorMode(allow_non_fake_inputs=True):
            stage.to_empty(device="cpu")
            inputs = stage_inputs(plan, microbatch=1, seq_len=seq_len, hidden_size=model.config.hidden_size,
                                  dtype=torch.bfloat16, backward=True, token_id=1)
            counter = FlopCounterMode(display=False)
            with counter:
                stage(**inputs).float().sum().backward()
    return {"tool": "flopcounter", "wall_s": time.perf_counter() - start, "total_flops": counter.get_total_flops()}


def child(tool: str, seq_len: int, cprofile: int, memory: bool) -> None:
    import torch

    torch.set_num_threads(1)
    run = run_simulate if tool == "simulate" else run_flopcounter
    if cprofile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(run, seq_len, memory)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(cprofile)
    else:
        result = run(seq_len, memory)
    result["peak_rss_mib"] = peak_rss_mib()
    print(RESULT_MARKER + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", choices=("simulate", "flopcounter"), help="run one tool here (a child)")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--cprofile", type=int, default=0, help="print the top N cumulative entries")
    parser.add_argument("--memory", action="store_true", help="simulate with memory=True too (the peak per rank)")
    args = parser.parse_args()
    if args.tool:
        child(args.tool, args.seq_len, args.cprofile, args.memory)
        return
    results = {}
    for tool in ("simulate", "flopcounter"):
        done = subprocess.run([sys.executable, __file__, "--tool", tool, "--seq-len", str(args.seq_len),
                               *(["--memory"] if args.memory else [])],
                              check=True, capture_output=True, text=True)
        line = next(line for line in done.stdout.splitlines() if line.startswith(RESULT_MARKER))
        results[tool] = json.loads(line[len(RESULT_MARKER):])
    sim, counter = results["simulate"], results["flopcounter"]
    print(f"{MODEL}, FSDP {DP} x TP {TP} = {sim['world_size']} ranks, batch 1 x {args.seq_len} tokens, "
          "forward + backward, rank 0")
    print(f"simulate:     {sim['wall_s']:6.1f} s  peak RSS {sim['peak_rss_mib']:7.0f} MiB")
    print(f"  params      {sim['params_local']:>22,} stored on rank 0 (of {sim['params_global']:,})")
    flops = sim["forward_flops"] + sim["backward_flops"]
    print(f"  FLOPs       {flops:>22,} (forward {sim['forward_flops']:,}, backward {sim['backward_flops']:,})")
    for kind, label, size, calls, payload, bus in sim["comm"]:
        print(f"  {kind:<14} over {label} ({size:>3} ranks): {calls:>4} calls, {payload / 2**30:8.2f} GiB payload, "
              f"{bus / 2**30:8.2f} GiB bus")
    print(f"FlopCounterMode: {counter['wall_s']:6.1f} s  peak RSS {counter['peak_rss_mib']:7.0f} MiB")
    ratio = counter["total_flops"] / flops
    print(f"  FLOPs       {counter['total_flops']:>22,} ({ratio:.2f} x rank 0's: DTensor's global shapes, "
          f"the whole TP group's work)")
    print()
    print(sim["job"])


if __name__ == "__main__":
    main()
