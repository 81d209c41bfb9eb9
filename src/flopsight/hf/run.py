"""Profile a built Hugging Face model: one forward (and backward), or prefill plus decode steps.

Every step is one call of ``flopsight.profile``. On meta the call runs under
``RealIntegersMode`` (integer inputs stay real, see ``real_integers``) and the meta attention
mode (SDPA priced as the CPU fused kernel), both popped when the call returns or raises.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..api import profile
from ..capture.attention_on_meta import MetaAttentionMode
from ..errors import FlopsightError
from ..tree import Cost, Profile
from .errors import DeviceError, InputSpecError
from .inputs import TEXT_TOKEN_ID, ModelInputs
from .real_integers import RealIntegersMode

Progress = Callable[[str], None]


def profile_forward(model: nn.Module, inputs: ModelInputs, *, device: str = "meta", backward: bool = False) -> Profile:
    """Profile one forward (and backward with ``backward=True``) of ``model(**inputs.kwargs)``.

    Raises:
        DeviceError: the model cannot run on ``device`` (on meta: it reads a floating value).
    """
    kwargs = dict(inputs.kwargs)
    if _takes_use_cache(model):
        kwargs["use_cache"] = False  # one forward: a KV cache adds nothing but memory
    result = _profile_step(model, kwargs, device=device, backward=backward)
    result.metadata["input_description"] = inputs.describe()
    return result


@dataclass(slots=True)
class GenerationProfile:
    """Prefill and N decode steps, each its own Profile; ``decode[i]`` is token i + 1."""

    prefill: Profile
    decode: list[Profile] = field(default_factory=list)
    prompt_len: int = 0

    @property
    def decode_total(self) -> Cost:
        total = Cost()
        for step in self.decode:
            total = total + step.forward
        return total

    @property
    def total(self) -> Cost:
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

    Raises:
        InputSpecError: the model is not a decoder with a KV cache.
        DeviceError: the model cannot run on ``device``.
    """
    from transformers import DynamicCache

    if new_tokens < 1:
        raise InputSpecError(f"--new-tokens must be at least 1, got {new_tokens}")
    config = model.config
    if getattr(config, "is_encoder_decoder", False) or not hasattr(model, "generate") or not _takes_use_cache(model):
        raise InputSpecError(f"--mode generate needs a decoder-only model with a KV cache; {type(model).__name__} is not one")
    prompt = dict(inputs.kwargs)
    prompt_ids = prompt["input_ids"]
    batch, prompt_len = prompt_ids.shape
    cache = DynamicCache(config=config)
    if progress:
        progress(f"prefill of {prompt_len} tokens")
    prefill = _profile_step(model, {**prompt, "past_key_values": cache, "use_cache": True}, device=device)
    prefill.metadata["input_description"] = inputs.describe()
    result = GenerationProfile(prefill=prefill, prompt_len=prompt_len)
    mask = prompt["attention_mask"]
    for step in range(1, new_tokens + 1):
        if progress:
            progress(f"decode step {step}/{new_tokens}")
        token = torch.full((batch, 1), TEXT_TOKEN_ID, dtype=prompt_ids.dtype, device=prompt_ids.device)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        kwargs = {"input_ids": token, "attention_mask": mask, "past_key_values": cache, "use_cache": True}
        decoded = _profile_step(model, kwargs, device=device)
        decoded.metadata["input_description"] = {"family": inputs.family, "batch_size": batch, "kv_len": prompt_len + step}
        result.decode.append(decoded)
    return result


def _profile_step(model: nn.Module, kwargs: dict[str, Any], *, device: str, backward: bool = False) -> Profile:
    try:
        with _device_modes(device), torch.no_grad() if not backward else contextlib.nullcontext():
            return profile(model, kwargs=kwargs, backward=backward)
    except FlopsightError:
        raise
    except torch.cuda.OutOfMemoryError:
        raise DeviceError("out of GPU memory; use --device meta (no memory needed) or smaller sizes") from None
    except (RuntimeError, NotImplementedError, TypeError, ValueError, IndexError) as exc:
        message = _first_line(exc)
        if device == "meta":
            raise DeviceError(f"{type(model).__name__} cannot run on meta ({message}); try --device cpu") from None
        raise DeviceError(f"{type(model).__name__} failed on {device}: {message}") from None


@contextlib.contextmanager
def _device_modes(device: str) -> Iterator[None]:
    if device != "meta":
        yield
        return
    with RealIntegersMode(), _MetaAttention():
        yield


class _MetaAttention(MetaAttentionMode):
    """The engine's meta SDPA redirection, skipped where CPU would not pick the fused kernel
    either: a value head size that differs from the query's (DeepSeek's MLA).

    (The engine applies its own mode only when the first input tensor is on meta; with the
    integer inputs real on the CPU that check does not fire, so this run applies it here.)
    """

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is F.scaled_dot_product_attention and len(args) >= 3:
            query, value = args[0], args[2]
            if isinstance(query, torch.Tensor) and isinstance(value, torch.Tensor) and query.shape[-1] != value.shape[-1]:
                return func(*args, **kwargs)
        return super().__torch_function__(func, types, args, kwargs)


def _takes_use_cache(model: nn.Module) -> bool:
    return bool(getattr(model.config, "use_cache", False)) or hasattr(getattr(model.config, "text_config", None), "use_cache")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
