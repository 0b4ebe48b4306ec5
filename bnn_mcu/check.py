"""``bnn-mcu check``: how the integer reference agrees with Larq's float forward pass, layer by layer,
without a board.

The reference is what the firmware computes bit for bit (the QEMU tests prove that part), so this is the
question left: does the folded integer pipeline compute what the user's model computes? Every layer that
reads binary activations is checked on Larq's own inputs (``larqcheck.compare``):

* bits that differ where Larq's pre-sign value is within float32 rounding of zero are *ties*;
* signs of int16 residual streams that differ within the stream's error bound are *fixed point*
  (``ops/requant.py`` documents the bound);
* anything else is *unexplained*: a bug, and ``check`` exits 8 (``MismatchError``, as ``run``).

Inputs: the user's ``x`` (quantised with the input range, as ``run`` does), or, by default, seeded random
8-bit codes: every code is a valid input, and random ones exercise thresholds far from the data's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

DEFAULT_RANDOM_INPUTS = 256


@dataclass
class CheckReport:
    model: str
    inputs: int
    input_source: str  # "random uint8 (seed 0)" or the inputs file
    input_range: list
    binary_layers: int
    bits_compared: int
    ties: int
    fixed_point: int
    unexplained: int
    real_streams: int
    stream_max_abs_diff: float
    top1_agreement: float
    max_abs_output_diff: float
    layers: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.unexplained == 0

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def check_model(model_path: str, *, inputs: str | None = None, input_range=None, n: int = DEFAULT_RANDOM_INPUTS,
                seed: int = 0) -> CheckReport:
    """Lower and fold ``model_path``, then compare the reference with Larq on ``inputs`` (an .npz/.npy as
    for ``run``) or on ``n`` seeded random 8-bit inputs."""
    from . import fold, frontend
    from .bitpack import quantize_input
    from .cli import DEFAULT_INPUT_RANGE
    from .larqcheck import compare
    from .runner import load_inputs

    model = frontend.load_model(model_path)
    fg = frontend.lower(model)
    graph = fold.fold(fg, fold.input_range_for(fg, input_range, DEFAULT_INPUT_RANGE))
    if inputs is not None:
        x, _y = load_inputs(inputs, graph)
        q = quantize_input(x, *graph.input_range)
        source = str(inputs)
    else:
        q = np.random.default_rng(seed).integers(0, 256, (n, graph.input_bytes), dtype=np.uint8)
        source = f"random uint8 (seed {seed})"
    q = q.reshape((len(q),) + tuple(graph.input_shape))
    cmp, _ = compare(model, graph, q)
    return CheckReport(
        model=str(model_path), inputs=len(q), input_source=source, input_range=list(graph.input_range),
        binary_layers=cmp.binary_layers, bits_compared=cmp.bits_compared, ties=cmp.tie_disagreements,
        fixed_point=cmp.fixed_point_disagreements, unexplained=cmp.unexplained_disagreements,
        real_streams=cmp.real_streams, stream_max_abs_diff=cmp.stream_max_abs_diff,
        top1_agreement=cmp.top1_agreement, max_abs_output_diff=cmp.max_abs_output_diff, layers=list(cmp.layers))


def format_report(r: CheckReport) -> str:
    from .cli import _table

    rows = []
    for row in r.layers:
        if row["reads"] == "int16 stream":
            rows.append([row["layer"], row["reads"], f"{row['values']:,}", "-", "-", "-", str(row["unexplained"]),
                         f"max {row['max_abs_diff']:.3g} / mean {row['mean_abs_diff']:.2g} "
                         f"(bound {row['error_bound']:.3g})"])
        else:
            share = row["differ"] / max(1, row["values"])
            rows.append([row["layer"], row["reads"], f"{row['values']:,}", f"{row['differ']:,} ({share:.3%})",
                         str(row["ties"]), str(row["fixed_point"]), str(row["unexplained"]), ""])
    lines = [f"{r.model}: {r.inputs} inputs ({r.input_source}), input range {r.input_range}",
             _table(["Keras layer", "reads", "values", "differ", "ties", "fixed point", "unexplained",
                     "|int16 - Larq|"], rows, right={2, 4, 5, 6}),
             f"logits: max |difference| {r.max_abs_output_diff:.3g}, top-1 agreement {r.top1_agreement:.2%}",
             ("OK: every difference is a float32 tie or within a fixed-point bound" if r.ok else
              f"FAILED: {r.unexplained} unexplained differences (a bug: please report it with the model)")]
    return "\n".join(lines)
