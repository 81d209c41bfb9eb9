"""torchtitan's parallelization of a Llama-family decoder, applied to a ``DecoderStage``.

The mesh is always 3-D, ("pp", "dp", "tp"), pp outermost and tp innermost (torchtitan's order:
tensor-parallel peers are neighbouring ranks, on one node). Dims of size 1 stay in the mesh, so
a gathered report always names the same three; a plan of size 1 is simply not applied.

- TP (``parallelize_module``, no sequence parallel): q/k/v and gate/up are ``ColwiseParallel``
  (each rank keeps heads / intermediate columns), o and down ``RowwiseParallel`` (their partial
  sums all-reduced), the embedding ``RowwiseParallel(input_layouts=Replicate())`` (vocab rows
  split), the head ``ColwiseParallel(output_layouts=Replicate())`` (logits all-gathered).
  Hugging Face attention reshapes with ``view(*shape, -1, head_dim)``, so the local heads of
  ``use_local_output=True`` need no change to the model.
- FSDP (``fully_shard``): each decoder layer, then the root, over the "dp" mesh, resharding
  after forward (ZeRO-3).
- DP without FSDP: FSDP2's ``replicate`` (DDP's gradient all-reduce, per layer and root).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..errors import InputError

MESH_DIM_NAMES = ("pp", "dp", "tp")


def check_tensor_parallel(config: Any, tp: int) -> None:
    """Refuse a TP degree that does not split every sharded dimension evenly: the heads, the
    key/value heads, the MLP width and the vocabulary. With even splits all TP ranks hold the
    same shapes, so one of them stands for all.

    Raises:
        InputError: one line naming the size that ``tp`` does not divide.
    """
    if tp == 1:
        return
    sizes = {
        "num_attention_heads": getattr(config, "num_attention_heads", None),
        "num_key_value_heads": getattr(config, "num_key_value_heads", None) or getattr(config, "num_attention_heads", None),
        "intermediate_size": getattr(config, "intermediate_size", None),
        "vocab_size": getattr(config, "vocab_size", None),
    }
    for name, size in sizes.items():
        if not isinstance(size, int):
            raise InputError(f"--tp {tp}: the config has no {name}; tensor parallelism needs a Llama-layout decoder")
        if size % tp:
            raise InputError(f"--tp {tp} does not divide {name}={size}; choose a tp that divides it")


def device_mesh(pp: int, dp: int, tp: int) -> Any:
    """The ("pp", "dp", "tp") mesh of the current process group (whose size must be pp*dp*tp)."""
    from torch.distributed.device_mesh import init_device_mesh

    return init_device_mesh("cpu", (pp, dp, tp), mesh_dim_names=MESH_DIM_NAMES)


def layer_plan() -> dict[str, Any]:
    """The TP plan of one decoder layer, by submodule name."""
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel

    return {
        "self_attn.q_proj": ColwiseParallel(),
        "self_attn.k_proj": ColwiseParallel(),
        "self_attn.v_proj": ColwiseParallel(),
        "self_attn.o_proj": RowwiseParallel(),
        "mlp.gate_proj": ColwiseParallel(),
        "mlp.up_proj": ColwiseParallel(),
        "mlp.down_proj": RowwiseParallel(),
    }


def apply_tensor_parallel(stage: nn.Module, tp_mesh: Any) -> None:
    """Shard ``stage``'s layers, embedding and head over ``tp_mesh`` (in place)."""
    from torch.distributed.tensor import Replicate
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

    inner: Any = stage.model
    outer: dict[str, Any] = {}
    if inner.embed_tokens is not None:
        outer["model.embed_tokens"] = RowwiseParallel(input_layouts=Replicate())
    if getattr(stage, "lm_head", None) is not None:
        outer["lm_head"] = ColwiseParallel(output_layouts=Replicate())
    tied = inner.embed_tokens is not None and outer.get("lm_head") is not None and \
        stage.lm_head.weight is inner.embed_tokens.weight  # type: ignore[union-attr]
    if outer:
        parallelize_module(stage, tp_mesh, outer)
    if tied:
        # Each plan made its own DTensor of the shared weight; both are Shard(0) over the
        # vocabulary, so the head can take the embedding's again and the tie holds.
        stage.lm_head.weight = inner.embed_tokens.weight  # type: ignore[union-attr]
    for layer in inner.layers:
        parallelize_module(layer, tp_mesh, layer_plan())


def apply_data_parallel(stage: nn.Module, dp_mesh: Any, *, fsdp: bool) -> None:
    """``fully_shard`` (fsdp) or ``replicate`` each decoder layer, then the whole stage."""
    if fsdp:
        from torch.distributed.fsdp import fully_shard

        for layer in stage.model.layers:  # type: ignore[union-attr]
            fully_shard(layer, mesh=dp_mesh, reshard_after_forward=True)
        fully_shard(stage, mesh=dp_mesh, reshard_after_forward=True)
        return
    from torch.distributed._composable.replicate_with_fsdp import replicate

    for layer in stage.model.layers:  # type: ignore[union-attr]
        replicate(layer, mesh=dp_mesh)
    replicate(stage, mesh=dp_mesh)


def parallelize(stage: nn.Module, mesh: Any, *, fsdp: bool) -> None:
    """Apply TP (when the "tp" dim is over 1), then FSDP (``fsdp``, any "dp" size) or DDP
    replication (a "dp" dim over 1 without ``fsdp``), torchtitan's order."""
    if mesh["tp"].size() > 1:
        apply_tensor_parallel(stage, mesh["tp"])
    if fsdp or mesh["dp"].size() > 1:
        apply_data_parallel(stage, mesh["dp"], fsdp=fsdp)


def local_numel(parameter: torch.Tensor) -> int:
    """Elements this rank stores of ``parameter``: its local shard for a DTensor (FSDP and TP
    shards, FSDP's padding excluded), else all of it."""
    from torch.distributed.tensor import DTensor

    if isinstance(parameter, DTensor):
        return math.prod(parameter.to_local().shape)
    return parameter.numel()


def local_parameters(model: nn.Module) -> dict[str, int]:
    """This rank's stored elements of each parameter, by name (shared parameters once)."""
    return {name: local_numel(parameter) for name, parameter in model.named_parameters()}
