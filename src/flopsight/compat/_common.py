"""What both compat layers share: running flopsight.profile and writing the report."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from torch import nn

from ..api import profile, random_input
from ..errors import InputError
from ..tree import Profile


def run_profile(
    model: nn.Module,
    input_shape: Sequence[int] | None,
    args: Sequence[Any] | None,
    kwargs: dict[str, Any] | None,
    *,
    backward: bool,
    ignore_modules: Iterable[type] | None,
) -> Profile:
    """``flopsight.profile`` with the list/dict argument style of calflops and DeepSpeed."""
    args, kwargs = make_inputs(model, input_shape, args, kwargs)
    return profile(model, *args, kwargs=kwargs, backward=backward, ignore_modules=ignore_modules)


def make_inputs(
    model: nn.Module, input_shape: Sequence[int] | None, args: Sequence[Any] | None, kwargs: dict[str, Any] | None
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The inputs as (args, kwargs); ``input_shape`` gives one random float tensor on the
    model's device and dtype, as ``flopsight.profile(input_shape=...)`` makes it."""
    args = tuple(args or ())
    kwargs = dict(kwargs or {})
    if input_shape is not None and (args or kwargs):
        raise InputError("give either input_shape or args/kwargs, not both")
    if input_shape is None:
        return args, kwargs
    return (random_input(model, input_shape),), {}


def check_forward_mode(mode: str, argument: str) -> None:
    if mode == "forward":
        return
    if mode == "generate":
        raise InputError(f"{argument}='generate' is not supported here; use flopsight.hf.profile_generation, "
                         "which counts prefill and each decoding step separately")
    raise InputError(f"{argument} must be 'forward' or 'generate', got {mode!r}")

