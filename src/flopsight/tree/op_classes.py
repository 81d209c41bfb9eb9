"""Op classes: which kind of kernel an aten op, as recorded ("aten.mm.default"), runs as.

Kernels of one kind reach a similar fraction of a GPU's peaks (a GEMM library, an attention
kernel, a row-wise normalization, a memory-bound elementwise loop), so calibration fits one
efficiency per class (``tree/calibration.py``) and the estimates name FLOPs by class
(``estimates/compare.py``). The classes follow the cost formulas' family modules
(``costs/matmul.py``, ``costs/attention.py``, ...), which a test checks op by op:

- matmul: mm, bmm, addmm, baddbmm, linear, matmul, scaled / grouped / int GEMMs (and the fused
  ``_transformer_encoder_layer_fwd``, a whole encoder layer whose time is its GEMMs');
- convolution: every convolution kernel, forward and backward;
- attention: SDPA and its flash / efficient / cudnn / CPU kernels, forward and backward, flex
  and varlen attention, the fused multi-head attention;
- normalization: layer / batch / group / RMS / weight norm and softmax (a row-wise normalization);
- reduction: sum, mean, max, var, norms of a vector, cumulative ops, sort and top-k;
- other: pooling, upsampling, embeddings, gather / scatter / index, losses, FFT, RNN cells,
  grid sampling, cdist, triangular solves;
- elementwise: pointwise math, activations, dropout, and any op not named above (copies and
  concatenations behave as memory-bound elementwise loops).

Pure: no torch.
"""

from __future__ import annotations

import re

__all__ = ["ATTENTION", "CONVOLUTION", "ELEMENTWISE", "MATMUL", "NORMALIZATION", "OP_CLASSES", "OTHER", "REDUCTION",
           "op_class"]

MATMUL = "matmul"
CONVOLUTION = "convolution"
ATTENTION = "attention"
NORMALIZATION = "normalization"
REDUCTION = "reduction"
ELEMENTWISE = "elementwise"
OTHER = "other"
OP_CLASSES = (MATMUL, CONVOLUTION, ATTENTION, NORMALIZATION, REDUCTION, ELEMENTWISE, OTHER)

# Tried in order on the op's bare name (no namespace, no overload, no in-place "_").
_RULES = (
    # copies by index or mask and nearest upsampling move data (costs/data_movement.py): before OTHER
    (ELEMENTWISE, re.compile(r"_?upsample_nearest(_exact)?\dd|max_unpool\dd|index_(fill|copy)"
                             r"|(masked_|slice_|select_|diagonal_|as_strided_)?scatter(_backward)?")),
    (ATTENTION, re.compile(r".*(attention|varlen_attn).*")),
    (CONVOLUTION, re.compile(r"(.*_)?conv.*")),
    (MATMUL, re.compile(r"_?(scaled_|int_|grouped_|scaled_grouped_)?(add|badd)?(mm|bmm|mv|r|dot)(_activation)?"
                        r"|vdot|linear|matmul|_trilinear|_transformer_encoder_layer_fwd")),
    (NORMALIZATION, re.compile(r".*(softmax|(batch|layer|group|instance|rms|weight)_norm).*")),
    (REDUCTION, re.compile(r"(nan)?(sum|mean|prod|std|var|std_mean|var_mean|median|max|min|amax|amin|aminmax"
                           r"|argmax|argmin|sort|topk|norm|linalg_vector_norm|logsumexp|logcumsumexp|cum\w+)")),
    (OTHER, re.compile(r".*(pool|upsample|embedding|index|gather|scatter|loss|cross_entropy|fft|rnn|lstm|gru"
                       r"|grid_sampler|cdist|linalg_).*|take")),
)


def op_class(op: str) -> str:
    """The class of a recorded op name.

    Example:
        >>> op_class("aten.mm.default"), op_class("aten._scaled_dot_product_flash_attention.default")
        ('matmul', 'attention')
        >>> op_class("aten.native_layer_norm_backward.default"), op_class("aten.add_.Tensor")
        ('normalization', 'elementwise')
    """
    name = _bare(op)
    for cls, pattern in _RULES:
        if pattern.fullmatch(name):
            return cls
    return ELEMENTWISE


def _bare(op: str) -> str:
    """"aten.add_.Tensor" -> "add"; "flex_attention" stays (a higher-order op has no namespace)."""
    parts = op.split(".")
    if len(parts) >= 3:
        name = parts[1]  # namespace.name.overload
    elif len(parts) == 2:
        name = parts[1]  # namespace.name (a packet)
    else:
        name = parts[0]
    return name[:-1] if name.endswith("_") and not name.endswith("__") else name
