"""The command line: ``flopsight profile | estimate | models | example | show | diff``."""

from __future__ import annotations

import argparse
from typing import Any, Callable, NoReturn

from ..errors import InputError
from ..hf.arguments import ATTENTION_IMPLEMENTATIONS
from ..report.collapsed import STACK_METRICS
from ..report.formats import EXPORT_FORMATS, FORMATS
from .diff import add_diff_command
from .plan import add_plan_options

OPTIMIZERS = ("sgd", "adam", "adamw")


class UsageError(InputError):
    """The command line itself is wrong (unknown option, bad value)."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing usage and exiting, so the caller
    reports one line and picks the exit code."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def image_size(text: str) -> tuple[int, int]:
    """``"336"`` -> (336, 336); ``"336x672"`` -> (336, 672) as height x width."""
    parts = text.lower().split("x")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected H or HxW in pixels, got {text!r}") from None
    if len(sizes) not in (1, 2) or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"expected H or HxW in positive pixels, got {text!r}")
    return (sizes[0], sizes[-1])


def _checked_number(convert: Callable[[str], Any], accept: Callable[[Any], bool], expected: str) -> Callable[[str], Any]:
    """An argparse ``type``: ``convert`` the text, refuse what ``accept`` rejects, one clear message."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


positive = _checked_number(int, lambda v: v >= 1, "a positive integer")
non_negative = _checked_number(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _checked_number(float, lambda v: v > 0, "a positive number")


def build_parser() -> Parser:
    parser = Parser(
        prog="flopsight",
        description="Parameters, MACs and FLOPs of PyTorch models, counted op by op.",
        epilog="Examples:\n"
        "  flopsight example\n"
        "  flopsight models\n"
        "  flopsight profile llama-3-8b --seq-len 2048\n"
        "  flopsight profile qwen2-vl-7b --image-size 448x448 --format json -o qwen.json\n"
        "  flopsight profile mistral-7b --mode generate --new-tokens 16\n"
        "  flopsight profile llama-3-8b --backward --memory --memory-snapshot llama.pickle\n"
        "  flopsight profile llama-3-8b --backward --gpu h100-sxm\n"
        "  flopsight example --time --backward --gpu h200-sxm --calibrate   # run on that GPU\n"
        "  flopsight profile llama-3.1-405b --dp 128 --tp 8 --fsdp --backward --memory\n"
        "  flopsight estimate llama-3-8b --seq-len 2048 --measure\n"
        "  flopsight show qwen.json --depth 2\n"
        "  flopsight show qwen.json --gpu mi300x\n"
        "  flopsight diff small.json large.json --top 10",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"flopsight {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    profile = commands.add_parser(
        "profile", help="profile a Hugging Face model from its config, without weights",
        description="Build MODEL from its config (no weights; on meta by default) and profile one "
        "forward, a forward and backward, or a generation on synthesized inputs.",
    )
    profile.add_argument("model", metavar="MODEL",
                         help="a bundled name (see `flopsight models`), a config.json, a model folder, or a Hub id")
    _add_size_options(profile)
    profile.add_argument("--image-size", type=image_size, metavar="H[xW]", help="image size in pixels (image models)")
    profile.add_argument("--num-images", type=positive, metavar="N", help="images per sample (image-text models; default 1)")
    profile.add_argument("--mode", choices=("forward", "generate"), default="forward",
                         help="forward: one forward pass; generate: prefill plus --new-tokens decode steps")
    profile.add_argument("--new-tokens", type=positive, metavar="N", help="decode steps in --mode generate (default 8)")
    profile.add_argument("--device", choices=("meta", "cpu", "cuda"), default="meta",
                         help="where to build the model (default meta: no memory, no weights)")
    profile.add_argument("--dtype", choices=("float32", "bfloat16", "float16"),
                         help="parameter dtype (default: the checkpoint's)")
    profile.add_argument("--trust-remote-code", action="store_true",
                         help="build a model whose config names its own code (auto_map): from its Hub repository or the folder beside its config.json (off by default)")
    _add_head_options(profile)
    _add_timing_options(profile)
    _add_memory_options(profile)
    add_plan_options(profile, positive)
    _add_roofline_options(profile)
    _add_report_options(profile)

    _add_estimate_command(commands)

    commands.add_parser("models", help="list the bundled model configs",
                        description="The bundled configs: name, family, parameter count, modality.").add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default text)")

    example = commands.add_parser(
        "example", help="profile a small bundled PyTorch transformer (no extras needed)",
        description="Profile flopsight's example model, a 6-layer GPT-style transformer in plain PyTorch.",
    )
    _add_size_options(example)
    example.add_argument("--device", choices=("cpu", "meta"), default="cpu",
                         help="where to run it (default cpu; meta: the same counts, no memory)")
    _add_timing_options(example)
    _add_memory_options(example)
    _add_roofline_options(example)
    _add_report_options(example)

    show = commands.add_parser(
        "show", help="render a profile saved with --format json (no torch needed)",
        description="Read PROFILE.json, written by `flopsight profile|example --format json`, and render it "
        "again in any format: the same report the run printed, timing included.",
    )
    show.add_argument("profile_file", metavar="PROFILE.json", help="a profile saved with --format json")
    show.add_argument("--memory-snapshot", metavar="FILE",
                      help="also write the saved profile's memory (profiled with --memory) as a memory_viz snapshot")
    add_layout_option(show)
    _add_roofline_options(show)
    _add_report_options(show)
    add_diff_command(commands, positive)
    return parser


def _add_estimate_command(commands: Any) -> None:
    estimate = commands.add_parser(
        "estimate", help="closed-form parameters and FLOPs from a config (Megatron, Kaplan 6N, PaLM)",
        description="Closed forms of a decoder LLM, BERT, ViT, CLIP or T5 from its config alone, no model built: parameters, "
        "Megatron's forward FLOPs with attention (full and causal), Kaplan's 6N and PaLM's 6N + 12LHQT; "
        "with --measure, also one forward counted on meta and each difference named.",
    )
    estimate.add_argument("model", metavar="MODEL", help="a bundled name, a config.json, a model folder, or a Hub id")
    estimate.add_argument("--batch-size", type=positive, default=1, metavar="N", help="samples per batch (default 1)")
    estimate.add_argument("--seq-len", type=positive, metavar="N",
                          help="tokens per sample (default 128); an encoder-decoder's encoder tokens")
    estimate.add_argument("--decoder-seq-len", type=positive, metavar="N",
                          help="an encoder-decoder's (T5's) decoder tokens per sample (default: --seq-len)")
    estimate.add_argument("--task", metavar="TASK",
                          help="the task model (default: the config's architecture): a class name, CLIPVisionModel or "
                          "CLIPTextModel for one tower of a CLIP config, or a task name as in profile (base, masked-lm, ...)")
    estimate.add_argument("--measure", action="store_true",
                          help="also build the model on meta, count one forward and name the differences")
    estimate.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    estimate.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")


def _add_head_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", metavar="TASK",
                        help="the head to build: base, causal-lm, masked-lm, seq2seq-lm, sequence-classification, "
                        "image-classification, or a transformers class name (default: the config's architecture)")
    parser.add_argument("--attn-implementation", choices=ATTENTION_IMPLEMENTATIONS, default="sdpa",
                        help="sdpa (default): the fused kernel; eager: the math path (scores through memory); "
                        "flash_attention_2: priced as SDPA's fused flash kernel (flash-attn is not called)")
    parser.add_argument("--module", metavar="PATH",
                        help="profile one submodule (e.g. vision_model) on the inputs it gets in the whole model")
    add_layout_option(parser)


def add_layout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layout", choices=("tree", "deepspeed"), default="tree",
                        help="text layout: tree (default) or deepspeed (its summary, per-depth top modules with "
                        "fwd latency, and each module's ops)")


def _add_size_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=positive, default=1, metavar="N", help="samples per batch (default 1)")
    parser.add_argument("--seq-len", type=positive, metavar="N", help="text tokens per sample (default 128)")
    parser.add_argument("--backward", action="store_true", help="also measure the backward pass")


def _add_timing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--time", action="store_true",
                        help="also time the model per module (cpu or cuda): latency, FLOPS, MFU")
    parser.add_argument("--warmup", type=non_negative, default=2, metavar="N", help="untimed iterations first (default 2)")
    parser.add_argument("--repeat", type=positive, default=10, metavar="M", help="timed iterations (default 10)")
    parser.add_argument("--peak-tflops", type=positive_float, metavar="X",
                        help="dense peak TFLOPS for MFU (default: matched from the GPU name)")


def _add_memory_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--memory", action="store_true",
                        help="also record every tensor storage: the peak and where, bytes per category, "
                        "activation bytes per module")
    parser.add_argument("--memory-snapshot", metavar="FILE",
                        help="with --memory, also write the run as a CUDA memory snapshot (a pickle) for "
                        "pytorch.org/memory_viz")
    parser.add_argument("--optimizer", choices=OPTIMIZERS,
                        help="with --backward, also run a real optimizer step (its state counts as memory; "
                        "on meta with foreach=True, CUDA's default)")


def _add_roofline_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gpu", metavar="NAME",
                        help="also predict the time per module on this GPU by the roofline of its datasheet "
                        "(h100-sxm, a100-80gb, mi300x, ...: see docs/roofline.md)")
    parser.add_argument("--fuse-elementwise", action="store_true",
                        help="with --gpu, price elementwise chains as fused kernels, as a compiler would "
                        "(their intermediates are not moved)")
    parser.add_argument("--gpus-per-node", type=positive, metavar="N",
                        help="with --gpu, the largest process group priced at NVLink bandwidth (default 8)")
    parser.add_argument("--inter-node-gbps", type=positive_float, metavar="GB/S",
                        help="with --gpu, the per-GPU bandwidth between nodes in GB/s (default 50: 400 Gb/s)")
    parser.add_argument("--calibrate", action="store_true",
                        help="with --gpu and --time (or a saved timed profile), fit the efficiency of each op class "
                        "to the measured time per module, store it for --gpu and its dtype, and show the "
                        "agreement per module before and after")
    parser.add_argument("--no-calibration", action="store_true",
                        help="with --gpu, price at the datasheet even when a calibration for the GPU is stored")
    parser.add_argument("--calibration-file", metavar="FILE",
                        help="where calibrations are read and stored (default $FLOPSIGHT_CALIBRATION, else "
                        "~/.cache/flopsight/calibration.json)")


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--depth", type=non_negative, metavar="N", help="deepest module level shown")
    parser.add_argument("--top", type=positive, metavar="N", help="also show the N largest module types per depth")
    parser.add_argument("--format", choices=FORMATS + EXPORT_FORMATS, default="text",
                        help="output format (default text); exports: trace (Chrome/Perfetto, needs --time), "
                        "collapsed (flame graph stacks), csv-ops (one row per module, phase and op)")
    parser.add_argument("--stack-metric", choices=STACK_METRICS,
                        help="with --format collapsed, each module's own: flops (default), macs, params, "
                        "or latency (ns, needs --time)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
