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
- ``warm_up`` is accepted and no warm-up forward is run: counts do not depend on warm-up, and
  a warm-up would change batch-norm statistics. The report shows no latency; for latency use
  the timing runner.
- ``mode="generate"`` is refused with a pointer to ``flopsight.hf.profile_generation``.
- Strings use flopsight's formatter: flops as a number with a prefix (``"1.23 G"``, as
  DeepSpeed), macs as ``"615.2 MMACs"``, params with K, M, B, T (``"61.1 M"``).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from torch import nn

from ..report import format_count, format_params
from ..training import FlopsProfiler, render_report, write_report
from ._common import check_forward_mode, run_profile

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
        top_modules: module types listed per depth in the aggregated view.
        warm_up: accepted; no warm-up run is made (see the module docstring).
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
    result = run_profile(model, input_shape, args, kwargs, backward=False, ignore_modules=ignore_modules)
    if print_profile:
        write_report(render_report(result, module_depth=module_depth, top_modules=top_modules, detailed=detailed),
                     output_file)
    flops, macs, params = result.forward.flops, result.forward.macs, result.params
    if not as_string:
        return flops, macs, params
    return format_count(flops), format_count(macs, suffix="MACs"), format_params(params)
