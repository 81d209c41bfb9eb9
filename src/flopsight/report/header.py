"""The lines above a report that say which model ran on which inputs (the CLI's profiles)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .wrapping import wrap_line

if TYPE_CHECKING:
    from ..tree import Profile

__all__ = ["fit_header_line", "model_name", "render_header"]


def render_header(profile: Profile, width: int | None = None) -> str:
    """One or two lines saying which model and which inputs, above the core text report.

    Empty when the profile does not say where its model came from (``model_source``).
    """
    meta = profile.metadata
    source = meta.get("model_source")
    if not source:
        return ""
    origin = source.get("kind", "")
    if source.get("checkpoint") and source.get("checkpoint") != source.get("model"):
        origin += f" config of {source['checkpoint']}"
    line = f"model: {source.get('model')} ({origin}), {meta.get('model_type', '')} on {meta.get('device', '')}, {meta.get('dtype', '')}"
    tensors = meta.get("input_description", {}).get("tensors", {})
    inputs = ", ".join(f"{name} {shape['shape']}" for name, shape in tensors.items())
    if meta.get("module"):  # --module: the submodule alone, on the inputs it got in the model
        line += f"; module {meta['module']} alone"
    lines = [line, f"inputs: {inputs}"] if inputs else [line]
    if meta.get("attention", {}).get("priced_as"):  # --attn-implementation asked for what is not built
        lines.append(f"attention: {meta['attention']['requested']}, priced as {meta['attention']['priced_as']}")
    return "\n".join(wrapped for one in lines for wrapped in fit_header_line(one, width)) + "\n\n"


def fit_header_line(line: str, width: int | None) -> list[str]:
    """``line`` as it is, or wrapped to ``width`` columns (at least 20; continuations indented)."""
    return wrap_line(line, width, continuation="  ", min_width=20, break_on_hyphens=False)


def model_name(profile: Profile) -> str:
    """The model's name as given on the command line, else its model type."""
    source = profile.metadata.get("model_source", {})
    return str(source.get("model") or profile.metadata.get("model_type", "model"))
