"""measure_time: positive, per-iteration, consistent timings that leave no trace."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.modules import module as nn_module

from flopsight.errors import InputError
from flopsight.timing import TimingResult, measure_time, summarize


def small_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(64, 128),
        nn.ReLU(),
        nn.Sequential(nn.Linear(128, 128), nn.GELU()),
        nn.Linear(128, 8),
    )


def global_hook_counts() -> tuple[int, int]:
    return len(nn_module._global_forward_pre_hooks), len(nn_module._global_forward_hooks)


def test_timings_are_positive_for_every_module_and_phase() -> None:
    model = small_mlp()
    t = measure_time(model, torch.randn(4, 64), warmup=1, repeat=3, backward=True)
    assert t.forward.median > 0 and t.backward is not None and t.backward.median > 0
    assert t.iteration.median >= t.forward.median
    assert set(t.modules) == {name for name, _ in model.named_modules()}
    for timing in t.modules.values():
        assert timing.calls == 1
        assert timing.forward.count == 3 and timing.forward.min > 0
        assert timing.backward is not None and timing.backward.median > 0


def test_parent_forward_latency_covers_its_children() -> None:
    model = small_mlp()
    t = measure_time(model, torch.randn(16, 64), warmup=1, repeat=5)
    for parent in ("", "2"):
        children = [name for name in t.modules if name and name.rpartition(".")[0] == parent]
        assert children
        for i in range(t.repeat):
            # Per iteration, the parent's interval contains its children's intervals.
            own = t.module(parent).forward.samples[i]
            summed = sum(t.module(c).forward.samples[i] for c in children)
            assert own >= summed - 1e-6, (parent, i, own, summed)


def test_repeats_are_measured_per_iteration_not_cumulatively() -> None:
    model = small_mlp()
    x = torch.randn(8, 64)
    few = measure_time(model, x, warmup=2, repeat=3)
    many = measure_time(model, x, warmup=2, repeat=30)
    assert few.forward.count == 3 and many.forward.count == 30
    # Cumulative samples would grow about tenfold; per-iteration ones stay the same size.
    assert many.forward.median < 5 * few.forward.median
    assert many.module("0").forward.median < 5 * few.module("0").forward.median
    again = measure_time(model, x, warmup=2, repeat=3)
    assert again.forward.median < 5 * few.forward.median


def test_shared_module_calls_are_summed_per_iteration() -> None:
    layer = nn.Linear(16, 16)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    t = measure_time(model, torch.randn(2, 16), warmup=0, repeat=2)
    assert t.module("0").calls == 2 and "2" not in t.modules


def test_throughput_from_batch_and_token_ids() -> None:
    model = nn.Sequential(nn.Embedding(100, 16), nn.Linear(16, 4))
    ids = torch.randint(0, 100, (3, 7))
    t = measure_time(model, ids, warmup=0, repeat=2)
    assert t.batch_size == 3 and t.tokens == 21
    assert t.samples_per_s == pytest.approx(3 / t.iteration.median)
    assert t.tokens_per_s == pytest.approx(21 / t.iteration.median)
    floats = measure_time(nn.Linear(4, 4), torch.randn(5, 4), warmup=0, repeat=1)
    assert floats.batch_size == 5 and floats.tokens is None and floats.tokens_per_s is None


def test_no_hooks_left_behind_also_when_the_forward_raises() -> None:
    before = global_hook_counts()
    measure_time(small_mlp(), torch.randn(2, 64), warmup=0, repeat=1, backward=True)
    assert global_hook_counts() == before
    with pytest.raises(RuntimeError):
        measure_time(small_mlp(), torch.randn(2, 63), warmup=0, repeat=1)  # wrong width
    assert global_hook_counts() == before
    # A second run after the failure equals a fresh one in shape.
    t = measure_time(small_mlp(), torch.randn(2, 64), warmup=0, repeat=1)
    assert all(m.calls == 1 for m in t.modules.values())


def test_training_step_restores_grads_weights_buffers_and_optimizer_state() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    x = torch.randn(4, 8)
    # An earlier real step: existing grads and optimizer moments must survive the timing.
    model(x).sum().backward()
    optimizer.step()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.grad.clone() for p in model.parameters()]
    moments = [optimizer.state[p]["exp_avg"].clone() for p in model.parameters()]
    rng = torch.get_rng_state()

    t = measure_time(model, x, warmup=1, repeat=3, optimizer=optimizer,
                     loss_fn=lambda out: out.pow(2).mean())
    assert t.optimizer_step is not None and t.optimizer_step.median > 0
    assert t.backward is not None
    assert t.iteration.median >= t.forward.median

    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    for p, g, m in zip(model.parameters(), grads, moments):
        assert torch.equal(p.grad, g)
        assert torch.equal(optimizer.state[p]["exp_avg"], m)
    assert torch.equal(torch.get_rng_state(), rng)


def test_backward_timing_leaves_absent_grads_absent() -> None:
    model = small_mlp()
    measure_time(model, torch.randn(2, 64), warmup=0, repeat=2, backward=True)
    assert all(p.grad is None for p in model.parameters())


def test_bad_arguments() -> None:
    with pytest.raises(InputError):
        measure_time(small_mlp(), torch.randn(2, 64), repeat=0)
    with pytest.raises(InputError):
        measure_time("not a model", torch.randn(2, 64))  # type: ignore[arg-type]


def test_summarize_and_round_trip() -> None:
    s = summarize([3.0, 1.0, 2.0, 4.0])
    assert (s.median, s.min, s.max, s.mean, s.iqr) == (2.5, 1.0, 4.0, 2.5, 1.5)  # quartiles 1.75 and 3.25
    t = measure_time(small_mlp(), torch.randn(2, 64), warmup=0, repeat=2, backward=True)
    assert TimingResult.from_dict(t.to_dict()) == t


def test_forward_only_restores_batch_norm_statistics_and_train_flag() -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    measure_time(model, torch.randn(4, 8), warmup=1, repeat=2)
    assert model.training and all(m.training for m in model.modules())
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_grads_restored_when_a_training_step_raises() -> None:
    model = small_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    model(torch.randn(2, 64)).sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    weights = [p.detach().clone() for p in model.parameters()]
    before = global_hook_counts()

    def failing_loss(out: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("loss failed")

    with pytest.raises(RuntimeError, match="loss failed"):
        measure_time(model, torch.randn(2, 64), warmup=0, repeat=1, optimizer=optimizer, loss_fn=failing_loss)
    assert global_hook_counts() == before
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads))
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), weights))


def test_checkpoint_recomputation_is_not_timed_as_forward() -> None:
    from torch.utils.checkpoint import checkpoint

    class Checkpointed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Sequential(nn.Linear(16, 16), nn.Tanh())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return checkpoint(self.inner, x, use_reentrant=False)

    t = measure_time(Checkpointed(), torch.randn(4, 16), warmup=0, repeat=2, backward=True)
    assert t.module("inner").calls == 1 and t.module("inner.0").calls == 1
    assert t.module("inner").backward is not None and t.module("inner").backward.median > 0


def test_backward_latency_of_parent_covers_its_slowest_child() -> None:
    model = small_mlp()
    t = measure_time(model, torch.randn(64, 64), warmup=1, repeat=3, backward=True)
    root = t.module("").backward
    assert root is not None
    for name in ("0", "2", "3"):
        child = t.module(name).backward
        assert child is not None and child.median <= root.median * 1.05 + 1e-4


def test_fresh_optimizer_stays_empty_after_a_timed_training_step() -> None:
    model = nn.Linear(4, 4)
    weights = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.AdamW(model.parameters())
    measure_time(model, torch.randn(2, 4), warmup=0, repeat=2, optimizer=optimizer)
    assert not optimizer.state and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), weights))


def test_whole_model_iterations_run_with_no_hook_and_modules_in_as_many_more() -> None:
    seen: list[tuple[int, int]] = []

    class Spy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(global_hook_counts())
            return self.linear(x)

    t = measure_time(Spy(), torch.randn(2, 4), warmup=2, repeat=3)
    assert seen == [(0, 0)] * (2 + 3) + [(1, 1)] * 3
    assert t.forward.count == 3 and t.module("linear").forward.count == 3
    seen.clear()
    measure_time(Spy(), torch.randn(2, 4), warmup=2, repeat=3, per_module=False)
    assert seen == [(0, 0)] * (2 + 3)
