"""flopsight's memory mode against PyTorch's MemTracker on one training step, side by side.

Two cases, each a whole training step (forward, backward of the sum of the output, AdamW step):

- llama-meta: the Llama-2-7B-shaped decoder of ``llama_model.py`` on the meta device, bfloat16,
  1 x 2,048 tokens (``--layers``, ``--seq-len`` to shrink it);
- bert-cpu: transformers' BertModel from a BERT-base config, random weights, float32, 1 x 128
  tokens, on the CPU (skipped without transformers).

Per case, interleaved round by round (each round starting with another tool) so that drift of
the machine and the allocator's page faults hit them alike, and timed in process CPU time with
one torch thread:

- bare: the step with no tool;
- counting: ``flopsight.profile(model, ids, backward=True, optimizer=opt)``;
- memory: the same with ``memory=True``;
- MemTracker: ``torch.distributed._tools.mem_tracker.MemTracker`` around the bare step.

It prints the median time of each, memory mode against counting (target <= 1.5x), MemTracker
against the bare step, and the peak bytes flopsight and MemTracker report. On the CPU both see
the same kernels, so the peaks must agree; on meta flopsight runs SDPA as the fused kernel a
GPU would run while MemTracker sees PyTorch's math decomposition (s^2 probabilities), so there
its peak is higher by design.

    python bench/bench_memory.py                       # both cases, 3 rounds
    python bench/bench_memory.py --case bert-cpu --rounds 5
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import time
from typing import Any, Callable

import torch
from torch import nn

import flopsight
from llama_model import build

TARGET_RATIO = 1.5


def build_bert() -> tuple[nn.Module, torch.Tensor]:
    from transformers import BertConfig, BertModel

    config = BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                        vocab_size=30522, max_position_embeddings=512, attn_implementation="sdpa")
    torch.manual_seed(0)
    model = BertModel(config).train()
    ids = torch.randint(0, config.vocab_size, (1, 128))
    return model, ids


def loss_of(output: Any) -> torch.Tensor:
    tensor = output if isinstance(output, torch.Tensor) else output[0]
    return tensor.float().sum()


def bare_step(model: nn.Module, ids: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
    output = model(ids)  # held until the backward ends, as flopsight's run holds it
    loss_of(output).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def mem_tracker_step(model: nn.Module, ids: torch.Tensor, optimizer: torch.optim.Optimizer) -> int:
    from torch.distributed._tools.mem_tracker import MemTracker

    tracker = MemTracker()
    tracker.track_external(model, optimizer, ids)
    with tracker:
        bare_step(model, ids, optimizer)
    peaks = tracker.get_tracker_snapshot("peak")
    return int(sum(per_device["Total"] for per_device in peaks.values()))


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.process_time()
    result = run()
    return time.process_time() - start, result


def run_case(name: str, model: nn.Module, ids: torch.Tensor, rounds: int) -> dict[str, Any]:
    # MemTracker and the bare step train their own copies; flopsight restores what it steps.
    tools: dict[str, Callable[[], Any]] = {}
    mine = torch.optim.AdamW(model.parameters(), lr=1e-4)
    tools["counting"] = lambda: flopsight.profile(model, ids, backward=True, optimizer=mine, loss_fn=loss_of)
    tools["memory"] = lambda: flopsight.profile(model, ids, backward=True, optimizer=mine, loss_fn=loss_of,
                                                memory=True)
    bare_model = copy.deepcopy(model)
    bare_optimizer = torch.optim.AdamW(bare_model.parameters(), lr=1e-4)
    tools["bare"] = lambda: bare_step(bare_model, ids, bare_optimizer)
    tracked_model = copy.deepcopy(model)
    tracked_optimizer = torch.optim.AdamW(tracked_model.parameters(), lr=1e-4)
    tools["MemTracker"] = lambda: mem_tracker_step(tracked_model, ids, tracked_optimizer)
    for run in tools.values():  # one warm-up each
        run()
    seconds: dict[str, list[float]] = {tool: [] for tool in tools}
    results: dict[str, Any] = {}
    order = list(tools)
    for round_index in range(rounds):
        # Each round starts with another tool: the first after a round pays for pages the
        # allocator gave back, and that cost must not always fall on the same one.
        shift = round_index % len(order)
        for tool in order[shift:] + order[:shift]:
            spent, results[tool] = timed(tools[tool])
            seconds[tool].append(spent)
    profile = results["memory"]
    assert profile.memory is not None
    return {
        "case": name,
        "median": {tool: statistics.median(values) for tool, values in seconds.items()},
        "flopsight_peak": profile.memory.peak_bytes,
        "mem_tracker_peak": results["MemTracker"],
        "optimizer_bytes": profile.memory.optimizer_bytes,
        "activation_bytes": profile.memory.activation_bytes,
        "peak_where": f"{profile.memory.peak_phase} {profile.memory.peak_module or ''}".strip(),
    }


def render(result: dict[str, Any]) -> str:
    median = result["median"]
    lines = [f"== {result['case']}", "tool                 CPU time, median"]
    lines += [f"{tool:<20} {median[tool] * 1e3:>12.1f} ms" for tool in ("bare", "counting", "memory", "MemTracker")]
    ratio = median["memory"] / median["counting"]
    lines.append(f"memory / counting:   {ratio:.2f}x (target <= {TARGET_RATIO}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'})")
    lines.append(f"MemTracker / bare:   {median['MemTracker'] / median['bare']:.2f}x")
    ours, theirs = result["flopsight_peak"], result["mem_tracker_peak"]
    lines.append(f"peak, flopsight:     {ours:,} bytes ({result['peak_where']})")
    lines.append(f"peak, MemTracker:    {theirs:,} bytes ({(ours - theirs) / theirs:+.2%})")
    lines.append(f"activations held:    {result['activation_bytes']:,} bytes; optimizer state {result['optimizer_bytes']:,}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("llama-meta", "bert-cpu", "both"), default="both")
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread, "
          f"{args.rounds} rounds, CPU time")
    if args.case in ("llama-meta", "both"):
        model, ids = build(args.layers, args.seq_len, torch.bfloat16)
        model.train()
        print(render(run_case(f"Llama-2-7B-shaped, {args.layers} layers, 1 x {args.seq_len}, bf16, meta, AdamW",
                              model, ids, args.rounds)))
    if args.case in ("bert-cpu", "both"):
        try:
            model, ids = build_bert()
        except ImportError:
            print("== bert-cpu skipped: transformers is not installed")
            return
        print(render(run_case("BERT-base, 1 x 128, float32, cpu, AdamW", model, ids, args.rounds)))


if __name__ == "__main__":
    main()
