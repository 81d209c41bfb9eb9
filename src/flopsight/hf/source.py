"""Where a model's config comes from: a bundled name, a config.json, a model folder, a Hub id.

Nothing here builds a model. ``resolve_source`` turns the MODEL argument into a ``ModelSource``
holding the config as a plain dict; ``make_config`` turns that into a transformers config.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

from .catalog import bundled_model, close_matches
from .errors import ModelSourceError, first_line


@dataclass(frozen=True, slots=True)
class ModelSource:
    """The config of the model to profile and where it was read from.

    ``kind`` is "bundled", "file", "folder" or "hub"; ``checkpoint`` names the published
    checkpoint a bundled config describes (empty otherwise).
    """

    spec: str
    kind: str
    config: dict[str, Any]
    checkpoint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """What the JSON report says about the model's origin."""
        described = {"model": self.spec, "kind": self.kind, "model_type": self.config.get("model_type", "")}
        if self.checkpoint:
            described["checkpoint"] = self.checkpoint
        architectures = self.config.get("architectures") or []
        if architectures:
            described["architecture"] = architectures[0]
        return described


def resolve_source(spec: str, *, trust_remote_code: bool = False) -> ModelSource:
    """Find the config MODEL names: a bundled name first, then a local path, then a Hub id.

    Raises:
        ModelSourceError: nothing by that name, or a config that is not valid JSON.
    """
    bundled = bundled_model(spec)
    if bundled is not None:
        return ModelSource(spec=bundled.name, kind="bundled", config=dict(bundled.config), checkpoint=bundled.checkpoint)
    path = Path(spec).expanduser()
    if path.is_dir():
        config_file = path / "config.json"
        if not config_file.is_file():
            raise ModelSourceError(f"{spec}: folder has no config.json")
        return _local_source(spec, "folder", config_file, trust_remote_code=trust_remote_code)
    if path.is_file():
        return _local_source(spec, "file", path, trust_remote_code=trust_remote_code)
    if _looks_like_path(spec):
        raise ModelSourceError(f"{spec}: no such file or folder")
    if _looks_like_hub_id(spec):
        return _from_hub(spec, trust_remote_code=trust_remote_code)
    raise ModelSourceError(_unknown_name_message(spec))


def _local_source(spec: str, kind: str, config_file: Path, *, trust_remote_code: bool) -> ModelSource:
    """A config read from disk. One whose ``auto_map`` names code (the .py files beside it) is
    used only with ``trust_remote_code``: that code runs when the model is built."""
    config = _read_config_file(config_file)
    if not config.get("auto_map"):
        return ModelSource(spec=spec, kind=kind, config=config)
    if not trust_remote_code:
        raise ModelSourceError(f"{spec}: its config runs the Python code beside it (auto_map); "
                               "pass --trust-remote-code if you trust it")
    folder = str(config_file.resolve().parent)
    return ModelSource(spec=spec, kind=kind, config=config, extra={"trust_remote_code": True, "code_folder": folder})


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelSourceError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelSourceError(f"{path}: cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise ModelSourceError(f"{path}: a config.json holds a JSON object, found {type(data).__name__}")
    data.pop("_flopsight", None)
    if "model_type" not in data:
        raise ModelSourceError(f"{path}: config has no \"model_type\" key, so the architecture is unknown")
    return data


def _looks_like_path(spec: str) -> bool:
    return spec.endswith(".json") or spec.startswith((".", "/", "~")) or os.sep in spec and spec.count("/") > 1


def _looks_like_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and " " not in spec


def _unknown_name_message(spec: str) -> str:
    close = close_matches(spec)
    hint = f"; did you mean {', '.join(close)}?" if close else "; run `flopsight models` for the bundled names"
    return f"unknown model {spec!r}: not a bundled name, a file or a folder{hint}"


def _from_hub(spec: str, *, trust_remote_code: bool) -> ModelSource:
    """Read a Hub id's config with AutoConfig (config only, never weights).

    The local Hugging Face cache is tried first; the network only when the Hub's host answers
    (a quick connect), so that offline the answer is one line at once rather than retries.
    """
    try:
        from transformers import AutoConfig
    except ImportError:
        raise ModelSourceError(f"{spec}: reading a Hub config needs transformers: pip install 'flopsight[hf]'") from None
    host = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"
    offline = bool(os.environ.get("HF_HUB_OFFLINE")) or not _reachable(host)
    close = close_matches(spec.split("/")[-1])
    hint = f"; bundled: {', '.join(close)}" if close else "; see `flopsight models` for the bundled names"
    try:
        with _quiet_hub():
            config = AutoConfig.from_pretrained(spec, trust_remote_code=trust_remote_code, local_files_only=offline)
    except ValueError as exc:
        if "trust_remote_code" in str(exc) and not trust_remote_code:
            raise ModelSourceError(f"{spec}: its config runs code from the Hub; pass --trust-remote-code if you trust it") from None
        raise ModelSourceError(f"{spec}: {first_line(exc)}") from None
    except (OSError, KeyError) as exc:
        if offline:
            raise ModelSourceError(f"{spec}: not in the local Hugging Face cache and {host} cannot be reached{hint}") from None
        raise ModelSourceError(f"{spec}: cannot read its config from the Hub: {first_line(exc)}{hint}") from None
    data = config.to_dict()
    return ModelSource(spec=spec, kind="hub", config=data, checkpoint=spec, extra={"trust_remote_code": trust_remote_code})


def _reachable(host: str, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _quiet_hub() -> Iterator[None]:
    """Keep huggingface_hub's retry warnings off stderr for one call (level restored after):
    an error is reported once, as one line."""
    hub_logger = logging.getLogger("huggingface_hub")
    level = hub_logger.level
    hub_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hub_logger.setLevel(level)


def make_config(source: ModelSource) -> Any:
    """The transformers config object of ``source``.

    Raises:
        ModelSourceError: transformers is missing, or does not know or cannot read this config.
    """
    try:
        from transformers import CONFIG_MAPPING
    except ImportError:
        raise ModelSourceError("profiling a Hugging Face model needs transformers: pip install 'flopsight[hf]'") from None
    model_type = str(source.config.get("model_type"))
    if source.extra.get("trust_remote_code") and (source.config.get("auto_map") or model_type not in CONFIG_MAPPING):
        return _remote_code_config(source)
    if model_type not in CONFIG_MAPPING:
        raise ModelSourceError(f"{source.spec}: model_type {model_type!r} is not known to the installed transformers")
    try:
        return CONFIG_MAPPING[model_type].from_dict(dict(source.config))
    except Exception as exc:  # noqa: BLE001 (transformers 5 validates fields with its own error types)
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__  # validation errors span lines
        raise ModelSourceError(f"{source.spec}: invalid {model_type} config: {reason}") from None


def _remote_code_config(source: ModelSource) -> Any:
    """The config class the model's own code defines (the user passed --trust-remote-code)."""
    from transformers import AutoConfig

    location = source.extra.get("code_folder") or source.spec
    try:
        with _quiet_hub():
            return AutoConfig.from_pretrained(location, trust_remote_code=True)
    except Exception as exc:  # noqa: BLE001 (the model's own code can raise anything)
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise ModelSourceError(f"{source.spec}: its config code failed: {type(exc).__name__}: {reason}") from None
