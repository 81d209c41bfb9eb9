"""Config files of tiny bundled-family models for command-line tests (a path, as the CLI takes)."""

from __future__ import annotations

import json
from pathlib import Path

# hidden 64, 4 query heads over 2 key/value heads of 16, MLP 128, 2 layers, vocab 256
TINY_LLAMA = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2,
              "num_hidden_layers": 2, "vocab_size": 256}


def tiny_llama_file(folder: Path) -> Path:
    """llama-3-8b's bundled config at the TINY_LLAMA sizes, written to ``folder``."""
    from flopsight.hf import bundled_model

    path = folder / "tiny-llama.json"
    path.write_text(json.dumps({**bundled_model("llama-3-8b").config, **TINY_LLAMA}))
    return path
