"""The module tree and the Profile: parameters, own and inclusive costs, every instrument's
results, metadata. Plain data: nothing imported here imports torch, so a saved profile reads
back and renders without it. ``tree.build`` (which reads an ``nn.Module``) is imported by the
engine only.
"""

from .achieved import Achieved, ModuleAchieved, achieved
from .module_node import ModuleNode
from .profile import SCHEMA_VERSION, Profile

__all__ = ["SCHEMA_VERSION", "Achieved", "ModuleAchieved", "ModuleNode", "Profile", "achieved"]
