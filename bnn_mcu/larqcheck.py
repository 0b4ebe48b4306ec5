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
from .bitpack import dequantize_input, unpack_bits
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
    probes = [l.input for l in qlayers]  # the pre-sign float input of every binary-input layer
    xs = dequantize_input(q, *graph.input_range).reshape((len(q),) + tuple(graph.keras_input_shape))
    probe_model = keras.Model(inputs=model.inputs, outputs=probes + [model.output])
    outs = probe_model.predict(xs, batch_size=256, verbose=0)
    outs = outs if isinstance(outs, list) else [outs]
    pre_sign = outs[:-1]
    final = np.asarray(outs[-1], np.float64).reshape(len(q), -1)  # NHWC flatten, as the target's outputs
    ref = reference.run(graph, q, keep_layers=True)
    feeding_tensors = [binary_nodes[inline(l.name)].inputs[0] for l in qlayers]
    feeding = [ref.values[t.id] for t in feeding_tensors]
    feeding_shapes = [t.shape for t in feeding_tensors]
    ties = unexplained = compared = 0
    for z, words, shape in zip(pre_sign, feeding, feeding_shapes):
        z = np.asarray(z, np.float64).reshape((len(q),) + tuple(shape))
        ours = unpack_bits(words, shape[2])
        larq = z < 0  # Larq's sign: -1 (bit 1) for negatives, +1 for 0 and positives
        diff = ours != larq
        scale = max(1.0, float(np.median(np.abs(z))))
        near = np.abs(z) <= TIE_RELATIVE * scale
        ties += int(np.sum(diff & near))
        unexplained += int(np.sum(diff & ~near))
        compared += diff.size
    return LarqComparison(
        inputs=len(q), binary_layers=len(pre_sign), bits_compared=compared, tie_disagreements=ties,
        unexplained_disagreements=unexplained,
        top1_agreement=float(np.mean(np.argmax(final, axis=1) == ref.top1)),
        max_abs_output_diff=float(np.max(np.abs(final - ref.outputs))),
    ), final


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
