"""Ops that only view, create or describe data: 0 FLOPs and nothing moved. Listed once, here.
Ops that copy or move data (0 FLOPs too, but their kernel moves bytes) are in data_movement.py.

Collectives cost 0 FLOPs too, but they are communication: the counting mode records their
calls apart (``Profile.communication_ops``) instead of dropping them as free.
"""

from __future__ import annotations

import torch

from .registry import REGISTRY, aten, mark_free


FREE_OP_NAMES = (
    # views and shape changes
    "view", "_unsafe_view", "reshape", "_reshape_alias", "as_strided", "expand", "expand_as",
    "permute", "transpose", "t", "squeeze", "unsqueeze", "flatten", "unflatten", "unfold",
    "select", "slice", "narrow", "split", "split_with_sizes", "chunk", "unbind", "diagonal",
    "alias", "detach", "lift_fresh", "view_as_real", "view_as_complex", "movedim", "swapaxes",
    "real", "imag", "conj", "_conj", "_neg_view", "resolve_conj", "resolve_neg", "_unsafe_index",
    "tensor_split", "unsafe_split", "unsafe_split_with_sizes", "unsafe_chunk", "pixel_shuffle",
    "pixel_unshuffle", "channel_shuffle", "col2im", "im2col",
    # copies that only re-describe a tensor (CompositeImplicit: they run as _to_copy, clone or
    # constant_pad_nd, priced in data_movement.py, when they copy at all)
    "to", "contiguous", "pad",
    # data-dependent selections and storage bookkeeping
    "nonzero", "unique", "_unique2", "unique_consecutive", "searchsorted", "bucketize",
    "_pin_memory", "set_", "resize_", "_resize_output", "record_stream",
    # wraps indices and values into a sparse tensor (sparse embedding gradients); sums nothing
    "_sparse_coo_tensor_with_dims_and_tensors",
    # creation and random numbers
    "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "zeros",
    "zeros_like", "new_zeros", "ones", "ones_like", "new_ones", "full", "full_like", "new_full",
    "arange", "linspace", "logspace", "eye", "scalar_tensor", "tensor", "rand", "rand_like",
    "randn", "randn_like", "randint", "randint_like", "randperm", "bernoulli", "normal",
    "uniform", "multinomial", "exponential", "geometric", "cauchy", "log_normal", "random",
    "_fused_dropout",
    # bookkeeping, integer and boolean logic
    "_local_scalar_dense", "item", "is_nonzero", "equal", "allclose", "_assert_async",
    "_assert_tensor_metadata", "_linalg_check_errors", "_is_all_true", "_is_any_true", "_fused_sdp_choice", "sym_size", "sym_numel", "sym_stride", "sym_storage_offset",
    "logical_and", "logical_or", "logical_not", "logical_xor", "bitwise_and", "bitwise_or",
    "bitwise_not", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "any", "all",
    "count_nonzero", "histc", "bincount", "_has_compatible_shallow_copy_type", "_nested_tensor_from_mask",
    "_make_dep_token", "_functional_sym_constrain_range", "sym_constrain_range",
    # the parts of a jagged nested tensor: views of its values and offsets
    "_nested_get_values", "_nested_view_from_jagged", "_nested_get_offsets", "_nested_get_lengths",
    "_nested_get_ragged_idx", "_nested_get_jagged_dummy", "_nested_get_min_seqlen", "_nested_get_max_seqlen",
    "_nested_tensor_from_tensor_list", "values", "sym_is_contiguous", "is_contiguous",
)

# Free ops outside aten, by name: their namespace may not be loaded (fsdp's ops exist once
# fully_shard is imported), so they are matched when they run.
FREE_OPS_BY_NAME = (
    # FSDP2 copies parameters into and out of its flat all-gather buffers
    "fsdp.all_gather_copy_in", "fsdp.split_with_sizes_copy", "fsdp.chunk_cat", "fsdp.copy_",
    # torch.profiler.record_function markers
    "profiler._record_function_enter", "profiler._record_function_enter_new", "profiler._record_function_exit",
    # bookkeeping in the communication namespaces below: nothing moves between ranks
    "c10d.check_for_nan", "_c10d_functional._wrap_tensor_autograd", "_dtensor.mesh_get_process_group",
)

# Ops that move data between ranks (collectives, point-to-point, waits): every op of a namespace
# ("c10d") but those FREE_OPS_BY_NAME lists, or one op ("namespace.op").
COMMUNICATION_OPS = ("c10d", "_c10d_functional", "_c10d_functional_autograd", "_dtensor.shard_dim_alltoall")


def _register() -> None:
    ops = []
    for name in FREE_OP_NAMES:
        for variant in (name, name + "_"):
            op = getattr(aten, variant)
            if isinstance(op, torch._ops.OpOverloadPacket):
                ops.append(op)
    ops.append(torch.ops.prim.layout)  # reads a tensor's layout: metadata
    ops.append(torch.ops.prim.device)  # reads a tensor's device: metadata (asked under fake tensors)
    # the Python operators |, &, ^ on integer and boolean tensors (masks)
    ops += [aten.__or__, aten.__and__, aten.__xor__, aten.__ior__, aten.__iand__, aten.__ixor__]
    mark_free(*dict.fromkeys(ops), *FREE_OPS_BY_NAME)
    REGISTRY.mark_communication(COMMUNICATION_OPS)


_register()
