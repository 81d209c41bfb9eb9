"""``flopsight profile MODEL --dp D --tp T [--pp P] [--fsdp] [--rank R]``: a parallel plan,
simulated in this process (``flopsight.distributed.simulate``)."""

from __future__ import annotations

import argparse
from typing import Callable

from ..errors import InputError
from ..report import render
from ..report.plan import PlanReport
from .output import Progress

__all__ = ["add_plan_options", "check_plan_options", "is_plan", "run_plan"]


def add_plan_options(parser: argparse.ArgumentParser, positive: Callable[[str], int]) -> None:
    group = parser.add_argument_group(
        "parallel plan (simulated in this process: a fake process group, fake tensors, no GPU)")
    group.add_argument("--dp", type=positive, default=1, metavar="N", help="data-parallel degree (default 1)")
    group.add_argument("--tp", type=positive, default=1, metavar="N",
                       help="tensor-parallel degree: attention and MLP projections split as torchtitan does")
    group.add_argument("--pp", type=positive, default=1, metavar="N", help="pipeline stages (default 1)")
    group.add_argument("--fsdp", action="store_true", help="shard parameters over dp with FSDP2 (default: replicate, DDP)")
    group.add_argument("--rank", type=int, default=0, metavar="R", help="the rank whose figures are reported (default 0)")
    group.add_argument("--microbatches", type=positive, metavar="M",
                       help="with --pp: microbatches per step (default: --batch-size, one sequence each)")


def is_plan(args: argparse.Namespace) -> bool:
    """Whether the command asks for a parallel plan (any degree above 1, or --fsdp)."""
    return bool(getattr(args, "fsdp", False)) or any(getattr(args, name, 1) > 1 for name in ("dp", "tp", "pp"))


def check_plan_options(args: argparse.Namespace) -> None:
    """What a plan refuses from the arguments alone: the options of a real single-device run."""
    if not is_plan(args):
        for option in ("rank", "microbatches"):
            if getattr(args, option) not in (None, 0):
                raise InputError(f"--{option} applies to a parallel plan: add --dp, --tp, --pp or --fsdp")
        return
    refused = [("--mode generate", args.mode == "generate"), ("--time", args.time),
               ("--device " + str(args.device), args.device != "meta"), ("--optimizer", bool(args.optimizer)),
               ("--image-size", args.image_size is not None), ("--num-images", args.num_images is not None)]
    for option, given in refused:
        if given:
            raise InputError(f"{option} does not apply to a simulated parallel plan (a decoder's training step "
                             "on fake tensors); leave it out")
    world = args.dp * args.tp * args.pp
    if not 0 <= args.rank < world:
        raise InputError(f"--rank must be in 0..{world - 1} for dp x tp x pp = {world}, got {args.rank}")


def run_plan(args: argparse.Namespace, progress: Progress) -> str:
    from ..distributed import simulate
    from ..hf import default_dtype, resolve_source

    world = args.dp * args.tp * args.pp
    progress(f"simulating rank {args.rank} of {world} (dp {args.dp} x tp {args.tp} x pp {args.pp}"
             f"{', FSDP' if args.fsdp else ''})")
    dtype = args.dtype or default_dtype(resolve_source(args.model, trust_remote_code=args.trust_remote_code))
    simulation = simulate(args.model, dp=args.dp, tp=args.tp, pp=args.pp, fsdp=args.fsdp, rank=args.rank,
                          batch_size=args.batch_size, seq_len=args.seq_len, backward=args.backward, memory=args.memory,
                          microbatches=args.microbatches, dtype=dtype, trust_remote_code=args.trust_remote_code)
    report = PlanReport(simulation.rank_profile, simulation.job(), simulation.figures.to_dict())
    if args.memory_snapshot:
        from .commands import write_memory_snapshot

        write_memory_snapshot(report.rank_profile, args)
    progress("rendering")
    from .commands import render_options

    return render(report, args.format, render_options(args))
