"""A real training loop under FSDP2 x tensor parallelism, profiled on every rank.

    torchrun --standalone --nproc-per-node 4 examples/train_fsdp_tp.py

gloo on CPU (nccl on GPUs: set FLOPSIGHT_BACKEND=nccl and move the model and batch to the
rank's GPU). A 2 x 2 mesh: FSDP over "dp", tensor parallel over "tp". Steps 2 and 3 are
counted on each rank; rank 0 prints the job: the DeepSpeed-style summary, one row per rank,
and every collective with its group, payload and bus bytes.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

import flopsight

WIDTH, HIDDEN, BATCH = 256, 1024, 8


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(WIDTH)
        self.up = nn.Linear(WIDTH, HIDDEN)
        self.down = nn.Linear(HIDDEN, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.down(torch.relu(self.up(self.norm(x))))


def main() -> None:
    dist.init_process_group(os.environ.get("FLOPSIGHT_BACKEND", "gloo"))
    torch.manual_seed(0)
    mesh = init_device_mesh("cpu", (2, dist.get_world_size() // 2), mesh_dim_names=("dp", "tp"))
    model = nn.Sequential(Block(), Block())
    for block in model:
        parallelize_module(block, mesh["tp"], {"up": ColwiseParallel(), "down": RowwiseParallel()})
        fully_shard(block, mesh=mesh["dp"])
    fully_shard(model, mesh=mesh["dp"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = torch.randn(BATCH, WIDTH)

    with flopsight.track(model, steps=range(2, 4)) as tracker:
        for step in range(5):
            tracker.step()
            loss = model(batch).pow(2).mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    job = tracker.gather()  # on every rank; rank 0 gets the job
    if job is not None:
        print(flopsight.report.render_job(job))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
