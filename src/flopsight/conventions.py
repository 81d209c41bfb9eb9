"""Counting conventions, stated once and written into every profile's metadata.

MACs
    Multiply-accumulates of matmul-class ops only: matrix products (mm, bmm, addmm, linear,
    einsum, ``@``), convolutions, and attention's Q @ K^T and P @ V products.
FLOPs
    2 x MACs, plus every other floating-point operation: bias adds, elementwise ops (one per
    output element unless a family documents otherwise), normalizations, softmax, reductions,
    pooling, losses. So 2 x MACs is exactly the matmul-class share of the FLOPs.
Free ops
    Ops that only view, copy, move or create data cost 0 FLOPs. Ops on integer or boolean
    tensors only cost 0 FLOPs. Copies and moves (casts, cat, pads, where, masked_fill:
    ``costs/data_movement.py``) still record the bytes their kernel reads and writes, which the
    roofline prices; views and creation move nothing.
Uncounted ops
    An op with no formula that is not known to be free is listed in ``uncounted_ops`` with its
    call count; it is never silently priced at zero.
Attention
    Counted in full (every score of Sq x Sk), as FlopCounterMode and Megatron do; the part a
    causal or padding mask discards is ``masked_flops``, and ``effective_flops`` is the rest.
    Every SDPA backend is priced by the same formula, which counts the elementwise work as
    PyTorch's reference (math) implementation runs it: q and k each scaled by sqrt(scale), one
    add per score for a mask (explicit or causal), 5 per score for the softmax; so the math
    path, run as separate ops, costs what a fused kernel does. Backward is 2 x forward MACs (no
    recomputation).
Backward
    Measured, not estimated: the ops autograd runs are counted and charged to the module whose
    forward created them. The conventional 2 x forward estimate is shown beside it.
Modules
    Each op is charged to the innermost module running it; a module reached from several
    parents is counted per call at its first path. Tied parameters are counted once.
"""

from __future__ import annotations

from typing import Any

CONVENTIONS: dict[str, Any] = {
    "macs": "multiply-accumulates of matmul-class ops (matmul, conv, attention QK^T and PV)",
    "flops": "2 x MACs + every other floating-point op (elementwise 1 per output element unless documented)",
    "free_ops": "views, copies, moves, creation and integer/boolean ops cost 0 FLOPs",
    "attention": "full",
    "attention_scale": "q and k, as the math reference (a causal mask costs an add per score)",
    "attention_backward": "2 x forward MACs, no recomputation",
    "backward": "measured",
    "shared_modules": "counted per call at their first path",
    "tied_parameters": "counted once",
}
