"""The intermediate representation between the frontend, the folder, the reference and codegen.

Two levels, both plain frozen dataclasses holding numpy arrays:

* **Float IR** (:class:`FloatGraph`): what the frontend lowers a Keras model to. Layers keep their
  float parameters (±1 kernels still as floats, batch-norm statistics, biases). Shapes are NHWC
  without the batch axis; a 1-D input of N features is ``(1, 1, N)``, a 2-D input ``(A, B)`` is
  ``(1, A, B)`` (Keras' Dense acts on the last axis, and the row-major flatten order is unchanged).
  A ``Dense`` on an ``(H, W, C)`` tensor is stored as a convolution whose kernel covers the whole
  input, so Keras' ``Flatten`` (row-major over H, W, C) is a no-op on our layout.

* **Integer IR** (:class:`IntGraph`): what :mod:`bnn_mcu.fold` produces and what both the numpy
  reference and the firmware execute. Only integers, bits and (for the last layer's host-side affine)
  float64 scales. Every binary-output layer computes an integer accumulator per output channel and
  emits ``bit = acc > threshold[c]`` (bit 1 means -1); the folder has already flipped weights so that
  this one comparison direction holds for every channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

import numpy as np

Shape3 = tuple[int, int, int]

# --------------------------------------------------------------------------------------------------
# Float IR
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conv:
    """A Larq QuantConv2D or QuantDense (dense = kernel spanning the whole input, ``is_dense``)."""

    name: str
    keras_class: str
    kernel: np.ndarray  # float, OHWI
    bias: np.ndarray | None  # float [O] or None
    strides: tuple[int, int]
    padding: Literal["valid"]
    input_binary: bool  # True: input quantizer is sign-like; False: real-valued input (first layer)
    in_shape: Shape3
    out_shape: Shape3
    is_dense: bool = False


@dataclass(frozen=True)
class BatchNorm:
    name: str
    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    epsilon: float
    shape: Shape3


@dataclass(frozen=True)
class MaxPool:
    name: str
    pool: tuple[int, int]
    strides: tuple[int, int]
    in_shape: Shape3
    out_shape: Shape3


@dataclass(frozen=True)
class Softmax:
    name: str
    shape: Shape3


FloatOp = Union[Conv, BatchNorm, MaxPool, Softmax]


@dataclass(frozen=True)
class FloatGraph:
    name: str
    input_shape: Shape3
    keras_input_shape: tuple[int, ...]  # without batch axis, as the Keras model takes it
    ops: tuple[FloatOp, ...]
    ignored: tuple[str, ...] = ()  # layers dropped at inference (Dropout, Flatten, InputLayer)


# --------------------------------------------------------------------------------------------------
# Integer IR
# --------------------------------------------------------------------------------------------------

InputKind = Literal["u8", "b1"]
OutputKind = Literal["b1", "s32"]


@dataclass(frozen=True)
class IntConv:
    """Binary-weight convolution (a dense layer is a convolution with ``k == in spatial``).

    * ``input_kind == "b1"``: acc = popcount(a XOR w) over the K = kh*kw*C real input bits.
    * ``input_kind == "u8"``: acc = sum(q * w) with w in {+1, -1} (bit 1 is -1), q in 0..255.

    ``output_kind == "b1"``: bit = acc > thresholds[c] (weights already flipped where needed).
    ``output_kind == "s32"``: the layer returns ``out = acc`` for u8 input, ``K - 2*acc`` (the ±1 dot
    product) for b1 input; the host gets float logits as ``scale * out + offset``.
    """

    name: str
    op: Literal["conv2d", "dense"]
    input_kind: InputKind
    output_kind: OutputKind
    in_shape: Shape3
    out_shape: Shape3
    kernel_size: tuple[int, int]
    strides: tuple[int, int]
    weight_bits: np.ndarray  # bool [O, KH, KW, C]; True = -1
    thresholds: np.ndarray | None  # int32 [O] for b1 output
    scale: np.ndarray | None = None  # float64 [O] for s32 output
    offset: np.ndarray | None = None  # float64 [O] for s32 output
    source_layers: tuple[str, ...] = ()  # Keras layers folded into this one

    @property
    def fan_in(self) -> int:
        kh, kw = self.kernel_size
        return kh * kw * self.in_shape[2]

    @property
    def macs(self) -> int:
        oh, ow, oc = self.out_shape
        return oh * ow * oc * self.fan_in


@dataclass(frozen=True)
class IntMaxPool:
    """Max-pool on bits: per channel AND (bit 1 = -1, so max is AND) or OR where ``or_mask``."""

    name: str
    in_shape: Shape3
    out_shape: Shape3
    pool: tuple[int, int]
    strides: tuple[int, int]
    or_mask: np.ndarray  # bool [C]
    source_layers: tuple[str, ...] = ()

    macs = 0


IntLayer = Union[IntConv, IntMaxPool]


@dataclass(frozen=True)
class IntGraph:
    name: str
    input_shape: Shape3
    keras_input_shape: tuple[int, ...]
    input_range: tuple[float, float]  # float x = lo + q * (hi - lo) / 255
    layers: tuple[IntLayer, ...]
    softmax: bool
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def output_count(self) -> int:
        oh, ow, oc = self.layers[-1].out_shape
        return oh * ow * oc

    @property
    def input_bytes(self) -> int:
        h, w, c = self.input_shape
        return h * w * c

    def activation_shapes(self) -> list[tuple[InputKind | OutputKind, Shape3]]:
        """(kind, shape) of the input and of every layer's output, in order."""
        out: list[tuple[str, Shape3]] = [("u8", self.input_shape)]
        for layer in self.layers:
            kind = layer.output_kind if isinstance(layer, IntConv) else "b1"
            out.append((kind, layer.out_shape))
        return out


def activation_bytes(kind: str, shape: Shape3) -> int:
    """Bytes an activation takes in the firmware's layout (bits are padded to whole words per pixel)."""
    h, w, c = shape
    if kind == "u8":
        return h * w * c
    if kind == "b1":
        return h * w * ((c + 31) // 32) * 4
    if kind == "s32":
        return h * w * c * 4
    raise ValueError(kind)


# --------------------------------------------------------------------------------------------------
# Serialisation (deterministic) and the model hash
# --------------------------------------------------------------------------------------------------


def to_arrays(graph: IntGraph) -> tuple[dict, dict[str, np.ndarray]]:
    """Split an integer graph into JSON-able metadata and named arrays (the inverse of from_arrays)."""
    meta_layers = []
    arrays: dict[str, np.ndarray] = {}
    for i, layer in enumerate(graph.layers):
        if isinstance(layer, IntConv):
            meta_layers.append({
                "type": "conv", "name": layer.name, "op": layer.op, "input_kind": layer.input_kind,
                "output_kind": layer.output_kind, "in_shape": list(layer.in_shape),
                "out_shape": list(layer.out_shape), "kernel_size": list(layer.kernel_size),
                "strides": list(layer.strides), "source_layers": list(layer.source_layers),
            })
            arrays[f"l{i}_weight_bits"] = np.asarray(layer.weight_bits, bool)
            if layer.thresholds is not None:
                arrays[f"l{i}_thresholds"] = np.asarray(layer.thresholds, np.int32)
            if layer.scale is not None:
                arrays[f"l{i}_scale"] = np.asarray(layer.scale, np.float64)
                arrays[f"l{i}_offset"] = np.asarray(layer.offset, np.float64)
        else:
            meta_layers.append({
                "type": "maxpool", "name": layer.name, "in_shape": list(layer.in_shape),
                "out_shape": list(layer.out_shape), "pool": list(layer.pool),
                "strides": list(layer.strides), "source_layers": list(layer.source_layers),
            })
            arrays[f"l{i}_or_mask"] = np.asarray(layer.or_mask, bool)
    meta = {
        "name": graph.name, "input_shape": list(graph.input_shape),
        "keras_input_shape": list(graph.keras_input_shape), "input_range": list(graph.input_range),
        "softmax": graph.softmax, "layers": meta_layers,
    }
    return meta, arrays


def from_arrays(meta: dict, arrays: dict[str, np.ndarray]) -> IntGraph:
    layers: list[IntLayer] = []
    for i, m in enumerate(meta["layers"]):
        if m["type"] == "conv":
            layers.append(IntConv(
                name=m["name"], op=m["op"], input_kind=m["input_kind"], output_kind=m["output_kind"],
                in_shape=tuple(m["in_shape"]), out_shape=tuple(m["out_shape"]),
                kernel_size=tuple(m["kernel_size"]), strides=tuple(m["strides"]),
                weight_bits=arrays[f"l{i}_weight_bits"].astype(bool),
                thresholds=arrays.get(f"l{i}_thresholds"), scale=arrays.get(f"l{i}_scale"),
                offset=arrays.get(f"l{i}_offset"), source_layers=tuple(m["source_layers"]),
            ))
        else:
            layers.append(IntMaxPool(
                name=m["name"], in_shape=tuple(m["in_shape"]), out_shape=tuple(m["out_shape"]),
                pool=tuple(m["pool"]), strides=tuple(m["strides"]),
                or_mask=arrays[f"l{i}_or_mask"].astype(bool), source_layers=tuple(m["source_layers"]),
            ))
    return IntGraph(name=meta["name"], input_shape=tuple(meta["input_shape"]),
                    keras_input_shape=tuple(meta["keras_input_shape"]),
                    input_range=tuple(meta["input_range"]), layers=tuple(layers),
                    softmax=bool(meta["softmax"]))


def model_hash(graph: IntGraph) -> str:
    """SHA-256 (hex) of everything that determines the target's outputs; the first 16 bytes go on
    the wire (INFO.model_hash) so the harness never compares against a different model."""
    import hashlib
    import json

    meta, arrays = to_arrays(graph)
    h = hashlib.sha256()
    h.update(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(graph: IntGraph, path) -> None:
    """Write the graph as an .npz whose bytes depend only on the graph (fixed zip timestamps)."""
    import io
    import json
    import zipfile

    meta, arrays = to_arrays(graph)
    arrays = dict(arrays)
    arrays["meta_json"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def load(path) -> IntGraph:
    import json

    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("meta_json").tobytes().decode())
    return from_arrays(meta, arrays)
