"""Pipeline parallelism as torchtitan's ``pipeline_llm`` splits a decoder: contiguous slices of
its layers, the embedding on the first stage, the final norm and the head on the last.

Each stage is a ``DecoderStage``: an ``nn.Module`` over a copy of the meta model with the other
stages' layers deleted, so it is profiled like any model (``flopsight.profile``). Its module
names are the Hugging Face ones (``model.layers.0.self_attn.q_proj``, ``lm_head``), with one
difference: the kept layers are renumbered from 0 (a ``ModuleList`` has positions, not names),
so stage s's ``model.layers.i`` is the model's layer ``stage.layers.start + i``.

What flows between stages is one hidden-state tensor per microbatch, [microbatch, seq, hidden]
in the model's dtype, sent forward, and its gradient of the same size sent back when training.
The schedule's idle share (the bubble) is analytic: GPipe and 1F1B both leave each stage idle
for pp - 1 of the m + pp - 1 microbatch slots.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import InputError


@dataclass(frozen=True, slots=True)
class StagePlan:
    """Which part of the model pipeline stage ``index`` of ``count`` keeps."""

    index: int
    count: int
    layers: range

    @property
    def has_embedding(self) -> bool:
        return self.index == 0

    @property
    def has_head(self) -> bool:
        return self.index == self.count - 1


def split_layers(num_layers: int, pp: int) -> list[StagePlan]:
    """Cut ``num_layers`` decoder layers into ``pp`` contiguous stages, as evenly as possible:
    the first ``num_layers % pp`` stages get one layer more.

    Example:
        >>> [plan.layers for plan in split_layers(126, 4)]
        [range(0, 32), range(32, 64), range(64, 95), range(95, 126)]
    """
    if not isinstance(pp, int) or pp < 1:
        raise InputError(f"pp must be a positive int, got {pp!r}")
    if pp > num_layers:
        raise InputError(f"pp={pp} stages need at least {pp} decoder layers; the model has {num_layers}")
    base, extra = divmod(num_layers, pp)
    plans, start = [], 0
    for index in range(pp):
        size = base + (1 if index < extra else 0)
        plans.append(StagePlan(index, pp, range(start, start + size)))
        start += size
    return plans


def bubble_fraction(pp: int, microbatches: int) -> float:
    """The share of a step each stage idles under GPipe or 1F1B: (pp - 1) / (m + pp - 1).

    Example:
        >>> bubble_fraction(4, 8)
        0.2727272727272727
    """
    if pp < 1 or microbatches < 1:
        raise InputError(f"pp and microbatches must be positive, got {pp} and {microbatches}")
    return (pp - 1) / (microbatches + pp - 1)


def hidden_state_bytes(microbatch: int, seq_len: int, hidden_size: int, dtype: torch.dtype) -> int:
    """Bytes of one point-to-point message: the [microbatch, seq, hidden] hidden states (or their
    gradient, the same size)."""
    # [microbatch, seq_len, hidden_size] x bytes per element
    return microbatch * seq_len * hidden_size * dtype.itemsize


class DecoderStage(nn.Module):
    """One pipeline stage of a Llama-layout causal LM: (embedding) -> its layers -> (norm, head).

    Its forward is Hugging Face's ``LlamaModel.forward`` for a batch without padding: position
    ids 0..seq-1, the rotary embedding computed once and given to every layer, and no attention
    mask, so each layer's SDPA runs causal (``is_causal``), as a packed pretraining batch does.
    Hugging Face's own mask code cannot run here: on fake tensors it cannot read the mask's
    values, so it would build a dense [seq, seq] mask instead of the causal flag. A
    sliding-window layer (Mistral, Qwen2 with ``use_sliding_window``) computes the same only
    while the sequence fits in its window, which ``simulate`` checks.

    The first stage takes ``input_ids`` [batch, seq]; later stages take ``hidden_states``
    [batch, seq, hidden] from the stage before. The last stage returns the logits, the others
    the hidden states they send on.
    """

    def __init__(self, causal_lm: nn.Module, plan: StagePlan) -> None:
        super().__init__()
        self.plan = plan
        self.config: Any = getattr(causal_lm, "config", None)
        if not isinstance(getattr(causal_lm, "model", None), nn.Module):
            raise InputError(f"{type(causal_lm).__name__} has no .model decoder to split")
        inner: Any = causal_lm.model
        layers = inner.layers
        kept = nn.ModuleList(layers[i] for i in plan.layers)
        inner.layers = kept
        if not plan.has_embedding:
            inner.embed_tokens = None
        if not plan.has_head:
            inner.norm = None
        # The same attribute names as the task model, so module names match Hugging Face's.
        self.model = inner
        head: Any = causal_lm.lm_head
        self.lm_head = head if plan.has_head else None

    def forward(self, input_ids: torch.Tensor | None = None,
                hidden_states: torch.Tensor | None = None) -> torch.Tensor:
        inner: Any = self.model
        hidden: torch.Tensor
        if inner.embed_tokens is not None:
            if input_ids is None:
                raise InputError("the first pipeline stage takes input_ids")
            hidden = inner.embed_tokens(input_ids)
        elif hidden_states is None:
            raise InputError("a later pipeline stage takes the hidden_states of the one before")
        else:
            hidden = hidden_states
        # [1, seq]: the positions of one unpadded sequence, shared by the batch
        positions = torch.arange(hidden.shape[1], device=hidden.device).unsqueeze(0)
        rotary = inner.rotary_emb(hidden, position_ids=positions)
        for layer in inner.layers:
            out = layer(hidden, attention_mask=None, position_ids=positions, position_embeddings=rotary, use_cache=False)
            hidden = out[0] if isinstance(out, tuple) else out  # transformers 4.x layers return tuples
        if inner.norm is not None:
            hidden = inner.norm(hidden)
        head: Any = self.lm_head
        if head is not None:
            hidden = head(hidden)
        return hidden


def build_stage(causal_lm: nn.Module, plan: StagePlan) -> DecoderStage:
    """Stage ``plan`` of a meta ``causal_lm``, made from a deep copy (the model is unchanged), as
    torchtitan's ``pipeline_llm`` deletes the other stages' layers from a copy of the meta model.

    A model that ties its head to its embedding keeps the tie only when one stage has both
    (pp=1); with pp > 1 the first and last stages each hold their own copy, as Megatron and
    torchtitan do.
    """
    return DecoderStage(copy.deepcopy(causal_lm), plan)


def stage_inputs(plan: StagePlan, *, microbatch: int, seq_len: int, hidden_size: int, dtype: torch.dtype,
                 backward: bool, token_id: int) -> dict[str, torch.Tensor]:
    """The keyword inputs of one microbatch for stage ``plan``, made on the current device mode
    (under a FakeTensorMode: fake). A later stage's hidden states require grad when training,
    so the backward computes the gradient that stage sends back to the one before."""
    if plan.has_embedding:
        return {"input_ids": torch.full((microbatch, seq_len), token_id, dtype=torch.long)}
    hidden = torch.empty((microbatch, seq_len, hidden_size), dtype=dtype, requires_grad=backward)
    return {"hidden_states": hidden}
