"""The model-zoo sweep: every tiny architecture in ``zoo_configs`` that builds and runs in plain
torch must give the same counts on CPU and meta, under grad mode, ``no_grad`` and
``inference_mode``, on its first forward and the next; agree with FlopCounterMode's
matmul-class total on meta; and leave no op uncounted.

The references are independent of flopsight's own figures: the same model on another device or
grad mode, and ``torch.utils.flop_counter.FlopCounterMode`` (which counts matmuls, convolutions
and attention, 2 FLOPs per MAC, with attention scores in full as flopsight does).

CPU weights are random (seeded), not zero, so that a count that depends on weight values
shows up as a CPU/meta difference. Mixture-of-experts layers run as ``batched_mm`` on both
devices (every token through exactly its top-k experts), so their op lists compare too.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

transformers = pytest.importorskip("transformers")

import flopsight  # noqa: E402
from flopsight.costs.data_movement import is_data_movement  # noqa: E402
from flopsight.hf import InputSpec, build_model, synthesize_inputs  # noqa: E402
from flopsight.hf.real_integers import RealIntegersMode  # noqa: E402

from zoo_configs import CASES, ZooCase  # noqa: E402

pytestmark = pytest.mark.xl  # about a minute on two cores

BATCH, SEQ = 2, 8
GRAD_MODES: dict[str, Callable[[], Any]] = {
    "grad": torch.enable_grad,
    "no_grad": torch.no_grad,
    "inference_mode": torch.inference_mode,
}
# Known defects, each with its root cause; strict, so a fix shows up as XPASS.
_MASK_GRAD = (
    "torch itself runs another kernel: a float attention mask that requires grad (the T5, mT5 "
    "and UMT5 position bias, Swin's relative position bias, Doge's dynamic mask from its value "
    "states, Mask2Former's masked attention from its own predictions) makes the CPU pick SDPA's "
    "math path (bmm, mul, add, _safe_softmax) in grad mode and the fused kernel under no_grad: "
    "other op names, the same MACs and FLOPs (test_grad_modes_give_the_same_totals_per_module)"
)
_FIRST_CALL = (
    "the model's first forward does one-time work: RWKV's eval forward rescales its weights once "
    "(RwkvModel._rescale_layers: div_ of attention.output and feed_forward.value weights, flag "
    "layers_are_rescaled); DINOv3's patch coordinates come from an lru_cache shared by all models "
    "(get_patches_center_coordinates: div, mul, sub on the first call per size and device)"
)
_ROTARY_CACHE = (
    "the model's first forward does one-time work: Wav2Vec2-Conformer's rotary position embedding "
    "computes its sin/cos table once and keeps it (cached_rotary_positional_embedding: mul, sin, cos "
    "on the first call per sequence length)"
)
_LEVIT_BIAS_CACHE = (
    "the model's first forward does one-time work: LeViT's eval forward gathers its attention "
    "biases once per device and keeps them (LevitAttention.get_attention_biases, "
    "attention_bias_cache: aten.index.Tensor on attention_biases[:, attention_bias_idxs])"
)
_META_CONV_LAYOUT = (
    "torch itself runs other kernels per device: a depthwise Conv2d fed a channels-last view (the "
    "Mix-FFN's tokens.transpose(1, 2).view(B, C, H, W)) returns a channels-last output on the CPU "
    "but a contiguous one on meta; after flatten(2).transpose(1, 2) the next Linear's 3-D input is "
    "contiguous on the CPU (one addmm) and not on meta (mm, then add): other op counts, the same "
    "MACs and FLOPs per module"
)
_SINE_CACHE = (
    "the model's first forward does one-time work: MaskFormer's sine position embedding is "
    "memoized (MaskFormerSinePositionEmbedding.forward under compile_compatible_method_lru_cache: "
    "pow, div, mul, sin, cos on the first call per shape)"
)
XFAIL: dict[tuple[str, str], str] = {
    ("maskformer", "repeatable"): _SINE_CACHE,
    **{(m, check): _MASK_GRAD for m in ("t5", "swin", "mt5", "umt5", "doge", "mask2former")
       for check in ("grad_modes_cpu", "grad_modes_meta")},
    ("wav2vec2-conformer", "repeatable"): _ROTARY_CACHE,
    ("levit", "repeatable"): _LEVIT_BIAS_CACHE,
    **{(m, "cpu_equals_meta"): _META_CONV_LAYOUT for m in ("segformer", "glpn", "pvt_v2")},
    ("rwkv", "repeatable"): _FIRST_CALL,
    ("dinov3_vit", "repeatable"): _FIRST_CALL,
}


@dataclass
class Runs:
    """One model type's profiles per (device, grad mode), or the error the run raised, and
    FlopCounterMode's figures on meta."""

    profiles: dict[tuple[str, str], Any]
    flop_counter_total: int = 0
    flop_counter_by_op: dict[str, int] = field(default_factory=dict)

    def profile(self, device: str, mode: str) -> Any:
        found = self.profiles[device, mode]
        if isinstance(found, Exception):
            raise found
        return found


def _config(case: ZooCase) -> Any:
    return transformers.AutoConfig.for_model(case.model_type, **copy.deepcopy(case.config))


def _build(case: ZooCase, device: str) -> torch.nn.Module:
    model = build_model(_config(case), device=device)
    if hasattr(model, "set_experts_implementation") and getattr(model.config, "_experts_implementation", None):
        model.set_experts_implementation("batched_mm")  # the meta choice, on CPU too
    if device == "cpu":
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)
    return model


def _inputs(case: ZooCase, model: torch.nn.Module, device: str) -> dict[str, Any]:
    """Integer inputs real on the CPU, floating ones on ``device`` (as synthesize_inputs does)."""
    config: Any = model.config
    floats = torch.device(device)
    ids_on = torch.device("cpu")
    if case.inputs == "speech":
        frames = 2 * config.max_source_positions  # the encoder's two convolutions halve it
        decoder_ids = torch.full((BATCH, SEQ), 3, dtype=torch.long, device=ids_on)
        return {"input_features": _floats((BATCH, config.num_mel_bins, frames), floats),
                "decoder_input_ids": decoder_ids}
    if case.inputs == "speech_features":
        decoder_ids = torch.full((BATCH, SEQ), 3, dtype=torch.long, device=ids_on)
        return {"input_features": _floats((BATCH, 4 * config.max_source_positions, config.input_feat_per_channel),
                                          floats), "decoder_input_ids": decoder_ids}
    if case.inputs == "codec":
        return {"input_values": _floats((BATCH, 1, 400), floats)}
    if case.inputs == "waveform":
        return {"input_values": _floats((BATCH, 400), floats)}
    if case.inputs == "video":
        size = config.image_size
        return {"pixel_values": _floats((BATCH, config.num_frames, config.num_channels, size, size), floats)}
    if case.inputs == "image_text":
        return _image_text(case, model, floats, ids_on)
    if case.inputs == "clip":
        size = config.vision_config.image_size
        return {"input_ids": _caption_ids(config, ids_on),
                "pixel_values": _floats((BATCH, 3, size, size), floats)}
    if case.inputs == "matting":  # an image and its trimap: 4 channels
        size = case.image_size[0]
        return {"pixel_values": _floats((BATCH, 4, size, size), floats)}
    if case.inputs == "pixels":
        size = case.image_size[0] if case.image_size else config.image_size
        return {"pixel_values": _floats((BATCH, getattr(config, "num_channels", 3), size, size), floats)}
    spec = InputSpec(batch_size=BATCH, seq_len=SEQ, image_size=case.image_size)
    inputs = dict(synthesize_inputs(model, spec, device=device).kwargs)
    if case.inputs == "token_types":
        inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
    return inputs


def _image_text(case: ZooCase, model: torch.nn.Module, floats: torch.device, ids_on: torch.device) -> dict[str, Any]:
    """One image per sample; its ``image_tokens`` placeholders lead the text."""
    config: Any = model.config
    size = config.vision_config.image_size
    size = size[0] if isinstance(size, (list, tuple)) else size
    ids = torch.full((BATCH, SEQ + case.image_tokens), 3, dtype=torch.long, device=ids_on)
    ids[:, :case.image_tokens] = config.image_token_id
    parameters = inspect.signature(model.forward).parameters
    image = (BATCH, 1, 3, size, size) if "pixel_attention_mask" in parameters else (BATCH, 3, size, size)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "pixel_values": _floats(image, floats)}
    if "image_sizes" in parameters:
        inputs["image_sizes"] = torch.tensor([[size, size]] * BATCH, device=ids_on)
    return inputs


def _caption_ids(config: Any, device: torch.device) -> torch.Tensor:
    """One caption per image, as long as the text tower's positions allow (at most SEQ)."""
    length = min(SEQ, config.text_config.max_position_embeddings)
    return torch.full((BATCH, length), 3, dtype=torch.long, device=device)


def _floats(shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    if device.type == "meta":
        return torch.empty(shape, device=device)
    return torch.randn(shape, generator=torch.Generator().manual_seed(1))


def _on_device(device: str) -> contextlib.AbstractContextManager[Any]:
    return RealIntegersMode() if device == "meta" else contextlib.nullcontext()


def _call(model: torch.nn.Module, inputs: dict[str, Any]) -> None:
    model(**_with_no_cache(model, inputs))


@functools.cache
def _runs(model_type: str) -> Runs | str:
    """Every run of one model type, or why it cannot run in plain torch (then it is skipped).

    The first profile of each model is its first forward ever ("first", no_grad); the grad-mode
    runs follow, so ``first`` against ``no_grad`` shows what a forward does only once.
    """
    case = next(c for c in CASES if c.model_type == model_type)
    runs = Runs({})
    for device in ("cpu", "meta"):
        try:
            model = _build(case, device)
            inputs = _inputs(case, model, device)
        except Exception as exc:  # noqa: BLE001 (a model the library cannot build is a skip)
            return f"{model_type} does not build on {device} (build_model): {type(exc).__name__}: {exc}"[:300]
        for mode, grad_mode in (("first", torch.no_grad), *GRAD_MODES.items()):
            try:
                with _on_device(device), grad_mode():
                    runs.profiles[device, mode] = flopsight.profile(model, kwargs=_with_no_cache(model, inputs))
            except Exception as exc:  # noqa: BLE001 (kept for the checks that need this run)
                runs.profiles[device, mode] = exc
        if isinstance(runs.profiles[device, "first"], Exception):
            try:
                with _on_device(device), torch.no_grad():
                    _call(model, inputs)
            except Exception as exc:  # noqa: BLE001 (a failure without flopsight is a skip)
                return f"{model_type} does not run on {device} in plain torch: {type(exc).__name__}: {exc}"[:300]
        if device == "meta":
            try:
                counter = _flop_counter(model, inputs, torch.no_grad)
            except AssertionError as exc:
                if "Expected gradient function to be set" not in str(exc):
                    raise
                # torch's ModuleTracker (inside FlopCounterMode) cannot hook a module whose input
                # is a parameter itself under no_grad (BLIP-2's query tokens, Deformable DETR's
                # query embeddings): it needs the parameter's grad accumulator, which no_grad
                # hides. Grad mode gives the same matmul-class total.
                counter = _flop_counter(model, inputs, torch.enable_grad)
            runs.flop_counter_total = counter.get_total_flops()
            runs.flop_counter_by_op = {str(op): int(n) for op, n in counter.get_flop_counts()["Global"].items()}
    return runs


def _flop_counter(model: torch.nn.Module, inputs: dict[str, Any], grad_mode: Callable[[], Any]) -> FlopCounterMode:
    counter = FlopCounterMode(display=False)
    with RealIntegersMode(), grad_mode(), counter:
        _call(model, inputs)
    return counter


def _with_no_cache(model: torch.nn.Module, inputs: dict[str, Any]) -> dict[str, Any]:
    if "use_cache" in inspect.signature(model.forward).parameters:
        return {**inputs, "use_cache": False}  # one forward: a KV cache adds nothing
    return inputs


def _get(model_type: str) -> Runs:
    runs = _runs(model_type)
    if isinstance(runs, str):
        pytest.skip(runs)
    return runs


def _ops(profile: Any) -> dict[str, tuple[int, int, int]]:
    """Calls, MACs and FLOPs per op, but the ops that only move data: 0 FLOPs by definition, and
    which copies run is torch's choice per device and grad mode (CPU kernels copy for layout)."""
    return {op: (t.calls, t.macs, t.flops) for op, t in profile.by_op().items() if not is_data_movement(op)}


def _modules(profile: Any) -> dict[str, tuple[int, int, int]]:
    return {n.name: (n.calls, n.forward.macs, n.forward.flops) for n in profile.modules()}


def _cases(check: str) -> list[Any]:
    params = []
    for case in CASES:
        reason = XFAIL.get((case.model_type, check))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(case.model_type, marks=marks, id=case.model_type))
    return params


@pytest.mark.parametrize("model_type", _cases("cpu_equals_meta"))
def test_cpu_counts_equal_meta_counts(model_type: str) -> None:
    runs = _get(model_type)
    on_cpu, on_meta = runs.profile("cpu", "no_grad"), runs.profile("meta", "no_grad")
    assert on_cpu.params == on_meta.params
    assert _ops(on_cpu) == _ops(on_meta)
    assert _modules(on_cpu) == _modules(on_meta)
    assert on_cpu.uncounted_ops == on_meta.uncounted_ops


@pytest.mark.parametrize("model_type", _cases("repeatable"))
def test_the_first_forward_counts_as_the_next(model_type: str) -> None:
    runs = _get(model_type)
    for device in ("cpu", "meta"):
        first, again = runs.profile(device, "first"), runs.profile(device, "no_grad")
        assert _ops(first) == _ops(again), device
        assert _modules(first) == _modules(again), device


def _check_grad_modes(model_type: str, device: str) -> None:
    runs = _get(model_type)
    reference = runs.profile(device, "grad")
    for mode in ("no_grad", "inference_mode"):
        other = runs.profile(device, mode)
        assert _ops(other) == _ops(reference), mode
        assert _modules(other) == _modules(reference), mode
        assert other.uncounted_ops == reference.uncounted_ops, mode


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("model_type", _cases("grad_mode_totals"))
def test_grad_modes_give_the_same_totals_per_module(model_type: str, device: str) -> None:
    """MACs and FLOPs per module, also where torch runs another SDPA kernel per grad mode."""
    runs = _get(model_type)
    reference = runs.profile(device, "grad")
    for mode in ("no_grad", "inference_mode"):
        assert _modules(runs.profile(device, mode)) == _modules(reference), mode


@pytest.mark.parametrize("model_type", _cases("grad_modes_cpu"))
def test_grad_modes_give_the_same_counts_on_cpu(model_type: str) -> None:
    _check_grad_modes(model_type, "cpu")


@pytest.mark.parametrize("model_type", _cases("grad_modes_meta"))
def test_grad_modes_give_the_same_counts_on_meta(model_type: str) -> None:
    _check_grad_modes(model_type, "meta")


@pytest.mark.parametrize("model_type", _cases("flop_counter"))
def test_matmul_class_total_equals_flop_counter_mode(model_type: str) -> None:
    runs = _get(model_type)
    on_meta = runs.profile("meta", "no_grad")
    mine = {op: 2 * t.macs for op, t in on_meta.by_op().items() if t.macs}
    assert 2 * on_meta.forward.macs == runs.flop_counter_total, (mine, runs.flop_counter_by_op)


@pytest.mark.parametrize("model_type", _cases("runs"))
def test_every_device_and_grad_mode_runs(model_type: str) -> None:
    runs = _get(model_type)
    for device, mode in runs.profiles:
        runs.profile(device, mode)  # raises what the profiled run raised


@pytest.mark.parametrize("model_type", _cases("all_counted"))
def test_no_op_is_left_uncounted(model_type: str) -> None:
    runs = _get(model_type)
    completed = {key: p for key, p in runs.profiles.items() if not isinstance(p, Exception)}
    assert ("cpu", "no_grad") in completed and ("meta", "no_grad") in completed
    for key, result in completed.items():
        assert result.uncounted_ops == {}, key


@pytest.mark.parametrize("model_type", _cases("runs"))
def test_memory_is_recorded_on_every_architecture(model_type: str) -> None:
    """Every architecture that runs on meta runs with memory recorded too (CUDA target), and its
    figures hold together: the peak is its categories at the peak; the model and inputs are
    live through it; the root's activations are the sum of every module's own."""
    runs = _get(model_type)
    if isinstance(runs.profiles.get(("meta", "grad")), Exception):
        pytest.skip(f"{model_type} does not run in grad mode on meta")
    case = next(c for c in CASES if c.model_type == model_type)
    model = _build(case, "meta")
    inputs = _inputs(case, model, "meta")
    with _on_device("meta"), torch.enable_grad():
        profile = flopsight.profile(model, kwargs=_with_no_cache(model, inputs), memory=True)
    memory = profile.memory
    assert memory is not None and memory.target == "cuda (simulated on meta)"
    assert memory.peak_bytes == sum(memory.at_peak.values())
    assert memory.at_peak["parameter"] == memory.parameter_bytes and memory.at_peak["input"] == memory.input_bytes
    nodes = [node for node in profile.root.walk() if node.alias_of is None]
    assert profile.root.memory is not None
    assert profile.root.memory.activation_bytes == memory.activation_bytes
    assert sum(node.memory.own_activation_bytes for node in nodes if node.memory) == memory.activation_bytes
    assert all(node.memory is None or node.memory.peak_bytes <= memory.peak_bytes for node in nodes)
