"""Activation bytes against an independent oracle: the storages autograd saves, seen through
saved-tensor hooks (``memory_oracles.saved_activation_bytes``), on CPU.

The oracle runs on one copy of each model and flopsight on another, built from the same seed;
for what nothing but autograd holds the two must agree to the byte.
"""

from __future__ import annotations

import pytest
import torch

import flopsight
import memory_models as models
from memory_models import CASES
from memory_oracles import saved_activation_bytes

F32, BF16 = 4, 2


def ours(case: models.Case) -> int:
    p = flopsight.profile(case.build(), *case.inputs(), backward=True, loss_fn=case.loss_fn, memory=True)
    assert p.memory is not None
    return p.memory.activation_bytes


@pytest.mark.parametrize("name", list(CASES))
def test_activation_bytes_equal_the_saved_tensors(name: str) -> None:
    # "checkpointed block": a non-reentrant checkpoint keeps its inputs through
    # _NoopSaveInputs.save_for_backward, outside its own hooks, so the oracle sees them too.
    case = CASES[name]
    if case.needs:
        pytest.importorskip(case.needs)
    assert ours(case) == saved_activation_bytes(case.build(), *case.inputs())


@pytest.mark.parametrize(("name", "by_hand"), [
    ("conv net", 2 * 2 * 8 * 6 * 6 * F32 + 2 * 8 * F32 + 2 * 8 * F32),  # test_memory_by_hand
    ("attention", 4 * 2 * 5 * 16 * F32 + 2 * 2 * 5 * F32),
    ("checkpointed block", 2 * 4 * 16 * F32),
    ("frozen mlp", 4 * 32 * F32),
])
def test_the_oracle_agrees_with_the_hand_derivations(name: str, by_hand: int) -> None:
    case = CASES[name]
    assert saved_activation_bytes(case.build(), *case.inputs()) == by_hand


def test_under_autocast_the_oracle_misses_only_the_cached_copies_autograd_does_not_save() -> None:
    # Autocast's cast cache holds the bf16 copy of every parameter until the region ends; of
    # those autograd saves only W2's (the second addmm's mat2, for h2's gradient): W1's is not
    # saved (x needs no gradient), nor the biases' (addmm never saves its bias). flopsight
    # counts what outlives the forward, so it adds those three copies to the oracle's sum.
    unsaved = (16 * 32 + 32 + 8) * BF16  # W1 [32, 16], b1 [32], b2 [8] in bf16: 1,104
    case = CASES["mlp"]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        reference = saved_activation_bytes(case.build(), *case.inputs())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        measured = ours(case)
    assert reference == 4 * 16 * BF16 + 4 * 32 * BF16 + 32 * 8 * BF16  # x, h2 and W2 in bf16: 896
    assert measured == reference + unsaved


def test_a_returned_kv_cache_is_output_not_activation() -> None:
    pytest.importorskip("transformers")
    with_cache = models.Case(lambda: models.tiny_llama(use_cache=True), loss_fn=models.hidden_states)
    p = flopsight.profile(with_cache.build(), *with_cache.inputs(), backward=True, loss_fn=with_cache.loss_fn,
                          memory=True)
    assert p.memory is not None
    cache = 2 * 2 * 1 * 2 * 8 * 16 * F32  # layers x (K, V) x [batch, kv heads, seq, head dim]
    assert p.memory.output_bytes == 1 * 8 * 64 * F32 + cache  # last hidden state [1, 8, 64] and the cache
    assert p.memory.activation_bytes == saved_activation_bytes(with_cache.build(), *with_cache.inputs())
