"""``flopsight estimate MODEL``: closed forms from the config, and with --measure the count beside them."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from ..errors import InputError
from .output import Progress


def run_estimate(args: argparse.Namespace, progress: Progress) -> str:
    """The closed forms of MODEL's config; with ``--measure`` also one forward profiled on meta
    and the differences named."""
    from .. import hf
    from ..estimates import compare, estimate
    from ..estimates.render import estimate_dict, render_estimate

    progress(f"reading the config of {args.model}")
    source = hf.resolve_source(args.model)
    config = hf.make_config(source)
    task = args.task or hf.task_class(config).__name__
    if task in hf.TASKS:  # profile's friendly names (base, masked-lm, ...) name the same classes here
        task = hf.resolve_task(config, task)[0].__name__
    result = dataclasses.replace(estimate(config, batch_size=args.batch_size, seq_len=args.seq_len, task=task,
                                          decoder_seq_len=args.decoder_seq_len), model=source.spec)
    comparison = None
    if args.measure:
        progress(f"building {task} on meta")
        model = hf.build_model(_tower(config, task), device="meta", dtype=hf.default_dtype(source))
        if type(model).__name__ != task:  # --task names a head the config does not build
            raise InputError(f"--measure builds {type(model).__name__} from this config, not {task}: "
                             "leave --task out to measure")
        image = bool(getattr(result.shape, "patch_size", 0))  # ViT: the config's image, its tokens
        spec = hf.InputSpec(args.batch_size, None if image else result.seq_len)
        inputs = hf.synthesize_inputs(model, spec, device="meta")
        if result.decoder_seq_len:
            _set_decoder_tokens(inputs, result.decoder_seq_len)
        progress("profiling one forward")
        comparison = compare(result, hf.profile_forward(model, inputs, device="meta"))
    progress("rendering")
    if args.format == "json":
        return json.dumps(estimate_dict(result, comparison), indent=2) + "\n"
    return render_estimate(result, comparison)


def _set_decoder_tokens(inputs: Any, decoder_seq_len: int) -> None:
    """Give the decoder its own length (``synthesize_inputs`` feeds it as many tokens as the
    encoder); the ids' values do not change the count."""
    ids = inputs.kwargs["decoder_input_ids"]
    inputs.kwargs["decoder_input_ids"] = ids.new_zeros((ids.shape[0], decoder_seq_len))
    inputs.description["decoder_seq_len"] = decoder_seq_len


def _tower(config: Any, task: str) -> Any:
    """What to build for ``task``: a CLIP config's vision or text tower alone, else the config."""
    if getattr(config, "model_type", "") == "clip" and task in ("CLIPVisionModel", "CLIPTextModel"):
        return config.vision_config if task == "CLIPVisionModel" else config.text_config
    return config
