"""The registry: one decorator in, errors on double registration, user ops counted."""

from __future__ import annotations

from typing import Iterator

import pytest
import torch

import flopsight
from flopsight import OpCost, RegistrationError, mark_free, register_cost, unregister_cost
from flopsight.costs import REGISTRY

aten = torch.ops.aten


@torch.library.custom_op("flopsight_test::scaled_add", mutates_args=())
def scaled_add(x: torch.Tensor, y: torch.Tensor, alpha: float) -> torch.Tensor:
    """x + alpha * y, a user op flopsight has no formula for."""
    return x + alpha * y


@scaled_add.register_fake
def _scaled_add_fake(x: torch.Tensor, y: torch.Tensor, alpha: float) -> torch.Tensor:
    return torch.empty_like(x)


SCALED_ADD = torch.ops.flopsight_test.scaled_add


def scaled_add_cost(x: torch.Tensor, y: torch.Tensor, alpha: float, *, out: torch.Tensor) -> OpCost:
    """One multiply and one add per output element."""
    return OpCost(flops=2 * out.numel())


@pytest.fixture
def scaled_add_registered() -> Iterator[None]:
    register_cost(SCALED_ADD)(scaled_add_cost)
    try:
        yield
    finally:
        unregister_cost(SCALED_ADD)


def _run_scaled_add(profile_op, device: str = "cpu") -> flopsight.Profile:
    x, y = torch.randn(3, 4, device=device), torch.randn(3, 4, device=device)
    return profile_op(lambda x, y: SCALED_ADD(x, y, 0.5), x, y)


def test_custom_op_without_formula_is_reported_uncounted(profile_op) -> None:
    p = _run_scaled_add(profile_op)
    assert p.uncounted_ops == {"flopsight_test.scaled_add.default": 1}
    assert p.forward.flops == 0


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_custom_op_with_registered_cost_is_counted(profile_op, per_op, scaled_add_registered, device) -> None:
    p = _run_scaled_add(profile_op, device)
    # 3 x 4 outputs, 2 FLOPs each
    assert per_op(p) == {"flopsight_test.scaled_add.default": (1, 0, 2 * 12)}
    assert p.uncounted_ops == {}


def test_unregistering_restores_uncounted(profile_op) -> None:
    register_cost(SCALED_ADD)(scaled_add_cost)
    assert _run_scaled_add(profile_op).uncounted_ops == {}
    unregister_cost(SCALED_ADD)
    assert _run_scaled_add(profile_op).uncounted_ops == {"flopsight_test.scaled_add.default": 1}


def test_registering_an_op_twice_raises(scaled_add_registered) -> None:
    with pytest.raises(RegistrationError, match="already"):
        register_cost(SCALED_ADD)(scaled_add_cost)
    assert REGISTRY.resolve(SCALED_ADD.default) is scaled_add_cost


def test_registering_a_builtin_again_raises_and_changes_nothing() -> None:
    before = REGISTRY.resolve(aten.mm.default)
    with pytest.raises(RegistrationError):
        register_cost(aten.mm)(scaled_add_cost)
    # a batch with one bad op registers none of them
    with pytest.raises(RegistrationError):
        register_cost(SCALED_ADD, aten.bmm)(scaled_add_cost)
    assert REGISTRY.resolve(SCALED_ADD.default) is None
    assert REGISTRY.resolve(aten.mm.default) is before


def test_marking_a_priced_op_free_raises() -> None:
    with pytest.raises(RegistrationError):
        mark_free(aten.mm)
    with pytest.raises(RegistrationError):
        mark_free(aten.view)  # already free


@pytest.mark.parametrize("not_an_op", [torch.mm, "aten::mm", None, len])
def test_registering_something_that_is_not_an_op_raises(not_an_op) -> None:
    with pytest.raises(RegistrationError, match="not|op"):
        register_cost(not_an_op)(scaled_add_cost)


def test_register_cost_needs_an_op() -> None:
    with pytest.raises(RegistrationError):
        register_cost()


def test_unregistering_an_unknown_op_raises() -> None:
    with pytest.raises(RegistrationError):
        unregister_cost(SCALED_ADD)


def test_an_overload_formula_is_found_for_that_overload_only(profile_op) -> None:
    register_cost(SCALED_ADD.default)(scaled_add_cost)
    try:
        assert REGISTRY.resolve(SCALED_ADD.default) is scaled_add_cost
        assert _run_scaled_add(profile_op).forward.flops == 24
    finally:
        unregister_cost(SCALED_ADD.default)
    assert REGISTRY.resolve(SCALED_ADD.default) is None


def test_a_builtin_formula_can_be_replaced_and_restored(profile_op) -> None:
    original = REGISTRY.resolve(aten.gelu.default)
    unregister_cost(aten.gelu)
    try:
        register_cost(aten.gelu)(lambda x, *args, out, **kwargs: OpCost(flops=8 * out.numel()))
        try:
            assert profile_op(torch.nn.functional.gelu, torch.randn(10)).forward.flops == 80
        finally:
            unregister_cost(aten.gelu)
    finally:
        register_cost(aten.gelu)(original)
    assert profile_op(torch.nn.functional.gelu, torch.randn(10)).forward.flops == 10


def test_free_ops_cost_nothing_and_are_not_uncounted(profile_op) -> None:
    def moves(x: torch.Tensor) -> torch.Tensor:
        # [3, 4] -> view [4, 3] -> t [3, 4] -> rows 1: [2, 4] -> [1, 2, 4] -> expand [2, 2, 4] -> sum(0)
        return x.view(4, 3).t().contiguous().clone()[1:].unsqueeze(0).expand(2, 2, 4).sum(0)

    p = profile_op(moves, torch.randn(3, 4))
    assert p.forward.flops == 2 * 2 * 4  # only the sum, over its 16 inputs
    assert p.uncounted_ops == {}


def test_ops_missing_from_this_torch_are_skipped_not_fatal() -> None:
    # Formula files name ops of newer torch releases; on an older one they must still import.
    from flopsight.costs.registry import CostRegistry, MissingOp, aten

    missing = aten.op_that_no_torch_has
    assert missing == MissingOp("op_that_no_torch_has")
    registry = CostRegistry()
    registry.register((missing, aten.mm), lambda *a, out, **k: flopsight.OpCost())
    assert registry.known_ops() == ["aten.mm"]


def test_an_op_of_an_unloaded_library_is_registered_by_name() -> None:
    """Naming "namespace.op" needs no torch.ops lookup, which fails until the library loads."""
    from flopsight.costs.registry import CostRegistry

    registry = CostRegistry()
    registry.register(("flopsight_never_loaded.attn",), lambda *a, out, **k: OpCost(flops=1))
    assert registry.known_ops() == ["flopsight_never_loaded.attn"]
    with pytest.raises(RegistrationError, match="already"):
        registry.mark_free(("flopsight_never_loaded.attn",))
    with pytest.raises(RegistrationError, match="mylib.my_op"):
        registry.register(("not an op name",), lambda *a, out, **k: OpCost())
