"""``--task``: which head to build on a config, by a friendly name or a transformers class name.

A friendly name maps to transformers' Auto class of that task; the config's type must be in the
Auto class's mapping. A class name must build from the config itself or from one of its
sub-configs (``CLIPVisionModel`` on a CLIP config builds the vision tower alone).
"""

from __future__ import annotations

import copy
from typing import Any

from torch import nn

from ..errors import InputError

# Friendly task names and the Auto class each stands for, in the order they are listed.
TASKS: dict[str, str] = {
    "base": "AutoModel",
    "causal-lm": "AutoModelForCausalLM",
    "masked-lm": "AutoModelForMaskedLM",
    "seq2seq-lm": "AutoModelForSeq2SeqLM",
    "sequence-classification": "AutoModelForSequenceClassification",
    "image-classification": "AutoModelForImageClassification",
}


class TaskError(InputError):
    """``--task`` names a head this config cannot build."""


def valid_tasks(config: Any) -> list[str]:
    """The friendly task names whose Auto class maps ``config``'s type, in ``TASKS`` order."""
    return [name for name, auto in TASKS.items() if _auto_class_for(auto, config) is not None]


def resolve_task(config: Any, task: str) -> tuple[type[nn.Module], Any]:
    """The class ``task`` names for ``config`` and the config to build it from (``config``
    itself, or the sub-config a tower class takes).

    Raises:
        TaskError: the task is unknown or the config cannot build it; the message lists the
            tasks that this config can build.
    """
    cls, built_from = _class_and_config(config, task)
    return cls, _with_padding_token(cls, built_from)


def _class_and_config(config: Any, task: str) -> tuple[type[nn.Module], Any]:
    if task in TASKS:
        found = _auto_class_for(TASKS[task], config)
        if found is None:
            raise TaskError(f"--task {task}: a {type(config).__name__} has no such head; {_choices(config)}")
        return found, config
    import transformers

    named = getattr(transformers, task, None)
    if not (isinstance(named, type) and issubclass(named, nn.Module)):
        raise TaskError(f"--task {task}: not a task name nor a transformers model class; {_choices(config)}")
    wanted = getattr(named, "config_class", None)
    if wanted is not None and isinstance(config, wanted):
        return named, config
    for key in getattr(config, "sub_configs", None) or {}:
        sub = getattr(config, key, None)
        if wanted is not None and isinstance(sub, wanted):
            return named, sub
    raise TaskError(f"--task {task}: {task} does not build from a {type(config).__name__}; {_choices(config)}")


def _with_padding_token(cls: type[nn.Module], config: Any) -> Any:
    """A sequence classifier pools each sample's last non-padding token, and a decoder config
    without a padding token (GPT-2, Llama) refuses batches of more than one. Give a copy the end
    token as padding, as one does to fine-tune such a model; the synthesized ids never equal it,
    so every sample pools its last token and the count is that of any padding id."""
    if not cls.__name__.endswith("ForSequenceClassification") or getattr(config, "pad_token_id", 0) is not None:
        return config
    eos = getattr(config, "eos_token_id", None)
    if isinstance(eos, (list, tuple)):
        eos = eos[0] if eos else None
    if eos is None:
        return config
    padded = copy.deepcopy(config)
    padded.pad_token_id = eos
    return padded


def _auto_class_for(auto_name: str, config: Any) -> type[nn.Module] | None:
    import transformers

    mapping = getattr(getattr(transformers, auto_name, None), "_model_mapping", None)
    try:
        found = mapping[type(config)]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    # A mapping may give several classes (deit: the classifier, then the one with a teacher)
    return found[0] if isinstance(found, (list, tuple)) else found  # type: ignore[no-any-return]


def _choices(config: Any) -> str:
    names = ", ".join(valid_tasks(config)) or "none of the task names"
    return f"choose {names}, or a transformers class taking a {type(config).__name__}"
