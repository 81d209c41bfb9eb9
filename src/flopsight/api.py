"""The public entry point: wires costs, capture, tree and report together."""

from __future__ import annotations

import inspect
import platform
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

from . import costs  # noqa: F401  (registers the built-in formulas)
from .capture import capture
from .capture.memory import MemoryTarget
from .conventions import CONVENTIONS
from .errors import InputError
from .records import CaptureResult, Phase
from .timing.device_info import model_dtype
from .report.printable import Profile as PrintableProfile
from .tree import Profile
from .tree.build import build_profile


def profile(
    model: nn.Module,
    *args: Any,
    input_shape: Sequence[int] | None = None,
    kwargs: dict[str, Any] | None = None,
    backward: bool = False,
    loss_fn: Callable[[Any], torch.Tensor] | None = None,
    ignore_modules: Iterable[type] | None = None,
    memory: bool = False,
    optimizer: torch.optim.Optimizer | None = None,
    memory_target: str | None = None,
    cuda_context_bytes: int = 0,
) -> Profile:
    """Profile one run of ``model``: parameters, MACs and FLOPs per module, forward and backward.

    Args:
        model: any ``nn.Module``, on CPU, CUDA or the meta device.
        *args: positional inputs, passed to ``model(*args, **kwargs)``.
        input_shape: instead of inputs, a shape for one random float tensor made on the
            model's device and dtype.
        kwargs: keyword inputs.
        backward: also run and measure the backward pass.
        loss_fn: what to differentiate, ``loss_fn(outputs) -> scalar``; by default the sum of
            every floating output.
        ignore_modules: module types whose ops are not counted.
        memory: also record every tensor storage of the run: ``profile.memory`` gets the peak,
            where it happened and the bytes per category, each module's node its activation,
            output and peak bytes (``node.memory``). On a real CUDA device torch.cuda's
            measured peaks come beside the simulated ones (``memory.measured_peak_bytes``;
            this resets the device's peak statistics).
        optimizer: with ``backward=True``, also run a real ``optimizer.step()`` on the
            gradients (its state counts as optimizer memory: Adam's two moments and step per
            parameter); the weights, gradients and optimizer state are restored afterwards.
            Its arithmetic is not counted (it runs outside every module).
        memory_target: whose memory: "cuda" (the default on meta and cuda) reports it as a
            CUDA device holds it: on meta, CUDA's kernels' save sets (dropout keeps a bool
            mask, SDPA its fused outputs), every storage sized as the CUDA caching allocator
            holds it (512-byte blocks) and its reserved segments (``memory.reserved_bytes``);
            "as-run" (the default elsewhere) reports each storage as the run's kernels made it.
        cuda_context_bytes: with the "cuda" target, a fixed line for the CUDA context and the
            library workspaces (``memory.context_bytes``; real contexts take 300-500 MiB).

    Returns:
        A Profile; ``print(profile)`` shows the annotated module tree.

    Example:
        >>> import torch
        >>> import flopsight
        >>> p = flopsight.profile(torch.nn.Linear(8, 4), input_shape=(2, 8))
        >>> p.params, p.forward.macs, p.forward.flops
        (36, 64, 136)
    """
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    # A torch.compile'd model is profiled through its original module, eagerly: compiled
    # graphs do not run under a Python dispatch mode, and the module tree is the original's.
    original = getattr(model, "_orig_mod", None)
    if isinstance(original, nn.Module):
        model = original
    kwargs = dict(kwargs or {})
    if input_shape is not None:
        if args:
            raise InputError("give either inputs or input_shape, not both")
        args = (random_input(model, input_shape),)
    if not args and not kwargs:
        _check_takes_no_inputs(model)
    if loss_fn is not None and not backward:
        raise InputError("loss_fn is only used with backward=True")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise InputError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if optimizer is not None and not backward:
        raise InputError("optimizer= steps on the gradients of a backward: add backward=True")
    if not memory and (memory_target is not None or cuda_context_bytes):
        raise InputError("memory_target and cuda_context_bytes are only used with memory=True")
    target = MemoryTarget(memory_target, cuda_context_bytes)
    ignore_types = module_types(ignore_modules)

    result = capture(model, args, kwargs, backward=backward, loss_fn=loss_fn, ignore_types=ignore_types, memory=memory,
                     optimizer=optimizer, memory_target=target)
    metadata = run_metadata(model, backward=backward, ignore_types=ignore_types, args=args, kwargs=kwargs)
    if optimizer is not None:
        metadata["optimizer"] = type(optimizer).__name__
    if result.memory is not None:
        metadata["memory_target"] = result.memory.target
    return build_profile(model, result, metadata=metadata, ignore_types=ignore_types, profile_type=PrintableProfile)


def run_metadata(
    model: nn.Module,
    *,
    backward: bool,
    ignore_types: tuple[type, ...],
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """What describes one counted run: conventions, inputs, device, dtype, versions."""
    kwargs = kwargs or {}
    return {
        "conventions": {**CONVENTIONS, "backward": "measured" if backward else "not measured"},
        "backward_measured": backward,
        "inputs": _describe(args, kwargs),
        "device": _device_of(model, args, kwargs),
        "dtype": model_dtype(model),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "model_type": type(model).__name__,
        "ignored_module_types": sorted(t.__name__ for t in ignore_types),
        **extra,
    }


def session_metadata(model: nn.Module, result: CaptureResult, ignore_types: tuple[type, ...], **extra: Any) -> dict[str, Any]:
    """The run metadata of a counting session over the user's own calls: backward is measured
    when backward ops were charged."""
    backward = any(phase is Phase.BACKWARD for _, phase in result.charges)
    return run_metadata(model, backward=backward, ignore_types=ignore_types, **extra)


def _check_takes_no_inputs(model: nn.Module) -> None:
    """A forward with no required parameter is profiled as ``model()``; any other needs inputs."""
    try:
        inspect.signature(model.forward).bind()
    except TypeError:
        raise InputError(f"no inputs, but {type(model).__name__}.forward needs some: pass them "
                         "positionally, as kwargs=..., or give input_shape=...") from None
    except ValueError:  # no signature to read (a builtin): let the call itself tell
        pass


def random_input(model: nn.Module, shape: Sequence[int]) -> torch.Tensor:
    """One random float tensor of ``shape`` on the model's device and dtype."""
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise InputError(f"input_shape must be a sequence of ints, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise InputError(f"input_shape must not have negative sizes, got {dims}")
    first = next(iter(model.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    return torch.randn(dims, device=device, dtype=dtype)


def module_types(ignore_modules: Iterable[type] | None, argument: str = "ignore_modules") -> tuple[type, ...]:
    """The module types to ignore, checked: each must be an nn.Module subclass."""
    types = tuple(ignore_modules or ())
    for t in types:
        if not (isinstance(t, type) and issubclass(t, nn.Module)):
            raise InputError(f"{argument} takes nn.Module subclasses such as torch.nn.Dropout, got {t!r}")
    return types


def _describe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    described = []
    for position, value in list(enumerate(args)) + list(kwargs.items()):
        if isinstance(value, torch.Tensor):
            described.append({"name": str(position), "shape": list(value.shape), "dtype": str(value.dtype).replace("torch.", "")})
        else:
            described.append({"name": str(position), "type": type(value).__name__})
    return described


def _device_of(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    # Parameters first: a meta model may be fed real integer inputs (token ids on the CPU).
    first = next(iter(model.parameters()), None)
    if first is not None:
        return first.device.type
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, torch.Tensor):
            return value.device.type
    return "cpu"
