"""The module tree and the Profile: parameters, own and inclusive costs, metadata."""

from .build import build_profile
from .cost import Cost
from .module_node import ModuleNode
from .profile import SCHEMA_VERSION, Profile

__all__ = ["SCHEMA_VERSION", "Cost", "ModuleNode", "Profile", "build_profile"]
