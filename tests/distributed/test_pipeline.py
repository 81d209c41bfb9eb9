"""The pipeline split: contiguous layer slices, the bubble and the point-to-point message."""

from __future__ import annotations

import pytest
import torch

from tiny_llama import EMBEDDING, HIDDEN, LAYER_PARAMS, tiny_llama

from flopsight.distributed.pipeline import bubble_fraction, build_stage, hidden_state_bytes, split_layers
from flopsight.errors import InputError
from flopsight.hf import build_model


def test_layers_are_split_as_evenly_as_possible_the_first_stages_taking_the_rest() -> None:
    # 126 = 4 x 31 + 2: the first two stages get 32
    plans = split_layers(126, 4)
    assert [(p.layers.start, p.layers.stop) for p in plans] == [(0, 32), (32, 64), (64, 95), (95, 126)]
    assert [(p.has_embedding, p.has_head) for p in plans] == [(True, False), (False, False), (False, False),
                                                              (False, True)]


def test_more_stages_than_layers_are_refused() -> None:
    with pytest.raises(InputError, match="pp=5 stages need at least 5 decoder layers"):
        split_layers(4, 5)


@pytest.mark.parametrize(("pp", "microbatches"), [(1, 1), (2, 1), (4, 8), (8, 32)])
def test_bubble_is_pp_minus_one_over_m_plus_pp_minus_one(pp: int, microbatches: int) -> None:
    assert bubble_fraction(pp, microbatches) == pytest.approx((pp - 1) / (microbatches + pp - 1))


def test_one_message_is_the_hidden_states_of_a_microbatch() -> None:
    # [2, 4096, 16384] bfloat16: 2 bytes each
    assert hidden_state_bytes(2, 4096, 16384, torch.bfloat16) == 2 * 4096 * 16384 * 2


def test_a_stage_keeps_its_slice_and_leaves_the_model_whole() -> None:
    model = build_model(tiny_llama(num_hidden_layers=3))
    before = sum(p.numel() for p in model.parameters())
    middle = build_stage(model, split_layers(3, 3)[1])
    assert {name for name, _ in middle.named_parameters()} == {
        f"model.layers.0.{name}" for name, _ in model.model.layers[1].named_parameters()}  # type: ignore[index, union-attr]
    assert sum(p.numel() for p in middle.parameters()) == LAYER_PARAMS
    first = build_stage(model, split_layers(3, 3)[0])
    assert sum(p.numel() for p in first.parameters()) == EMBEDDING + LAYER_PARAMS
    assert sum(p.numel() for p in model.parameters()) == before == 3 * LAYER_PARAMS + 2 * EMBEDDING + HIDDEN
