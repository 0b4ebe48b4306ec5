"""The numpy reference: executes the integer graph on bit-packed data. THE truth the firmware must match.

It follows the firmware's arithmetic exactly (XOR + popcount on packed uint32 words, int accumulators,
the same thresholds and pooling masks) and is vectorised over the batch so thousands of inputs take
seconds. Binary activations are packed uint32 arrays ``(N, H, W, ceil(C/32))``; 8-bit inputs are
uint8 ``(N, H, W, C)``; the last layer gives int32 ``(N, outputs)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import ops
from .bitpack import popcount32  # noqa: F401  (re-exported: the reference's popcount)
from .ir import IntGraph

@dataclass(frozen=True)
class ReferenceResult:
    raw: np.ndarray  # int32 (N, outputs): what the target returns
    logits: np.ndarray  # float64 (N, outputs): scale*raw + offset
    probs: np.ndarray | None  # float64 softmax(logits) if the model ends in softmax
    top1: np.ndarray  # int64 (N,): argmax of logits (first index on ties, as the firmware)
    layers: tuple[np.ndarray, ...] = ()  # every node's output when keep_layers=True
    values: dict = field(default_factory=dict)  # tensor id -> value, when keep_layers=True

    @property
    def outputs(self) -> np.ndarray:
        """What the Keras model outputs: probabilities if it ends in softmax, else logits."""
        return self.probs if self.probs is not None else self.logits


def run(graph: IntGraph, q: np.ndarray, *, keep_layers: bool = False,
        overrides: dict[int, np.ndarray] | None = None) -> ReferenceResult:
    """Run the integer graph on 8-bit inputs ``q`` of shape (N, H, W, C) (or (N, H*W*C)): every node
    through its op's reference (``bnn_mcu/ops``), reading the tensors its inputs name.

    ``overrides`` (tensor id -> value) replaces what a node computes, for the nodes after it: the Larq
    check feeds Larq's own signs in where the target rounds a real stream (``larqcheck.compare``)."""
    q = np.asarray(q)
    if q.dtype != np.uint8:
        raise TypeError(f"reference inputs must be uint8, got {q.dtype}")
    n = q.shape[0]
    values = {graph.input.id: q.reshape((n,) + tuple(graph.input_shape))}
    last_use = graph.last_use()
    for i, node in enumerate(graph.layers):
        if overrides is not None and node.output.id in overrides:
            values[node.output.id] = overrides[node.output.id]
        else:
            values[node.output.id] = ops.get(node.op).reference(node, [values[t.id] for t in node.inputs])
        if not keep_layers:  # free what no later node reads
            for t in node.inputs:
                if last_use[t.id] <= i:
                    values.pop(t.id, None)
    raw = values[graph.output.id].reshape(n, -1).astype(np.int32)
    logits = logits_from_raw(graph, raw)
    probs = softmax(logits) if graph.softmax else None
    kept = tuple(values[node.output.id] for node in graph.layers) if keep_layers else ()
    return ReferenceResult(raw=raw, logits=logits, probs=probs, top1=np.argmax(logits, axis=1), layers=kept,
                           values=values if keep_layers else {})


def logits_from_raw(graph: IntGraph, raw: np.ndarray) -> np.ndarray:
    """The float logits the host rebuilds from the target's int32 outputs: float64 ``scale*raw +
    offset`` per channel (channel = index % C, NHWC flatten), two separately rounded operations, as the
    firmware computes them for its top-1."""
    raw = np.asarray(raw, np.float64)
    return raw * np.resize(graph.out_scale, raw.shape[-1]) + np.resize(graph.out_offset, raw.shape[-1])


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
