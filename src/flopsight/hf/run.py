"""Profile a built Hugging Face model: one forward (and backward), or prefill plus decode steps.

Every step is one call of ``flopsight.profile``. On meta the call runs under
``RealIntegersMode`` (integer inputs stay real, see ``real_integers``) and the meta attention
mode (SDPA priced as the CPU fused kernel), both popped when the call returns or raises.
"""

from __future__ import annotations

import contextlib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import nn

from ..api import profile
from ..errors import FlopsightError
from ..records import OpCost
from ..tree import Profile
from .errors import DeviceError, InputSpecError, first_line
from .inputs import TEXT_TOKEN_ID, ModelInputs, learned_positions
from .real_integers import DEFAULT_MAX_NUMEL, RealIntegersMode

Progress = Callable[[str], None]


def profile_forward(model: nn.Module, inputs: ModelInputs, *, device: str = "meta", backward: bool = False,
                    memory: bool = False, optimizer: torch.optim.Optimizer | None = None) -> Profile:
    """Profile one forward (and backward with ``backward=True``) of ``model(**inputs.kwargs)``;
    ``memory=True`` also records its memory and ``optimizer`` runs a real optimizer step
    (``flopsight.profile``'s ``memory`` and ``optimizer``).

    Raises:
        DeviceError: the model cannot run on ``device`` (on meta: it reads a floating value).
    """
    kwargs = dict(inputs.kwargs)
    if _takes_use_cache(model):
        kwargs["use_cache"] = False  # one forward: a KV cache adds nothing but memory
    result = _profile_step(model, kwargs, device=device, backward=backward, memory=memory, optimizer=optimizer)
    result.metadata["input_description"] = inputs.describe()
    return result


@dataclass(slots=True)
class GenerationProfile:
    """Prefill and N decode steps, each its own Profile; ``decode[i]`` is token i + 1."""

    prefill: Profile
    decode: list[Profile] = field(default_factory=list)
    prompt_len: int = 0

    @property
    def decode_total(self) -> OpCost:
        total = OpCost()
        for step in self.decode:
            total = total + step.forward
        return total

    @property
    def total(self) -> OpCost:
        return self.prefill.forward + self.decode_total

    def summary(self) -> dict[str, Any]:
        """Prefill, each decode step and the totals, as plain data."""
        steps = [
            {"step": i + 1, "kv_len": self.prompt_len + i + 1, **step.forward.to_dict()}
            for i, step in enumerate(self.decode)
        ]
        decode = self.decode_total
        per_token = {key: value // len(self.decode) for key, value in decode.to_dict().items()} if self.decode else {}
        return {
            "prompt_len": self.prompt_len,
            "new_tokens": len(self.decode),
            "prefill": self.prefill.forward.to_dict(),
            "decode_steps": steps,
            "decode_total": decode.to_dict(),
            "decode_mean_per_token": per_token,
            "total": self.total.to_dict(),
        }


def profile_generation(
    model: nn.Module,
    inputs: ModelInputs,
    *,
    new_tokens: int,
    device: str = "meta",
    progress: Progress | None = None,
) -> GenerationProfile:
    """Profile greedy generation: the prefill of the prompt, then ``new_tokens`` decode steps,
    each reading and extending the KV cache that the steps before it filled.

    The inputs of each step are made as ``model.generate`` makes them: position ids from the
    model's own ``_prepare_position_ids_for_generation`` (3-d rope for Qwen2-VL), the step's
    inputs from ``prepare_inputs_for_generation`` (images only in the prefill), logits for the
    last position only, and the mask, ids and position ids grown by one token per step.

    Raises:
        InputSpecError: the model is not a decoder with a KV cache.
        DeviceError: the model cannot run on ``device``.
    """
    from transformers import DynamicCache

    if new_tokens < 1:
        raise InputSpecError(f"--new-tokens must be at least 1, got {new_tokens}")
    config: Any = model.config
    prepare = getattr(model, "prepare_inputs_for_generation", None)
    if getattr(config, "is_encoder_decoder", False) or prepare is None or not _takes_use_cache(model):
        raise InputSpecError(f"--mode generate needs a decoder-only model with a KV cache; {type(model).__name__} is not one")
    accepted = set(inspect.signature(model.forward).parameters)
    state = dict(inputs.kwargs)
    ids = state.pop("input_ids")
    batch, prompt_len = ids.shape
    _check_generation_length(config, prompt_len, new_tokens)
    state.update({_cache_keyword(prepare): DynamicCache(config=config), "use_cache": True})
    if "logits_to_keep" in accepted:
        state["logits_to_keep"] = 1
    with _integer_mode(device, {**state, "input_ids": ids}):
        if "position_ids" in accepted and hasattr(model, "_prepare_position_ids_for_generation"):
            prepare_positions: Any = getattr(model, "_prepare_position_ids_for_generation")
            state["position_ids"] = prepare_positions(ids, {**state, "input_ids": ids})
    result: GenerationProfile | None = None
    for step in range(new_tokens + 1):
        if progress:
            progress(f"prefill of {prompt_len} tokens" if step == 0 else f"decode step {step}/{new_tokens}")
        with _integer_mode(device, {**state, "input_ids": ids}):
            step_inputs = prepare(ids, next_sequence_length=prompt_len if step == 0 else 1,
                                  is_first_iteration=step == 0, **state)
        measured = _profile_step(model, step_inputs, device=device)
        if result is None:
            measured.metadata["input_description"] = inputs.describe()
            result = GenerationProfile(prefill=measured, prompt_len=prompt_len)
        else:
            measured.metadata["input_description"] = {"family": inputs.family, "batch_size": batch, "kv_len": prompt_len + step}
            result.decode.append(measured)
        ids = torch.cat([ids, torch.full((batch, 1), TEXT_TOKEN_ID, dtype=ids.dtype, device=ids.device)], dim=1)
        _grow_by_one_token(state)
    assert result is not None
    return result


def _check_generation_length(config: Any, prompt_len: int, new_tokens: int) -> None:
    """A model with a learned position table cannot place a token past its last position: the
    cache would outgrow it (GPT-2's 1,024). Rope models have no such table and no hard limit."""
    limit = learned_positions(getattr(config, "text_config", None) or config)
    if limit is not None and prompt_len + new_tokens > limit:
        raise InputSpecError(
            f"a prompt of {prompt_len} tokens plus --new-tokens {new_tokens} makes {prompt_len + new_tokens} "
            f"positions, more than the {limit} this model has; lower --seq-len or --new-tokens"
        )


def _grow_by_one_token(state: dict[str, Any]) -> None:
    """After a step, extend what generate extends (``_update_model_kwargs_for_generation``):
    the attention mask by a 1, modality types by text (0), token types by the last one, position
    ids by the next position."""
    if (mask := state.get("attention_mask")) is not None:
        state["attention_mask"] = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=-1)
    if (types := state.get("mm_token_type_ids")) is not None:
        state["mm_token_type_ids"] = torch.cat([types, types.new_zeros((types.shape[0], 1))], dim=-1)
    if (token_types := state.get("token_type_ids")) is not None:
        state["token_type_ids"] = torch.cat([token_types, token_types[:, -1:]], dim=-1)
    if (positions := state.get("position_ids")) is not None:
        state["position_ids"] = torch.cat([positions, positions[..., -1:] + 1], dim=-1)


@contextlib.contextmanager
def _integer_mode(device: str, inputs: dict[str, Any]) -> Iterator[None]:
    """On meta, keep integer bookkeeping real (RealIntegersMode), for tensors up to the size of
    the largest integer input at least: token ids of any batch stay real, so the values the
    model reads from them (is the mask padded?) are there; a derived [B, 1, S, S] mask past that
    size stays on meta."""
    if device != "meta":
        yield
        return
    sizes = [v.numel() for v in inputs.values() if isinstance(v, torch.Tensor) and not v.is_floating_point()]
    with RealIntegersMode(max_numel=max([DEFAULT_MAX_NUMEL, *sizes])):
        yield


def _profile_step(model: nn.Module, kwargs: dict[str, Any], *, device: str, backward: bool = False,
                  memory: bool = False, optimizer: torch.optim.Optimizer | None = None) -> Profile:
    try:
        with _integer_mode(device, kwargs), torch.no_grad() if not backward else contextlib.nullcontext():
            result = profile(model, kwargs=kwargs, backward=backward, memory=memory, optimizer=optimizer)
    except FlopsightError:
        raise
    except torch.cuda.OutOfMemoryError:
        raise DeviceError("out of GPU memory; use --device meta (no memory needed) or smaller sizes") from None
    except (RuntimeError, NotImplementedError, TypeError, ValueError, IndexError) as exc:
        message = first_line(exc)
        if device == "meta":
            raise DeviceError(f"{type(model).__name__} cannot run on meta ({message}); try --device cpu") from None
        raise DeviceError(f"{type(model).__name__} failed on {device}: {message}") from None
    return result


def _cache_keyword(prepare: Callable[..., Any]) -> str:
    """The name generate passes the KV cache under: ``cache`` since transformers 5.24, which
    deprecates the older ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(prepare).parameters else "past_key_values"


def _takes_use_cache(model: nn.Module) -> bool:
    """The model keeps a KV cache: its forward takes ``use_cache`` and its config enables it."""
    if "use_cache" not in inspect.signature(model.forward).parameters:
        return False
    config = getattr(model, "config", None)
    text_config = getattr(config, "text_config", None) if config is not None else None
    return bool(getattr(config, "use_cache", False) or getattr(text_config, "use_cache", False))


integer_mode = _integer_mode  # for the other runs of a model on meta (``submodule``)
