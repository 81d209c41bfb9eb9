"""Simulate one rank of a parallel training job of a Hugging Face decoder, in this process.

For each pipeline stage: a fake process group of the job's world size with this process as one
rank of that stage (``fake_world``), the stage built on meta (``pipeline``), parallelized as
torchtitan does (``plans``), its parameters made fake (``to_empty`` under a
``FakeTensorMode``: shapes, no storage) and profiled with ``flopsight.profile`` in that mode.

FSDP2 refuses meta parameters at its first forward, and fake tensors keep every shape and
collective while using no memory; DTensor's sharding propagation runs on the active fake mode.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch import nn

from ..api import profile
from ..errors import FlopsightError, InputError
from ..hf.errors import DeviceError, first_line
from ..records.distributed import DistributedInfo
from ..tree import Profile
from ..records.communication import Collective, CommTotals
from ..tree.job import JobProfile, RankFigures
from .fake_world import fake_world
from .figures import JobFigures, MeshShape, StageFigures
from .pipeline import StagePlan, bubble_fraction, build_stage, hidden_state_bytes, split_layers, stage_inputs
from .plans import check_tensor_parallel, device_mesh, local_parameters, parallelize


@dataclass(frozen=True, slots=True)
class Simulation:
    """What ``simulate`` measured: one Profile per pipeline stage and the job's figures.

    Attributes:
        figures: the mesh, inputs and per-stage figures as plain data (``to_dict``).
        profiles: the Profile of the rank simulated for each stage, first stage first.
        local_params: per stage, that rank's stored elements of each parameter, by name.
    """

    figures: JobFigures
    profiles: tuple[Profile, ...]
    local_params: tuple[dict[str, int], ...]

    @property
    def rank_profile(self) -> Profile:
        """The Profile of the rank asked for (its stage's)."""
        return self.profiles[self.figures.mesh.stage_of(self.figures.rank)]

    def job(self) -> JobProfile:
        """Every rank of the job: each stage's simulated rank stands for the others of its stage.

        With pp > 1 each stage was profiled on one microbatch, so the job's FLOPs and
        collectives are per microbatch; a step runs ``figures.microbatches`` of them.
        """
        stand_ins = {rank: stage.simulated_rank for stage in self.figures.stages
                     for rank in range(*stage.ranks) if rank != stage.simulated_rank}
        bubble = self.figures.bubble_fraction if self.figures.mesh.pp > 1 else None
        job = JobProfile.from_profiles(self.profiles, world_size=self.figures.mesh.world_size, stand_ins=stand_ins,
                                       pipeline_bubble=bubble)
        job.microbatches = self.figures.microbatches
        for rank in job.ranks:
            _add_point_to_point(rank, self.figures)
        return job


def simulate(
    model: Any,
    *,
    dp: int = 1,
    tp: int = 1,
    pp: int = 1,
    fsdp: bool = False,
    rank: int = 0,
    batch_size: int = 1,
    seq_len: int | None = None,
    backward: bool = False,
    memory: bool = False,
    microbatches: int | None = None,
    dtype: str = "bfloat16",
    trust_remote_code: bool = False,
) -> Simulation:
    """Profile rank ``rank`` of a pp x dp x tp training job of a Llama-family decoder
    (LlamaForCausalLM, Qwen2, Mistral: ``model.layers[i].self_attn.{q,k,v,o}_proj``,
    ``mlp.{gate,up,down}_proj``, ``embed_tokens``, ``lm_head``), in one CPU process.

    Identical ranks are simulated once. Within a pipeline stage every rank has the same shapes:
    TP splits are even (checked) and every data-parallel rank runs the same per-rank batch on
    all-gathered weights. So one rank per stage is run, with ``rank``'s dp and tp coordinates,
    and ``rank``'s own stage is run as ``rank`` itself. The one difference left between ranks
    of a stage: a parameter whose first dimension ``dp`` does not divide is sharded unevenly by
    FSDP (the last ranks hold a row less, or none), which changes their stored parameters, not
    their compute or collectives (FSDP pads those to equal sizes).

    Args:
        model: a bundled name (``"llama-3.1-405b"``), config file, folder or Hub id, or a
            transformers config.
        dp, tp, pp: data-, tensor- and pipeline-parallel degrees; the world is dp*tp*pp ranks,
            ordered pp outermost and tp innermost (``rank // (dp*tp)`` is the stage).
        fsdp: shard parameters, gradients and optimizer state over dp (``fully_shard``);
            without it, dp ranks replicate the model (DDP).
        rank: the rank whose Profile is ``rank_profile``.
        batch_size: sequences per data-parallel rank per step (the global batch is dp times it).
        seq_len: tokens per sequence (None: 128, the CLI's default).
        backward: also run the backward (its gradient reductions included).
        memory: also record memory (``flopsight.profile(memory=True)``), each storage sized as
            the CUDA caching allocator would (the fake parameters hold none; the kernels that
            decide what is saved are the CPU's that run here).
        microbatches: with pp > 1, microbatches per step (None: ``batch_size``, one sequence
            each, torchtitan's default); each stage is profiled on one microbatch.
        dtype: the parameters' dtype, "bfloat16" (default), "float16" or "float32".
        trust_remote_code: allow a Hub config that runs remote code.

    Returns:
        A Simulation: ``rank_profile`` (rank's Profile), ``profiles`` (one per stage) and
        ``figures`` (mesh, per-stage parameters, FLOPs, point-to-point bytes, bubble).

    Raises:
        InputError: a degree that does not fit the model or the batch, a rank outside the world,
            a model without the Llama layout, or a process group already initialized.
        DeviceError: the model fails to run in the simulated job.

    Example:
        >>> sim = simulate("llama-3.1-405b", dp=128, tp=8, fsdp=True, backward=True)  # doctest: +SKIP
        >>> sim.figures.mesh.world_size
        1024
    """
    mesh = _check_degrees(dp, tp, pp, rank)
    if batch_size < 1 or (seq_len is not None and seq_len < 1):
        raise InputError(f"batch_size and seq_len must be positive, got {batch_size} and {seq_len}")
    steps = _microbatches(pp, batch_size, microbatches)
    from ..hf.build import build_model
    from ..hf.inputs import DEFAULT_SEQ_LEN

    config = _config(model, trust_remote_code=trust_remote_code)
    check_tensor_parallel(config, tp)
    _check_attention_window(config, seq_len or DEFAULT_SEQ_LEN)
    meta_model = build_model(config, dtype=dtype)
    _check_layout(meta_model)
    plans = split_layers(len(meta_model.model.layers), pp)  # type: ignore[union-attr,arg-type]
    run = _StageRun(mesh=mesh, fsdp=fsdp, microbatch=batch_size // steps, seq_len=seq_len or DEFAULT_SEQ_LEN,
                    backward=backward, memory=memory, config=config)
    profiles, figures, local = [], [], []
    for plan in plans:
        simulated = plan.index * mesh.ranks_per_stage + rank % mesh.ranks_per_stage
        measured, stage_figures, stage_local = run.stage(meta_model, plan, simulated)
        profiles.append(measured)
        figures.append(stage_figures)
        local.append(stage_local)
    job = JobFigures(mesh=mesh, rank=rank, fsdp=fsdp, batch_size=batch_size, seq_len=run.seq_len,
                     microbatches=steps, bubble_fraction=bubble_fraction(pp, steps), stages=tuple(figures))
    return Simulation(figures=job, profiles=tuple(profiles), local_params=tuple(local))


def _add_point_to_point(rank: RankFigures, figures: JobFigures) -> None:
    """A stage's sends and receives of one microbatch, as communication rows of its ranks: the
    hidden states forward to the next stage and their gradient back to the one before (each a
    send on one rank and a receive on its neighbour; its bytes cross one link, so bus bytes are
    the payload)."""
    if figures.mesh.pp < 2 or rank.pipeline_stage is None:
        return
    stages, index = figures.stages, rank.pipeline_stage
    sends = [stages[index].send_forward_bytes, stages[index].send_backward_bytes]
    receives = [stages[index - 1].send_forward_bytes if index > 0 else 0,
                stages[index + 1].send_backward_bytes if index + 1 < len(stages) else 0]
    for kind, messages in ((Collective.SEND, sends), (Collective.RECV, receives)):
        moved = [size for size in messages if size]
        if moved:
            rank.comm[(kind, "pp", 2)] = CommTotals(len(moved), sum(moved), float(sum(moved)))


def _check_degrees(dp: int, tp: int, pp: int, rank: int) -> MeshShape:
    for name, value in (("dp", dp), ("tp", tp), ("pp", pp)):
        if not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a positive int, got {value!r}")
    mesh = MeshShape(pp=pp, dp=dp, tp=tp)
    if not isinstance(rank, int) or not 0 <= rank < mesh.world_size:
        raise InputError(f"rank must be in 0..{mesh.world_size - 1} for dp*tp*pp = {mesh.world_size}, got {rank!r}")
    return mesh


def _microbatches(pp: int, batch_size: int, microbatches: int | None) -> int:
    if pp == 1:
        if microbatches not in (None, 1):
            raise InputError("microbatches is only used with pp > 1 (a pipeline schedule)")
        return 1
    steps = batch_size if microbatches is None else microbatches
    if steps < 1 or batch_size % steps:
        raise InputError(f"microbatches={steps} must divide batch_size={batch_size} (each the same size)")
    return steps


def _config(model: Any, *, trust_remote_code: bool) -> Any:
    if isinstance(model, str):
        from ..hf.source import make_config, resolve_source

        return make_config(resolve_source(model, trust_remote_code=trust_remote_code))
    if not hasattr(model, "model_type"):
        raise InputError(f"model must be a name, path or transformers config, got {type(model).__name__}")
    return model


def _check_layout(model: nn.Module) -> None:
    """A Llama-layout causal LM: decoder layers with q/k/v/o and gate/up/down projections."""
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    names = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
             "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")
    found = dict(layers[0].named_modules()) if isinstance(layers, nn.ModuleList) and len(layers) else {}
    missing = [name for name in names if name not in found]
    if missing or getattr(inner, "embed_tokens", None) is None or getattr(model, "lm_head", None) is None:
        raise InputError(f"simulate needs a Llama-layout decoder (model.layers[i].self_attn.q_proj, mlp.gate_proj, "
                         f"embed_tokens, lm_head); {type(model).__name__} has another layout")


def _check_attention_window(config: Any, seq_len: int) -> None:
    """Every layer runs causal over the whole sequence (``DecoderStage``), which is what a
    sliding-window layer computes only while the sequence fits in its window."""
    window = getattr(config, "sliding_window", None)
    layer_types = getattr(config, "layer_types", None)
    if not window or (layer_types is not None and "sliding_attention" not in layer_types):
        return
    if seq_len > window:
        raise InputError(f"the model's sliding-window attention (window {window}) is not simulated past its window; "
                         f"use seq_len <= {window}")


@dataclass(frozen=True, slots=True)
class _StageRun:
    """What every stage's run shares: the job and the per-microbatch inputs."""

    mesh: MeshShape
    fsdp: bool
    microbatch: int
    seq_len: int
    backward: bool
    memory: bool
    config: Any

    def stage(self, meta_model: nn.Module, plan: StagePlan, simulated: int) -> tuple[Profile, StageFigures, dict[str, int]]:
        """Build, parallelize and profile stage ``plan`` as rank ``simulated``."""
        from torch._subclasses.fake_tensor import FakeTensorMode

        from ..hf.inputs import TEXT_TOKEN_ID

        dtype = next(meta_model.parameters()).dtype
        with fake_world(self.mesh.world_size, simulated):
            stage = build_stage(meta_model, plan)
            stage.train(self.backward)
            params = sum(p.numel() for p in stage.parameters())
            parallelize(stage, device_mesh(self.mesh.pp, self.mesh.dp, self.mesh.tp), fsdp=self.fsdp)
            local = local_parameters(stage)
            with FakeTensorMode(allow_non_fake_inputs=True), _quiet_fsdp_view_warning():
                stage.to_empty(device="cpu")
                kwargs = stage_inputs(plan, microbatch=self.microbatch, seq_len=self.seq_len,
                                      hidden_size=int(self.config.hidden_size), dtype=dtype,
                                      backward=self.backward, token_id=TEXT_TOKEN_ID)
                measured = self._profile(stage, kwargs)
        message = hidden_state_bytes(self.microbatch, self.seq_len, int(self.config.hidden_size), dtype)
        # Said here, not read from the parameters' meshes: a stage with no sharded parameter
        # (pp only) has no DTensor to read the mesh from, and no parameter knows its stage.
        measured.distributed = self.mesh.describe(simulated)
        figures = StageFigures(
            stage=plan.index, layers=(plan.layers.start, plan.layers.stop),
            ranks=(plan.index * self.mesh.ranks_per_stage, (plan.index + 1) * self.mesh.ranks_per_stage),
            simulated_rank=simulated, local_params=sum(local.values()), params=params,
            forward_flops=measured.forward.flops, backward_flops=measured.backward.flops,
            send_forward_bytes=0 if plan.has_head else message,
            send_backward_bytes=message if self.backward and not plan.has_embedding else 0,
        )
        return measured, figures, local

    def _profile(self, stage: nn.Module, kwargs: dict[str, torch.Tensor]) -> Profile:
        try:
            with torch.no_grad() if not self.backward else contextlib.nullcontext():
                # fake parameters hold no memory: as on meta, the memory is a CUDA device's
                return profile(stage, kwargs=kwargs, backward=self.backward, memory=self.memory)
        except FlopsightError:
            raise
        except (RuntimeError, NotImplementedError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise DeviceError(f"{type(stage).__name__} failed in the simulated job: {first_line(exc)}") from None


@contextlib.contextmanager
def _quiet_fsdp_view_warning() -> Iterator[None]:
    """FSDP2 warns that the root returned a view (the head's all-gathered logits): an in-place op
    on it would skip a hook. The profile's loss is an out-of-place sum, so the warning does
    not apply; every other warning stays."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"FSDP2-wrapped module .* returned a view tensor", category=UserWarning)
        yield
