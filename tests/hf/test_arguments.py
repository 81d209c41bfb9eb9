"""``profile_model`` and ``build_model`` refuse unusable arguments in one line, before any work."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("transformers")

from flopsight.errors import InputError  # noqa: E402
from flopsight.hf import build_model, make_config, profile_model  # noqa: E402

from hf_tiny import tiny_source  # noqa: E402

ACCEPTED = "choose one of 'float32', 'bfloat16', 'float16'"


def test_an_unknown_dtype_names_the_accepted_ones() -> None:
    with pytest.raises(InputError) as caught:
        profile_model("gpt2", dtype="int8")
    assert str(caught.value) == f"dtype='int8': {ACCEPTED}"


def test_build_model_checks_its_dtype_too() -> None:
    config = make_config(tiny_source("gpt2"))
    with pytest.raises(InputError, match=f"dtype='float64': {ACCEPTED}"):
        build_model(config, dtype="float64")
    with pytest.raises(InputError, match=r"dtype=8: give a name"):
        build_model(config, dtype=8)  # type: ignore[arg-type]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"batch_size": 0}, "batch_size=0: give a positive integer"),
    ({"batch_size": 2.5}, "batch_size=2.5: give a positive integer"),
    ({"batch_size": True}, "batch_size=True: give a positive integer"),
    ({"seq_len": -1}, "seq_len=-1: give a positive integer"),
    ({"seq_len": "128"}, "seq_len='128': give a positive integer"),
    ({"num_images": 0}, "num_images=0: give a positive integer"),
    ({"image_size": 224}, "image_size=224: give (height, width), two positive integers, or None"),
    ({"image_size": (224, 0)}, "image_size=(224, 0): give (height, width)"),
    ({"device": "gpu"}, "device='gpu': choose one of 'meta', 'cpu', 'cuda'"),
    ({"backward": "yes"}, "backward='yes': give True or False"),
    ({"trust_remote_code": 1}, "trust_remote_code=1: give True or False"),
    ({"task": 3}, "task=3: give a name (a non-empty str) or None"),
    ({"module": ""}, "module='': give a name (a non-empty str) or None"),
    ({"attn_implementation": "flash"}, "attn_implementation='flash': choose one of 'sdpa', 'eager', "
                                        "'flash_attention_2' or None (sdpa)"),
])
def test_other_arguments_are_checked_before_the_model_is_read(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as caught:
        profile_model("no-such-model-anywhere", **arguments)  # checked before the name is looked up
    assert str(caught.value).startswith(message)
