"""What both compat layers share: running flopsight.profile and writing the report."""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Sequence

from torch import nn

from ..api import profile, random_input
from ..errors import InputError
from ..tree import Profile
from ..uncounted_warning import warn_if_uncounted

# Prefixes one unit option can take for MACs, FLOPs and parameters alike ("B" and "G" are
# the same power of 1000).
SHARED_UNITS = ("", "K", "M", "G", "B", "T")


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
    result = profile(model, *args, kwargs=kwargs, backward=backward, ignore_modules=ignore_modules)
    warn_if_uncounted(result.uncounted_ops, stacklevel=4)  # at the caller of the drop-in
    return result


def make_inputs(
    model: nn.Module, input_shape: Sequence[int] | None, args: Sequence[Any] | None, kwargs: dict[str, Any] | None
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The inputs as (args, kwargs); ``input_shape`` gives one random float tensor on the
    model's device and dtype, as ``flopsight.profile(input_shape=...)`` makes it."""
    check_model(model)
    if args is not None and not isinstance(args, (list, tuple)):
        raise InputError(f"args must be a list or tuple of inputs, got {type(args).__name__}; "
                         "wrap a single input as args=[x]")
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise InputError(f"kwargs must be a dict of keyword inputs, got {type(kwargs).__name__}")
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



def check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def check_whole_number(value: Any, argument: str, *, minimum: int = 0) -> int:
    """An int option (a precision, a count of iterations), checked before any work is done."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{argument} takes a whole number at least {minimum}, got {value!r}")
    return value


def check_unit(unit: Any, argument: str) -> None:
    """A fixed prefix for MACs, FLOPs and parameters, or None to pick one per number."""
    if unit is not None and unit not in SHARED_UNITS:
        raise InputError(f"{argument}={unit!r}: choose None (pick per number) or one of "
                         f"{', '.join(repr(u) for u in SHARED_UNITS)}")


def check_output_file(path: Any, argument: str = "output_file") -> None:
    """A file the report can be written to: checked first, so a bad path costs no profile run."""
    if path is None:
        return
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"{argument} takes a file path, got {type(path).__name__}")
    if os.path.isdir(path):
        raise InputError(f"{argument}={os.fspath(path)!r} is a folder; give a file path")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"{argument}: folder {folder!r} does not exist; create it or choose another path")
