"""flopsight vs torch.utils.flop_counter.FlopCounterMode on a Llama-2-7B-sized forward on meta.

The parent process runs each tool in its own fresh child (``--tool ...``), so that peak RSS
is the tool's own: each child builds the model on meta once, reads its baseline RSS, runs one
warm-up and N timed profiles, and reports the median wall time, its peak RSS and the totals
it counted. A third child (``--tool none``) runs the bare forward for the time without any
tool and counts the aten ops the forward dispatches, for the per-op overhead.

    python bench/bench_llama_meta.py                       # the full 32-layer, 2048-token case
    python bench/bench_llama_meta.py --layers 4 --repeats 3
    python bench/bench_llama_meta.py --tool flopsight --cprofile 25   # hot path of one run

The model is written here in pure PyTorch, shaped like HF's LlamaForCausalLM (RMSNorm as
pow/mean/rsqrt/mul, rotary embeddings with rotate_half, SwiGLU MLP, causal SDPA, an untied
lm_head), so the bench needs no transformers.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

RESULT_MARKER = "BENCH_RESULT "
TOOLS = ("flopsight", "flopcounter", "none")
TIME_KEYS = ("times_s", "cpu_times_s", "fused_times_s", "fused_cpu_times_s")


@dataclass(frozen=True)
class LlamaConfig:
    hidden: int = 4096
    layers: int = 32
    intermediate: int = 11008
    heads: int = 32
    vocab: int = 32000
    rope_theta: float = 10000.0
    eps: float = 1e-5


class RMSNorm(nn.Module):
    """HF LlamaRMSNorm: in float32, x * rsqrt(mean(x^2) + eps), then scale in the input dtype."""

    def __init__(self, hidden: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.to(torch.float32)
        variance = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.eps)
        return self.weight * x.to(dtype)


class RotaryEmbedding(nn.Module):
    """HF LlamaRotaryEmbedding: cos/sin of position x inverse frequency, computed per forward."""

    def __init__(self, head_dim: int, theta: float) -> None:
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # inv_freq: [1, D/2, 1] @ positions: [B, 1, S] -> [B, D/2, S] -> [B, S, D/2]
        inv_freq = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        freqs = (inv_freq @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # [B, 1, S, D] against [B, H, S, D]
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


class Attention(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.heads = config.heads
        self.head_dim = config.hidden // config.heads
        self.q_proj = nn.Linear(config.hidden, config.hidden, bias=False)
        self.k_proj = nn.Linear(config.hidden, config.hidden, bias=False)
        self.v_proj = nn.Linear(config.hidden, config.hidden, bias=False)
        self.o_proj = nn.Linear(config.hidden, config.hidden, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        batch, seq, _ = x.shape
        shape = (batch, seq, self.heads, self.head_dim)
        q = self.q_proj(x).view(shape).transpose(1, 2)
        k = self.k_proj(x).view(shape).transpose(1, 2)
        v = self.v_proj(x).view(shape).transpose(1, 2)
        q, k = apply_rotary(q, k, cos, sin)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(out.transpose(1, 2).reshape(batch, seq, -1))


class MLP(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden, config.intermediate, bias=False)
        self.up_proj = nn.Linear(config.hidden, config.intermediate, bias=False)
        self.down_proj = nn.Linear(config.intermediate, config.hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden, config.eps)
        self.self_attn = Attention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden, config.eps)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaForCausalLM(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab, config.hidden)
        self.rotary_emb = RotaryEmbedding(config.hidden // config.heads, config.rope_theta)
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.layers))
        self.norm = RMSNorm(config.hidden, config.eps)
        self.lm_head = nn.Linear(config.hidden, config.vocab, bias=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.embed_tokens(input_ids)
        position_ids = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        cos, sin = self.rotary_emb(x, position_ids)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.norm(x))


def build(layers: int, seq_len: int, dtype: torch.dtype) -> tuple[nn.Module, torch.Tensor]:
    with torch.device("meta"):
        model = LlamaForCausalLM(LlamaConfig(layers=layers)).to(dtype).eval()
        input_ids = torch.randint(0, LlamaConfig.vocab, (1, seq_len), dtype=torch.int64)
    return model, input_ids


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
    ])


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
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
    args = parser.parse_args(argv)
    if min(args.repeats, args.rounds, args.layers, args.seq_len) < 1:
        parser.error("--layers, --seq-len, --repeats and --rounds must be positive")
    if args.cprofile and not args.tool:
        parser.error("--cprofile needs --tool")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.tool:
        run_child(args)
        return
    print(render(args, run_parent(args)))


if __name__ == "__main__":
    main()
