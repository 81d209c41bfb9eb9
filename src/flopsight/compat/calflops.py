"""calflops' ``calculate_flops`` with flopsight's numbers: change the import, keep the call.

    from flopsight.compat.calflops import calculate_flops
    flops, macs, params = calculate_flops(model, input_shape=(1, 3, 224, 224))

Differences from calflops, on purpose:

- Numbers: every aten op is counted (flopsight.conventions). MACs are matmul-class
  multiply-accumulates only; FLOPs are 2 x MACs plus every other floating-point op. calflops
  counts what passes through patched ``torch.nn.functional`` calls and misses the rest.
- ``include_backPropagation=True`` runs and measures the real backward (gradients of the sum of
  the floating outputs with respect to every trainable parameter, and inputs that require
  grad), and returns forward + backward FLOPs and MACs. calflops multiplies the forward by
  ``1 + compute_bp_factor`` instead. ``compute_bp_factor`` is therefore accepted and not used;
  passing a value other than the default 2.0 warns, as the caller expected it to matter.
- ``print_results`` prints flopsight's report (summary, annotated tree when
  ``print_detailed``, else the per-depth top-1 view). Nothing is patched, so a model that
  raises leaves ``torch.nn.functional`` and the model as they were.
- Strings use flopsight's formatter: ``"1.23 GFLOPS"``, ``"615.2 MMACs"``, ``"61.1 M"``
  (parameters take K, M, B, T; ``output_unit="G"`` shows billions of parameters as ``B``).
- ``transformer_tokenizer`` is never called and nothing is downloaded: with an
  ``input_shape=(batch, seq_len)`` the inputs the tokenizer names in ``model_input_names``
  (``input_ids``, ``attention_mask``, ``token_type_ids``) are built as integer tensors of that
  shape (token id 1, mask of ones, token types 0). The counts depend only on shapes.
- ``forward_mode="generate"`` is refused with a pointer to ``flopsight.hf.profile_generation``.
- ``is_sparse=True`` counts only the non-zero parameter values (as calflops); FLOPs are still
  those of the dense ops that ran.
"""

from __future__ import annotations

import warnings
from typing import Any, Iterable, Sequence

import torch
from torch import nn

from ..atomic_write import write_report
from ..errors import InputError
from ..report import format_count, format_params
from ..report.deepspeed import render_report
from ._common import check_forward_mode, check_model, check_unit, check_whole_number, run_profile

__all__ = ["calculate_flops"]


def calculate_flops(
    model: nn.Module,
    input_shape: Sequence[int] | None = None,
    transformer_tokenizer: Any = None,
    args: Sequence[Any] = [],  # noqa: B006  (calflops' signature; never mutated)
    kwargs: dict[str, Any] = {},  # noqa: B006
    forward_mode: str = "forward",
    include_backPropagation: bool = False,  # noqa: N803  (calflops' spelling)
    compute_bp_factor: float = 2.0,
    print_results: bool = True,
    print_detailed: bool = True,
    output_as_string: bool = True,
    output_precision: int = 2,
    output_unit: str | None = None,
    ignore_modules: Iterable[type] | None = None,
    is_sparse: bool = False,
) -> tuple[int, int, int] | tuple[str, str, str]:
    """FLOPs, MACs and parameters of one run of ``model``, as calflops returns them.

    Args:
        model: the module to count.
        input_shape: shape of one random float input (or ``(batch, seq_len)`` with
            ``transformer_tokenizer``); not together with ``args``/``kwargs``.
        transformer_tokenizer: a Hugging Face tokenizer; only its ``model_input_names`` is read.
        args: positional inputs.
        kwargs: keyword inputs.
        forward_mode: "forward" ("generate" is refused, see the module docstring).
        include_backPropagation: also run and measure the backward pass.
        compute_bp_factor: accepted for compatibility; unused (backward is measured).
        print_results: print the report.
        print_detailed: the report includes the annotated module tree.
        output_as_string: return formatted strings instead of ints.
        output_precision: decimals in strings and the report.
        output_unit: fixed prefix ("", "K", "M", "G" or "B", "T"); None picks one per number.
        ignore_modules: module types whose ops are not counted.
        is_sparse: count only non-zero parameter values.

    Returns:
        ``(flops, macs, params)``: forward (+ backward when asked) FLOPs and MACs, and
        parameters; ints, or strings such as ``("136 FLOPS", "64 MACs", "36")``.

    Example:
        >>> calculate_flops(torch.nn.Linear(8, 4), input_shape=(2, 8), print_results=False)
        ('136 FLOPS', '64 MACs', '36')
    """
    check_model(model)
    check_forward_mode(forward_mode, "forward_mode")
    check_whole_number(output_precision, "output_precision")
    check_unit(output_unit, "output_unit")
    if compute_bp_factor != 2.0:
        warnings.warn("flopsight measures the backward pass; compute_bp_factor is not used", UserWarning, stacklevel=2)
    if transformer_tokenizer is not None:
        kwargs = {**_token_inputs(transformer_tokenizer, input_shape, model), **dict(kwargs)}
        input_shape = None
    result = run_profile(model, input_shape, args, kwargs, backward=include_backPropagation, ignore_modules=ignore_modules)
    flops, macs = (result.total_flops, result.total_macs) if include_backPropagation else (result.forward.flops, result.forward.macs)
    params = _nonzero_params(model) if is_sparse else result.params
    if print_results:
        text = render_report(result, detailed=print_detailed, precision=output_precision, unit=output_unit,
                             phase="total" if include_backPropagation else "forward")
        write_report(text)
    if not output_as_string:
        return flops, macs, params
    return (
        format_count(flops, unit=output_unit, precision=output_precision, suffix="FLOPS"),
        format_count(macs, unit=output_unit, precision=output_precision, suffix="MACs"),
        format_params(params, unit=output_unit, precision=output_precision),
    )


def _token_inputs(tokenizer: Any, input_shape: Sequence[int] | None, model: nn.Module) -> dict[str, torch.Tensor]:
    if input_shape is None or len(tuple(input_shape)) != 2:
        raise InputError("with transformer_tokenizer, give input_shape=(batch_size, seq_len)")
    names = list(getattr(tokenizer, "model_input_names", None) or ["input_ids", "attention_mask"])
    first = next(iter(model.parameters()), None)
    device = first.device if first is not None and first.device.type != "meta" else torch.device("cpu")
    shape = tuple(int(d) for d in input_shape)
    fill = {"input_ids": 1, "attention_mask": 1, "token_type_ids": 0}
    return {name: torch.full(shape, fill.get(name, 0), dtype=torch.long, device=device) for name in names}


def _nonzero_params(model: nn.Module) -> int:
    seen: set[int] = set()
    total = 0
    for parameter in model.parameters():  # yields each shared parameter once
        if id(parameter) in seen or parameter.device.type == "meta":
            continue
        seen.add(id(parameter))
        total += int(torch.count_nonzero(parameter.detach()).item())
    return total
