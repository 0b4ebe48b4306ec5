"""Check the integer reference against Larq's own float forward pass.

For every binary layer, the sign Larq feeds the next quantized layer (its input quantizer applied to
the float activation) must equal the reference's bit. Keras computes in float32, the thresholds are
exact, so the two can only disagree where Larq's pre-sign value is within float32 rounding of zero:
such disagreements are counted as *ties* and every other one as *unexplained* (a bug).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from . import reference
from .bitpack import dequantize_input, unpack_bits
from .ir import IntConv, IntGraph

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
    from .frontend import import_tf

    _tf, keras = import_tf()
    qlayers = [l for l in model.layers if type(l).__name__ in ("QuantConv2D", "QuantDense")]
    probes = [l.input for l in qlayers[1:]]  # the pre-sign float input of every later quantized layer
    xs = dequantize_input(q, *graph.input_range).reshape((len(q),) + tuple(graph.keras_input_shape))
    probe_model = keras.Model(inputs=model.inputs, outputs=probes + [model.output])
    outs = probe_model.predict(xs, batch_size=256, verbose=0)
    outs = outs if isinstance(outs, list) else [outs]
    pre_sign = outs[:-1]
    final = np.asarray(outs[-1], np.float64).reshape(len(q), -1)  # NHWC flatten, as the target's outputs
    ref = reference.run(graph, q, keep_layers=True)
    # The reference activation that feeds IntConv i (i > 0) is the output of the layer before it.
    feeding = [ref.layers[i - 1] for i, layer in enumerate(graph.layers)
               if isinstance(layer, IntConv) and i > 0]
    feeding_shapes = [graph.layers[i - 1].out_shape for i, layer in enumerate(graph.layers)
                      if isinstance(layer, IntConv) and i > 0]
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
