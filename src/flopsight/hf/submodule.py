"""``--module PATH``: the inputs one submodule gets inside the whole model's forward.

The whole model runs once with a forward pre-hook on the submodule that records its positional
and keyword arguments and then stops the run; the hook is removed in ``finally``, so the model
is left as it was. The submodule is then profiled alone on exactly those arguments.
"""

from __future__ import annotations

import difflib
from typing import Any

import torch
from torch import nn

from ..errors import InputError
from .errors import DeviceError, first_line
from .inputs import ModelInputs
from .run import integer_mode


class _Captured(Exception):
    """Raised by the pre-hook: the submodule's inputs are in hand, the rest of the run is not needed."""


def find_submodule(model: nn.Module, path: str) -> nn.Module:
    """``model``'s submodule at ``path`` (a ``named_modules()`` name).

    Raises:
        InputError: no such path; the message names the nearest valid paths.
    """
    names = [name for name, _ in model.named_modules() if name]
    if path in names:
        return model.get_submodule(path)
    near = difflib.get_close_matches(path, names, n=5, cutoff=0.4) or names[:5]
    raise InputError(f"--module {path}: {type(model).__name__} has no such submodule; nearest: {', '.join(near)}")


def capture_submodule_inputs(model: nn.Module, path: str, inputs: ModelInputs, *,
                             device: str = "meta") -> tuple[nn.Module, tuple[Any, ...], dict[str, Any]]:
    """The submodule at ``path`` and the (args, kwargs) of its first call in ``model(**inputs.kwargs)``.

    Raises:
        InputError: no submodule at ``path``, or the forward never calls it.
        DeviceError: the model cannot run on ``device``.
    """
    submodule = find_submodule(model, path)
    captured: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def record(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        captured.append((args, dict(kwargs)))
        raise _Captured

    handle = submodule.register_forward_pre_hook(record, with_kwargs=True)
    try:
        with integer_mode(device, inputs.kwargs), torch.no_grad():
            model(**inputs.kwargs)
    except _Captured:
        pass
    except (RuntimeError, NotImplementedError, TypeError, ValueError, IndexError) as exc:
        raise DeviceError(f"{type(model).__name__} failed on {device} before reaching {path}: {first_line(exc)}") from None
    finally:
        handle.remove()
    if not captured:
        raise InputError(f"--module {path}: the forward of {type(model).__name__} does not call it; choose another path")
    args, kwargs = captured[0]
    return submodule, args, kwargs


def profile_submodule(submodule: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], *, device: str = "meta",
                      backward: bool = False, memory: bool = False,
                      optimizer: torch.optim.Optimizer | None = None) -> Any:
    """Profile ``submodule(*args, **kwargs)`` alone, as ``run.profile_forward`` profiles a model."""
    from contextlib import nullcontext

    from ..api import profile
    from ..errors import FlopsightError

    tensors = {str(i): a for i, a in enumerate(args)} | kwargs
    try:
        with integer_mode(device, tensors), torch.no_grad() if not backward else nullcontext():
            return profile(submodule, *args, kwargs=kwargs, backward=backward, memory=memory, optimizer=optimizer)
    except FlopsightError:
        raise
    except (RuntimeError, NotImplementedError, TypeError, ValueError, IndexError) as exc:
        raise DeviceError(f"{type(submodule).__name__} failed alone on {device}: {first_line(exc)}") from None
