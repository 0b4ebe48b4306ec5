r"""Fold batch-norms, biases and the next layer's sign into integer thresholds (float graph -> integer
graph). This module is the driver; each op's own rule lives in its op module (thresholds and their
derivation: ``bnn_mcu/ops/conv.py``; pooling direction: ``bnn_mcu/ops/pool.py``; the batch-norm affine:
``bnn_mcu/ops/batchnorm.py``; the sign of a binarized model input: ``bnn_mcu/ops/sign.py``).

Segments
--------
The float graph is cut into segments, each an accumulating op (conv, dense) followed by the ops up to
the next one: affine maps (batch-norms), bitwise ops (max-pools) and, at the very end, a softmax.
Every segment but the last ends in the next layer's input quantizer: a sign.

Affine chain
------------
Between the layer's raw dot product ``y`` and the sign, a segment applies per-channel affine maps
(bias ``y + b``; batch-norm ``a*y + b``) and max-pools. Affines compose: ``z = A*y + B`` (float64, from
the float32 parameters). Max-pool commutes with any monotone map, so the target thresholds every pixel
with the *total* affine first and pools the bits afterwards; only the affines *after* a pool decide
its direction per channel (AND = max, or OR = min where their product is negative).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from . import ops
from .errors import UnsupportedModelError, UsageError
from .ir import FloatGraph, IntGraph, Node, Tensor

log = logging.getLogger(__name__)


def fold(graph: FloatGraph, input_range: tuple[float, float] = (0.0, 1.0)) -> IntGraph:
    """Lower a float graph to the integer graph the reference and the firmware execute."""
    lo, hi = float(input_range[0]), float(input_range[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise UsageError(f"--input-range needs finite LO < HI, got {lo:g} {hi:g}")
    ids = iter(range(1, 1 << 30))

    def new_tensor(kind: str, shape) -> Tensor:
        return Tensor(id=next(ids), kind=kind, shape=tuple(int(v) for v in shape))

    current = Tensor(id=0, kind="u8", shape=graph.input_shape)
    graph_input = current
    # A Rescaling on the model input changes the range the first layer sees, nothing else (ops/rescaling.py).
    leading = [n for n in graph.nodes if ops.get(n.op).role == "input_affine"]
    first_range, rescale = (lo, hi), None
    for node in leading:
        first_range = ops.get(node.op).apply(node, first_range)
        rescale = (node.attrs["scale"], node.attrs["offset"])
    if len(leading) > 1:
        raise UnsupportedModelError("more than one Rescaling on the model input",
                                    hint="merge them into one Rescaling layer")
    segments = _segments(graph.nodes[len(leading):])
    layers: list[Node] = []
    softmax = False
    constant_channels = 0
    for i, (acc, tail) in enumerate(segments):
        first, last = i == 0, i == len(segments) - 1
        input_sign = bool(acc.attrs.get("input_sign"))
        if first and input_sign:  # the layer binarizes the real model input: sign the 8-bit codes
            node = ops.get("sign").make(current, (lo, hi), new_tensor, source_layers=(acc.name,), rescale=rescale)
            layers.append(node)
            current = node.output
        elif not first and not input_sign:
            raise UnsupportedModelError(
                f"layer '{acc.name}' ({acc.attrs.get('keras_class')}) has a real-valued input (input_quantizer="
                "None) but is not the first layer; supported: real-valued input on the first layer only",
                hint="give every later quantized layer input_quantizer='ste_sign'")
        channels = acc.out_shape[2]
        affines: list[tuple[str, object]] = []
        if acc.params.get("bias") is not None:
            affines.append(("affine", (np.ones(channels), np.asarray(acc.params["bias"], np.float64))))
        sources = [acc.name]
        for op_node in tail:
            sources.append(op_node.name)
            role = ops.get(op_node.op).role
            if role == "affine":
                affines.append(("affine", ops.get(op_node.op).affine(op_node)))
            elif role == "bitwise":
                if last:
                    raise UnsupportedModelError(
                        f"layer '{op_node.name}' ({op_node.attrs.get('keras_class')}) follows the last quantized "
                        f"layer '{acc.name}'; pooling the output logits is not supported")
                affines.append(("bitwise", op_node))
            elif role == "final":
                softmax = True
            else:  # pragma: no cover - _segments only lets the roles above into a tail
                raise UnsupportedModelError(f"layer '{op_node.name}': op {op_node.op} cannot follow a layer")
        A, B = _compose([x for k, x in affines if k == "affine"], channels)
        folded = ops.get(acc.op).fold(acc, current, "s32" if last else "b1", A, B, first_range if first else (lo, hi),
                                      new_tensor, tuple(sources))
        layers.append(folded)
        current = folded.output
        if not last:  # channels whose output never changes (gamma = 0, or a BN that never crosses zero)
            tau = folded.params["thresholds"]
            span = 255 * ops.conv.fan_in(folded) if folded.input_kind == "u8" else ops.conv.fan_in(folded)
            lowest = -span - 1 if folded.input_kind == "u8" else -1
            constant_channels += int(np.sum(np.all((tau == span) | (tau == lowest), axis=0)))
        for j, (kind, item) in enumerate(affines):  # pools, each with the direction of the affines after it
            if kind != "bitwise":
                continue
            a_after, _ = _compose([x for k, x in affines[j + 1:] if k == "affine"], channels)
            node = ops.get(item.op).fold(item, current, a_after < 0, new_tensor)
            layers.append(node)
            current = node.output
    meta = {"ignored_layers": list(graph.ignored), "constant_channels": constant_channels}
    return IntGraph(name=graph.name, input=graph_input, keras_input_shape=graph.keras_input_shape,
                    input_range=(lo, hi), layers=tuple(layers), softmax=softmax, meta=meta)


def input_range_for(graph: FloatGraph, given, default: tuple[float, float]) -> tuple[float, float]:
    """The user's --input-range if given; else the model's own (a leading Rescaling says raw 8-bit
    pixels: ``ops.rescaling.MODEL_INPUT_RANGE``); else ``default``."""
    if given is not None:
        return (float(given[0]), float(given[1]))
    if any(ops.get(n.op).role == "input_affine" for n in graph.nodes):
        return ops.rescaling.MODEL_INPUT_RANGE
    return default


def _compose(items: list[tuple[np.ndarray, np.ndarray]], channels: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.ones(channels, np.float64)
    b = np.zeros(channels, np.float64)
    for ai, bi in items:
        a, b = ai * a, ai * b + bi
    return a, b


def _segments(nodes) -> list[tuple[Node, list[Node]]]:
    segments: list[tuple[Node, list[Node]]] = []
    for node in nodes:
        role = ops.get(node.op).role
        if role == "accumulate":
            segments.append((node, []))
            continue
        if not segments:
            raise UnsupportedModelError(
                f"layer '{node.name}' ({node.attrs.get('keras_class')}) comes before the first quantized layer; "
                "the model must start with a QuantConv2D or QuantDense")
        segments[-1][1].append(node)
    if not segments:
        raise UnsupportedModelError(
            "the model has no QuantConv2D or QuantDense layer: nothing to run as a binary network")
    for i, (_acc, tail) in enumerate(segments):
        for j, node in enumerate(tail):
            if ops.get(node.op).role == "final" and (i != len(segments) - 1 or j != len(tail) - 1):
                raise UnsupportedModelError(
                    f"layer '{node.name}' (softmax) is not at the end of the model; softmax is only "
                    "supported as the final activation")
    return segments
