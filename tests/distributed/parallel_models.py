"""Small models parallelized the ways the distributed tests run them, real or simulated.

Each configuration builds its model on ``device`` ("cpu" in a real gloo run, "meta" in a
simulated one, where FSDP2's parameters are then made fake) and wraps it for the world
already initialized. Parameter shapes are the ones the tests derive their numbers from.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

BATCH, FEATURES, HIDDEN, OUT = 4, 16, 32, 8  # the MLP: Linear(16, 32) -> ReLU -> Linear(32, 8)
SEQ, WIDTH, HEADS = 8, 32, 4  # the attention block: 4 heads of 8 over width 32


class Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(WIDTH, WIDTH, bias=False)
        self.k = nn.Linear(WIDTH, WIDTH, bias=False)
        self.v = nn.Linear(WIDTH, WIDTH, bias=False)
        self.o = nn.Linear(WIDTH, WIDTH, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        # -1 heads: under tensor parallelism each rank holds HEADS / tp of them
        q, k, v = (proj(x).view(b, s, -1, WIDTH // HEADS).transpose(1, 2) for proj in (self.q, self.k, self.v))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.o(out.transpose(1, 2).reshape(b, s, -1))


def mlp(device: str) -> nn.Module:
    with torch.device(device):
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, OUT))


def attention(device: str) -> nn.Module:
    with torch.device(device):
        torch.manual_seed(0)
        return Attention()


def ddp(device: str) -> nn.Module:
    return nn.parallel.DistributedDataParallel(mlp("cpu"))


def fsdp(device: str, *, reshard: bool = True) -> nn.Module:
    from torch.distributed.fsdp import fully_shard

    model = mlp(device)
    fully_shard(model[0], reshard_after_forward=reshard)
    fully_shard(model)
    return model


def fsdp1(device: str) -> nn.Module:
    """FSDP1: each Linear wrapped, its parameters flattened into one FlatParameter and sharded."""
    from torch.distributed.fsdp import FullyShardedDataParallel
    from torch.distributed.fsdp.wrap import ModuleWrapPolicy

    return FullyShardedDataParallel(mlp("cpu"), auto_wrap_policy=ModuleWrapPolicy({nn.Linear}),
                                    device_id=torch.device("cpu"))


def tp_mlp(device: str) -> nn.Module:
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

    model = mlp(device)
    mesh = init_device_mesh("cpu", (torch.distributed.get_world_size(),), mesh_dim_names=("tp",))
    parallelize_module(model, mesh, {"0": ColwiseParallel(), "2": RowwiseParallel()})
    return model


def tp_attention(device: str) -> nn.Module:
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

    model = attention(device)
    mesh = init_device_mesh("cpu", (torch.distributed.get_world_size(),), mesh_dim_names=("tp",))
    parallelize_module(model, mesh, {"q": ColwiseParallel(), "k": ColwiseParallel(), "v": ColwiseParallel(),
                                     "o": RowwiseParallel()})
    return model


def fsdp_tp(device: str) -> nn.Module:
    """FSDP over "dp" x tensor parallel over "tp", on a 2 x (world / 2) mesh, as torchtitan does."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

    model = mlp(device)
    mesh = init_device_mesh("cpu", (2, torch.distributed.get_world_size() // 2), mesh_dim_names=("dp", "tp"))
    parallelize_module(model, mesh["tp"], {"0": ColwiseParallel(), "2": RowwiseParallel()})
    fully_shard(model[0], mesh=mesh["dp"])
    fully_shard(model, mesh=mesh["dp"])
    return model


def inputs(name: str) -> tuple[int, ...]:
    return (BATCH, SEQ, WIDTH) if name == "tp_attention" else (BATCH, FEATURES)


CONFIGS: dict[str, Callable[[str], nn.Module]] = {
    "ddp": ddp, "fsdp": fsdp, "fsdp1": fsdp1, "fsdp_no_reshard": lambda device: fsdp(device, reshard=False),
    "tp_mlp": tp_mlp, "tp_attention": tp_attention, "fsdp_tp": fsdp_tp,
}


def profile_config(name: str, device: str, **options: Any) -> Any:
    """Build configuration ``name`` and profile one training step (forward + backward) of it."""
    import flopsight

    model = CONFIGS[name](device)
    if device == "meta" and name != "ddp":  # simulated: FSDP2 wants materialized parameters, fake ones do
        from torch._subclasses.fake_tensor import FakeTensorMode

        if options.get("memory"):  # compared with a real CPU run: its memory as run, not a GPU's
            options.setdefault("memory_target", "as-run")
        with FakeTensorMode(allow_non_fake_inputs=True):
            model.to_empty(device="cpu")
            return flopsight.profile(model, torch.randn(inputs(name)), backward=True, **options)
    return flopsight.profile(model, torch.randn(inputs(name)), backward=True, **options)
