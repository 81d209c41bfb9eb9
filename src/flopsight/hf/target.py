"""One forward (and backward) profile of a built model, as ``flopsight profile`` and
``profile_model`` both make it: of the whole model or of one submodule (``module``), with the
metadata that says which head was built and how its attention is priced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..tree import Profile
from .inputs import ModelInputs
from .run import profile_forward
from .source import ModelSource
from .submodule import capture_submodule_inputs, profile_submodule


@dataclass(frozen=True, slots=True)
class Target:
    """What one profile calls: ``module(*args, **kwargs)``; ``path`` None is the whole model."""

    module: nn.Module
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    path: str | None = None


def choose_target(model: nn.Module, inputs: ModelInputs, path: str | None, *, device: str = "meta") -> Target:
    """The whole ``model`` on ``inputs``, or its submodule at ``path`` on the arguments it gets
    inside one forward of the whole model (``submodule.capture_submodule_inputs``)."""
    if path is None:
        return Target(model, (), dict(inputs.kwargs))
    submodule, args, kwargs = capture_submodule_inputs(model, path, inputs, device=device)
    return Target(submodule, args, kwargs, path)


def profile_target(target: Target, inputs: ModelInputs, *, device: str = "meta", backward: bool = False,
                   memory: bool = False, optimizer: torch.optim.Optimizer | None = None) -> Profile:
    """Profile ``target`` once; the metadata gets the model's inputs and, for a submodule, its path."""
    if target.path is None:
        return profile_forward(target.module, inputs, device=device, backward=backward, memory=memory,
                               optimizer=optimizer)
    result: Profile = profile_submodule(target.module, target.args, target.kwargs, device=device, backward=backward,
                                        memory=memory, optimizer=optimizer)
    result.metadata["input_description"] = inputs.describe()
    result.metadata["module"] = target.path
    return result


def describe_source(source: ModelSource, model: nn.Module, task: str | None) -> dict[str, Any]:
    """``metadata["model_source"]``: where the config came from and, with ``task``, the head built
    instead of the config's architecture."""
    described = source.describe()
    if task is not None:
        described.update(task=task, architecture=type(model).__name__)
    return described


def describe_forward(metadata: dict[str, Any], source: ModelSource, model: nn.Module, *, task: str | None,
                     attn_implementation: str) -> None:
    """Write into a forward profile's ``metadata`` its model source, mode and attention."""
    metadata["model_source"] = describe_source(source, model, task)
    metadata["mode"] = "forward"
    metadata["attention"] = attention_metadata(attn_implementation, model)


def attention_metadata(requested: str, model: Any) -> dict[str, str]:
    """What ``attn_implementation`` asked for and what the model was built with, and how the
    request is priced when they differ (flash_attention_2 runs as SDPA's fused flash kernel)."""
    built = str(getattr(getattr(model, "config", None), "_attn_implementation", None) or "default")
    described = {"requested": requested, "built": built}
    if requested == "flash_attention_2":
        described["priced_as"] = "SDPA's fused flash attention kernel (flash-attn itself is not called)"
    return described
