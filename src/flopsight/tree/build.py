"""Build the module tree of a model and hang a capture's charges on it."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..records import CaptureResult
from ..capture.sharded import describe_job
from ..records.distributed import DistributedInfo
from .memory import MemoryFigures, summarize_memory
from .module_node import ModuleNode
from .parameters import count_parameters
from .profile import Profile


def build_profile(
    model: nn.Module,
    result: CaptureResult,
    *,
    metadata: dict[str, Any],
    ignore_types: tuple[type, ...] = (),
    profile_type: type[Profile] = Profile,
    distributed: DistributedInfo | None = None,
) -> Profile:
    """The Profile of ``model`` for one capture: structure and parameters read from the model,
    costs from the capture's per-(module, phase) charges. ``profile_type`` is the class made:
    the library passes the printable one (``flopsight.report.printable.Profile``).
    ``distributed`` says where the run sat in a job; None reads it from torch.distributed."""
    counts = count_parameters(model)
    charges_by_path: dict[str, dict[Any, Any]] = {}
    for (charged_path, phase), ops in result.charges.items():
        charges_by_path.setdefault(charged_path, {})[phase] = ops
    comm_by_path: dict[str, dict[Any, Any]] = {}
    for (charged_path, phase), per_key in result.collectives.items():
        comm_by_path.setdefault(charged_path, {})[phase] = per_key
    first_path: dict[int, str] = {}
    for path, module in model.named_modules():
        first_path.setdefault(id(module), path)

    def make(path: str, module: nn.Module) -> ModuleNode:
        node = ModuleNode(
            name=path,
            type=type(module).__name__,
            extra_repr=_safe_extra_repr(module),
            own_trainable_params=counts.trainable.get(path, 0),
            own_frozen_params=counts.frozen.get(path, 0),
            own_buffers=counts.buffers.get(path, 0),
            calls=result.forward_calls.get(path, 0),
            ignored=bool(ignore_types) and isinstance(module, ignore_types),
            own_param_bytes=counts.param_bytes.get(path, 0),
            own_local_params=counts.local_params.get(path),
            own_local_param_bytes=counts.local_param_bytes.get(path),
        )
        node.own_ops.update(charges_by_path.get(path, {}))
        node.own_comm.update(comm_by_path.get(path, {}))
        # Not named_children(): it yields a module held twice by one parent only once, and the
        # second attribute would be missing from the tree (and from Profile.module).
        for attribute, child in module._modules.items():
            if child is None:
                continue
            child_path = f"{path}.{attribute}" if path else attribute
            canonical = first_path[id(child)]
            if canonical != child_path:
                node.children.append(ModuleNode(name=child_path, type=type(child).__name__, alias_of=canonical))
            else:
                node.children.append(make(child_path, child))
        return node

    root = make("", model)
    memory = None
    if result.memory is not None:
        figures = summarize_memory(result.memory)
        _attach_memory(root, figures)
        memory = figures.summary
    return profile_type(
        root=root,
        memory=memory,
        uncounted_ops=dict(sorted(result.uncounted.items(), key=lambda item: -item[1])),
        communication_ops=dict(sorted(result.communication.items(), key=lambda item: -item[1])),
        bounded_ops=dict(sorted(result.bounded.items(), key=lambda item: -item[1])),
        tied_parameters=counts.tied,
        metadata=metadata,
        process_groups=dict(result.process_groups),
        distributed=distributed if distributed is not None else describe_job(model),
    )


def _attach_memory(node: ModuleNode, figures: MemoryFigures) -> int:
    """Each counted node's memory, activations summed over its subtree; returns the node's."""
    if node.alias_of is not None:
        return 0
    inclusive = figures.own_activation.get(node.name, 0)
    for child in node.children:
        inclusive += _attach_memory(child, figures)
    node.memory = figures.module(node.name, inclusive)
    return inclusive


def _safe_extra_repr(module: nn.Module) -> str:
    try:
        return module.extra_repr()
    except Exception:  # a user's extra_repr that fails must not fail the profile
        return ""
