"""The subcommands: thin over ``flopsight.profile`` and ``flopsight.hf``."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import InputError
from ..report import GenerationReport, RenderOptions, format_params, render
from ..report.plan import PlanReport
from ..atomic_write import write_bytes_atomically
from .calibration import calibrate_and_store, check_calibration_options
from .heavy import collection_paused
from .output import Progress, check_writable, write_atomically
from .plan import check_plan_options, is_plan, run_plan
from .timing import add_timing, check_timing_options

if TYPE_CHECKING:
    from ..tree import Profile

P = TypeVar("P", bound="Profile")
DEFAULT_NEW_TOKENS = 8


def run_models(args: argparse.Namespace) -> str:
    """The bundled configs as a table (or JSON): name, family, parameters, modality, checkpoint."""
    from ..hf.catalog import bundled_models

    models = bundled_models().values()
    if args.format == "json":
        rows = [{"name": m.name, "family": m.family, "params": m.params, "modality": m.modality,
                 "checkpoint": m.checkpoint} for m in models]
        return json.dumps(rows, indent=2) + "\n"
    table = [("NAME", "FAMILY", "PARAMS", "MODALITY", "CHECKPOINT")]
    table += [(m.name, m.family, format_params(m.params), m.modality, m.checkpoint) for m in models]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(width) if i != 2 else cell.rjust(width) for i, (cell, width) in enumerate(zip(row, widths))).rstrip()
             for row in table]
    return "\n".join(lines) + "\n"


def run_show(args: argparse.Namespace) -> str:
    """A saved profile (``--format json``) rendered again, in any format."""
    from .saved import read_saved

    saved = read_saved(args)
    if args.memory_snapshot:
        held = saved.rank_profile if isinstance(saved, PlanReport) else saved
        if isinstance(held, GenerationReport) or held.memory is None:
            raise InputError(f"--memory-snapshot: {args.profile_file} holds no memory; profile with --memory")
        write_memory_snapshot(held, args)
    if args.layout == "deepspeed":
        if isinstance(saved, (GenerationReport, PlanReport)):
            raise InputError(f"--layout deepspeed: {args.profile_file} is a generate run or a simulated plan; "
                             "the layout shows one forward (and backward) profile: use the tree layout")
        return render_layout(saved, args)
    if getattr(args, "gpu", None):
        if isinstance(saved, (GenerationReport, PlanReport)):
            raise InputError(f"--gpu: {args.profile_file} is a generate run or a simulated plan; it prices one "
                             "forward (and backward) profile")
        return render_with_roofline(saved, args, render_options(args))  # torch-free: arithmetic on the saved counts
    return render(saved, args.format, render_options(args))


def check_arguments(args: argparse.Namespace) -> None:
    """What can be refused from the arguments alone, before torch is imported."""
    check_output(args)
    if args.command == "profile":
        _check_mode_options(args)
        _check_head_options(args)
        check_plan_options(args)
    _check_layout(args)
    if getattr(args, "optimizer", None) and not args.backward:
        raise InputError("--optimizer steps on the gradients of a backward: add --backward")
    if getattr(args, "memory_snapshot", None):
        if args.command != "show" and not args.memory:
            raise InputError("--memory-snapshot needs --memory")
        check_writable(args.memory_snapshot, option="--memory-snapshot")
    check_timing_options(args, getattr(args, "device", ""))
    check_export_options(args)
    check_gpu(args)
    check_calibration_options(args)


def check_export_options(args: argparse.Namespace) -> None:
    """``--stack-metric`` without collapsed stacks; a trace of a run neither timed nor priced on
    a GPU, or latency stacks of an untimed one (``show`` checks its file when rendering)."""
    fmt, metric = getattr(args, "format", None), getattr(args, "stack_metric", None)
    if metric and fmt != "collapsed":
        raise InputError("--stack-metric applies to --format collapsed")
    if args.command == "show" or getattr(args, "time", False):
        return
    if fmt == "trace" and not getattr(args, "gpu", None):
        raise InputError("the trace needs timing: add --time (or --gpu NAME for the roofline's predicted time)")
    if metric == "latency":
        raise InputError("the latency stacks need timing: add --time")


def check_gpu(args: argparse.Namespace) -> None:
    """``--gpu``: a name in the GPU table, and a run that gives one forward profile to price."""
    if not getattr(args, "gpu", None):
        given = [option for option, value in (("--fuse-elementwise", getattr(args, "fuse_elementwise", False)),
                                              ("--gpus-per-node", getattr(args, "gpus_per_node", None)),
                                              ("--inter-node-gbps", getattr(args, "inter_node_gbps", None))) if value]
        if given:
            raise InputError(f"{given[0]} shapes the roofline prediction: add --gpu NAME")
        return
    from ..tree.gpus import gpu_spec

    gpu_spec(args.gpu)  # an unknown name: one line listing the known ones
    if args.command == "profile" and (args.mode == "generate" or is_plan(args)):
        raise InputError("--gpu predicts the time of one forward (and backward) profile; "
                         "drop --mode generate and the parallelism options")


def with_roofline(result: P, args: argparse.Namespace) -> P:
    """The profile with its roofline on ``--gpu`` (unchanged without the option), at the
    efficiencies stored for the GPU unless ``--no-calibration``."""
    if not getattr(args, "gpu", None):
        return result
    link: dict[str, Any] = {}
    if args.gpus_per_node is not None:
        link["gpus_per_node"] = args.gpus_per_node
    if args.inter_node_gbps is not None:
        link["inter_node_bytes_per_s"] = args.inter_node_gbps * 1e9
    return result.roofline(gpu=args.gpu, fuse_elementwise=args.fuse_elementwise,
                           calibrated=not getattr(args, "no_calibration", False),
                           calibration_path=getattr(args, "calibration_file", None), **link)


def render_with_roofline(result: Profile, args: argparse.Namespace, options: RenderOptions) -> str:
    """The report with the roofline of ``--gpu``; with ``--calibrate``, first fitted to the
    run's timing and stored, and the agreement per module after the text report (on stderr
    for the other formats, which keep their own shape)."""
    if not getattr(args, "calibrate", False):
        return render(with_roofline(result, args), args.format, options)
    section = calibrate_and_store(result, args)
    text = render(with_roofline(result, args), args.format, options)
    if args.format == "text":
        return f"{text.rstrip()}\n\nCalibration on {args.gpu}:\n{section}\n"
    sys.stderr.write(section + "\n")
    return text


def run_example(args: argparse.Namespace) -> str:
    """Profile the bundled plain-PyTorch example transformer on the CPU (or on meta)."""
    import flopsight
    import torch

    from ..examples import TinyTransformer

    seq_len = args.seq_len or 128
    if args.device == "cpu":
        _check_example_memory(args.batch_size, seq_len, backward=args.backward)
    with torch.device(args.device):
        model = TinyTransformer()
    tokens = _example_tokens(model, args.batch_size, seq_len)
    result = flopsight.profile(model, tokens, backward=args.backward, memory=args.memory,
                               optimizer=make_optimizer(model, args))
    result.metadata["model_source"] = {"model": "example", "kind": "example", "architecture": "flopsight.examples.TinyTransformer"}
    result.metadata["input_description"] = {
        "family": "text", "batch_size": args.batch_size, "seq_len": tokens.shape[1],
        "tensors": {"input_ids": {"shape": list(tokens.shape), "dtype": "int64"}},
    }
    if args.time:
        result = add_timing(result, model, (tokens,), {}, args)
    write_memory_snapshot(result, args)
    return render_with_roofline(result, args, render_options(args))


def _example_tokens(model: Any, batch_size: int, seq_len: int) -> Any:
    from ..examples import example_inputs

    try:
        return example_inputs(model, batch_size=batch_size, seq_len=seq_len)
    except ValueError as exc:
        raise InputError(f"--seq-len: {exc}") from None
    except RuntimeError:  # the size overflows int64 itself
        raise InputError(f"--batch-size {batch_size} x --seq-len {seq_len} tokens are more than one tensor holds") from None


def _check_example_memory(batch_size: int, seq_len: int, *, backward: bool) -> None:
    """Refuse a cpu run that cannot fit in RAM (the OOM killer would end it without a word).

    Every figure of the example model is per sample, so one sample's counted run, its bytes
    written times the batch, with the weights and the token ids, bounds what the real run
    holds. That sample runs on the CPU, not on meta: torch's meta kernels import torch._dynamo
    on their first call, a second of CPU that the real run on the CPU never needs.
    """
    import flopsight

    from ..examples import TinyConfig, TinyTransformer
    from ..hf.build import available_ram

    if not 1 <= seq_len <= TinyConfig().max_positions:
        return  # example_inputs says what is wrong
    model = TinyTransformer()
    one = _example_tokens(model, 1, seq_len)
    counted = flopsight.profile(model, one, backward=backward)
    written = batch_size * (counted.forward.bytes_written + counted.backward.bytes_written)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    needed = written + weights + batch_size * one.numel() * one.element_size()
    available = available_ram()
    if available and needed > available:
        raise InputError(
            f"--batch-size {batch_size} x --seq-len {seq_len} needs about {needed / 2**30:,.1f} GiB on cpu and "
            f"{available / 2**30:,.1f} GiB is available; use --device meta (the same counts, no memory) "
            "or a smaller --batch-size"
        )


def run_profile(args: argparse.Namespace, progress: Progress) -> str:
    """Build MODEL from its config and profile a forward (and backward) or a generation."""
    from .. import hf
    from ..hf import target as target_lib

    if is_plan(args):
        return run_plan(args, progress)
    progress(f"reading the config of {args.model}")
    with collection_paused():  # transformers' imports and the model's modules: see heavy.py
        source = hf.resolve_source(args.model, trust_remote_code=args.trust_remote_code)
        config = hf.make_config(source)
        dtype = args.dtype or hf.default_dtype(source)
        trusted = bool(source.extra.get("trust_remote_code"))
        head = hf.resolve_task(config, args.task)[0] if args.task else hf.task_class(config, trust_remote_code=trusted)
        progress(f"building {head.__name__} on {args.device}")
        model = hf.build_model(config, device=args.device, dtype=dtype, trust_remote_code=trusted, task=args.task,
                               attn_implementation=args.attn_implementation)
    spec = hf.InputSpec(args.batch_size, args.seq_len, args.image_size, args.num_images)
    inputs = hf.synthesize_inputs(model, spec, device=args.device)
    options = render_options(args)
    if args.mode == "generate":
        described = target_lib.describe_source(source, model, args.task)
        generation = hf.profile_generation(model, inputs, new_tokens=args.new_tokens or DEFAULT_NEW_TOKENS,
                                           device=args.device, progress=progress)
        for step in [generation.prefill, *generation.decode]:
            _annotate(step.metadata, described, "generate")
        report = GenerationReport(generation.prefill, generation.decode, generation.summary())
        progress("rendering")
        return render(report, args.format, options)
    if args.module:
        progress(f"capturing the inputs of {args.module}")
    target = target_lib.choose_target(model, inputs, args.module, device=args.device)
    progress(f"profiling one forward{' and backward' if args.backward else ''}")
    result = target_lib.profile_target(target, inputs, device=args.device, backward=args.backward,
                                       memory=args.memory, optimizer=make_optimizer(target.module, args))
    target_lib.describe_forward(result.metadata, source, model, task=args.task,
                                attn_implementation=args.attn_implementation)
    if args.time:
        progress(f"timing {args.warmup} + {args.repeat} iterations")
        result = add_timing(result, target.module, target.args, target.kwargs, args)
    write_memory_snapshot(result, args)
    progress("rendering")
    if args.layout == "deepspeed":
        return render_layout(result, args)
    return render_with_roofline(result, args, options)


def make_optimizer(model: Any, args: argparse.Namespace) -> Any:
    """The optimizer ``--optimizer`` names, over the model's trainable parameters; None without
    it. On meta it runs as on CUDA by default, one multi-tensor (foreach) step."""
    import torch

    if not getattr(args, "optimizer", None):
        return None
    kinds = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    trainable = [p for p in model.parameters() if p.requires_grad]
    foreach = True if getattr(args, "device", "cpu") == "meta" else None
    return kinds[args.optimizer](trainable, lr=1e-4, foreach=foreach)


def write_memory_snapshot(result: Profile, args: argparse.Namespace) -> None:
    """With ``--memory-snapshot FILE``, write the run's memory as a memory_viz snapshot, atomically."""
    if args.memory_snapshot:
        from ..report.memory_snapshot import memory_snapshot_pickle

        write_bytes_atomically(args.memory_snapshot, memory_snapshot_pickle(result))


def render_options(args: argparse.Namespace) -> RenderOptions:
    """Text fits the terminal when stdout is one; -o FILE and pipes keep the wide layout."""
    width = None
    if not getattr(args, "output", None) and getattr(sys.stdout, "isatty", lambda: False)():
        width = shutil.get_terminal_size().columns
    return RenderOptions(depth=args.depth, top=args.top, width=width,
                         stack_metric=getattr(args, "stack_metric", None) or "flops")


def emit(text: str, args: argparse.Namespace, stdout: Any) -> None:
    """Write the rendered output to -o FILE atomically, or to stdout."""
    output = getattr(args, "output", None)
    if output:
        write_atomically(output, text)
    else:
        stdout.write(text)


def check_output(args: argparse.Namespace) -> None:
    if getattr(args, "output", None):
        check_writable(args.output)


def _check_head_options(args: argparse.Namespace) -> None:
    if args.module and (args.mode == "generate" or is_plan(args)):
        raise InputError("--module profiles one forward of a submodule; "
                         "drop --mode generate and the parallelism options")
    if is_plan(args) and (args.task or args.attn_implementation != "sdpa"):
        raise InputError("--task and --attn-implementation apply to one profile; drop the parallelism options")


def _check_layout(args: argparse.Namespace) -> None:
    """``--layout deepspeed`` (profile and show): one text rendering of one forward profile."""
    if getattr(args, "layout", "tree") != "deepspeed":
        return
    if args.format != "text":
        raise InputError("--layout deepspeed is a text layout; use --format text")
    if args.gpu:
        raise InputError("--layout deepspeed has no roofline columns; drop --gpu or use the tree layout")
    if getattr(args, "mode", None) == "generate":
        raise InputError("--layout deepspeed shows one forward (and backward) profile; drop --mode generate")


def render_layout(result: Profile, args: argparse.Namespace) -> str:
    """The text of ``--layout deepspeed``: the header, then DeepSpeed's three sections."""
    from ..report.deepspeed_layout import render_deepspeed_layout
    from ..report.header import render_header

    return render_header(result) + render_deepspeed_layout(result, depth=args.depth, top=args.top)


def _check_mode_options(args: argparse.Namespace) -> None:
    if args.mode == "generate" and args.backward:
        raise InputError("--backward applies to --mode forward, not generate")
    if args.mode != "generate" and args.new_tokens is not None:
        raise InputError("--new-tokens applies to --mode generate")
    if args.mode == "generate" and args.memory:
        raise InputError("--memory applies to --mode forward, not generate")


def _annotate(metadata: dict[str, Any], source: dict[str, Any], mode: str) -> None:
    metadata["model_source"] = source
    metadata["mode"] = mode
