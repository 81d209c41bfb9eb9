"""``flopsight profile`` in-process on bundled and tiny configs (needs transformers)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")

import torch  # noqa: E402

import flopsight  # noqa: E402
from flopsight.cli import main  # noqa: E402
from tiny_config_files import tiny_llama_file  # noqa: E402


def _tiny_llama(tmp_path: Path) -> Path:
    return tiny_llama_file(tmp_path)


# The tiny llama of _tiny_llama: hidden 64, 4 query heads over 2 KV heads of 16, MLP 128, vocab
# 256 (untied), two layers. Linear MACs per token and layer: q 64x64, k and v 64x32, o 64x64,
# gate and up 64x128, down 128x64.
LAYER_LINEAR = 64 * 64 + 2 * 64 * 32 + 64 * 64 + 2 * 64 * 128 + 128 * 64  # 36,864
LM_HEAD = 64 * 256


def _llama_macs(*, batch: int, new: int, kv_len: int, logits: int) -> int:
    """``new`` tokens over ``kv_len`` keys: the linears, SDPA's Q K^T and P V (4 heads x 16, the
    full score matrix) and the LM head on ``logits`` tokens. (The rotary angles are positions x
    inv_freq, elementwise: no MACs.)"""
    attention = 2 * 4 * new * kv_len * 16
    per_sample = 2 * (new * LAYER_LINEAR + attention) + logits * LM_HEAD
    return batch * per_sample


def test_profile_gpt2_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "gpt2", "--seq-len", "64", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    data = json.loads(captured.out)
    profile = flopsight.Profile.from_dict(data)
    assert profile.params == 124_439_808
    meta = data["metadata"]
    assert meta["model_source"] == {"model": "gpt2", "kind": "bundled", "model_type": "gpt2",
                                    "checkpoint": "openai-community/gpt2", "architecture": "GPT2LMHeadModel"}
    assert meta["device"] == "meta" and meta["mode"] == "forward"
    assert meta["input_description"]["tensors"]["input_ids"]["shape"] == [1, 64]


def test_profile_from_a_config_file_with_backward_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _tiny_llama(tmp_path)
    assert main(["profile", str(path), "--backward", "--batch-size", "2", "--seq-len", "8", "--format", "csv",
                 "--dtype", "float32"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    by_name = {row["module"]: row for row in rows}
    root = rows[0]
    assert root["type"] == "LlamaForCausalLM"
    assert int(root["forward_macs"]) == _llama_macs(batch=2, new=8, kv_len=8, logits=8)
    # Backward of a linear: grad input and grad weight, each a product as large as the forward
    tokens = 2 * 8
    mlp = by_name["model.layers.1.mlp"]
    assert int(mlp["forward_macs"]) == tokens * 3 * 64 * 128
    assert int(mlp["backward_macs"]) == 2 * tokens * 3 * 64 * 128
    assert int(by_name["lm_head"]["backward_macs"]) == 2 * tokens * LM_HEAD


def test_profile_an_image_text_model_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "qwen2-vl-7b", "--image-size", "224x448", "--num-images", "2", "--seq-len", "16",
                 "--format", "markdown", "--depth", "2"]) == 0
    out = capsys.readouterr().out
    assert "`model.visual`" in out and "`pixel_values` [1024, 1176]" in out  # 2 images x 16 x 32 patches


def test_generate_mode_reports_prefill_and_decode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _tiny_llama(tmp_path)
    assert main(["profile", str(path), "--mode", "generate", "--new-tokens", "3", "--seq-len", "8",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    generation = data["generation"]
    assert generation["prompt_len"] == 8 and generation["new_tokens"] == 3
    assert [s["kv_len"] for s in generation["decode_steps"]] == [9, 10, 11]
    # generate computes logits for the last position only (logits_to_keep=1)
    prefill = _llama_macs(batch=1, new=8, kv_len=8, logits=1)
    steps = [_llama_macs(batch=1, new=1, kv_len=kv, logits=1) for kv in (9, 10, 11)]
    assert generation["prefill"]["macs"] == prefill
    assert [s["macs"] for s in generation["decode_steps"]] == steps
    assert generation["decode_total"]["macs"] == sum(steps)
    assert generation["total"]["macs"] == prefill + sum(steps)
    assert flopsight.Profile.from_dict(data["prefill"]).forward.macs == prefill
    assert main(["profile", str(path), "--mode", "generate", "--new-tokens", "2", "--seq-len", "8"]) == 0
    text = capsys.readouterr().out
    assert "prefill" in text and "decode step 2" in text and "total" in text
    assert main(["profile", str(path), "--mode", "generate", "--new-tokens", "2", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    prefill = _llama_macs(batch=1, new=128, kv_len=128, logits=1)  # the default --seq-len
    decode = sum(_llama_macs(batch=1, new=1, kv_len=kv, logits=1) for kv in (129, 130))
    assert (int(rows[0]["prefill_macs"]), int(rows[0]["decode_macs"])) == (prefill, decode)
    assert int(rows[0]["total_macs"]) == prefill + decode


@pytest.mark.parametrize(("argv", "needle"), [
    (["profile", "gpt2", "--image-size", "224"], "takes no images"),
    (["profile", "gpt2", "--seq-len", "4096"], "1024 positions"),
    (["profile", "t5-base", "--mode", "generate"], "decoder-only"),
])
def test_inputs_that_do_not_fit_the_model(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "gpt2", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "CUDA is not available" in err and "--device meta" in err


def test_model_that_cannot_run_on_meta_suggests_cpu(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A forward that reads a floating value cannot run without weights: one line, try cpu."""
    import flopsight.hf.run as run_module
    from transformers import GPT2LMHeadModel

    original = GPT2LMHeadModel.forward

    def reads_a_value(self: GPT2LMHeadModel, *args: object, **kwargs: object) -> object:
        if float(self.lm_head.weight.sum()) > 0:  # data-dependent Python control flow
            pass
        return original(self, *args, **kwargs)

    monkeypatch.setattr(GPT2LMHeadModel, "forward", reads_a_value)
    assert run_module  # the error is raised by run._profile_step
    assert main(["profile", "gpt2", "--seq-len", "8"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot run on meta" in err and "--device cpu" in err
