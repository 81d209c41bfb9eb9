"""Distributed runs: simulate a parallel training job of a Hugging Face decoder in one CPU
process (a fake process group of any world size, meta-built models parallelized as torchtitan
does: TP with ``parallelize_module``, FSDP with ``fully_shard``, a pipeline split, run on fake
tensors), and gather every rank's figures of a real job.

Importing this package imports torch but not transformers (the simulation imports it when
called). The names are imported here, not lazily: ``simulate``, ``fake_world`` and ``gather``
are also the names of their modules, and a lazy lookup would find the module once anything
imported it directly.

Example:
    >>> from flopsight.distributed import simulate
    >>> sim = simulate("llama-3.1-405b", dp=128, tp=8, fsdp=True, backward=True)  # doctest: +SKIP
    >>> sim.figures.mesh.world_size
    1024
"""

from .fake_world import fake_world
from .figures import JobFigures, MeshShape, StageFigures
from .gather import gather
from .pipeline import bubble_fraction, split_layers
from .simulate import Simulation, simulate

__all__ = ["JobFigures", "MeshShape", "Simulation", "StageFigures", "bubble_fraction", "fake_world", "gather",
           "simulate", "split_layers"]
