"""Op classes: recorded names by hand, and every registered formula's op in its family's class."""

from __future__ import annotations

import pytest

import flopsight.costs  # noqa: F401  (registers every formula)
from flopsight.costs import registry
from flopsight.tree.op_classes import OP_CLASSES, op_class

# The cost formulas' family module -> the class its ops belong to.
FAMILY_CLASS = {
    "matmul": "matmul", "composite": "matmul", "convolution": "convolution", "attention": "attention",
    "flex_attention": "attention", "normalization": "normalization", "reduction": "reduction",
    "pointwise": "elementwise", "dropout": "elementwise", "data_movement": "elementwise",
    "distance": "other", "interpolation": "other", "linalg": "other", "losses": "other", "pooling": "other",
    "recurrent": "other", "sampling": "other", "sparse": "other", "spectral": "other",
}
# fused_attention.py holds two fused paths: multi-head attention, and a whole encoder layer,
# whose time is its GEMMs'.
FUSED = {"aten._native_multi_head_attention": "attention", "aten._transformer_encoder_layer_fwd": "matmul"}


@pytest.mark.parametrize(("op", "expected"), [
    ("aten.mm.default", "matmul"), ("aten.addmm.default", "matmul"), ("aten.bmm.default", "matmul"),
    ("aten.baddbmm.default", "matmul"), ("aten._scaled_mm.default", "matmul"), ("aten.linear.default", "matmul"),
    ("aten.convolution.default", "convolution"), ("aten.convolution_backward.default", "convolution"),
    ("aten._scaled_dot_product_flash_attention.default", "attention"),
    ("aten._scaled_dot_product_efficient_attention_backward.default", "attention"),
    ("aten._scaled_dot_product_cudnn_attention.default", "attention"), ("flex_attention", "attention"),
    ("flex_attention_backward", "attention"), ("torch_attn._varlen_attn.default", "attention"),
    ("aten.native_layer_norm.default", "normalization"), ("aten._fused_rms_norm.default", "normalization"),
    ("aten._softmax.default", "normalization"), ("aten._softmax_backward_data.default", "normalization"),
    ("aten.sum.dim_IntList", "reduction"), ("aten.mean.dim", "reduction"), ("aten.linalg_vector_norm.default", "reduction"),
    ("aten.add.Tensor", "elementwise"), ("aten.add_.Tensor", "elementwise"), ("aten.mul.Tensor", "elementwise"),
    ("aten.addcmul_.default", "elementwise"), ("aten.gelu.default", "elementwise"),
    ("aten.native_dropout.default", "elementwise"), ("aten.cat.default", "elementwise"),
    ("aten.embedding.default", "other"), ("aten.max_pool2d_with_indices.default", "other"),
    ("aten.nll_loss_forward.default", "other"), ("aten.index_select.default", "other"),
])
def test_recorded_names_fall_in_their_class(op: str, expected: str) -> None:
    assert op_class(op) == expected


def test_every_registered_formula_op_is_in_its_family_class() -> None:
    formulas = registry.REGISTRY._formulas  # the one registry the decorators fill
    assert formulas, "no formulas registered"
    wrong = []
    for op, formula in formulas.items():
        name = str(op)
        family = formula.__module__.rsplit(".", 1)[-1]
        expected = FUSED.get(name) or FAMILY_CLASS[family]
        recorded = name + ".default" if "." in name else name  # a higher-order op has no overload
        if op_class(recorded) != expected or op_class(name) != expected:
            wrong.append((name, family, op_class(name)))
    assert wrong == []


def test_every_class_is_listed() -> None:
    assert set(FAMILY_CLASS.values()) | set(FUSED.values()) == set(OP_CLASSES)


def test_the_docstring_examples_hold() -> None:
    import doctest

    from flopsight.tree import op_classes

    result = doctest.testmod(op_classes)
    assert result.attempted == 2 and result.failed == 0
