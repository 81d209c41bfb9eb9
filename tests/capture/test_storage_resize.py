"""A storage resized in place (FSDP2 frees and re-allocates its unsharded parameters so) is
freed and allocated in the memory record, and the wrapper is gone after the run."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight


class FreesItsScratch(nn.Module):
    """Makes a 1,000-float scratch tensor, frees its storage in place, then makes another."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scratch = x.new_zeros(1000)
        scratch.untyped_storage().resize_(0)
        again = x.new_ones(1000)
        return x + again.sum()


def test_a_storage_resized_to_zero_is_freed() -> None:
    model = FreesItsScratch()
    memory = flopsight.profile(model, torch.zeros(4), memory=True).memory
    assert memory is not None
    # without the resize both scratch tensors (4,000 bytes each) would be live at the second
    # one's creation; with it, never more than one
    assert memory.peak_bytes < 2 * 4000


def test_resize_is_restored_after_the_run_also_when_it_raises() -> None:
    original = torch.UntypedStorage.resize_

    class Raises(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            assert torch.UntypedStorage.resize_ is not original  # reported while the run is on
            raise ValueError("boom")

    with pytest.raises(ValueError):
        flopsight.profile(Raises(), torch.zeros(2), memory=True)
    assert torch.UntypedStorage.resize_ is original
    flopsight.profile(FreesItsScratch(), torch.zeros(4), memory=True)
    assert torch.UntypedStorage.resize_ is original
