"""Llama-3.1-405B on 1,024 simulated ranks (FSDP 128 x TP 8): the last rank's shards by hand.

Sizes of the bundled config: hidden H = 16,384, 128 heads of 128, 8 key/value heads (width
1,024), MLP width I = 53,248, vocabulary V = 128,256, 126 layers. TP 8 splits rows (q, k, v,
gate, up, embedding, head) or columns (o, down); FSDP then cuts dim 0 of each shard into 128
``torch.chunk`` pieces of ceil(rows / 128) rows, so the last rank may hold fewer.
"""

from __future__ import annotations

import pytest

from flopsight.distributed import simulate

pytestmark = pytest.mark.xl

H, KV, I, V, LAYERS, TP, DP = 16_384, 1_024, 53_248, 128_256, 126, 8, 128


def test_the_last_rank_holds_its_shards_and_the_short_chunk_of_the_vocabulary() -> None:
    sim = simulate("llama-3.1-405b", dp=DP, tp=TP, fsdp=True, rank=DP * TP - 1)
    q = (H // TP) // DP * H  # [2048, H] -> 16 rows
    k = (KV // TP) // DP * H  # [128, H] -> 1 row
    o = H // DP * (H // TP)  # [H, 2048] -> 128 rows
    mlp = (I // TP) // DP * H  # gate, up: [6656, H] -> 52 rows; down [H, 6656] -> 128 rows of 6656
    assert (I // TP) // DP * H == H // DP * (I // TP)
    norm = H // DP  # norms are whole under TP
    layer = q + 2 * k + o + 3 * mlp + 2 * norm  # q, k, v, o, gate, up, down, two norms
    assert (q, k, o) == (262_144, 16_384, 262_144)
    # The 16,032 vocabulary rows of a TP shard in chunks of ceil(16032 / 128) = 126: 127 full
    # chunks hold 16,002 rows, the last rank the other 30.
    vocab_rows = V // TP - (DP - 1) * -(-(V // TP) // DP)
    assert vocab_rows == 30
    expected = LAYERS * layer + 2 * vocab_rows * H + norm
    assert sim.figures.rank_stage.local_params == expected == 393_248_384
    assert sim.rank_profile.params == 405_853_388_800  # the checkpoint's published count
    assert sim.rank_profile.distributed is not None
    assert sim.rank_profile.distributed.mesh_coordinate == {"pp": 0, "dp": DP - 1, "tp": TP - 1}
