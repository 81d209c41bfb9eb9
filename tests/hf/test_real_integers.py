"""RealIntegersMode: integer tensors stay real on the CPU while floating ones stay on meta."""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

from flopsight.hf.real_integers import RealIntegersMode


def test_integer_tensors_made_for_meta_are_real_on_the_cpu() -> None:
    with RealIntegersMode():
        positions = torch.arange(5, device="meta")
        mask = torch.ones(2, 3, dtype=torch.bool, device="meta")
        moved = torch.tensor([3, 1, 2]).to("meta")
        floats = torch.zeros(4, device="meta")
    assert positions.device.type == "cpu" and positions.tolist() == [0, 1, 2, 3, 4]
    assert mask.device.type == "cpu" and bool(mask.all())
    assert moved.device.type == "cpu" and moved.tolist() == [3, 1, 2]
    assert floats.device.type == "meta"


def test_mixed_ops_run_on_meta_and_a_boolean_mask_selects_its_rows() -> None:
    hidden = torch.empty(2, 6, 8, device="meta")
    ids = torch.tensor([[1, 9, 9, 1, 1, 9], [9, 1, 1, 1, 1, 1]])
    with RealIntegersMode():
        selected = hidden[ids == 9]  # 4 positions hold the placeholder token
        shifted = hidden + ids[..., None]
        scattered = hidden.masked_scatter((ids == 9)[..., None].expand_as(hidden), torch.empty(4, 8, device="meta"))
    assert selected.shape == (4, 8) and selected.device.type == "meta"
    assert shifted.shape == (2, 6, 8) and shifted.device.type == "meta"
    assert scattered.shape == (2, 6, 8)


def test_large_integer_tensors_stay_on_meta() -> None:
    with RealIntegersMode(max_numel=10):
        small = torch.arange(10, device="meta")
        large = torch.arange(11, device="meta")
    assert small.device.type == "cpu" and large.device.type == "meta"


def test_the_mode_is_gone_after_the_block_also_on_error() -> None:
    try:
        with RealIntegersMode():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert _get_current_dispatch_mode_stack() == []
