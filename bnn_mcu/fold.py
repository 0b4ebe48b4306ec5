r"""Fold batch-norms, biases and the next layer's sign into integer thresholds (float graph -> integer
graph). This module is the driver; each op's own rule lives in its op module (thresholds and their
derivation: ``bnn_mcu/ops/conv.py``; pooling direction: ``bnn_mcu/ops/pool.py``; the batch-norm affine:
``bnn_mcu/ops/batchnorm.py``; the sign of a binarized model input: ``bnn_mcu/ops/sign.py``).

Graph walk
----------
The float graph's nodes are walked in order (``_Folder``). An accumulating op (conv, dense) starts a
real-valued tensor that the target never stores; affine maps (batch-norms) and bitwise ops (max-pools)
extend it; it becomes integer nodes only when a consumer reads it: a quantized layer or a
concatenation reads its sign (thresholds), the model output reads its int32 sums. Branches are kept:
a tensor read by two layers is materialized once; a concatenation joins bits.

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
from dataclasses import dataclass

import numpy as np

from . import ops
from .errors import UnsupportedModelError, UsageError
from .ir import FloatGraph, IntGraph, Node, Tensor

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    """A real-valued tensor the target never stores: accumulating node ``acc`` (reading the integer
    tensor ``inp``) followed by ``items``: per-channel affines ``("affine", (a, b))`` and pools
    ``("bitwise", node)``. It becomes bits (thresholds, then the pools) when a consumer reads its sign,
    or int32 sums when it is the model's output. ``bits`` caches the first materialization, so that
    several consumers of one sign share one kernel call."""

    acc: Node
    inp: Tensor
    items: tuple = ()
    sources: tuple[str, ...] = ()
    bits: Tensor | None = None
    real: _Real | None = None  # its int16 stream, once an add needed it
    added: bool = False  # an add reads it: its sign then comes from the stream (one convolution, not two)

    def then(self, kind: str, item, source: str) -> _Pending:
        sources = self.sources if source in self.sources else self.sources + (source,)  # a fused activation
        return _Pending(self.acc, self.inp, self.items + ((kind, item),), sources)


@dataclass
class _Real:
    """A real-valued tensor the target keeps as an int16 stream (``ops/requant.py``): ``producer`` is the
    requant or add node (its attrs hold the scale, bound and error bound); ``bits`` caches its sign."""

    producer: Node
    bits: Tensor | None = None


_INPUT = "model input"  # the state of the model input (and of a leading Rescaling's output)


def fold(graph: FloatGraph, input_range: tuple[float, float] = (0.0, 1.0)) -> IntGraph:
    """Lower a float graph to the integer graph the reference and the firmware execute.

    Every float tensor gets a state while the nodes are walked in order: the model input, a
    :class:`_Pending` real tensor, or a b1 tensor that holds only its sign (what a concatenation or a
    pool of signs produces; a consumer that needs its real values is refused). Integer nodes are
    emitted when a consumer needs them, so the integer graph keeps the float graph's branches."""
    lo, hi = float(input_range[0]), float(input_range[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise UsageError(f"--input-range needs finite LO < HI, got {lo:g} {hi:g}")
    folder = _Folder(graph, (lo, hi))
    return folder.run()


class _Folder:
    def __init__(self, graph: FloatGraph, input_range: tuple[float, float]):
        self.graph, self.input_range = graph, input_range
        self.ids = iter(range(1, 1 << 30))
        self.graph_input = Tensor(id=0, kind="u8", shape=graph.input_shape)
        self.layers: list[Node] = []
        self.softmax = False
        self.constant_channels = 0
        self.input_bits: Tensor | None = None  # sign of the model input, made once
        # A Rescaling on the model input changes the range the first layer sees, nothing else (ops/rescaling.py).
        self.leading = [n for n in graph.nodes if ops.get(n.op).role == "input_affine"]
        if len(self.leading) > 1:
            raise UnsupportedModelError("more than one Rescaling on the model input",
                                        hint="merge them into one Rescaling layer")
        self.first_range, self.rescale = input_range, None
        for node in self.leading:
            self.first_range = ops.get(node.op).apply(node, self.first_range)
            self.rescale = (node.attrs["scale"], node.attrs["offset"])

    def new_tensor(self, kind: str, shape) -> Tensor:
        return Tensor(id=next(self.ids), kind=kind, shape=tuple(int(v) for v in shape))

    def emit(self, node: Node) -> Tensor:
        self.layers.append(node)
        return node.output

    def run(self) -> IntGraph:
        graph = self.graph
        state: dict[int, object] = {graph.input.id: _INPUT}
        for node in self.leading:
            state[node.output.id] = _INPUT
        body = graph.nodes[len(self.leading):]
        if not any(ops.get(n.op).role == "accumulate" for n in body):
            raise UnsupportedModelError(
                "the model has no QuantConv2D or QuantDense layer: nothing to run as a binary network")
        # tensors whose real values the target keeps (an add or an average pool reads them)
        added = {t.id for n in body if ops.get(n.op).role in ("add", "real_pool") for t in n.inputs}
        for node in body:
            role = ops.get(node.op).role
            src = [state[t.id] for t in node.inputs]
            if role == "accumulate":
                state[node.output.id] = self.accumulate(node, src[0])
            elif role in ("affine", "bitwise", "monotone"):
                state[node.output.id] = self.after(node, role, src[0])
            elif role == "merge":
                bits = [self.bits_of(s, node) for s in src]
                state[node.output.id] = self.emit(ops.get(node.op).make(node, bits, self.new_tensor))
            elif role == "add":
                reals = [self.real_of(x, node) for x in src]
                add = ops.get(node.op).make(node, [r.producer for r in reals], self.new_tensor)
                self.emit(add)
                state[node.output.id] = _Real(add)
            elif role == "real_pool":
                real = self.real_of(src[0], node)
                pool = ops.get(node.op).make(node, real.producer, self.new_tensor)
                self.emit(pool)
                state[node.output.id] = _Real(pool)
            elif role == "final":
                if node.output not in graph.outputs:
                    raise UnsupportedModelError(
                        f"layer '{node.name}' (softmax) is not at the end of the model; softmax is only "
                        "supported as the final activation")
                self.softmax = True
                state[node.output.id] = src[0]
            else:
                raise UnsupportedModelError(f"layer '{node.name}': op {node.op} has no fold rule")
            out = state.get(node.output.id)
            if isinstance(out, _Pending) and node.output.id in added:
                out.added = True
        self.finish(state[graph.outputs[0].id])
        meta = {"ignored_layers": list(graph.ignored), "constant_channels": self.constant_channels}
        return IntGraph(name=graph.name, input=self.graph_input, keras_input_shape=graph.keras_input_shape,
                        input_range=self.input_range, layers=tuple(self.layers), softmax=self.softmax, meta=meta)

    # -- states -------------------------------------------------------------------------------------
    def accumulate(self, node: Node, src) -> _Pending:
        if node.attrs.get("input_sign"):
            inp = self.bits_of(src, node)
        elif src is _INPUT:
            inp = self.graph_input
        elif isinstance(src, (_Real, _Pending)) and node.op == "dense":  # a real-input head after a pool
            real = self.real_of(src, node)
            node = Node(op="dense_s16", name=node.name, inputs=node.inputs, output=node.output,
                        attrs={**node.attrs, "input_scale": real.producer.attrs["scale"]}, params=node.params,
                        source_layers=node.source_layers)
            inp = real.producer.output
        else:
            raise UnsupportedModelError(
                f"layer '{node.name}' ({node.attrs.get('keras_class')}) has a real-valued input (input_quantizer="
                "None) but is not the first layer; supported: real-valued input on the first layer only",
                hint="give every later quantized layer input_quantizer='ste_sign'")
        items = tuple(("affine", ab) for ab in ops.get(node.op).leading_affines(node))
        return _Pending(acc=node, inp=inp, items=items, sources=(node.name,))

    def after(self, node: Node, role: str, src):
        """A batch-norm, a clipping activation or a max-pool reading ``src``."""
        if isinstance(src, _Pending):
            item = ops.get(node.op).affine(node) if role == "affine" else node
            return src.then(role, item, node.name)
        if isinstance(src, _Real):
            raise UnsupportedModelError(
                f"layer '{node.name}' ({node.attrs.get('keras_class')}) acts on the output of a residual add (a "
                "real-valued stream); supported: sign-quantized layers, adds and concatenations of signs after an add",
                hint="apply batch-norms and pools inside the residual branch, before the Add")
        if src is _INPUT:
            raise UnsupportedModelError(
                f"layer '{node.name}' ({node.attrs.get('keras_class')}) comes before the first quantized layer; "
                "the model must start with a QuantConv2D or QuantDense")
        if role == "bitwise":  # a pool of signs: max commutes with sign, so AND the bits (no OR channels)
            channels = src.shape[2]
            return self.emit(ops.get(node.op).fold(node, src, np.zeros(channels, bool), self.new_tensor))
        raise UnsupportedModelError(
            f"layer '{node.name}' ({node.attrs.get('keras_class')}) needs the real values of a concatenation, "
            "but the target keeps only its signs; supported: batch-norms directly after a QuantConv2D or "
            "QuantDense (pools between are fine)",
            hint="move the batch-norm before the Concatenate (one per branch)")

    def bits_of(self, src, consumer: Node) -> Tensor:
        """The b1 tensor holding sign(src) for ``consumer``."""
        if isinstance(src, Tensor):
            return src
        if isinstance(src, _Pending) and src.added:  # the sign of the stream an add also reads
            src = self.real_of(src, consumer)
        if isinstance(src, _Real):
            if src.bits is None:
                sign = ops.get("sign_s16").make(src.producer.output, src.producer, self.new_tensor, consumer.name)
                src.bits = self.emit(sign)
            return src.bits
        if src is _INPUT:
            if self.input_bits is None:
                sign = ops.get("sign").make(self.graph_input, self.input_range, self.new_tensor,
                                            source_layers=(consumer.name,), rescale=self.rescale)
                self.input_bits = self.emit(sign)
            return self.input_bits
        if src.bits is None:
            src.bits = self.materialize(src, "b1")
        return src.bits

    def real_of(self, src, consumer: Node) -> _Real:
        """The int16 stream of ``src`` for an add: a pending tensor becomes int32 sums (its accumulating
        layer) and a requantization with its affine chain (``ops/requant.py``)."""
        if isinstance(src, _Real):
            return src
        if not isinstance(src, _Pending):
            what = "the model input" if src is _INPUT else "a tensor whose signs only are kept (a concatenation)"
            raise UnsupportedModelError(
                f"layer '{consumer.name}' ({consumer.attrs.get('keras_class')}) adds {what}; supported: adds of "
                "batch-norm (or quantized layer) outputs and of other adds",
                hint="give the shortcut a quantized layer and a batch-norm first (a stem)")
        if src.real is None:
            for kind, item in src.items:
                if kind != "affine":
                    what = f"activation '{item.attrs['fn']}'" if kind == "monotone" else item.attrs.get("keras_class")
                    raise UnsupportedModelError(
                        f"layer '{consumer.name}' ({consumer.attrs.get('keras_class')}) reads real values of "
                        f"'{src.acc.name}' through layer '{item.name}' ({what}); supported between a quantized "
                        "layer and a real-valued use (add, average pool, real-input layer): batch-norms and biases")
            A, B, _ = _reduce(src.items, src.acc.out_shape[2])
            in_range = self.first_range if src.inp is self.graph_input else self.input_range
            sums = ops.get(src.acc.op).fold(src.acc, src.inp, "s32", np.ones_like(A), np.zeros_like(B), in_range,
                                            self.new_tensor, src.sources, per_class_offset=True)
            self.emit(sums)
            k = ops.get(sums.op).fan_in(sums)
            raw_max = 255 * k if sums.input_kind == "u8" else k
            requant = ops.get("requant").make(sums, A, B, raw_max, self.new_tensor)
            self.emit(requant)
            src.real = _Real(requant)
        return src.real

    def materialize(self, p: _Pending, out_kind: str) -> Tensor:
        """Integer nodes for ``p``: the accumulating layer with thresholds (b1) or its int32 sums (s32),
        then its pools, each with the direction of what follows it."""
        acc = p.acc
        channels = acc.out_shape[2]
        if out_kind != "b1":
            for kind, item in p.items:
                if kind == "bitwise":
                    raise UnsupportedModelError(
                        f"layer '{item.name}' ({item.attrs.get('keras_class')}) follows the last quantized layer "
                        f"'{acc.name}'; pooling the output logits is not supported")
                if kind == "monotone":
                    raise UnsupportedModelError(
                        f"layer '{item.name}' ({item.attrs.get('keras_class')}): activation "
                        f"'{item.attrs['fn']}' on the model's output is not supported; supported: a linear "
                        "output (optionally softmax)")
        A, B, directions = _reduce(p.items, channels)
        in_range = self.first_range if p.inp is self.graph_input else self.input_range
        folded = ops.get(acc.op).fold(acc, p.inp, out_kind, A, B, in_range, self.new_tensor, p.sources)
        current = self.emit(folded)
        if out_kind == "b1":  # channels whose output never changes (gamma = 0, or a BN that never crosses zero)
            tau = folded.params["thresholds"]
            k = ops.get(folded.op).fan_in(folded)
            span = 255 * k if folded.input_kind == "u8" else k
            lowest = -span - 1 if folded.input_kind == "u8" else -1
            self.constant_channels += int(np.sum(np.all((tau == span) | (tau == lowest), axis=0)))
        for item, decreasing in directions:  # pools in order, each with the direction of the map after it
            current = self.emit(ops.get(item.op).fold(item, current, decreasing, self.new_tensor))
        return current

    def finish(self, out) -> None:
        """The model output: int32 sums of the last quantized layer (the host applies its affine)."""
        if isinstance(out, _Pending):
            self.materialize(out, "s32")
            return
        if isinstance(out, _Real):
            raise UnsupportedModelError(
                "the model ends in a residual add; supported: a model that ends in a quantized layer",
                hint="end the model with a QuantDense (and optionally BatchNormalization, softmax)")
        raise UnsupportedModelError(
            "the model's output is not a QuantConv2D or QuantDense layer (with batch-norms and a softmax "
            "after it); supported: a model that ends in a quantized layer",
            hint="end the model with a QuantDense (and optionally BatchNormalization, softmax)")


def input_range_for(graph: FloatGraph, given, default: tuple[float, float]) -> tuple[float, float]:
    """The user's --input-range if given; else the model's own (a leading Rescaling says raw 8-bit
    pixels: ``ops.rescaling.MODEL_INPUT_RANGE``); else ``default``."""
    if given is not None:
        return (float(given[0]), float(given[1]))
    if any(ops.get(n.op).role == "input_affine" for n in graph.nodes):
        return ops.rescaling.MODEL_INPUT_RANGE
    return default


def _reduce(items, channels: int) -> tuple[np.ndarray, np.ndarray, list]:
    """The per-channel affine ``(A, B)`` on the accumulator whose sign equals the sign at the end of
    ``items`` (affines compose; a clip becomes its equivalent affine, ``ops/activation.py``), and for
    each pool, in order, whether the map after it decreases (then the pool is a min: OR).

    Walks backwards: ``(A, B)`` starts as the identity test ``z < 0`` on the chain's last value and is
    pulled back through each item."""
    A, B = np.ones(channels, np.float64), np.zeros(channels, np.float64)
    pools = []
    for kind, item in reversed(items):
        if kind == "affine":
            a, b = item
            A, B = A * a, A * b + B
        elif kind == "monotone":
            A, B = ops.get(item.op).equivalent_affine(item, A, B)
        else:  # a pool: max commutes with the monotone map after it (min where it decreases)
            pools.append((item, A < 0))
    return A, B, pools[::-1]
