"""A closed form against a measured Profile: per term, and the difference named by op class.

flopsight counts attention in full (``flopsight.conventions``), so the measured matmul-class
FLOPs (2 x MACs) meet Megatron's formula with attention in full; a causal mask's discarded
part is the profile's ``masked_flops``. Everything in the count that is not matmul-class is
named: norms, attention's softmax, scale and mask, and the other elementwise ops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..errors import InputError
from ..records import Phase
from ..tree.op_classes import ATTENTION as ATTENTION_CLASS, op_class
from .estimate import Estimate
from .formulas import ClosedForm
from .shape import DualEncoderShape, EncoderDecoderShape

if TYPE_CHECKING:
    from ..tree import ModuleNode, Profile

# The measured matmul-class work per Megatron term, found by module name (HF decoders).
ATTENTION = "attention"  # attention_scores + attention_values, one fused op
TERMS = ("patch_embedding", "qkv_projections", ATTENTION, "output_projection", "mlp", "router", "head_transform",
         "pooler", "logits", "other_matmul")
_LEAF_TERMS = {"q_proj": "qkv_projections", "k_proj": "qkv_projections", "v_proj": "qkv_projections",
               "qkv_proj": "qkv_projections", "o_proj": "output_projection", "lm_head": "logits",
               # BERT's names (ViT's are the decoders' q_proj ... mlp.fc1 in transformers 5)
               "query": "qkv_projections", "key": "qkv_projections", "value": "qkv_projections",
               "decoder": "logits", "classifier": "logits",
               "out_proj": "output_projection", "patch_embedding": "patch_embedding"}  # CLIP's
# BERT's and ViT's (before transformers 5) other Linear / Conv2d modules, by the end of their path.
_PATH_TERMS = {("attention", "output", "dense"): "output_projection", ("intermediate", "dense"): "mlp",
               ("output", "dense"): "mlp", ("transform", "dense"): "head_transform", ("pooler", "dense"): "pooler",
               ("patch_embeddings", "projection"): "patch_embedding"}

# T5's, in table order: each attention (one fused op) by its stack, the cross-attention apart.
ENCODER_DECODER_TERMS = ("encoder_qkv_projections", "encoder_attention", "encoder_output_projection", "encoder_mlp",
                         "decoder_qkv_projections", "decoder_attention", "decoder_output_projection",
                         "cross_q_projection", "cross_kv_projections", "cross_attention", "cross_output_projection",
                         "decoder_mlp", "logits", "other_matmul")

# CLIPModel's: each tower's terms under its prefix, then what joins them.
DUAL_ENCODER_TERMS = (*(f"{tower}_{t}" for tower in ("vision", "text") for t in TERMS if t != "other_matmul"),
                      "projections", "contrastive_logits", "other_matmul")
_DUAL_LEAVES = {"visual_projection": "projections", "text_projection": "projections"}

NORMS = "norms"
ATTENTION_ELEMENTWISE = "attention softmax, scale and mask"
OTHER_ELEMENTWISE = "other elementwise (activations, rotary, residual and bias adds)"


@dataclass(frozen=True, slots=True)
class TermComparison:
    """One Megatron term: the formula's FLOPs and the measured matmul-class FLOPs (2 x MACs)."""

    term: str
    formula: int
    measured: int

    @property
    def difference(self) -> int:
        return self.measured - self.formula

    def to_dict(self) -> dict[str, Any]:
        return {"term": self.term, "formula": self.formula, "measured": self.measured, "difference": self.difference}


@dataclass(frozen=True, slots=True)
class Comparison:
    """Closed forms of ``estimate`` beside one measured forward.

    Attributes:
        terms: per Megatron term, formula (attention in full) vs measured 2 x MACs.
        measured_flops: the profile's forward FLOPs (everything counted).
        elementwise: the FLOPs that are not matmul-class, by op class; they add up to
            ``measured_flops - matmul_measured``.
        masked_flops: the profile's causal-discarded FLOPs; ``masked_matmul`` of them are
            matmul-class (Megatron full minus causal), the rest the softmax and mask of the
            discarded scores.
    """

    estimate: Estimate
    terms: list[TermComparison]
    measured_flops: int
    elementwise: dict[str, int]
    masked_flops: int
    measured_params: int

    @property
    def full(self) -> ClosedForm:
        return self.estimate.megatron_form(causal=False)

    @property
    def causal(self) -> ClosedForm:
        return self.estimate.megatron_form(causal=True)

    @property
    def matmul_formula(self) -> int:
        return sum(t.formula for t in self.terms)

    @property
    def matmul_measured(self) -> int:
        return sum(t.measured for t in self.terms)

    @property
    def masked_matmul(self) -> int:
        return self.full.forward - self.causal.forward

    @property
    def effective_flops(self) -> int:
        """Measured FLOPs without what a causal mask discards."""
        return self.measured_flops - self.masked_flops

    def differences(self) -> list[tuple[str, int, float]]:
        """The measured total minus the formula (full attention), named: (what, FLOPs, share of the formula)."""
        base = self.matmul_formula
        named = [("matmul-class: count vs formula", self.matmul_measured - base)]
        named += list(self.elementwise.items())
        return [(what, flops, flops / base if base else 0.0) for what, flops in named]

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": {"formula": self.estimate.total_params, "measured": self.measured_params},
            "terms": [t.to_dict() for t in self.terms],
            "matmul_class": {"formula": self.matmul_formula, "measured": self.matmul_measured},
            "measured_flops": self.measured_flops,
            "differences": {what: flops for what, flops, _ in self.differences()},
            "causal": {"formula": self.causal.forward, "measured_effective_flops": self.effective_flops,
                       "masked_flops": self.masked_flops, "masked_matmul": self.masked_matmul,
                       # nothing discarded in the count (T5: the mask is inside the position bias): none of it elementwise
                       "masked_elementwise": self.masked_flops - self.masked_matmul if self.masked_flops else 0},
        }


def compare(estimate: Estimate, profile: Profile) -> Comparison:
    """Megatron's terms against the forward measured in ``profile``, the rest named by op class.

    Args:
        estimate: from ``flopsight.estimate`` for the same model and sizes.
        profile: one measured forward (``flopsight.profile``, ``flopsight.hf.profile_forward``).

    Returns:
        A ``Comparison``: per term formula vs measured, and the non-matmul FLOPs by class.

    Raises:
        InputError: the profile describes other sizes than the estimate (a different token
            count is the commonest reason a formula and a count disagree).
    """
    _check_sizes(estimate, profile)
    names, term_of = _terms_for(estimate)
    measured = dict.fromkeys(names, 0)
    elementwise = dict.fromkeys((NORMS, ATTENTION_ELEMENTWISE, OTHER_ELEMENTWISE), 0)
    masked = 0
    for node in profile.modules():
        for op, totals in node.own_ops.get(Phase.FORWARD, {}).items():
            masked += totals.masked_flops
            rest = totals.flops - 2 * totals.macs
            if totals.macs:
                measured[term_of(node, op)] += 2 * totals.macs
            if op_class(op) == ATTENTION_CLASS:
                elementwise[ATTENTION_ELEMENTWISE] += rest
            elif "norm" in node.type.lower():
                elementwise[NORMS] += rest
            else:
                elementwise[OTHER_ELEMENTWISE] += rest
    formula = fused_attention(estimate.megatron_form(causal=False).terms)
    terms = [TermComparison(t, formula.get(t, 0), measured[t]) for t in names if t in formula or measured[t]]
    return Comparison(estimate, terms, profile.forward.flops, elementwise, masked, profile.params)


def measured_term(term: str) -> str:
    """The measured term a formula term is part of: X_attention for X_attention_scores and _values
    (attention is one fused op in the count), else the term itself."""
    return term.rsplit("_", 1)[0] if term.endswith(("attention_scores", "attention_values")) else term


def fused_attention(terms: dict[str, int]) -> dict[str, int]:
    """Megatron's terms with each attention's scores and values summed, as the count has them."""
    fused: dict[str, int] = {}
    for term, flops in terms.items():
        fused[measured_term(term)] = fused.get(measured_term(term), 0) + flops
    return fused


def _terms_for(estimate: Estimate) -> tuple[tuple[str, ...], Callable[[ModuleNode, str], str]]:
    """The measured terms of a shape, in table order, and how a module's op finds its term."""
    if isinstance(estimate.shape, EncoderDecoderShape):
        return ENCODER_DECODER_TERMS, _t5_term_of
    if isinstance(estimate.shape, DualEncoderShape):
        return DUAL_ENCODER_TERMS, _clip_term_of
    return TERMS, _term_of


def _clip_term_of(node: ModuleNode, op: str) -> str:
    parts = node.name.split(".")
    if parts[0] in _DUAL_LEAVES:
        return _DUAL_LEAVES[parts[0]]
    if parts[0] in ("vision_model", "text_model"):
        term = _term_of(node, op)
        return "other_matmul" if term == "other_matmul" else f"{parts[0].removesuffix('_model')}_{term}"
    # CLIPModel's own matmul: image_embeds x text_embeds^T (logits_per_text is its transpose)
    return "contrastive_logits" if node.name == "" else "other_matmul"


def _t5_term_of(node: ModuleNode, op: str) -> str:
    parts = node.name.split(".")
    if parts[-1] == "lm_head":
        return "logits"
    stack = parts[0]
    if stack not in ("encoder", "decoder"):
        return "other_matmul"
    cross = "EncDecAttention" in parts
    prefix = "cross" if cross else stack
    if "attention" in op:
        return f"{prefix}_attention"
    if parts[-1] in ("q", "k", "v"):
        if cross:  # q reads the decoder's tokens, k and v the encoder's output
            return "cross_q_projection" if parts[-1] == "q" else "cross_kv_projections"
        return f"{stack}_qkv_projections"
    if parts[-1] == "o":
        return f"{prefix}_output_projection"
    return f"{stack}_mlp" if "DenseReluDense" in parts else "other_matmul"


def _term_of(node: ModuleNode, op: str) -> str:
    if op_class(op) == ATTENTION_CLASS:
        return ATTENTION
    parts = node.name.split(".")
    if parts[-1] in _LEAF_TERMS:
        return _LEAF_TERMS[parts[-1]]
    for path, term in _PATH_TERMS.items():  # the longest paths first: attention.output.dense before output.dense
        if tuple(parts[-len(path):]) == path:
            return term
    if "router" in node.type.lower() or (parts[-1] == "gate" and "experts" not in parts):
        return "router"  # Mixtral's MixtralTopKRouter at mlp.gate (block_sparse_moe.gate before)
    if {"mlp", "experts", "block_sparse_moe"} & set(parts) or parts[-1] in ("gate_proj", "up_proj", "down_proj"):
        return "mlp"
    return "other_matmul"


def _check_sizes(estimate: Estimate, profile: Profile) -> None:
    described = profile.metadata.get("input_description") or {}
    batch, seq = described.get("batch_size"), described.get("seq_len")
    if batch is not None and seq is not None and (batch, seq) != (estimate.batch_size, estimate.seq_len):
        raise InputError(f"the profile ran batch {batch} x seq {seq} tokens and the estimate is for "
                         f"batch {estimate.batch_size} x seq {estimate.seq_len}: estimate the same sizes")
    decoder = described.get("decoder_seq_len")
    if decoder is not None and decoder != estimate.decoder_seq_len:
        raise InputError(f"the profile ran {decoder} decoder tokens per sample and the estimate is for "
                         f"{estimate.decoder_seq_len}: estimate the same decoder_seq_len")
