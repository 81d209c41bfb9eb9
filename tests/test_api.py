"""Whole models against their analytic matmul MACs, forward and backward, CPU and meta."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import flopsight
import zoo


def on_meta(build):
    with torch.device("meta"):
        return build()


def module_costs(profile: flopsight.Profile) -> dict[str, tuple[int, ...]]:
    return {
        n.name: (n.forward.macs, n.forward.flops, n.forward.bytes_read, n.forward.masked_flops,
                 n.backward.macs, n.backward.flops, n.backward.bytes_written, n.calls)
        for n in profile.modules()
    }


@pytest.mark.parametrize("batch,seq", [(1, 8), (2, 16)])
def test_llama_gqa_forward_and_backward_match_analytic_on_cpu_and_meta(batch: int, seq: int) -> None:
    sizes = zoo.LlamaSizes()
    ids = torch.randint(0, sizes.vocab, (batch, seq))
    cpu = flopsight.profile(zoo.TinyLlama(sizes), ids, backward=True)
    meta = flopsight.profile(on_meta(lambda: zoo.TinyLlama(sizes)), ids.to("meta"), backward=True)

    expected = zoo.llama_forward_macs(sizes, batch, seq)
    assert cpu.forward.macs == expected
    # Every linear computes weight and input gradients (the embedding makes every activation
    # require grad); attention backward is 2 x its forward: backward MACs = 2 x forward.
    assert cpu.backward.macs == 2 * expected
    assert module_costs(cpu) == module_costs(meta)
    assert cpu.uncounted_ops == {} and meta.uncounted_ops == {}


def test_llama_attention_is_counted_and_causal_share_reported() -> None:
    sizes = zoo.LlamaSizes(layers=1)
    batch, seq = 1, 8
    profile = flopsight.profile(zoo.TinyLlama(sizes), torch.randint(0, sizes.vocab, (batch, seq)))
    attn = profile.module("layers.0.self_attn")
    linear_macs = sum(profile.module(f"layers.0.self_attn.{p}").forward.macs for p in ("q_proj", "k_proj", "v_proj", "o_proj"))
    assert attn.forward.macs - linear_macs == zoo.llama_layer_attention_macs(sizes, batch, seq)
    # Causal: of seq*seq scores per head, seq*(seq+1)/2 are kept.
    kept_fraction_masked = (seq * seq - seq * (seq + 1) // 2) / (seq * seq)
    own_attention_flops = attn.own_costs[flopsight.Phase.FORWARD].flops
    scale = batch * sizes.heads * (seq + seq) * sizes.head_dim  # q and k scaled: no mask discards it
    assert attn.forward.masked_flops == pytest.approx((own_attention_flops - scale) * kept_fraction_masked, rel=1e-9)
    assert profile.forward.effective_flops == profile.forward.flops - attn.forward.masked_flops


def test_bert_like_with_padding_mask() -> None:
    batch, seq = 2, 12
    model = zoo.TinyBert()
    ids = torch.randint(0, 50, (batch, seq))
    keep = torch.ones(batch, seq, dtype=torch.bool)
    keep[1, 8:] = False  # the second sequence is padded after 8 tokens
    cpu = flopsight.profile(model, ids, keep, backward=True)
    meta = flopsight.profile(on_meta(zoo.TinyBert), ids.to("meta"), keep.to("meta"), backward=True)
    expected = zoo.bert_forward_macs(batch, seq)
    assert cpu.forward.macs == expected == meta.forward.macs
    assert cpu.forward.flops == meta.forward.flops
    assert cpu.backward.macs == meta.backward.macs
    # On CPU the mask is real: 4 padded keys of 12 in one of two sequences are discarded.
    assert cpu.forward.masked_flops > 0 and meta.forward.masked_flops == 0
    assert cpu.uncounted_ops == {}


def test_cnn_forward_and_backward() -> None:
    batch, size = 2, 8
    x = torch.randn(batch, 3, size, size)
    cpu = flopsight.profile(zoo.TinyCNN(), x, backward=True)
    meta = flopsight.profile(on_meta(zoo.TinyCNN), x.to("meta"), backward=True)
    expected = zoo.cnn_forward_macs(batch, size)
    assert cpu.forward.macs == expected
    # The input needs no grad: conv1 computes only its weight gradient (1 x its MACs);
    # conv2 and the head compute weight and input gradients (2 x).
    conv1 = batch * 8 * size * size * 27
    assert cpu.backward.macs == conv1 + 2 * (expected - conv1)
    assert module_costs(cpu) == module_costs(meta)
    assert cpu.uncounted_ops == {}


def test_input_that_requires_grad_shows_in_backward() -> None:
    layer = nn.Linear(16, 8)
    x = torch.randn(4, 16)
    without = flopsight.profile(layer, x, backward=True)
    with_grad = flopsight.profile(layer, x.clone().requires_grad_(), backward=True)
    forward_macs = 4 * 16 * 8
    assert without.backward.macs == forward_macs  # weight gradient only
    assert with_grad.backward.macs == 2 * forward_macs  # weight and input gradients


def test_frozen_layers_change_measured_backward() -> None:
    sizes = zoo.LlamaSizes(layers=4)
    batch, seq = 1, 8
    model = zoo.TinyLlama(sizes)
    model.embed.requires_grad_(False)
    for layer in model.layers[:2]:
        layer.requires_grad_(False)
    profile = flopsight.profile(model, torch.randint(0, sizes.vocab, (batch, seq)), backward=True)
    tokens = batch * seq
    per_layer = zoo.llama_layer_linear_macs(sizes, tokens) + zoo.llama_layer_attention_macs(sizes, batch, seq)
    trainable_forward = 2 * per_layer + tokens * sizes.hidden * sizes.vocab
    assert profile.backward.macs == 2 * trainable_forward
    assert profile.module("layers.0").backward.flops == 0
    assert profile.module("layers.1").backward.flops == 0
    assert profile.estimated_backward_flops == 2 * profile.forward.flops != profile.backward.flops
    assert profile.frozen_params == sizes.vocab * sizes.hidden + sum(p.numel() for l in model.layers[:2] for p in l.parameters())


def test_shared_module_counted_per_call_not_per_position() -> None:
    model = zoo.SharedBlockModel()
    batch = 3
    profile = flopsight.profile(model, torch.randn(batch, 16))
    linear = batch * 16 * 16
    assert profile.forward.macs == 3 * linear  # shared linear twice, left's own linear once
    shared = profile.module("left.0")
    assert shared.calls == 2
    assert shared.forward.macs == 2 * linear
    alias = next(c for c in profile.module("right").children if c.alias_of is not None)
    assert alias.name == "right.0" and alias.alias_of == "left.0" and alias.forward.flops == 0
    assert profile.params == 2 * (16 * 16 + 16)


def test_tied_weights_counted_once() -> None:
    sizes = zoo.LlamaSizes(layers=1)
    tied = zoo.TinyLlama(sizes, tie=True)
    untied = zoo.TinyLlama(sizes)
    ids = torch.randint(0, sizes.vocab, (1, 4))
    p_tied = flopsight.profile(tied, ids)
    p_untied = flopsight.profile(untied, ids)
    assert p_untied.params - p_tied.params == sizes.vocab * sizes.hidden
    assert p_tied.tied_parameters == [("lm_head.weight", "embed.weight")]
    assert p_tied.forward.macs == p_untied.forward.macs


def test_ignore_modules_excludes_their_ops() -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.Linear(8, 4))
    x = torch.randn(2, 8)
    profile = flopsight.profile(model, x, ignore_modules=[nn.Linear])
    assert profile.forward.macs == 0
    assert profile.module("0").ignored
    assert profile.params == 8 * 8 + 8 + 8 * 4 + 4  # parameters are still counted


def test_loss_fn_and_kwargs() -> None:
    class Keyword(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(4, 4)

        def forward(self, *, x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"logits": self.proj(x), "aux": x.sum()}

    profile = flopsight.profile(Keyword(), kwargs={"x": torch.randn(2, 4)}, backward=True,
                                loss_fn=lambda out: out["logits"].pow(2).mean())
    assert profile.forward.macs == 2 * 4 * 4
    assert profile.backward.macs == 2 * 4 * 4  # weight gradient only; loss ops are not the model's
    assert profile.metadata["backward_measured"] is True


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: flopsight.profile("not a model", input_shape=(1,)), "torch.nn.Module"),
        (lambda: flopsight.profile(nn.Linear(2, 2)), "Linear.forward needs some"),
        (lambda: flopsight.profile(nn.Linear(2, 2), torch.randn(1, 2), input_shape=(1, 2)), "either"),
        (lambda: flopsight.profile(nn.Linear(2, 2), input_shape=("a",)), "input_shape"),
        (lambda: flopsight.profile(nn.Linear(2, 2), input_shape=(1, 2), loss_fn=lambda o: o.sum()), "backward=True"),
        (lambda: flopsight.profile(nn.Linear(2, 2), input_shape=(1, 2), ignore_modules=[int]), "ignore_modules"),
        (lambda: flopsight.profile(nn.Linear(2, 2).requires_grad_(False), input_shape=(1, 2), backward=True), "requires grad"),
        (lambda: flopsight.profile(nn.Linear(2, 2), input_shape=(1, 2), backward=True, loss_fn=lambda o: o), "single-element"),
    ],
)
def test_bad_input_gives_one_clear_error(call, message: str) -> None:
    with pytest.raises(flopsight.InputError, match=message):
        call()


def test_docstring_example_is_real() -> None:
    p = flopsight.profile(torch.nn.Linear(8, 4), input_shape=(2, 8))
    # 2 x 8 @ 8 x 4: 64 MACs; FLOPs = 2 x 64 + 8 bias adds.
    assert (p.params, p.forward.macs, p.forward.flops) == (36, 64, 136)


# Importing torch._dynamo warns about torch.jit.script_method in torch 2.13.
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_compiled_model_is_profiled_through_its_original_module() -> None:
    layer = nn.Linear(8, 4)
    compiled = torch.compile(layer)
    p = flopsight.profile(compiled, torch.randn(2, 8))
    assert p.forward.macs == 2 * 8 * 4
    assert p.metadata["model_type"] == "Linear"


def test_forward_without_arguments_is_profiled() -> None:
    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.seed = nn.Parameter(torch.randn(3, 16))
            self.proj = nn.Linear(16, 8)

        def forward(self) -> torch.Tensor:
            return self.proj(self.seed)

    for p in (flopsight.profile(Generator()), flopsight.profile(Generator(), kwargs={})):
        assert p.forward.macs == 3 * 16 * 8


@pytest.mark.parametrize("grad_mode", [torch.enable_grad, torch.no_grad, torch.inference_mode])
def test_counts_are_the_same_under_every_grad_mode(grad_mode: Any) -> None:
    batch, seq, width, heads = 2, 6, 16, 2
    model = nn.TransformerEncoderLayer(width, heads, dim_feedforward=32, batch_first=True, dropout=0.0)
    with grad_mode():
        p = flopsight.profile(model, torch.randn(batch, seq, width))
    tokens = batch * seq
    projections = tokens * width * (3 * width + width + 2 * 32)  # qkv, out, two feed-forward linears
    attention = 2 * batch * heads * seq * seq * (width // heads)  # QK^T and PV
    assert p.forward.macs == projections + attention
    assert not p.uncounted_ops


def _macs_through_every_entry_point(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    from flopsight.compat.calflops import calculate_flops
    from flopsight.compat.deepspeed import get_model_profile

    profiler = flopsight.FlopsProfiler(model)
    profiler.start_profile()
    model(x)
    profiler.stop_profile()
    window = profiler.get_total_macs()
    profiler.end_profile()
    _, calflops_macs, _ = calculate_flops(model, args=[x], print_results=False, output_as_string=False)
    _, deepspeed_macs, _ = get_model_profile(model, args=[x], print_profile=False, as_string=False, warm_up=0)
    return {"profile": flopsight.profile(model, x).forward.macs, "FlopsProfiler": window,
            "calflops": calflops_macs, "deepspeed": deepspeed_macs}


def test_inference_mode_counts_through_every_entry_point() -> None:
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 8))
    x = torch.randn(4, 32)
    expected = 4 * (32 * 64 + 64 * 8)
    with torch.inference_mode():
        figures = _macs_through_every_entry_point(model, x)
    assert figures == dict.fromkeys(figures, expected)


def test_nested_jagged_tensor_linear_is_counted() -> None:
    lengths = (3, 5)
    width, out = 8, 16
    x = torch.nested.nested_tensor([torch.randn(n, width) for n in lengths], layout=torch.jagged)
    p = flopsight.profile(nn.Linear(width, out), x)
    assert p.forward.macs == sum(lengths) * width * out


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")  # torch, internally
def test_nested_jagged_tensor_attention_is_counted() -> None:
    class Attention(nn.Module):
        def forward(self, q: torch.Tensor) -> torch.Tensor:
            return nn.functional.scaled_dot_product_attention(q, q, q)

    heads, dim, lengths = 2, 4, (3, 5)
    q = torch.nested.nested_tensor([torch.randn(n, heads, dim) for n in lengths], layout=torch.jagged)
    p = flopsight.profile(Attention(), q.transpose(1, 2))
    # Per sequence: QK^T and PV, each heads * n * n * dim MACs.
    assert p.forward.macs == sum(2 * heads * n * n * dim for n in lengths)
    assert not p.uncounted_ops
