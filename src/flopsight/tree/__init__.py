"""The module tree and the Profile: parameters, own and inclusive costs, every instrument's
results, metadata. Plain data: nothing imported here imports torch, so a saved profile reads
back and renders without it. ``tree.build`` (which reads an ``nn.Module``) is imported by the
engine only.
"""

from .achieved import Achieved, ModuleAchieved, achieved
from .comm_roofline import CommRoofline
from .gpus import GPUS, GpuSpec, gpu_spec, match_gpu, register_gpu
from .module_node import ModuleNode
from .profile import SCHEMA_VERSION, Profile
from .roofline import ModuleRoofline, OpRoofline, Prediction, RooflineTarget

__all__ = ["GPUS", "SCHEMA_VERSION", "Achieved", "CommRoofline", "GpuSpec", "ModuleAchieved", "ModuleNode", "ModuleRoofline",
           "OpRoofline", "Prediction", "Profile", "RooflineTarget", "achieved", "gpu_spec", "match_gpu",
           "register_gpu"]
