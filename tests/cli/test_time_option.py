"""``--time``: a timing run after the counting run, reported in text and json."""

from __future__ import annotations

import json

import pytest

from flopsight.cli import main


def test_example_with_time_adds_latency_and_flops(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--seq-len", "16", "--time", "--warmup", "1", "--repeat", "2",
                 "--peak-tflops", "100"]) == 0
    out = capsys.readouterr().out
    assert "fwd latency:" in out and "fwd FLOPS:" in out and "MFU:" in out
    assert "lm_head" in out.split("Timing")[1]  # the per-module table


def _example_forward_flops(tokens: int) -> int:
    """Forward FLOPs of flopsight.examples.TinyTransformer (6 blocks, width 256, 4 heads, MLP 1024,
    vocabulary 8192) over one sequence of ``tokens`` tokens, by flopsight's conventions."""
    hidden, layers, heads, mlp, vocab = 256, 6, 4, 1024, 8192
    # per block and token: qkv 256->768, out 256->256, up 256->1024, down 1024->256 (with biases)
    linear_macs = hidden * (3 * hidden + hidden + mlp) + mlp * hidden
    linear_bias = 3 * hidden + hidden + mlp + hidden
    # causal attention, counted in full: Q K^T and P V over tokens x tokens scores, 64 per head;
    # per score 1 FLOP for the causal mask and 5 for the softmax; q and k scaled (64 per token each)
    scores = heads * tokens * tokens
    head_dim = hidden // heads
    attention = 2 * scores * 2 * head_dim + 6 * scores + heads * 2 * tokens * head_dim
    # two layer norms (6 per element with weight and bias), gelu (1), two residual adds (1 each)
    elementwise = tokens * (2 * 6 * hidden + mlp + 2 * hidden)
    blocks = layers * (tokens * (2 * linear_macs + linear_bias) + attention + elementwise)
    # embedding + position add, final layer norm, tied LM head without bias
    head = tokens * hidden + tokens * 6 * hidden + tokens * 2 * hidden * vocab
    return blocks + head


def test_time_in_json_is_on_the_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--seq-len", "16", "--time", "--warmup", "1", "--repeat", "2",
                 "--peak-tflops", "100", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    timing = data["timing"]
    achieved = data["achieved"]
    assert timing["repeat"] == 2
    assert achieved["peak_tflops"] == 100
    # MFU: the model's forward FLOPs (by hand, above) per second of the median iteration, over
    # the peak of 100e12 FLOP/s.
    seconds = timing["iteration"]["median"]
    assert seconds > 0
    assert data["summary"]["forward"]["flops"] == _example_forward_flops(16)
    assert achieved["mfu"] == pytest.approx(_example_forward_flops(16) / seconds / 100e12, rel=1e-9)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["profile", "gpt2", "--time"], "--device cpu or cuda"),
        (["example", "--time", "--format", "markdown"], "csv, html or trace"),
        (["example", "--time", "--repeat", "0"], "positive integer"),
        (["example", "--time", "--peak-tflops", "-3"], "positive number"),
        (["example", "--peak-tflops", "100"], "add --time"),
        (["profile", "gpt2", "--peak-tflops", "100"], "add --time"),
        (["example", "--time", "--warmup", "-1"], "integer >= 0"),
    ],
)
def test_time_misuse_is_one_line_and_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_warmup_zero_is_allowed_as_in_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--seq-len", "8", "--time", "--warmup", "0", "--repeat", "1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["timing"]["warmup"] == 0
