"""calflops-shaped calculate_flops: flopsight's numbers in calflops' return shape."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import flopsight
import zoo
from flopsight.compat.calflops import calculate_flops


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


def test_ints_equal_flopsight_profile_and_hand_derived_macs() -> None:
    model, x = mlp(), torch.randn(2, 8)
    flops, macs, params = calculate_flops(model, args=[x], print_results=False, output_as_string=False)
    expected = flopsight.profile(model, x)
    assert (flops, macs, params) == (expected.forward.flops, expected.forward.macs, expected.params)
    # [2, 8] @ [8, 16] then [2, 16] @ [16, 4]
    assert macs == 2 * 8 * 16 + 2 * 16 * 4
    assert params == (8 * 16 + 16) + (16 * 4 + 4)


def test_input_shape_and_kwargs_on_a_cnn() -> None:
    model = zoo.TinyCNN().eval()
    _, macs, _ = calculate_flops(model, input_shape=(2, 3, 8, 8), print_results=False, output_as_string=False)
    assert macs == zoo.cnn_forward_macs(2, 8)
    _, macs_kw, _ = calculate_flops(model, kwargs={"x": torch.randn(2, 3, 8, 8)}, print_results=False,
                                    output_as_string=False)
    assert macs_kw == macs


def test_backward_is_measured_not_a_factor() -> None:
    model, x = mlp(), torch.randn(2, 8)
    flops, macs, _ = calculate_flops(model, args=[x], include_backPropagation=True, print_results=False,
                                     output_as_string=False)
    expected = flopsight.profile(model, x, backward=True)
    assert (flops, macs) == (expected.total_flops, expected.total_macs)
    # forward: [2, 8] @ [8, 16] + [2, 16] @ [16, 4] = 256 + 128 MACs. backward: fc2 dW [16, 2] @
    # [2, 4] and dX [2, 4] @ [4, 16], 128 each; fc1 dW [8, 2] @ [2, 16] = 256, and no dX (the
    # input needs no grad). A 1 + 2 factor would give 3 x 384.
    assert macs == (256 + 128) + (128 + 128 + 256)
    with pytest.warns(UserWarning, match="compute_bp_factor"):
        calculate_flops(model, args=[x], include_backPropagation=True, compute_bp_factor=1.0, print_results=False)


def test_strings_follow_output_unit_and_precision() -> None:
    model = nn.Linear(1000, 1000)
    flops, macs, params = calculate_flops(model, input_shape=(3, 1000), print_results=False)
    # MACs 3 * 1000 * 1000; FLOPs 2 x MACs + 3 * 1000 bias adds
    assert (flops, macs, params) == ("6 MFLOPS", "3 MMACs", "1 M")
    flops, macs, params = calculate_flops(model, input_shape=(3, 1000), print_results=False,
                                          output_unit="G", output_precision=4)
    assert (flops, macs, params) == ("0.006 GFLOPS", "0.003 GMACs", "0.001 B")


def test_prints_the_report_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    model = mlp()
    calculate_flops(model, input_shape=(2, 8), print_results=False)
    assert capsys.readouterr().out == ""
    calculate_flops(model, input_shape=(2, 8))
    detailed = capsys.readouterr().out
    assert "Forward MACs:" in detailed and "Per module" in detailed
    calculate_flops(model, input_shape=(2, 8), print_detailed=False)
    short = capsys.readouterr().out
    assert "Forward MACs:" in short and "Per module" not in short


def test_tokenizer_gives_integer_inputs_without_calling_it() -> None:
    class Tokenizer:
        model_input_names = ["input_ids", "attention_mask"]

        def __call__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("the tokenizer must not be called")

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 8)
            self.proj = nn.Linear(8, 8)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.proj(self.embed(input_ids)) * attention_mask[..., None]

    _, macs, _ = calculate_flops(Model(), input_shape=(2, 5), transformer_tokenizer=Tokenizer(), print_results=False,
                                 output_as_string=False)
    assert macs == 2 * 5 * 8 * 8
    with pytest.raises(flopsight.InputError, match="batch_size, seq_len"):
        calculate_flops(Model(), transformer_tokenizer=Tokenizer(), print_results=False)


def test_is_sparse_counts_nonzero_parameters() -> None:
    model = nn.Linear(4, 4)
    with torch.no_grad():
        model.weight[:2].zero_()
    _, _, params = calculate_flops(model, input_shape=(1, 4), is_sparse=True, print_results=False,
                                   output_as_string=False)
    assert params == 2 * 4 + int(torch.count_nonzero(model.bias))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        ({"input_shape": (2, 8), "args": [torch.randn(2, 8)]}, "not both"),
        ({"input_shape": (2, 8), "forward_mode": "generate"}, "profile_generation"),
        ({"input_shape": (2, 8), "forward_mode": "sideways"}, "'forward' or 'generate'"),
        ({"input_shape": "2x8"}, "input_shape must be a sequence of ints"),
        ({"input_shape": (2, -8)}, "input_shape must not have negative sizes"),
        ({"input_shape": (2, 8), "output_precision": -1}, "output_precision takes a whole number at least 0"),
        ({"input_shape": (2, 8), "output_precision": "2"}, "output_precision takes a whole number"),
        ({"input_shape": (2, 8), "output_precision": 1.5}, "output_precision takes a whole number"),
        ({"input_shape": (2, 8), "output_unit": "X"}, "output_unit='X': choose None"),
        ({"input_shape": (2, 8), "output_unit": "P"}, "output_unit='P': choose None"),  # no P for params
        ({"args": torch.randn(2, 8)}, "args must be a list or tuple"),
        ({"kwargs": [torch.randn(2, 8)]}, "kwargs must be a dict"),
        ({"input_shape": (2, 8), "ignore_modules": ["Linear"]}, "ignore_modules takes nn.Module subclasses"),
    ],
)
def test_bad_arguments_get_one_clear_error(call: dict[str, object], match: str, tmp_path: Path) -> None:
    for print_results in (False, True):
        with pytest.raises(flopsight.InputError, match=match) as raised:
            calculate_flops(mlp(), print_results=print_results, **call)  # type: ignore[arg-type]
        assert "\n" not in str(raised.value)


def test_a_model_that_is_not_a_module_is_one_clear_error() -> None:
    with pytest.raises(flopsight.InputError, match="model must be a torch.nn.Module, got str"):
        calculate_flops("gpt2", input_shape=(2, 8), print_results=False)  # type: ignore[arg-type]
