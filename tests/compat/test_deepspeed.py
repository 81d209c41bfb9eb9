"""DeepSpeed-shaped get_model_profile: flopsight's numbers in DeepSpeed's return shape."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import flopsight
import zoo
from flopsight.compat import deepspeed
from flopsight.compat.deepspeed import get_model_profile


def test_ints_equal_flopsight_profile_and_hand_derived_macs() -> None:
    model = zoo.TinyCNN().eval()
    x = torch.randn(2, 3, 8, 8)
    flops, macs, params = get_model_profile(model, args=[x], print_profile=False, as_string=False)
    expected = flopsight.profile(model, x)
    assert (flops, macs, params) == (expected.forward.flops, expected.forward.macs, expected.params)
    assert macs == zoo.cnn_forward_macs(2, 8)


def test_strings_as_deepspeed_returns_them() -> None:
    model = nn.Linear(1000, 1000)
    # MACs 3 * 1000 * 1000; FLOPs 2 x MACs + 3 * 1000 bias adds; flops carry no suffix
    assert get_model_profile(model, input_shape=(3, 1000), print_profile=False) == ("6 M", "3 MMACs", "1 M")


def forward_passes(model: nn.Module, tmp_path: Path, **options: object) -> int:
    """How many times get_model_profile runs the model's forward."""
    calls: list[int] = []
    handle = model.register_forward_hook(lambda *_: calls.append(1))
    try:
        get_model_profile(model, input_shape=(2, 3, 8, 8), output_file=str(tmp_path / "p.txt"), **options)  # type: ignore[arg-type]
    finally:
        handle.remove()
    return len(calls)


def test_warm_up_runs_that_many_untimed_forwards_and_changes_no_buffer(tmp_path: Path) -> None:
    model = zoo.TinyCNN().train()  # batch norm in train mode: each forward moves its statistics
    before = {k: v.clone() for k, v in model.state_dict().items()}
    # Documented: counting runs once with no warm-up; the printed latencies come from a timing
    # run of warm_up untimed forwards, then TIMED_ITERATIONS timed ones (and as many per module).
    timed = 2 * deepspeed.TIMED_ITERATIONS
    assert forward_passes(model, tmp_path, warm_up=0) == 1 + timed
    assert forward_passes(model, tmp_path, warm_up=3) == 1 + 3 + timed
    # Without a printed report there are no latencies, so nothing but the counting forward runs.
    assert forward_passes(model, tmp_path, warm_up=3, print_profile=False) == 1
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.training


def test_report_goes_to_output_file_with_depth_and_top(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = zoo.TinyCNN().eval()
    path = tmp_path / "profile.txt"
    get_model_profile(model, input_shape=(2, 3, 8, 8), module_depth=1, top_modules=2, output_file=str(path))
    assert capsys.readouterr().out == ""
    text = path.read_text()
    assert "Per module" in text and "depth 1:" in text
    get_model_profile(model, input_shape=(2, 3, 8, 8), detailed=False)
    printed = capsys.readouterr().out
    assert "Forward MACs:" in printed and "Per module" not in printed and "depth 0:" in printed


def test_output_file_is_written_as_a_plain_write_would(tmp_path: Path) -> None:
    """Through a symlink into its target, with the umask's mode: the same writer as the CLI's -o."""
    import os
    import stat

    real = tmp_path / "real.txt"
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    previous = os.umask(0o022)
    try:
        get_model_profile(zoo.TinyCNN().eval(), input_shape=(2, 3, 8, 8), output_file=str(link), warm_up=0)
    finally:
        os.umask(previous)
    assert link.is_symlink() and "Per module" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o644


def test_ignore_modules_and_generate_mode() -> None:
    model = zoo.TinyCNN().eval()
    _, macs, _ = get_model_profile(model, input_shape=(2, 3, 8, 8), ignore_modules=[nn.Linear],
                                   print_profile=False, as_string=False)
    assert macs == zoo.cnn_forward_macs(2, 8) - 2 * 16 * 10
    with pytest.raises(flopsight.InputError, match="profile_generation"):
        get_model_profile(model, input_shape=(2, 3, 8, 8), mode="generate")


def test_flops_profiler_is_the_training_one() -> None:
    assert deepspeed.FlopsProfiler is flopsight.training.FlopsProfiler


def test_printed_report_has_latencies_from_a_separate_timing_run(tmp_path, capsys) -> None:
    from flopsight.compat.deepspeed import get_model_profile as ds_profile

    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    out = tmp_path / "profile.txt"
    result = ds_profile(model, input_shape=(2, 8), output_file=str(out), as_string=False)
    # 2 x 8 @ 8 x 16 + 2 x 16 @ 16 x 4 = 256 + 128 MACs.
    assert result[1] == 2 * 8 * 16 + 2 * 16 * 4
    text = out.read_text()
    assert "fwd latency:" in text and "Linear" in text.split("Latency (separate timing run, no counting)")[1]
    assert capsys.readouterr().out == ""
    with torch.device("meta"):
        meta_model = torch.nn.Linear(8, 4)
    ds_profile(meta_model, input_shape=(2, 8), output_file=str(out))
    assert "fwd latency" not in out.read_text()  # nothing to time on meta


def test_top_modules_minus_one_lists_every_type_as_module_depth_minus_one_shows_every_level(
    tmp_path: Path,
) -> None:
    # Sequential(Linear, ReLU, Linear): depth 1 holds two types, Linear (2) and ReLU (1).
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    path = tmp_path / "profile.txt"
    get_model_profile(model, input_shape=(2, 8), top_modules=-1, detailed=False, output_file=str(path))
    params_row = next(line for line in path.read_text().splitlines() if line.startswith("    params") and "Linear" in line)
    assert params_row == f"    params - 2 x Linear: {8 * 16 + 16 + 16 * 4 + 4}, ReLU: 0"
    for call, match in (({"top_modules": -2}, "top_modules takes -1"), ({"module_depth": -5}, "module_depth takes -1"),
                        ({"module_depth": "2"}, "module_depth takes -1")):
        with pytest.raises(flopsight.InputError, match=match):
            get_model_profile(model, input_shape=(2, 8), output_file=str(path), **call)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        ({"input_shape": "2x8"}, "input_shape must be a sequence of ints"),
        ({"warm_up": -1}, "warm_up takes a whole number at least 0"),
        ({"warm_up": "3"}, "warm_up takes a whole number"),
        ({"top_modules": "3"}, "top_modules takes -1"),
        ({"args": torch.randn(2, 8), "input_shape": None}, "args must be a list or tuple"),
        ({"output_file": "/no/such/folder/profile.txt"}, "folder '/no/such/folder' does not exist"),
        ({"model": "gpt2"}, "model must be a torch.nn.Module, got str"),
    ],
)
def test_bad_arguments_get_one_clear_error_before_any_run(call: dict[str, object], match: str) -> None:
    calls = []
    model = nn.Linear(8, 4)
    model.register_forward_hook(lambda *_: calls.append(1))
    options: dict[str, object] = {"model": model, "input_shape": (2, 8), **call}
    with pytest.raises(flopsight.InputError, match=match) as raised:
        get_model_profile(**options)  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)
    assert calls == []  # refused before the model ran


def test_output_file_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(flopsight.InputError, match="is a folder; give a file path"):
        get_model_profile(nn.Linear(8, 4), input_shape=(2, 8), output_file=str(tmp_path))
