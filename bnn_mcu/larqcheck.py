"""Check the integer reference against Larq's own float forward pass.

For every binary layer, the sign Larq feeds the next quantized layer (its input quantizer applied to
the float activation) must equal the reference's bit. Keras computes in float32, the thresholds are
exact, so the two can only disagree where Larq's pre-sign value is within float32 rounding of zero:
such disagreements are counted as *ties* and every other one as *unexplained* (a bug).

:func:`float_fidelity` is the other question: how close does the target come to the user's float model
on the user's original float inputs (not the 8-bit codes)? That is a measurement, not a check: the
target sees x quantised to 8 bits, which moves a few binary activations and so a few outputs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from . import reference
from .bitpack import dequantize_input, pack_bits, unpack_bits
from .ir import IntGraph

# |pre-sign value| below this (relative to the layer's typical magnitude) counts as a float32 tie.
TIE_RELATIVE = 1e-5


@dataclass(frozen=True)
class LarqComparison:
    inputs: int
    binary_layers: int
    bits_compared: int
    tie_disagreements: int
    unexplained_disagreements: int
    top1_agreement: float
    max_abs_output_diff: float
    # Signs of int16 residual streams (ops/requant.py) may differ from Larq's within the stream's error
    # bound: counted here, not as unexplained. The streams themselves against Larq's float values:
    fixed_point_disagreements: int = 0
    real_streams: int = 0
    stream_max_abs_diff: float = 0.0
    stream_mean_abs_diff: float = 0.0
    stream_max_error_bound: float = 0.0
    layers: tuple = ()  # one dict per binary-input layer and per stream (bnn-mcu check prints them)

    def as_dict(self) -> dict:
        return asdict(self)


def compare(model, graph: IntGraph, q: np.ndarray) -> tuple[LarqComparison, np.ndarray]:
    """Run Larq on the dequantised inputs ``q`` and the reference on ``q``; compare everything.

    Returns the comparison and Larq's own outputs (float64, one row per input)."""
    from . import ops
    from .frontend import import_tf
    from .untrusted import inline

    _tf, keras = import_tf()
    # Every node that reads bits and came from a Keras layer: Larq feeds that layer sign(its input).
    binary_nodes = {n.name: n for n in graph.layers
                    if ops.get(n.op).role == "accumulate" and n.input_kind == "b1"}
    qlayers = [l for l in model.layers if inline(l.name) in binary_nodes]
    probes = [_before_padding(l.input) for l in qlayers]  # the pre-sign float input of every binary layer
    # int16 streams: the Keras layer whose output each one holds (the last layer folded into it)
    by_name = {inline(l.name): l for l in model.layers}
    streams = [n for n in graph.layers if n.output_kind == "s16" and n.source_layers[-1] in by_name]
    stream_probes = [by_name[n.source_layers[-1]].output for n in streams]
    xs = dequantize_input(q, *graph.input_range).reshape((len(q),) + tuple(graph.keras_input_shape))
    probe_model = keras.Model(inputs=model.inputs, outputs=probes + stream_probes + [model.output])
    outs = probe_model.predict(xs, batch_size=256, verbose=0)
    outs = outs if isinstance(outs, list) else [outs]
    pre_sign = outs[:len(probes)]
    stream_values = outs[len(probes):-1]
    final = np.asarray(outs[-1], np.float64).reshape(len(q), -1)  # NHWC flatten, as the target's outputs
    ref = reference.run(graph, q, keep_layers=True)  # what the target computes
    larq_values = {n.output.id: np.asarray(v, np.float64).reshape((len(q),) + tuple(n.out_shape))
                   for n, v in zip(streams, stream_values)}
    producers = {n.output.id: n for n in graph.layers}
    # The signs of int16 streams may flip within the stream's error bound, and a flip changes everything
    # after it. So each layer is checked on Larq's own input: a second run takes Larq's signs wherever the
    # target signs a stream; then every threshold layer must match exactly (ties aside), and every stream
    # sign within its bound.
    forced = {n.output.id: pack_bits(larq_values[n.inputs[0].id] < 0) for n in graph.layers
              if n.op == "sign_s16" and n.inputs[0].id in larq_values}
    checked = reference.run(graph, q, keep_layers=True, overrides=forced) if forced else ref
    feeding_tensors = [binary_nodes[inline(l.name)].inputs[0] for l in qlayers]
    ties = unexplained = fixed = compared = 0
    rows = []
    for layer, z, t in zip(qlayers, pre_sign, feeding_tensors):
        z = np.asarray(z, np.float64).reshape((len(q),) + tuple(t.shape))
        producer = producers.get(t.id)
        if producer is not None and producer.op == "sign_s16":  # the stream's own sign, before forcing
            ours = checked.values[producer.inputs[0].id] < 0
            bound = producer.attrs["error_bound"]
        else:
            ours = unpack_bits(checked.values[t.id], t.shape[2])
            bound = 0.0
        larq = z < 0  # Larq's sign: -1 (bit 1) for negatives, +1 for 0 and positives
        diff = ours != larq
        scale = max(1.0, float(np.median(np.abs(z))))
        near = np.abs(z) <= TIE_RELATIVE * scale
        within = ~near & (np.abs(z) <= bound + TIE_RELATIVE * scale)
        row = {"layer": inline(layer.name), "reads": "stream sign" if bound else "bits", "values": int(diff.size),
               "differ": int(diff.sum()), "ties": int(np.sum(diff & near)), "fixed_point": int(np.sum(diff & within)),
               "unexplained": int(np.sum(diff & ~near & ~within))}
        rows.append(row)
        ties += row["ties"]
        fixed += row["fixed_point"]
        unexplained += row["unexplained"]
        compared += diff.size
    gaps, bounds = [], []
    for node in streams:  # each stream on Larq's input signs, against Larq's float values
        v = larq_values[node.output.id]
        gap = np.abs(checked.values[node.output.id].astype(np.float64) * node.attrs["scale"] - v)
        gaps.append(gap.ravel())
        bounds.append(node.attrs["error_bound"])
        over = gap > node.attrs["error_bound"] + TIE_RELATIVE * max(1.0, float(np.max(np.abs(v))))
        unexplained += int(np.sum(over))
        rows.append({"layer": node.source_layers[-1], "reads": "int16 stream", "values": int(gap.size),
                     "max_abs_diff": float(gap.max()), "mean_abs_diff": float(gap.mean()),
                     "error_bound": float(node.attrs["error_bound"]), "unexplained": int(np.sum(over))})
    gap = np.concatenate(gaps) if gaps else np.zeros(1)
    return LarqComparison(
        inputs=len(q), binary_layers=len(pre_sign), bits_compared=compared, tie_disagreements=ties,
        unexplained_disagreements=unexplained,
        top1_agreement=float(np.mean(np.argmax(final, axis=1) == ref.top1)),
        max_abs_output_diff=float(np.max(np.abs(final - ref.outputs))),
        fixed_point_disagreements=fixed, real_streams=len(streams), stream_max_abs_diff=float(gap.max()),
        stream_mean_abs_diff=float(gap.mean()), stream_max_error_bound=float(max(bounds, default=0.0)),
        layers=tuple(rows),
    ), final


def _before_padding(tensor):
    """A layer's input, or what a ZeroPadding before it padded (the integer graph folds the padding into
    the layer, so the bits it reads are the unpadded tensor's)."""
    layer = getattr(getattr(tensor, "_keras_history", None), "layer", None)
    while type(layer).__name__ in ("ZeroPadding2D", "ZeroPadding1D"):
        tensor = layer.input
        layer = getattr(getattr(tensor, "_keras_history", None), "layer", None)
    return tensor


@dataclass(frozen=True)
class FloatFidelity:
    """The target (or the reference) against Larq run on the original float inputs."""

    inputs: int
    top1_agreement: float  # target top-1 == Larq-on-float top-1
    top1_disagreements: int
    max_abs_output_diff: float  # over the model's outputs (probabilities if it ends in softmax)

    def as_dict(self) -> dict:
        return asdict(self)


def larq_outputs(model, graph: IntGraph, x: np.ndarray) -> np.ndarray:
    """Larq's own forward pass on float inputs ``x`` (N, ...) as the Keras model takes them: float64,
    one row per input, NHWC-flattened like the target's outputs."""
    x = np.asarray(x, np.float32).reshape((len(x),) + tuple(graph.keras_input_shape))
    return np.asarray(model.predict(x, batch_size=256, verbose=0), np.float64).reshape(len(x), -1)


def float_fidelity(model, graph: IntGraph, x: np.ndarray, raw: np.ndarray,
                   top1: np.ndarray | None = None) -> tuple[FloatFidelity, np.ndarray]:
    """Compare the target's int32 outputs ``raw`` (and its top-1 classes; default: the host's argmax)
    for the float inputs ``x`` with Larq run on ``x`` itself, unquantised and unclipped.

    The target's outputs are rebuilt on the host exactly as ``--outputs`` writes them (``scale*raw +
    offset``, softmax if the model ends in one). Returns the measurement and Larq's float outputs."""
    final = larq_outputs(model, graph, x)
    logits = reference.logits_from_raw(graph, raw)
    ours = reference.softmax(logits) if graph.softmax else logits
    top1 = np.argmax(logits, axis=1) if top1 is None else np.asarray(top1)
    agree = np.argmax(final, axis=1) == top1
    return FloatFidelity(
        inputs=len(x), top1_agreement=float(np.mean(agree)), top1_disagreements=int(np.sum(~agree)),
        max_abs_output_diff=float(np.max(np.abs(final - ours))),
    ), final
