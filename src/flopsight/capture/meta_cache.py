"""On meta, run each op's meta kernel once per distinct argument metadata.

A transformer's layers repeat the same ops on the same shapes, and on the meta device the
kernel computes nothing but the output's metadata (PyTorch's Python reference kernels for
elementwise ops cost 60-180 us a call). ``MetaOutputCache.run`` remembers, per op and per
argument metadata (every tensor's shape, strides, storage offset, dtype, device, layout and
requires_grad; every other argument's exact value and type, so that 2, 2.0 and True differ),
the shapes, strides and dtypes of the outputs, and on a hit makes fresh meta tensors of them:
new tensor objects with their own storages each call, as the kernel makes. FakeTensorMode's
dispatch cache (``torch._subclasses.fake_tensor``) is the model.

Whatever could make a fresh tensor wrong bypasses the cache and runs the kernel:

- ops that alias or write any argument (views, in-place and ``out=`` overloads: any alias
  annotation in the schema), ``_unsafe_view``, and ops tagged random, data-dependent or
  with a dynamic output shape; ops outside ``aten`` and ``prims``; higher-order ops;
- arguments that are not plain meta tensors (a CPU tensor, a subclass such as DTensor or
  FakeTensor, a complex or non-strided tensor) or not plain values (a SymInt, a generator);
- another dispatch mode below the counting mode (it would not see the op);
- an output the first run showed to be anything but fresh, plain meta tensors whose storage
  is exactly what ``empty_strided`` makes (a view, an alias of an input, a bigger buffer).

The caller still sees the real arguments and the outputs, so formulas and recorders run as
without the cache: counts are unchanged, only the kernel's time is saved.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

_META = torch.device("meta")
_STRIDED = torch.strided
_PLAIN_TENSORS = (torch.Tensor, nn.Parameter)
_PLAIN_VALUES = (int, float, bool, str, type(None), torch.dtype, torch.device, torch.layout, torch.memory_format)
_CACHED_NAMESPACES = ("aten", "prims")
_UNSAFE_TAGS = (torch.Tag.nondeterministic_seeded, torch.Tag.data_dependent_output,
                torch.Tag.dynamic_output_shape, torch.Tag.inplace_view)
_ALWAYS_RUN = (torch.ops.aten._unsafe_view.default, torch.ops.aten.lift_fresh.default)
_dispatch_stack_depth = torch._C._len_torch_dispatch_stack
_inference_mode = torch.is_inference_mode_enabled
_default_dtype = torch.get_default_dtype
_empty_strided = torch.ops.aten.empty_strided.default

OutputMeta = tuple[torch.Size, tuple[int, ...], torch.dtype]
# An op's outputs: one tensor, or a tuple/list of tensors and Nones; None: always run the op.
CacheEntry = tuple[type | None, tuple[OutputMeta | None, ...]] | None


class _Bypass(Exception):
    """An argument the cache does not key: the op runs its kernel."""


class MetaOutputCache:
    """Output metadata of meta ops, keyed by the op and its arguments' metadata."""

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], CacheEntry] = {}
        self._cacheable_ops: dict[Any, bool] = {}
        self.hits = 0
        self.misses = 0

    def run(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``func(*args, **kwargs)``, or fresh outputs made from the metadata of an earlier call."""
        cacheable = self._cacheable_ops.get(func)
        if cacheable is None:
            cacheable = self._cacheable_ops[func] = _is_cacheable_op(func)
        if not cacheable or _dispatch_stack_depth():
            return func(*args, **kwargs)
        key = _key(func, args, kwargs)
        if key is None:
            return func(*args, **kwargs)
        entry = self._entries.get(key, _MISSING)
        if entry is _MISSING:
            self.misses += 1
            out = func(*args, **kwargs)
            self._entries[key] = _entry_for(out, args, kwargs)
            return out
        if entry is None:
            return func(*args, **kwargs)
        self.hits += 1
        return _outputs_from(entry)


_MISSING: Any = object()


def _is_cacheable_op(func: Any) -> bool:
    if not isinstance(func, torch._ops.OpOverload) or func in _ALWAYS_RUN:
        return False
    if func.namespace not in _CACHED_NAMESPACES or any(tag in func.tags for tag in _UNSAFE_TAGS):
        return False
    schema = func._schema
    return not any(a.alias_info is not None for a in (*schema.arguments, *schema.returns))


def _key(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
    """The op and its arguments' metadata, or None when an argument is not keyed.

    An op with no tensor argument (a factory) is keyed only when it is asked for meta."""
    parts: list[Any] = [func, _inference_mode(), _default_dtype()]
    try:
        tensors = _add_all(parts, args)
        if kwargs:
            for name, value in kwargs.items():
                parts.append(name)
                tensors += _add_all(parts, (value,))
    except _Bypass:
        return None
    if not tensors and _META not in parts and "meta" not in parts:
        return None
    return tuple(parts)


def _add_all(parts: list[Any], values: tuple[Any, ...] | list[Any]) -> int:
    """Append each value's key to ``parts``; return how many tensors they held."""
    tensors = 0
    append = parts.append
    for value in values:
        kind = type(value)
        if kind is torch.Tensor or kind is nn.Parameter:
            if not value.is_meta or value.layout != _STRIDED or value.dtype.is_complex:
                raise _Bypass
            append((value.shape, value.stride(), value.storage_offset(), value.dtype, value.requires_grad))
            tensors += 1
        elif kind is list or kind is tuple:
            append((kind, len(value)))
            if all(type(item) is int for item in value):  # sizes, dims: the common case
                append(tuple(value))
            else:
                tensors += _add_all(parts, value)
        elif kind in _PLAIN_VALUES:
            append(kind)  # 1, 1.0 and True are equal keys; their types are not
            append(value)
        else:
            raise _Bypass
    return tensors


def _entry_for(out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CacheEntry:
    """The metadata to remake ``out`` from, or None when a fresh tensor would differ from it."""
    outputs = out if type(out) in (tuple, list) else (out,)
    storages = _storages(args) | _storages(tuple(kwargs.values()))
    metas: list[OutputMeta | None] = []
    for tensor in outputs:
        if tensor is None:
            metas.append(None)
            continue
        if type(tensor) is not torch.Tensor or not _is_fresh(tensor, storages):
            return None
        storages.add(tensor.untyped_storage()._cdata)  # two outputs sharing one storage: not fresh
        metas.append((tensor.shape, tensor.stride(), tensor.dtype))
    return (type(out) if type(out) in (tuple, list) else None), tuple(metas)


def _is_fresh(tensor: torch.Tensor, storages: set[int]) -> bool:
    if not tensor.is_meta or tensor.layout != _STRIDED or tensor.dtype.is_complex:
        return False
    if tensor.requires_grad or tensor._is_view() or tensor.storage_offset() != 0:
        return False
    storage = tensor.untyped_storage()
    if storage._cdata in storages:
        return False
    remade = _empty_strided(tensor.shape, tensor.stride(), dtype=tensor.dtype, device=_META)
    return bool(remade.untyped_storage().nbytes() == storage.nbytes())


def _storages(values: tuple[Any, ...] | list[Any]) -> set[int]:
    found: set[int] = set()
    for value in values:
        if isinstance(value, torch.Tensor):
            found.add(value.untyped_storage()._cdata)
        elif isinstance(value, (list, tuple)):
            found |= _storages(value)
    return found


def _outputs_from(entry: tuple[type | None, tuple[OutputMeta | None, ...]]) -> Any:
    container, metas = entry
    made = [None if meta is None else _empty_strided(meta[0], meta[1], dtype=meta[2], device=_META)
            for meta in metas]
    if container is None:
        return made[0]
    return container(made)

