"""Text and JSON of an Estimate and, when measured, its Comparison. Pure functions, no torch."""

from __future__ import annotations

from typing import Any, Sequence

from ..report.units import format_count, format_params, format_percent
from .compare import Comparison, measured_term
from .estimate import Estimate
from .shape import DualEncoderShape, EncoderDecoderShape, EncoderShape


def estimate_dict(estimate: Estimate, comparison: Comparison | None = None) -> dict[str, Any]:
    """The estimate's JSON: each closed form under its source name, and ``measured`` when compared."""
    data = estimate.to_dict()
    if comparison is not None:
        data["measured"] = comparison.to_dict()
    return data


def render_estimate(estimate: Estimate, comparison: Comparison | None = None) -> str:
    """The closed forms as text: parameters, Megatron's terms (full and causal), each source's
    forward, training and hardware FLOPs; with ``comparison``, the measured count beside them and
    each difference named."""
    e = estimate
    attention = "causal" if e.causal else "full"
    lengths = f"seq {e.seq_len}" + (f" (encoder) + {e.decoder_seq_len} (decoder)" if e.decoder_seq_len else "")
    if isinstance(e.shape, DualEncoderShape):
        lengths = f"({e.shape.vision.image_tokens} image + {e.seq_len} text tokens)"
    lines = [f"{e.model} ({e.shape.family}): batch {e.batch_size} x {lengths} = {e.tokens:,} tokens, "
             f"{attention} attention; closed forms from the config", ""]
    lines += _parameters(e, comparison)
    lines += [""] + _megatron_terms(e, comparison)
    lines += [""] + _sources(e)
    if comparison is not None:
        lines += [""] + _differences(comparison)
    return "\n".join(lines) + "\n"


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [(indent + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                for i, (cell, w) in enumerate(zip(row, widths)))).rstrip() for row in rows]


def _parameters(e: Estimate, comparison: Comparison | None) -> list[str]:
    header = ("component", "formula") + (("measured",) if comparison else ())
    rows = [header] + [(name, format_params(value)) + (("",) if comparison else ()) for name, value in e.params.items()]
    total = (f"{e.total_params:,}",) + ((f"{comparison.measured_params:,}",) if comparison else ())
    rows.append(("total", *total))
    rows.append(("non-embedding (N)", format_params(e.non_embedding_params)) + (("",) if comparison else ()))
    if e.shape.experts:
        rows.append((f"active N ({e.shape.experts_per_token} of {e.shape.experts} experts)",
                     format_params(e.active_non_embedding_params)) + (("",) if comparison else ()))
    return ["Parameters"] + _table(rows)


def _megatron_terms(e: Estimate, comparison: Comparison | None) -> list[str]:
    full = e.megatron_form(causal=False)
    causal = e.megatron_form(causal=True)
    header = ("term", "full", "causal") + (("measured 2xMACs", "difference") if comparison else ())
    rows = [header]
    measured = {t.term: t for t in comparison.terms} if comparison else {}
    for term, value in full.terms.items():
        row: tuple[str, ...] = (term, format_count(value), format_count(causal.terms[term]))
        if comparison:
            key = measured_term(term)
            if term.endswith("attention_values"):
                row += ("", "")
            elif key in measured:
                m = measured[key]
                row += (format_count(m.measured), f"{m.difference:+,}")
            else:
                row += ("", "")
        rows.append(row)
    for t in comparison.terms if comparison else ():
        if t.term not in full.terms and not t.term.endswith("attention"):
            rows.append((t.term, "0", "0", format_count(t.measured), f"{t.difference:+,}"))
    total: tuple[str, ...] = ("total", format_count(full.forward), format_count(causal.forward))
    if comparison:
        total += (format_count(comparison.matmul_measured), f"{comparison.matmul_measured - full.forward:+,}")
    rows.append(total)
    note = (["  (measured attention is one fused op: its QK^T and PV are on the attention_scores row)"]
            if comparison else [])
    return ["Forward FLOPs per step, megatron (matmul-class, 2 FLOPs per MAC)"] + _table(rows) + note


def _sources(e: Estimate) -> list[str]:
    rows = [("source", "forward", "per token", "training", "per token", "hardware (full recompute)")]
    for name, form in e.forms.items():
        label = name + (" (causal)" if form.causal else "")
        rows.append((label, format_count(form.forward), format_count(form.per_token(form.forward)),
                     format_count(form.training), format_count(form.per_token(form.training)),
                     format_count(form.hardware)))
    refs = [f"  {name}: {form.reference}" for name, form in e.forms.items()]
    notes = [f"  {name}: {note}" for name, form in e.forms.items() for note in form.notes]
    return (["FLOPs per step by source (training = model FLOPs, 3 x forward)"] + _table(rows)
            + ["Sources"] + refs + ["Notes"] + notes)


def _differences(c: Comparison) -> list[str]:
    base = c.matmul_formula
    lines = ["Measured forward vs megatron (attention in full, as flopsight counts it)"]
    rows = [("", "FLOPs", "of formula")]
    rows.append(("megatron formula", format_count(base), "100%"))
    for what, flops, _ in c.differences():
        rows.append((what, f"{flops:+,}", _signed_percent(flops, base)))
    rows.append(("measured total", format_count(c.measured_flops), _signed_percent(c.measured_flops - base, base)))
    lines += _table(rows)
    if isinstance(c.estimate.shape, EncoderShape) and not c.estimate.shape.causal_mask:  # full: no causal view
        return lines
    causal = c.causal.forward
    if isinstance(c.estimate.shape, EncoderDecoderShape):  # the mask is inside the bias SDPA gets
        return lines + [
            "Attention counted in full vs causal",
            f"  T5 adds its causal mask to the position bias it passes to attention, so the count scores every "
            f"pair (masked {c.masked_flops:,} FLOPs); megatron causal is {format_count(causal)}, "
            f"{c.masked_matmul:,} matmul-class FLOPs under full",
        ]
    lines += [
        "Attention counted in full vs causal",
        f"  masked (discarded by the causal mask): {c.masked_flops:,} FLOPs = {c.masked_matmul:,} matmul-class "
        f"(megatron full - causal) + {c.masked_flops - c.masked_matmul:,} softmax and mask",
        f"  measured causal-effective {format_count(c.effective_flops)} vs megatron causal {format_count(causal)}: "
        f"{c.effective_flops - causal:+,} ({_signed_percent(c.effective_flops - causal, causal)}), "
        "the norms and elementwise ops of the kept work",
    ]
    return lines


def _signed_percent(part: int, whole: int) -> str:
    shown = format_percent(abs(part), whole)
    return shown if part == 0 else ("+" if part > 0 else "-") + shown
