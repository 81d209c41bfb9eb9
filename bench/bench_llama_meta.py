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


def count_dispatched_ops(model: nn.Module, input_ids: torch.Tensor) -> int:
    """aten ops the forward dispatches, free views and copies included."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Counter(TorchDispatchMode):
        calls = 0

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            Counter.calls += 1
            return func(*args, **(kwargs or {}))

    with torch.no_grad(), Counter():
        model(input_ids)
    return Counter.calls


def run_child(args: argparse.Namespace) -> None:
    model, input_ids = build(args.layers, args.seq_len, getattr(torch, args.dtype))
    gc.collect()
    baseline = peak_rss_mib()
    runner = make_runner(args.tool, model, input_ids)
    if args.cprofile:
        profile_hot_path(runner, args.cprofile)
        return
    counted = runner()  # warm-up: first-sight caches, lazy imports
    times = []
    for _ in range(args.repeats):
        gc.collect()
        start = time.perf_counter()
        runner()
        times.append(time.perf_counter() - start)
    peak = peak_rss_mib()
    result = {
        "tool": args.tool, "times_s": times, "median_s": statistics.median(times),
        "baseline_rss_mib": baseline, "peak_rss_mib": peak, "counted": counted,
    }
    if args.tool == "none":
        result["dispatched_ops"] = count_dispatched_ops(model, input_ids)
    print(RESULT_MARKER + json.dumps(result), flush=True)


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
    results = {}
    for tool in ("none", "flopcounter", "flopsight"):
        command = [sys.executable, __file__, "--tool", tool, "--layers", str(args.layers),
                   "--seq-len", str(args.seq_len), "--repeats", str(args.repeats), "--dtype", args.dtype]
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0:
            sys.stderr.write(completed.stdout + completed.stderr)
            raise SystemExit(f"child --tool {tool} failed with exit code {completed.returncode}")
        line = next(l for l in completed.stdout.splitlines() if l.startswith(RESULT_MARKER))
        results[tool] = json.loads(line[len(RESULT_MARKER):])
    return results


def giga(n: int) -> str:
    return f"{n / 1e9:,.1f} G"


def render(args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> str:
    fs, fc, bare = results["flopsight"], results["flopcounter"], results["none"]
    ops = bare["dispatched_ops"]
    ms = lambda s: f"{s * 1e3:,.1f} ms"  # noqa: E731
    mib = lambda m: f"{m:,.0f} MiB"  # noqa: E731
    per_op = lambda r: f"{(r['median_s'] - bare['median_s']) / ops * 1e6:,.1f} us"  # noqa: E731
    rows = [
        ("wall time, median", ms(fs["median_s"]), ms(fc["median_s"])),
        ("wall time, min", ms(min(fs["times_s"])), ms(min(fc["times_s"]))),
        (f"overhead per aten op ({ops:,} ops)", per_op(fs), per_op(fc)),
        ("baseline RSS (model built)", mib(fs["baseline_rss_mib"]), mib(fc["baseline_rss_mib"])),
        ("peak RSS", mib(fs["peak_rss_mib"]), mib(fc["peak_rss_mib"])),
        ("tool's own RSS (peak - baseline)", mib(fs["peak_rss_mib"] - fs["baseline_rss_mib"]),
         mib(fc["peak_rss_mib"] - fc["baseline_rss_mib"])),
        ("FLOPs, total counted", giga(fs["counted"]["forward_flops"]), giga(fc["counted"]["total_flops"])),
        ("2 x MACs (matmul-class FLOPs)", giga(fs["counted"]["two_macs"]), giga(fc["counted"]["total_flops"])),
        ("causally masked FLOPs (in total)", giga(fs["counted"]["masked_flops"]), "not reported"),
        ("bytes read + written", f"{fs['counted']['bytes'] / 2**30:,.1f} GiB", "not reported"),
        ("uncounted op kinds", str(len(fs["counted"]["uncounted_ops"])), "not reported"),
    ]
    header = ("", "flopsight.profile", "FlopCounterMode")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(3)]
    line = lambda row: "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) + " |"  # noqa: E731
    table = [line(header), "|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"]
    table += [line(row) for row in rows]
    ratio = fs["median_s"] / fc["median_s"]
    return "\n".join([
        f"Llama-2-7B-sized forward on meta: {args.layers} layers, batch 1 x {args.seq_len} tokens, "
        f"{args.dtype}; median of {args.repeats} after one warm-up",
        f"torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()} "
        f"{_cpu_count()} CPU cores, {platform.system()}",
        "",
        *table,
        "",
        f"bare forward, no tool: {ms(bare['median_s'])} median",
        f"time ratio flopsight / FlopCounterMode: {ratio:.2f}x (target <= 1.5x: "
        f"{'met' if ratio <= 1.5 else 'NOT met'})",
        f"uncounted ops: {fs['counted']['uncounted_ops'] or 'none'}",
    ])


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"))
    parser.add_argument("--tool", choices=TOOLS, help="run one tool in this process (what the parent does per child)")
    parser.add_argument("--cprofile", type=int, default=0, metavar="TOP",
                        help="with --tool: print the TOP functions of one cProfile'd run instead of timing")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.layers < 1 or args.seq_len < 1:
        parser.error("--layers, --seq-len and --repeats must be positive")
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
