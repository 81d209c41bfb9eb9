"""The meta output cache changes nothing but time: the same outputs as the kernel, fresh each
call, and whole profiles equal with and without it (``FLOPSIGHT_META_CACHE=0``)."""

from __future__ import annotations

from typing import Any, Callable

import pytest
import torch
from torch import nn

import flopsight
from flopsight.capture.meta_cache import MetaOutputCache
from flopsight.capture.session import META_CACHE_VARIABLE
from memory_models import CASES
from zoo import LlamaSizes, SharedBlockModel, TinyBert, TinyCNN, TinyLlama

aten = torch.ops.aten


def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(*shape, dtype=dtype, device="meta")


def same_metadata(a: torch.Tensor, b: torch.Tensor) -> bool:
    return (a.shape, a.stride(), a.storage_offset(), a.dtype, a.device) == (b.shape, b.stride(), b.storage_offset(), b.dtype, b.device)


# Each pair shares the op and every tensor's metadata; only a scalar differs, and with it the
# output's dtype or shape. A key that compared 2 == 2.0 == True would hand back the wrong one.
SCALAR_PAIRS: list[tuple[str, Any, tuple[Any, ...], tuple[Any, ...], dict[str, Any]]] = [
    ("int vs float scalar", aten.add.Tensor, (meta(3, dtype=torch.int64), 2), (meta(3, dtype=torch.int64), 2.0), {}),
    ("bool vs int fill", aten.full.default, ((2, 3), True), ((2, 3), 1), {"device": torch.device("meta")}),
    ("int vs float fill", aten.full.default, ((2, 3), 1), ((2, 3), 1.0), {"device": torch.device("meta")}),
    ("reduced dim", aten.sum.dim_IntList, (meta(2, 3), [0]), (meta(2, 3), [1]), {}),
    ("keepdim", aten.sum.dim_IntList, (meta(2, 3), [0], False), (meta(2, 3), [0], True), {}),
    ("repeat count", aten.repeat.default, (meta(4), [2]), (meta(4), [3]), {}),
    ("float vs int end", aten.arange.start, (0, 4), (0, 4.0), {"device": torch.device("meta")}),
]


@pytest.mark.parametrize("case", SCALAR_PAIRS, ids=[c[0] for c in SCALAR_PAIRS])
def test_a_scalar_that_changes_the_output_is_part_of_the_key(case: Any) -> None:
    _, func, first, second, kwargs = case
    cache = MetaOutputCache()
    for args in (first, second, first, second):  # the second round hits
        got = cache.run(func, args, kwargs)
        assert same_metadata(got, func(*args, **kwargs))
    assert cache.hits == 2 and cache.misses == 2


def test_a_hit_makes_a_new_tensor_with_its_own_storage_each_call() -> None:
    cache = MetaOutputCache()
    x, w = meta(4, 8), meta(16, 8)
    outs = [cache.run(aten.mm.default, (x, w.t()), {}) for _ in range(3)]
    assert cache.hits == 2
    assert len({id(o) for o in outs}) == 3
    assert len({o.untyped_storage()._cdata for o in outs}) == 3
    assert all(same_metadata(o, torch.mm(x, w.t())) for o in outs)


def test_tuples_and_none_outputs_are_remade_as_the_kernel_returns_them() -> None:
    cache = MetaOutputCache()
    x, weight = meta(2, 5, 8), meta(8)
    grad = meta(2, 5, 8)
    mean, rstd = meta(2, 5, 1), meta(2, 5, 1)
    args = (grad, x, [8], mean, rstd, weight, None, [True, False, False])
    expected = aten.native_layer_norm_backward.default(*args)
    for _ in range(2):
        got = cache.run(aten.native_layer_norm_backward.default, args, {})
        assert type(got) is type(expected) and len(got) == 3
        assert same_metadata(got[0], expected[0]) and got[1] is None and got[2] is None
    assert cache.hits == 1


BYPASSED: list[tuple[str, Callable[[], tuple[Any, tuple[Any, ...], dict[str, Any]]]]] = [
    ("view", lambda: (aten.view.default, (meta(4, 4), [16]), {})),
    ("transpose", lambda: (aten.t.default, (meta(4, 3),), {})),
    ("in-place", lambda: (aten.add_.Tensor, (meta(4), meta(4)), {})),
    ("out=", lambda: (aten.add.out, (meta(4), meta(4)), {"out": meta(4)})),
    ("random", lambda: (aten.rand.default, ([4],), {"device": torch.device("meta")})),
    ("data-dependent shape", lambda: (aten.nonzero.default, (torch.ones(3),), {})),
    ("a CPU tensor", lambda: (aten.add.Tensor, (torch.ones(3), torch.ones(3)), {})),
    ("a factory for the CPU", lambda: (aten.zeros.default, ([3],), {})),
    ("an unsafe view", lambda: (aten._unsafe_view.default, (meta(4, 4), [16]), {})),
]


@pytest.mark.parametrize("make", [m for _, m in BYPASSED], ids=[name for name, _ in BYPASSED])
def test_views_writes_randomness_and_real_tensors_run_the_kernel_every_time(make: Callable[[], Any]) -> None:
    cache = MetaOutputCache()
    for _ in range(3):
        func, args, kwargs = make()
        out = cache.run(func, args, kwargs)
        if func._schema.returns and func._schema.returns[0].alias_info is not None:
            target = kwargs.get("out", args[0])
            assert out is target or out.untyped_storage()._cdata == target.untyped_storage()._cdata
    assert cache.hits == 0


def test_a_subclass_argument_runs_the_kernel() -> None:
    class Tagged(torch.Tensor):
        pass

    cache = MetaOutputCache()
    x = meta(3).as_subclass(Tagged)
    for _ in range(2):
        cache.run(aten.neg.default, (x,), {})
    assert cache.hits == 0


def test_an_inner_dispatch_mode_is_never_skipped() -> None:
    from torch.utils._python_dispatch import TorchDispatchMode

    seen: list[Any] = []

    class Watcher(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            seen.append(func)
            return func(*args, **(kwargs or {}))

    cache = MetaOutputCache()
    x = meta(3)
    cache.run(aten.neg.default, (x,), {})
    with Watcher():  # the cache is asked from inside a mode with another mode below it
        cache.run(aten.neg.default, (x,), {})
    assert seen == [aten.neg.default] and cache.hits == 0


def profile_dict(cache: bool, monkeypatch: pytest.MonkeyPatch, run: Callable[[], flopsight.Profile]) -> dict[str, Any]:
    monkeypatch.setenv(META_CACHE_VARIABLE, "1" if cache else "0")
    return run().to_dict()


def assert_cache_invisible(monkeypatch: pytest.MonkeyPatch, run: Callable[[], flopsight.Profile]) -> None:
    without = profile_dict(False, monkeypatch, run)
    with_cache = profile_dict(True, monkeypatch, run)
    assert with_cache == without


def test_models(kind: str) -> tuple[nn.Module, tuple[Any, ...]]:
    with torch.device("meta"):
        if kind == "llama":
            return TinyLlama(LlamaSizes()), (torch.randint(0, 64, (2, 8)),)
        if kind == "bert":
            return TinyBert(), (torch.randint(0, 50, (2, 8)), torch.ones(2, 8, dtype=torch.bool))
        if kind == "cnn":
            return TinyCNN(), (torch.randn(2, 3, 8, 8),)
        return SharedBlockModel(), (torch.randn(4, 16),)


test_models.__test__ = False  # type: ignore[attr-defined]  # a builder, not a test


@pytest.mark.parametrize("kind", ["llama", "bert", "cnn", "shared"])
@pytest.mark.parametrize("mode", ["backward", "grad", "no_grad", "inference_mode"])
def test_a_profile_on_meta_is_the_same_with_and_without_the_cache(kind: str, mode: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    model, inputs = test_models(kind)

    def run() -> flopsight.Profile:
        if mode == "backward":
            return flopsight.profile(model, *inputs, backward=True)
        context = {"grad": torch.enable_grad, "no_grad": torch.no_grad, "inference_mode": torch.inference_mode}[mode]
        with context():
            return flopsight.profile(model, *inputs)

    assert_cache_invisible(monkeypatch, run)


META_CASES = [name for name, case in CASES.items() if case.needs is None]


@pytest.mark.parametrize("name", META_CASES)
def test_a_memory_profile_on_meta_is_the_same_with_and_without_the_cache(name: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[name]

    def run() -> flopsight.Profile:
        inputs = tuple(x.to("meta") for x in case.inputs())
        return flopsight.profile(case.build().to("meta"), *inputs, backward=True, loss_fn=case.loss_fn, memory=True)

    assert_cache_invisible(monkeypatch, run)


def test_the_cache_hits_on_repeated_layers() -> None:
    from flopsight.capture.session import CountingSession

    model, (ids,) = test_models("llama")
    with torch.no_grad(), CountingSession(model, backward=False) as session:
        model(ids)
    cache = session.mode.meta_cache
    assert cache is not None and cache.hits > cache.misses


def test_a_model_off_meta_never_asks_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    from flopsight.capture.meta_cache import MetaOutputCache
    from flopsight.capture.session import CountingSession

    asked: list[Any] = []
    run = MetaOutputCache.run

    def counted(self: MetaOutputCache, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        asked.append(func)
        return run(self, func, args, kwargs)

    monkeypatch.setattr(MetaOutputCache, "run", counted)
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU())
    with torch.no_grad(), CountingSession(model, backward=False):
        model(torch.randn(2, 8))
    assert asked == []
    with torch.no_grad(), CountingSession(model.to("meta"), backward=False):
        model(torch.randn(2, 8, device="meta"))
    assert asked  # the same model on meta does
