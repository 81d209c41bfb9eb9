"""``--time``: a timing run after the counting run, on cpu or cuda, added to the report."""

from __future__ import annotations

import argparse
import inspect
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:  # torch is imported when a run needs it, not for --help
    from torch import nn

    from ..tree import Profile


def check_timing_options(args: argparse.Namespace, device: str) -> None:
    if not getattr(args, "time", False):
        if getattr(args, "peak_tflops", None) is not None:
            raise InputError("--peak-tflops sets the peak for the MFU that --time reports; add --time")
        return
    if device == "meta":
        raise InputError("--time measures real runs and the meta device has no values: use --device cpu or cuda")
    if getattr(args, "mode", "forward") != "forward":
        raise InputError("--time applies to --mode forward")
    if args.format in ("csv", "markdown"):
        raise InputError("--time output is shown in the text and json formats; use --format text or json")


def add_timing(profile: Profile, model: nn.Module, args_: tuple[Any, ...], kwargs: dict[str, Any],
               args: argparse.Namespace) -> str:
    """Time the model, store the figures in the profile's metadata, return the text section."""
    import torch

    from ..report.timing import render_timing
    from ..timing import achieved, measure_time

    kwargs = dict(kwargs)
    if "use_cache" in inspect.signature(model.forward).parameters:
        kwargs["use_cache"] = False  # one forward: a KV cache adds only memory
    grad = nullcontext() if args.backward else torch.no_grad()
    with grad:
        timing = measure_time(model, *args_, kwargs=kwargs, warmup=args.warmup, repeat=args.repeat,
                              backward=args.backward)
    result = achieved(profile, timing, peak_tflops=args.peak_tflops)
    profile.metadata["timing"] = timing.to_dict()
    profile.metadata["achieved"] = {
        "forward_flops_per_s": result.forward_flops_per_s,
        "iteration_flops_per_s": result.iteration_flops_per_s,
        "peak_tflops": result.peak_tflops,
        "peak_source": result.peak_source,
        "mfu": result.mfu,
        "hfu": result.hfu,
    }
    return "\nTiming\n------\n" + render_timing(profile, timing, result, depth=args.depth)
