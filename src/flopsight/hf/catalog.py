"""The bundled model configs: published architecture sizes, shipped as JSON in ``configs/``.

Each file is the checkpoint's ``config.json`` with one extra key, ``_flopsight``, that says
where the config comes from (``checkpoint``), its family and modality, and the parameter count
published for the checkpoint (``params``). Reading the catalog imports neither torch nor
transformers, so ``flopsight models`` is instant.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

META_KEY = "_flopsight"


@dataclass(frozen=True, slots=True)
class BundledModel:
    """One bundled config: its name, what it describes, and the config itself."""

    name: str
    checkpoint: str
    family: str
    modality: str
    params: int
    config: dict[str, Any]


@lru_cache(maxsize=1)
def bundled_models() -> dict[str, BundledModel]:
    """Every bundled config by name, sorted by name."""
    found: dict[str, BundledModel] = {}
    folder = resources.files("flopsight.hf") / "configs"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        data = json.loads(entry.read_text(encoding="utf-8"))
        meta = data.pop(META_KEY)
        name = entry.name[: -len(".json")]
        found[name] = BundledModel(
            name=name,
            checkpoint=str(meta["checkpoint"]),
            family=str(meta["family"]),
            modality=str(meta["modality"]),
            params=int(meta["params"]),
            config=data,
        )
    return found


def bundled_model(name: str) -> BundledModel | None:
    """The bundled config called ``name`` (case-insensitive), or None."""
    models = bundled_models()
    return models.get(name) or models.get(name.lower())


def close_matches(name: str, limit: int = 3) -> list[str]:
    """Bundled names that look like ``name``, best first (for "did you mean" hints)."""
    names = list(bundled_models())
    lowered = name.lower()
    matches = difflib.get_close_matches(lowered, names, n=limit, cutoff=0.5)
    for candidate in names:  # a fragment such as "llava" or "70b" also matches
        if len(matches) >= limit:
            break
        if lowered and lowered in candidate and candidate not in matches:
            matches.append(candidate)
    return matches
