"""Every bundled model profiles the same with and without the meta output cache, forward and
backward (``-m xl``: a minute), at small sizes; on the CLI's meta path the integer mode runs inside the counting mode
(one Python dispatch per op), and the cache still serves the repeated layers."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("transformers")

import torch  # noqa: E402
from torch.utils._python_dispatch import _get_current_dispatch_mode_stack  # noqa: E402

from flopsight.capture.session import META_CACHE_VARIABLE, CountingSession  # noqa: E402
from flopsight.hf import InputSpec, build_model, bundled_models, make_config, profile_model  # noqa: E402
from flopsight.hf import resolve_source, synthesize_inputs  # noqa: E402
from flopsight.hf.real_integers import RealIntegersMode  # noqa: E402


def profile_dict(name: str, backward: bool, cache: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv(META_CACHE_VARIABLE, "1" if cache else "0")
    return profile_model(name, seq_len=16, backward=backward).to_dict()  # type: ignore[no-any-return]


@pytest.mark.parametrize("backward", [False, pytest.param(True, marks=pytest.mark.xl)], ids=["forward", "backward"])
@pytest.mark.parametrize("name", sorted(bundled_models()))
def test_a_bundled_model_profiles_the_same_with_and_without_the_cache(name: str, backward: bool,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert profile_dict(name, backward, True, monkeypatch) == profile_dict(name, backward, False, monkeypatch)


def test_the_integer_mode_runs_inside_the_counting_mode_and_goes_back_after() -> None:
    model = build_model(make_config(resolve_source("gpt2")), device="meta", dtype="float32")
    inputs = synthesize_inputs(model, InputSpec(seq_len=16), device="meta")
    with RealIntegersMode() as integers, torch.no_grad():
        with CountingSession(model, backward=False) as session:
            stack = _get_current_dispatch_mode_stack()
            model(**inputs.kwargs, use_cache=False)
        assert _get_current_dispatch_mode_stack() == [integers]
    assert stack == [session.mode]
    cache = session.mode.meta_cache
    assert cache is not None and cache.hits > cache.misses
