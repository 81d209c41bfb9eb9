"""A tiny Llama config whose every size is written out, so the tests derive counts by hand.

    hidden H = 64, 4 heads of 16, 2 key/value heads (kv width 32), MLP width I = 128,
    vocabulary V = 256, 2 decoder layers, untied head.

Per decoder layer: q H*H = 4096, k H*32 = 2048, v 2048, o H*H = 4096, gate/up/down I*H = 8192
each, two norms of H: 36,992. Embedding V*H = 16,384, head V*H = 16,384, final norm 64.
"""

from __future__ import annotations

from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

HIDDEN, HEADS, KV_HEADS, HEAD_DIM, INTERMEDIATE, VOCAB, LAYERS = 64, 4, 2, 16, 128, 256, 2
KV_WIDTH = KV_HEADS * HEAD_DIM  # 32
LAYER_PARAMS = 2 * HIDDEN * HIDDEN + 2 * HIDDEN * KV_WIDTH + 3 * INTERMEDIATE * HIDDEN + 2 * HIDDEN  # 36,992
EMBEDDING = VOCAB * HIDDEN  # 16,384
MODEL_PARAMS = LAYERS * LAYER_PARAMS + 2 * EMBEDDING + HIDDEN  # 106,816


def tiny_llama(**changes: Any) -> Any:
    values: dict[str, Any] = {
        "hidden_size": HIDDEN, "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
        "intermediate_size": INTERMEDIATE, "vocab_size": VOCAB, "num_hidden_layers": LAYERS,
        "tie_word_embeddings": False, "max_position_embeddings": 64,
    }
    values.update(changes)
    return transformers.LlamaConfig(**values)
