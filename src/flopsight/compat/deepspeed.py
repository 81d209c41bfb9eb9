"""DeepSpeed's flops profiler entry points with flopsight's numbers: change the import.

    from flopsight.compat.deepspeed import get_model_profile, FlopsProfiler
    flops, macs, params = get_model_profile(model, input_shape=(1, 3, 224, 224))

``FlopsProfiler`` is ``flopsight.training.FlopsProfiler`` (start_profile, stop_profile,
get_total_flops, ..., end_profile). Differences from DeepSpeed, on purpose:

- FLOPs: DeepSpeed's "flops" are about 2 x MACs (it prices patched ``torch.nn.functional``
  calls); flopsight returns its own FLOPs: 2 x MACs of matmul-class ops plus every other
  floating-point op that ran (flopsight.conventions). MACs are matmul-class only.
- Nothing is patched and no attribute is set on the model's modules; a forward that raises
  leaves the model and torch as they were.
- Counting runs once, with no warm-up (counts do not depend on it). When the report is
  printed, fwd latency and FLOPS per module come from a separate timing run
  (``flopsight.measure_time``, ``warm_up`` untimed then 5 timed iterations, median), so the
  counting overhead never enters a latency; buffers and RNG state are restored after it. A
  model on the meta device is not timed.
- ``mode="generate"`` is refused with a pointer to ``flopsight.hf.profile_generation``.
- Strings use flopsight's formatter: flops as a number with a prefix (``"1.23 G"``, as
  DeepSpeed), macs as ``"615.2 MMACs"``, params with K, M, B, T (``"61.1 M"``).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import torch
from torch import nn

from ..atomic_write import write_report
from ..report import format_count, format_params
from ..report.deepspeed import depth_and_top, render_latency_section, render_report
from ..timing import TimingResult, measure_time
from ..training import FlopsProfiler
from ._common import check_forward_mode, check_output_file, check_whole_number, make_inputs, run_profile

__all__ = ["FlopsProfiler", "get_model_profile"]


def get_model_profile(
    model: nn.Module,
    input_shape: Sequence[int] | None = None,
    args: Sequence[Any] = [],  # noqa: B006  (DeepSpeed's signature; never mutated)
    kwargs: dict[str, Any] = {},  # noqa: B006
    print_profile: bool = True,
    detailed: bool = True,
    module_depth: int = -1,
    top_modules: int = 1,
    warm_up: int = 1,
    as_string: bool = True,
    output_file: str | None = None,
    ignore_modules: Iterable[type] | None = None,
    mode: str = "forward",
) -> tuple[int, int, int] | tuple[str, str, str]:
    """Forward FLOPs, MACs and parameters of ``model``, as DeepSpeed's function returns them.

    Args:
        model: the module to count.
        input_shape: shape of one random float input; not together with ``args``/``kwargs``.
        args: positional inputs.
        kwargs: keyword inputs.
        print_profile: print the report (or write it to ``output_file``).
        detailed: the report includes the annotated module tree.
        module_depth: deepest tree level in the report; -1 shows all.
        top_modules: module types listed per depth in the aggregated view; -1 lists all, 0
            leaves the view out.
        warm_up: untimed iterations before the timing run behind the printed latencies.
        as_string: return formatted strings instead of ints.
        output_file: write the report to this path instead of stdout.
        ignore_modules: module types whose ops are not counted.
        mode: "forward" ("generate" is refused).

    Returns:
        ``(flops, macs, params)`` of the forward pass; ints, or strings such as
        ``("136", "64 MACs", "36")``.

    Example:
        >>> get_model_profile(torch.nn.Linear(8, 4), input_shape=(2, 8), print_profile=False)
        ('136', '64 MACs', '36')
    """
    check_forward_mode(mode, "mode")
    # Every option is checked before the model runs: a typo costs no profile (nor timing) run.
    depth_and_top(module_depth, top_modules)
    check_whole_number(warm_up, "warm_up")
    check_output_file(output_file)
    inputs, keyword_inputs = make_inputs(model, input_shape, args, kwargs)
    result = run_profile(model, None, inputs, keyword_inputs, backward=False, ignore_modules=ignore_modules)
    if print_profile:
        timing = _timing(model, inputs, keyword_inputs, warm_up)
        text = render_report(result, module_depth=module_depth, top_modules=top_modules, detailed=detailed,
                             timing=timing)
        if timing is not None:
            text += render_latency_section(result, timing, module_depth=module_depth)
        write_report(text, output_file)
    flops, macs, params = result.forward.flops, result.forward.macs, result.params
    if not as_string:
        return flops, macs, params
    return format_count(flops), format_count(macs, suffix="MACs"), format_params(params)


TIMED_ITERATIONS = 5


def _timing(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], warm_up: int) -> TimingResult | None:
    """DeepSpeed prints fwd latency and FLOPS per module: here from a separate timing run, so the
    counting mode's overhead never enters a latency. Nothing to time on the meta device."""
    if any(p.device.type == "meta" for p in model.parameters()):
        return None
    with torch.no_grad():
        return measure_time(model, *args, kwargs=kwargs, warmup=warm_up, repeat=TIMED_ITERATIONS)
