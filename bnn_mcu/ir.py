"""The intermediate representations: a float graph (what the frontend lowers Keras to) and an integer
graph (what the folder produces and what the reference and the firmware execute).

Both are graphs: **tensors** have ids, kinds and shapes; **nodes** read tensors and write one tensor.
Nodes are listed in an order where every input is written before it is read (Keras' own layer order).
What a node *does* is its op's business: ``node.op`` names an entry of the op registry
(``bnn_mcu/ops``), which owns the node's attributes (plain JSON values) and parameters (numpy arrays),
its fold rule, its numpy reference, its parameter layouts and its C kernels. Nothing outside the op
modules looks inside ``attrs`` or ``params`` beyond the conventions written here.

Shapes are NHWC without the batch axis, always rank 3: a 1-D input of N features is ``(1, 1, N)``, a
2-D input ``(A, B)`` is ``(1, A, B)`` (Keras' Dense acts on the last axis and the row-major flatten
order is unchanged). Tensor kinds:

* float graph: ``f32`` (real values), ``sign`` (values in {-1, +1}, a quantizer's output);
* integer graph: ``u8`` (the model input, q in 0..255 with ``x = LO + q*(HI-LO)/255``), ``b1`` (one bit
  per value, bit 1 = -1, packed 32 channels per word per pixel), ``s32`` (int32 accumulators), ``s16``
  (a real-valued stream in int16 fixed point, NHWC, with the scale in its producer's attrs:
  ``ops/requant.py``).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field

import numpy as np

Shape3 = tuple[int, int, int]


@dataclass(frozen=True)
class Tensor:
    id: int
    kind: str
    shape: Shape3

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "shape": list(self.shape)}

    @classmethod
    def from_dict(cls, d: dict) -> Tensor:
        return cls(id=int(d["id"]), kind=str(d["kind"]), shape=tuple(int(v) for v in d["shape"]))


@dataclass(frozen=True)
class Node:
    """One op applied to its input tensors. ``source_layers`` are the Keras layers folded into it."""

    op: str
    name: str
    inputs: tuple[Tensor, ...]
    output: Tensor
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict, compare=False)
    source_layers: tuple[str, ...] = ()

    # Conveniences for the common single-input case.
    @property
    def in_shape(self) -> Shape3:
        return self.inputs[0].shape

    @property
    def out_shape(self) -> Shape3:
        return self.output.shape

    @property
    def input_kind(self) -> str:
        return self.inputs[0].kind

    @property
    def output_kind(self) -> str:
        return self.output.kind

    @property
    def kind(self) -> str:
        """What the node runs, for tables: e.g. ``conv2d b1->b1``."""
        return f"{self.op} {self.input_kind}->{self.output_kind}"

    def with_params(self, **params) -> Node:
        """A copy with some parameters replaced (tests use it to break a graph on purpose)."""
        return Node(op=self.op, name=self.name, inputs=self.inputs, output=self.output, attrs=self.attrs,
                    params={**self.params, **params}, source_layers=self.source_layers)

    @property
    def macs(self) -> int:
        from . import ops

        return ops.get(self.op).macs(self)

    def __getattr__(self, name: str):  # node.thresholds, node.weight_bits, ...: its parameters
        params = self.__dict__.get("params")
        if params is not None and name in params:
            return params[name]
        attrs = self.__dict__.get("attrs")
        if attrs is not None and name in attrs:
            return attrs[name]
        raise AttributeError(f"{type(self).__name__} '{self.__dict__.get('op')}' has no attribute {name!r}")


@dataclass(frozen=True)
class FloatGraph:
    name: str
    input: Tensor
    keras_input_shape: tuple[int, ...]  # without the batch axis, as the Keras model takes it
    nodes: tuple[Node, ...]
    outputs: tuple[Tensor, ...]
    ignored: tuple[str, ...] = ()  # layers without effect at inference (Dropout, Flatten, InputLayer)

    @property
    def input_shape(self) -> Shape3:
        return self.input.shape

    def consumers(self, tensor: Tensor) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]


@dataclass(frozen=True)
class IntGraph:
    name: str
    input: Tensor
    keras_input_shape: tuple[int, ...]
    input_range: tuple[float, float]  # float x = lo + q * (hi - lo) / 255
    layers: tuple[Node, ...]  # the nodes, in execution order; the last one writes the output
    softmax: bool
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def input_shape(self) -> Shape3:
        return self.input.shape

    @property
    def output(self) -> Tensor:
        return self.layers[-1].output

    @property
    def output_count(self) -> int:
        oh, ow, oc = self.output.shape
        return oh * ow * oc

    @property
    def input_bytes(self) -> int:
        h, w, c = self.input_shape
        return h * w * c

    @property
    def out_scale(self) -> np.ndarray:
        """float64 per output channel: logits = out_scale * raw + out_offset."""
        return self.layers[-1].params["scale"]

    @property
    def out_offset(self) -> np.ndarray:
        return self.layers[-1].params["offset"]

    def tensors(self) -> list[Tensor]:
        """Every tensor: the input, then each node's output in order."""
        return [self.input] + [n.output for n in self.layers]

    def last_use(self) -> dict[int, int]:
        """Tensor id -> index of the last node that reads it (the graph output: len(layers))."""
        last = {t.id: -1 for t in self.tensors()}
        for i, node in enumerate(self.layers):
            for t in node.inputs:
                last[t.id] = i
        last[self.output.id] = len(self.layers)
        return last


def activation_bytes(kind: str, shape: Shape3) -> int:
    """Bytes a tensor takes in the firmware's layout (bits are padded to whole words per pixel)."""
    h, w, c = shape
    if kind == "u8":
        return h * w * c
    if kind == "b1":
        return h * w * ((c + 31) // 32) * 4
    if kind == "s16":
        return h * w * c * 2
    if kind == "s32":
        return h * w * c * 4
    raise ValueError(f"unknown tensor kind {kind!r}")


# --------------------------------------------------------------------------------------------------
# Serialisation (deterministic) and the model hash
# --------------------------------------------------------------------------------------------------


def to_arrays(graph: IntGraph) -> tuple[dict, dict[str, np.ndarray]]:
    """Split an integer graph into JSON-able metadata and named arrays (the inverse of from_arrays)."""
    nodes, arrays = [], {}
    for i, node in enumerate(graph.layers):
        nodes.append({"op": node.op, "name": node.name, "inputs": [t.as_dict() for t in node.inputs],
                      "output": node.output.as_dict(), "attrs": node.attrs,
                      "source_layers": list(node.source_layers)})
        for key, value in sorted(node.params.items()):
            arrays[f"n{i}_{key}"] = np.asarray(value)
    meta = {"name": graph.name, "input": graph.input.as_dict(), "keras_input_shape": list(graph.keras_input_shape),
            "input_range": list(graph.input_range), "softmax": graph.softmax, "nodes": nodes}
    return meta, arrays


def from_arrays(meta: dict, arrays: dict[str, np.ndarray]) -> IntGraph:
    layers = []
    for i, m in enumerate(meta["nodes"]):
        prefix = f"n{i}_"
        params = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
        params = {k: (v.astype(bool) if v.dtype == np.bool_ else v) for k, v in params.items()}
        layers.append(Node(op=m["op"], name=m["name"], inputs=tuple(Tensor.from_dict(t) for t in m["inputs"]),
                           output=Tensor.from_dict(m["output"]), attrs=m["attrs"], params=params,
                           source_layers=tuple(m["source_layers"])))
    return IntGraph(name=meta["name"], input=Tensor.from_dict(meta["input"]),
                    keras_input_shape=tuple(meta["keras_input_shape"]), input_range=tuple(meta["input_range"]),
                    layers=tuple(layers), softmax=bool(meta["softmax"]))


def model_hash(graph: IntGraph) -> str:
    """SHA-256 (hex) of everything that determines the target's outputs; the first 16 bytes go on
    the wire (INFO.model_hash) so the harness never compares against a different model."""
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
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("meta_json").tobytes().decode())
    return from_arrays(meta, arrays)
