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
    if args.format == "markdown":
        raise InputError("--time output is shown in the text, json, csv, html and trace formats; "
                         "use --format text, json, csv, html or trace")


def add_timing(profile: Profile, model: nn.Module, args_: tuple[Any, ...], kwargs: dict[str, Any],
               args: argparse.Namespace) -> Profile:
    """Time the model; the profile with the timing on it (each module's latency on its node)."""
    import torch

    from ..timing import measure_time

    kwargs = dict(kwargs)
    if "use_cache" in inspect.signature(model.forward).parameters:
        kwargs["use_cache"] = False  # one forward: a KV cache adds only memory
    grad = nullcontext() if args.backward else torch.no_grad()
    with grad:
        timing = measure_time(model, *args_, kwargs=kwargs, warmup=args.warmup, repeat=args.repeat,
                              backward=args.backward)
    return profile.with_timing(timing, peak_tflops=args.peak_tflops)
