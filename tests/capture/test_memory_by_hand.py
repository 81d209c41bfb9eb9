"""Activation bytes derived by hand from what each aten op saves for backward, and where each
storage is charged (the innermost module running the op that created it).

What an op saves is its derivatives.yaml entry (checked on ``grad_fn._saved_*``): addmm saves
mat1 and mat2 (each only when the other side's gradient is needed), never its bias; relu saves
its result; gelu its input; batch norm in training its input, the running statistics (buffers)
and the batch mean and inverse std; mean saves only a shape; the CPU fused SDPA saves q, k, v,
its output and the fp32 logsumexp. Parameters, buffers, inputs and the model's output are never
activations. float32 unless said otherwise; every run is ``backward=True``.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight
import memory_models as models
from flopsight.tree import Profile

F32, BF16 = 4, 2  # bytes per element
DEVICES = ["cpu", "meta"]


def activations(p: Profile) -> dict[str, int]:
    """Each module's own activation bytes, the modules with none left out."""
    return {node.name: node.memory.own_activation_bytes for node in p.root.walk()
            if node.memory is not None and node.memory.own_activation_bytes}


def run(model: nn.Module, shape: tuple[int, ...], device: str) -> Profile:
    # as-run: the bytes each kernel allocates, which the derivations below follow; a meta run's
    # default CUDA target (rounded blocks, CUDA's dropout) has tests of its own
    # (test_memory_cuda_target.py).
    return flopsight.profile(model.to(device), torch.randn(*shape, device=device), backward=True, memory=True,
                             memory_target="as-run")


class TestConvNet:
    """Conv2d(3->8, 3x3, pad 1) -> BatchNorm2d(8), training -> ReLU -> pool to 1x1 -> Flatten ->
    Linear(8->5), on x [2, 3, 6, 6]."""

    PARAMS = (8 * 3 * 3 * 3 + 8 + 8 + 8 + 8 * 5 + 5) * F32  # conv 224, bn 16, linear 45: 1,140
    BUFFERS = (8 + 8) * F32 + 8  # running mean and var [8], num_batches_tracked int64: 72
    INPUT = 2 * 3 * 6 * 6 * F32  # 864
    FEATURES = 2 * 8 * 6 * 6 * F32  # conv out, bn out, relu out: [2, 8, 6, 6], 2,304 each
    STATS = 8 * F32  # bn's batch mean and inverse std: [8] each
    POOLED = 2 * 8 * F32  # [2, 8, 1, 1]; Flatten's [2, 8] is a view of it

    @pytest.mark.parametrize("device", DEVICES)
    def test_each_layer_keeps_what_its_successor_saves(self, device: str) -> None:
        p = run(models.conv_net(), (2, 3, 6, 6), device)
        # conv saves x (input) and its weight; bn saves the conv output, the buffers and its two
        # statistics; relu saves its result, not bn's output (freed); mean keeps only a shape;
        # the Linear saves the pooled features through Flatten's view. The Linear's result is
        # the output.
        assert activations(p) == {"0": self.FEATURES, "1": 2 * self.STATS, "2": self.FEATURES, "3": self.POOLED}
        assert p.memory is not None
        assert p.memory.activation_bytes == 2 * self.FEATURES + 2 * self.STATS + self.POOLED  # 4,736
        assert p.memory.gradient_bytes == self.PARAMS  # x needs no gradient
        assert (p.memory.parameter_bytes, p.memory.buffer_bytes, p.memory.input_bytes) == (
            self.PARAMS, self.BUFFERS, self.INPUT)
        assert p.memory.output_bytes == 2 * 5 * F32

    @pytest.mark.parametrize("device", DEVICES)
    def test_the_forward_peaks_at_the_relu(self, device: str) -> None:
        p = run(models.conv_net(), (2, 3, 6, 6), device)
        held = self.PARAMS + self.BUFFERS + self.INPUT
        # At the ReLU: the conv output, bn's statistics, bn's output (its input) and its result.
        relu = held + 3 * self.FEATURES + 2 * self.STATS  # 9,052
        assert p.module("2").memory.peak_bytes == relu  # type: ignore[union-attr]
        assert p.module("").memory.peak_bytes == relu  # type: ignore[union-attr]
        assert p.module("0").memory.peak_bytes == held + self.FEATURES  # type: ignore[union-attr]


class TestAttention:
    """q, k, v = Linear(16->16) each, SDPA over 2 heads of 8, Linear(16->16) out, Dropout; x [2, 5, 16]."""

    PROJECTION = 2 * 5 * 16 * F32  # [2, 5, 16]; its [2, 2, 5, 8] heads are views: 640
    LOGSUMEXP = 2 * 2 * 5 * F32  # [batch, heads, seq] in fp32: 80
    PARAMS = 4 * (16 * 16 + 16) * F32  # 4,352

    @pytest.mark.parametrize("device", DEVICES)
    def test_sdpa_keeps_q_k_v_its_output_and_the_logsumexp(self, device: str) -> None:
        p = run(models.attention(), (2, 5, 16), device)
        # q, k, v are each charged to their projection; the fused SDPA, run by the block itself,
        # makes its output [2, 2, 5, 8] and the logsumexp; the out projection saves the output
        # (through a transpose and reshape that stay views) and returns the model's output.
        # Dropout(p=0) runs no op.
        assert activations(p) == {"q": self.PROJECTION, "k": self.PROJECTION, "v": self.PROJECTION,
                                  "": self.PROJECTION + self.LOGSUMEXP}
        assert p.memory is not None and p.memory.activation_bytes == 4 * self.PROJECTION + self.LOGSUMEXP  # 2,640
        assert p.memory.gradient_bytes == self.PARAMS

    @pytest.mark.parametrize("device", DEVICES)
    def test_dropout_keeps_a_float_mask_of_its_input(self, device: str) -> None:
        p = run(models.attention(dropout=0.1), (2, 5, 16), device)
        # Off CUDA, dropout is empty_like(x).bernoulli_(0.9).div_(0.9) and x * mask: the mask is
        # float32 like x, [2, 5, 16], and is what mul saves (x's gradient is grad * mask). The
        # out projection's result is no longer the output: nothing saves it and it is freed.
        # (On meta these are the meta kernels' figures; a CUDA-faithful meta run, issue 10
        # part 3, would keep CUDA's bool mask instead.)
        mask = 2 * 5 * 16 * F32
        assert activations(p) == {"q": self.PROJECTION, "k": self.PROJECTION, "v": self.PROJECTION,
                                  "": self.PROJECTION + self.LOGSUMEXP, "drop": mask}
        assert p.memory is not None and p.memory.activation_bytes == 4 * self.PROJECTION + self.LOGSUMEXP + mask
        held = self.PARAMS + 2 * 5 * 16 * F32  # parameters and x
        # While the mul runs: q, k, v, SDPA's output and logsumexp, the out projection's result,
        # the mask and the product.
        assert p.module("drop").memory.peak_bytes == (  # type: ignore[union-attr]
            held + 4 * self.PROJECTION + self.LOGSUMEXP + 3 * mask)  # 9,552

    def test_a_module_that_runs_no_op_still_peaks_at_what_is_live(self) -> None:
        p = run(models.attention(), (2, 5, 16), "cpu")
        # While Dropout(p=0) runs: parameters, x, q, k, v, SDPA's output and logsumexp, and the
        # out projection's result: what was live at the end of the out projection.
        live = self.PARAMS + 2 * 5 * 16 * F32 + 4 * self.PROJECTION + self.LOGSUMEXP + self.PROJECTION  # 8,272
        assert p.module("out").memory.peak_bytes == live  # type: ignore[union-attr]
        assert p.module("drop").memory.peak_bytes == live  # type: ignore[union-attr]


class TestMultiheadAttention:
    """nn.MultiheadAttention(16, 2 heads, batch_first) on (x, x, x), need_weights=False; x [2, 5, 16]."""

    X = 2 * 5 * 16 * F32  # 640
    QKV = 3 * 2 * 5 * 16 * F32  # the packed projection [3, 5, 2, 16]: 1,920
    LOGSUMEXP = 2 * 2 * 5 * F32  # 80

    def expected(self) -> int:
        # MHA works sequence-first: x.transpose(0, 1) is a view, and the packed in-projection's
        # linear makes it contiguous (a [5, 2, 16] copy, saved by mm as mat1). mm's [10, 48]
        # result and the bias add's [5, 2, 48] are freed: the add saves nothing, and the q, k, v
        # split is a contiguous copy [3, 5, 2, 16], whose views SDPA saves with its output
        # [2, 2, 5, 8] and logsumexp. out_proj's weight is used through F.linear, so the
        # submodule never runs and everything is the MHA's own.
        return self.X + self.QKV + self.X + self.LOGSUMEXP  # 3,280

    def test_cpu(self) -> None:
        p = run(models.self_attention(), (2, 5, 16), "cpu")
        assert activations(p) == {"mha": self.expected()}
        assert p.module("mha.out_proj").memory.output_bytes == 0  # type: ignore[union-attr]
        assert p.memory is not None and p.memory.activation_bytes == self.expected()

    @pytest.mark.xfail(strict=True, reason=(
        "on meta, the SDPA call inside F.multi_head_attention_forward is not redirected to the "
        "fused CPU kernel (capture/attention_on_meta.py, the known gap: a TorchFunctionMode is "
        "popped while it handles F.multi_head_attention_forward, so the nested SDPA never reaches "
        "MetaAttentionMode) and runs the math decomposition, which also keeps the scaled q and "
        "k^T (640 each), the softmax probabilities [2, 2, 5, 5] (400) and a contiguous copy of "
        "the attention output (640) in place of the logsumexp (80): 4,880 bytes against 3,280"))
    def test_meta_keeps_what_cpu_keeps(self) -> None:
        p = run(models.self_attention(), (2, 5, 16), "meta")
        assert p.memory is not None and p.memory.activation_bytes == self.expected()


class TestCheckpoint:
    """Linear(16->16) -> Block(16->32, ReLU, 32->16) -> Linear(16->4), x [4, 16]; the Block under
    torch.utils.checkpoint (non-reentrant) or not."""

    H = 4 * 16 * F32  # the block's input and output, [4, 16]: 256
    WIDE = 4 * 32 * F32  # fc1's and the ReLU's results, [4, 32]: 512
    PARAMS = (16 * 16 + 16 + 16 * 32 + 32 + 32 * 16 + 16 + 16 * 4 + 4) * F32  # 5,648

    @pytest.mark.parametrize("device", DEVICES)
    def test_without_checkpointing_the_block_keeps_its_relu_output(self, device: str) -> None:
        p = run(models.checkpointed_net(False), (4, 16), device)
        # h is saved by fc1; fc1's result is freed after the ReLU, which saves its own result
        # (and fc2 the same); fc2's result is saved by the head.
        assert activations(p) == {"inp": self.H, "block.act": self.WIDE, "block.fc2": self.H}
        assert p.memory is not None and p.memory.activation_bytes == 2 * self.H + self.WIDE  # 1,024
        assert p.memory.gradient_bytes == self.PARAMS

    @pytest.mark.parametrize("device", DEVICES)
    def test_a_checkpoint_holds_its_input_not_the_inner_activations(self, device: str) -> None:
        p = run(models.checkpointed_net(True), (4, 16), device)
        # The checkpoint keeps h to recompute the block from; nothing inside the block is saved
        # (the ReLU output is freed in the forward and recomputed in the backward). The block's
        # output is still what the head saves.
        assert activations(p) == {"inp": self.H, "block.fc2": self.H}
        assert p.module("block").memory.activation_bytes == self.H  # type: ignore[union-attr]
        assert p.memory is not None and p.memory.activation_bytes == 2 * self.H  # 512: 512 fewer
        assert p.memory.gradient_bytes == self.PARAMS  # the same gradients
        # The backward recomputes the block from h (torch stops once it has what it needs).
        assert p.module("block.fc1").recompute.macs == 4 * 16 * 32


class TestFrozen:
    """Linear(16->32) -> GELU -> Linear(32->8), x [4, 16]; the first Linear frozen or not."""

    WIDE = 4 * 32 * F32  # h1 = the first Linear's result and g1 = GELU(h1), [4, 32]: 512 each
    PARAMS = (16 * 32 + 32 + 32 * 8 + 8) * F32  # 3,232

    @pytest.mark.parametrize("device", DEVICES)
    def test_trainable(self, device: str) -> None:
        p = run(models.mlp(nn.GELU), (4, 16), device)
        # GELU saves its input h1; the second Linear saves g1.
        assert activations(p) == {"0": self.WIDE, "1": self.WIDE}
        assert p.memory is not None and p.memory.gradient_bytes == self.PARAMS

    @pytest.mark.parametrize("device", DEVICES)
    def test_a_frozen_first_layer_saves_nothing_before_the_first_trainable_one(self, device: str) -> None:
        p = run(models.frozen_mlp(), (4, 16), device)
        # h1 needs no gradient (nor do x and W1), so GELU saves nothing and h1 is freed; g1 is
        # still saved, by the second Linear, for W2's gradient.
        assert activations(p) == {"1": self.WIDE}
        assert p.memory is not None and p.memory.activation_bytes == self.WIDE  # 512 fewer
        assert p.memory.gradient_bytes == (32 * 8 + 8) * F32  # only the second Linear's: 1,056
        assert p.memory.parameter_bytes == self.PARAMS  # frozen weights are still held


class TestAutocast:
    """Linear(16->32) -> ReLU -> Linear(32->8) on x [4, 16] fp32, profiled inside
    torch.autocast("cpu", dtype=torch.bfloat16)."""

    def test_bf16_activations_and_the_weight_copies_autocast_keeps(self) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            p = flopsight.profile(models.mlp(), torch.randn(4, 16), backward=True, memory=True)
        # Autocast casts each fp32 leaf that requires grad to bf16 once and caches the copy until
        # the autocast region ends, so every weight and bias copy outlives the forward, saved or
        # not: W1 [32, 16], b1 [32], W2 [8, 32], b2 [8]. x is cast too (not cached: it needs no
        # grad) and the first addmm saves the copy as mat1 for W1's gradient. h1 = addmm [4, 32]
        # in bf16 is freed after the ReLU, whose result h2 both the ReLU and the second addmm save.
        w1, b1, w2, b2 = 16 * 32 * BF16, 32 * BF16, 32 * 8 * BF16, 8 * BF16
        x16, h2 = 4 * 16 * BF16, 4 * 32 * BF16
        assert activations(p) == {"0": w1 + b1 + x16, "1": h2, "2": w2 + b2}  # 1,216, 256, 528
        assert p.memory is not None and p.memory.activation_bytes == 2000
        assert p.memory.output_bytes == 4 * 8 * BF16  # the output is bf16: 64
        # The gradients come back to the fp32 parameters in fp32.
        assert p.memory.gradient_bytes == (16 * 32 + 32 + 32 * 8 + 8) * F32

    def test_a_second_profile_in_the_same_autocast_region_reads_the_same(self) -> None:
        model = models.mlp()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            first = flopsight.profile(model, torch.randn(4, 16), backward=True, memory=True)
            second = flopsight.profile(model, torch.randn(4, 16), backward=True, memory=True)
        assert first.memory is not None and second.memory is not None
        assert (second.memory.activation_bytes, second.memory.peak_bytes) == (
            first.memory.activation_bytes, first.memory.peak_bytes)


class TestForwardOnly:
    """Linear(16->32) -> ReLU -> Linear(32->8), x [4, 16], ``backward=False``."""

    def test_under_no_grad_nothing_is_an_activation(self) -> None:
        with torch.no_grad():
            p = flopsight.profile(models.mlp(), torch.randn(4, 16), memory=True)
        assert p.memory is not None and p.memory.activation_bytes == 0

    def test_in_grad_mode_what_the_graph_holds_after_the_forward_is_an_activation(self) -> None:
        p = flopsight.profile(models.mlp(), torch.randn(4, 16), memory=True)
        assert torch.is_grad_enabled()
        assert p.memory is not None and p.memory.activation_bytes == 4 * 32 * F32  # h2: 512
