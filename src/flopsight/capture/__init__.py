"""One instrumented run of a model: which op ran, in which module, in which phase."""

from .records import CaptureResult, OpTotals, Phase
from .run import capture

__all__ = ["CaptureResult", "OpTotals", "Phase", "capture"]
