"""What a timing run measured, as plain data: no torch, so reports can read it back from JSON."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Sequence

__all__ = ["ModuleTiming", "Stats", "TimingResult", "add_timings", "summarize"]

TIMING_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Stats:
    """Median and spread of one duration over the repeats, in seconds.

    ``samples`` holds one value per measured iteration (never a running total), so
    ``median`` does not grow with the number of repeats.
    """

    median: float
    min: float
    max: float
    mean: float
    stdev: float
    iqr: float
    samples: tuple[float, ...] = ()

    @property
    def count(self) -> int:
        return len(self.samples)

    def to_dict(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "stdev": self.stdev,
            "iqr": self.iqr,
            "samples": list(self.samples),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Stats":
        return cls(
            median=_seconds(data["median"]),
            min=_seconds(data["min"]),
            max=_seconds(data["max"]),
            mean=_seconds(data["mean"]),
            stdev=_seconds(data["stdev"]),
            iqr=_seconds(data["iqr"]),
            samples=tuple(_seconds(s) for s in data.get("samples", ())),
        )


def _seconds(value: Any) -> float:
    # The JSON reports write a duration that was not a finite number as null (report/json_text.py).
    return math.nan if value is None else float(value)


def summarize(samples: Sequence[float]) -> Stats:
    """Median, min, max, mean, sample stdev and interquartile range of per-iteration values.

    Example:
        >>> s = summarize([1.0, 2.0, 3.0, 4.0])
        >>> s.median, s.min, s.max, s.iqr
        (2.5, 1.0, 4.0, 1.5)
    """
    values = tuple(float(v) for v in samples)
    if not values:
        raise ValueError("summarize() needs at least one sample")
    if len(values) > 1:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        stdev = statistics.stdev(values)
    else:
        q1 = q3 = values[0]
        stdev = 0.0
    return Stats(
        median=statistics.median(values),
        min=min(values),
        max=max(values),
        mean=statistics.fmean(values),
        stdev=stdev,
        iqr=q3 - q1,
        samples=values,
    )


@dataclass(frozen=True, slots=True)
class ModuleTiming:
    """Latency of one module per iteration (all its calls in the iteration summed).

    ``backward`` is None when backward was not timed, or when no backward ran through the
    module (its outputs needed no gradient).
    """

    name: str
    calls: int
    forward: Stats
    backward: Stats | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "calls": self.calls,
            "forward": self.forward.to_dict(),
            "backward": None if self.backward is None else self.backward.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModuleTiming":
        backward = data.get("backward")
        return cls(
            name=str(data["name"]),
            calls=int(data["calls"]),
            forward=Stats.from_dict(data["forward"]),
            backward=None if backward is None else Stats.from_dict(backward),
        )


@dataclass(frozen=True, slots=True)
class TimingResult:
    """Measured latencies of a model, per iteration, over ``repeat`` iterations after warm-up.

    Attributes:
        device: "cpu" or "cuda" (the clock: perf_counter or CUDA events).
        device_name: the accelerator's name (``torch.cuda.get_device_name()``) or the CPU's.
        dtype: the model's floating dtype ("float32", "bfloat16"...), to pick a peak.
        warmup, repeat: iterations run before measuring, and measured.
        forward: the model call (and ``loss_fn`` when backward is timed).
        backward: ``loss.backward()``; None when not timed.
        optimizer_step: ``optimizer.step()`` and ``zero_grad``; None without an optimizer.
        iteration: one whole iteration (forward + backward + optimizer step).
        modules: per-module latencies by ``named_modules()`` path, parents before children;
            empty when ``per_module=False``.
        batch_size: first dimension of the first tensor input, if any.
        tokens: elements of that input when it is a 2-d integer tensor (token ids).
        tf32: float32 matmuls were allowed to run as TF32 (picks the peak for MFU).
    """

    device: str
    device_name: str
    dtype: str
    warmup: int
    repeat: int
    forward: Stats
    iteration: Stats
    backward: Stats | None = None
    optimizer_step: Stats | None = None
    modules: dict[str, ModuleTiming] = field(default_factory=dict)
    batch_size: int | None = None
    tokens: int | None = None
    tf32: bool = False

    @property
    def backward_timed(self) -> bool:
        return self.backward is not None

    @property
    def samples_per_s(self) -> float | None:
        """Samples per second at the median iteration latency."""
        if self.batch_size is None or self.iteration.median <= 0:
            return None
        return self.batch_size / self.iteration.median

    @property
    def tokens_per_s(self) -> float | None:
        """Tokens per second at the median iteration latency (2-d integer inputs only)."""
        if self.tokens is None or self.iteration.median <= 0:
            return None
        return self.tokens / self.iteration.median

    def module(self, name: str) -> ModuleTiming:
        """The timing of the module at ``name`` ("" is the root)."""
        try:
            return self.modules[name]
        except KeyError:
            raise KeyError(f"no timing for module {name!r}") from None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict; ``TimingResult.from_dict`` reads it back."""

        def opt(stats: Stats | None) -> dict[str, Any] | None:
            return None if stats is None else stats.to_dict()

        return {
            "schema_version": TIMING_SCHEMA_VERSION,
            "device": self.device,
            "device_name": self.device_name,
            "dtype": self.dtype,
            "warmup": self.warmup,
            "repeat": self.repeat,
            "forward": self.forward.to_dict(),
            "backward": opt(self.backward),
            "optimizer_step": opt(self.optimizer_step),
            "iteration": self.iteration.to_dict(),
            "modules": [m.to_dict() for m in self.modules.values()],
            "batch_size": self.batch_size,
            "tokens": self.tokens,
            "tf32": self.tf32,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TimingResult":
        version = data.get("schema_version")
        if version != TIMING_SCHEMA_VERSION:
            raise ValueError(f"timing schema version {version!r} is not supported (expected {TIMING_SCHEMA_VERSION})")

        def opt(value: dict[str, Any] | None) -> Stats | None:
            return None if value is None else Stats.from_dict(value)

        modules = [ModuleTiming.from_dict(m) for m in data.get("modules", [])]
        return cls(
            device=str(data["device"]),
            device_name=str(data["device_name"]),
            dtype=str(data["dtype"]),
            warmup=int(data["warmup"]),
            repeat=int(data["repeat"]),
            forward=Stats.from_dict(data["forward"]),
            iteration=Stats.from_dict(data["iteration"]),
            backward=opt(data.get("backward")),
            optimizer_step=opt(data.get("optimizer_step")),
            modules={m.name: m for m in modules},
            batch_size=None if data.get("batch_size") is None else int(data["batch_size"]),
            tokens=None if data.get("tokens") is None else int(data["tokens"]),
            tf32=bool(data.get("tf32", False)),
        )


def add_timings(results: Sequence[TimingResult]) -> TimingResult:
    """Several timing runs as one iteration that makes each of their calls once.

    Iteration ``i`` of the sum is iteration ``i`` of every run added up, so the spread stays a
    spread of whole iterations. A module missing from a run adds nothing to that run's share;
    batch sizes and token counts add up. The runs must have the same number of repeats.
    """
    if not results:
        raise ValueError("add_timings() needs at least one timing")
    if len(results) == 1:
        return results[0]
    repeats = {r.repeat for r in results}
    if len(repeats) != 1:
        raise ValueError(f"add_timings() needs runs of one repeat count, got {sorted(repeats)}")

    def summed(stats: Sequence[Stats]) -> Stats:
        return summarize([sum(values) for values in zip(*(s.samples for s in stats))])

    def summed_present(stats: Sequence[Stats | None]) -> Stats | None:
        present = [s for s in stats if s is not None]
        return summed(present) if present else None

    modules: dict[str, ModuleTiming] = {}
    for name in dict.fromkeys(name for r in results for name in r.modules):
        parts = [r.modules[name] for r in results if name in r.modules]
        modules[name] = ModuleTiming(
            name=name,
            calls=sum(p.calls for p in parts),
            forward=summed([p.forward for p in parts]),
            backward=summed_present([p.backward for p in parts]),
        )
    first = results[0]

    def total(values: list[int | None]) -> int | None:
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)

    return TimingResult(
        device=first.device,
        device_name=first.device_name,
        dtype=first.dtype,
        warmup=first.warmup,
        repeat=first.repeat,
        forward=summed([r.forward for r in results]),
        iteration=summed([r.iteration for r in results]),
        backward=summed_present([r.backward for r in results]),
        optimizer_step=summed_present([r.optimizer_step for r in results]),
        modules=modules,
        batch_size=total([r.batch_size for r in results]),
        tokens=total([r.tokens for r in results]),
        tf32=first.tf32,
    )
