"""Run a meta model whose forward reads integer values: keep small integer tensors real.

A model on the meta device has shapes but no values. Hugging Face forwards read values in a
few places: ``attention_mask.all()`` decides whether SDPA may use ``is_causal``; Qwen2-VL
builds its 3-d rope index and its vision ``cu_seqlens`` from ``input_ids`` and
``image_grid_thw``; LLaVA-Next picks its any-resolution grid from ``image_sizes``; multimodal
models find the image placeholder tokens with ``input_ids == image_token_id`` and index or
``masked_scatter`` with that mask.

Those values are all integers (token ids, masks, grids, positions), small, and never computed
from a weight. So this dispatch mode keeps integer and boolean tensors real on the CPU while
every floating tensor stays on meta:

- an integer or boolean tensor sent to meta (``.to(meta)``, or made there by ``arange``,
  ``ones``, ...) is made on the CPU instead, where it has values;
- an op mixing meta and CPU tensors sees its CPU tensors moved to meta for that op; a boolean
  mask used as an index becomes the integer indices it selects first (``nonzero`` on the CPU),
  so the result has the shape the mask gives it.

Floating work still runs on meta, so counting costs no memory or time for weights. Tensors
above ``max_numel`` elements stay on meta (a value-dependent step on them then fails as it
would without this mode). The mode is pushed for one run and popped in ``finally`` by the
``with`` statement; it patches nothing.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._pytree import tree_map

from ..capture.dispatch_mode import Kernel, KernelWrapperMode

aten = torch.ops.aten

_META = torch.device("meta")
_CPU = torch.device("cpu")
DEFAULT_MAX_NUMEL = 1 << 24  # 128 MiB of int64: ids and masks real, a long [S, S] mask on meta
_INDEX_OPS = {aten.index.Tensor, aten.index_put.default, aten.index_put_.default, aten._unsafe_index.Tensor}


def _is_integral(dtype: torch.dtype) -> bool:
    return dtype == torch.bool or not (dtype.is_floating_point or dtype.is_complex)


class RealIntegersMode(KernelWrapperMode):
    """Keeps integer and boolean tensors of up to ``max_numel`` elements real on the CPU.

    Push it outside ``flopsight.profile`` (which pushes its counting mode inside), so that
    every op is counted as the model issued it and then run here with consistent devices: the
    counting session takes it in (``KernelWrapperMode``) and calls ``run_op`` itself.
    """

    def __init__(self, max_numel: int = DEFAULT_MAX_NUMEL) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.max_numel = max_numel

    def run_op(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], kernel: Kernel) -> Any:
        devices = _devices(args, kwargs)
        if _META in devices:
            if len(devices) > 1:
                args, kwargs = self._all_to_meta(func, args, kwargs)
            return kernel(func, args, kwargs)
        if _wants_meta(args, kwargs):
            out = kernel(func, args, kwargs)
            if self._keep_real(out):
                args = tuple(_CPU if _is_meta_device(a) else a for a in args)
                return kernel(func, args, {**kwargs, "device": _CPU} if "device" in kwargs else kwargs)
            return out
        return kernel(func, args, kwargs)

    def _keep_real(self, out: Any) -> bool:
        return (
            isinstance(out, torch.Tensor)
            and _is_integral(out.dtype)
            and out.numel() <= self.max_numel
        )

    def _all_to_meta(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
        if func in _INDEX_OPS and len(args) >= 2 and isinstance(args[1], (list, tuple)):
            args = (args[0], _bool_masks_to_indices(args[1]), *args[2:])

        def to_meta(value: Any) -> Any:
            if isinstance(value, torch.Tensor) and value.device.type != "meta":
                return value.to(_META)
            return value

        return tree_map(to_meta, args), tree_map(to_meta, kwargs)


def _devices(args: tuple[Any, ...], kwargs: dict[str, Any]) -> set[torch.device]:
    """Devices of the tensors among an aten op's arguments (tensors or lists of tensors)."""
    found: set[torch.device] = set()
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            found.add(value.device)
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, torch.Tensor):
                    found.add(item.device)
    return found


def _wants_meta(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """A factory or copy op asked to make its result on meta: ``device=meta``, or a device
    given positionally (``aten.to.device``, which reaches the mode whole under inference_mode)."""
    return _is_meta_device(kwargs.get("device")) or any(_is_meta_device(a) for a in args)


def _is_meta_device(value: Any) -> bool:
    if isinstance(value, str):
        return value == "meta"
    return isinstance(value, torch.device) and value.type == "meta"


def _bool_masks_to_indices(indices: Any) -> list[Any]:
    """Replace each real boolean mask among ``indices`` by the integer index tensors it selects.

    ``x[mask]`` with a k-dim mask equals ``x[i0, ..., ik-1]`` with ``mask.nonzero().unbind(1)``,
    which PyTorch itself does before indexing; done here on the CPU, the shape becomes known.
    """
    expanded: list[Any] = []
    for index in indices:
        if isinstance(index, torch.Tensor) and index.device.type != "meta" and index.dtype in (torch.bool, torch.uint8):
            expanded.extend(index.nonzero().unbind(1))
        else:
            expanded.append(index)
    return expanded
