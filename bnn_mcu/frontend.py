"""Frontend: load a Larq/Keras model and lower it to the float graph, layer by layer through the op
registry (``bnn_mcu/ops``): each Keras class is lowered by the op that claims it.

Larq 0.14 works only with legacy Keras 2 (``tf_keras``): this module sets ``TF_USE_LEGACY_KERAS=1``
before TensorFlow is imported. TensorFlow is imported lazily, so verbs that do not read a model
(``build``, ``run``) never pay for it.

Every layer is looked at before anything is refused: the :class:`Lowering` lists each Keras layer with
what it became or why it was refused, and :func:`lower` raises one
:class:`~bnn_mcu.errors.UnsupportedModelError` that names every offending layer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ModelLoadError, UnsupportedModelError
from . import ops
from .ir import FloatGraph, Node, Shape3, Tensor
from .modelfile import vet
from .untrusted import inline

log = logging.getLogger(__name__)

def import_tf():
    """Import TensorFlow, tf_keras and Larq in the one configuration that works (see module doc)."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        with _quiet_stderr():  # TF's C++ runtime logs to fd 2 before any Python setting applies
            import larq  # noqa: F401  (registers Larq's custom objects with tf_keras)
            import tensorflow as tf
            import tf_keras
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ModelLoadError(
            f"cannot import TensorFlow/Larq: {exc}",
            hint="run tools/install_deps.sh (larq 0.14.0, tensorflow-cpu 2.21, tf-keras 2.21)",
        ) from exc
    tf.get_logger().setLevel(logging.ERROR)
    return tf, tf_keras


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (not just sys.stderr) unless debug logging is on."""
    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_model(path: str | os.PathLike):
    """Load a ``.h5``, ``.keras`` or SavedModel directory with Larq's custom objects."""
    p = Path(path)
    vet(p)  # before Keras deserializes anything: a model file is data, never code (bnn_mcu/modelfile.py)
    _tf, keras = import_tf()

    try:
        with _quiet_stderr():
            # safe_mode applies to the .keras format only; vet() above covers .h5 and SavedModel too.
            model = keras.models.load_model(str(p), compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for bad files; all mean "not a usable model"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"could not load {p} as a Keras/Larq model: {inline(first)}",
            hint="the file must be a model saved by tf_keras/Larq (model.save)",
        ) from exc
    if not hasattr(model, "layers"):
        raise ModelLoadError(f"{p} loaded, but as a bare SavedModel without Keras layers")
    return model


# Hints for classes people often try; everything else unknown gets the supported list.
CLASS_HINTS = {
    "Normalization": "fold input scaling into the converter instead: --input-range LO HI",
    "Conv2D": "a full-precision layer; only Larq's binarized QuantConv2D/QuantDense run on the target",
    "Dense": "a full-precision layer; only Larq's binarized QuantConv2D/QuantDense run on the target",
    "DepthwiseConv2D": "a full-precision layer; only Larq's binarized QuantConv2D/QuantDense run on the target",
    "SeparableConv2D": "a full-precision layer; only Larq's binarized QuantConv2D/QuantDense run on the target",
}


def supported_text() -> str:
    return "; ".join(text for _classes, text in ops.supported_layers())


@dataclass
class LayerRow:
    """One Keras layer in the lowering table (``inspect`` shows it even when the model is refused)."""

    name: str
    keras_class: str
    status: str  # "lowered", "ignored" or "refused"
    detail: str  # what it became, or why it was refused

    def as_dict(self) -> dict:
        return {"name": self.name, "class": self.keras_class, "status": self.status, "detail": self.detail}


@dataclass
class Lowering:
    """State while lowering one model: tensors, nodes, the table of layers and every refusal."""

    next_id: int = 0
    flat: set = field(default_factory=set)
    views: dict = field(default_factory=dict)  # padded tensor id -> (source tensor, pads): ZeroPadding
    model_input: Tensor | None = None  # what the integer graph's u8 input is (a leading Reshape relabels it)
    nodes: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    _current: object = None

    def tensor(self, kind: str, shape: Shape3) -> Tensor:
        t = Tensor(id=self.next_id, kind=kind, shape=tuple(int(v) for v in shape))
        self.next_id += 1
        return t

    def node(self, op: str, layer, inp: Tensor | tuple[Tensor, ...], out_shape, *, attrs: dict | None = None,
             params: dict | None = None) -> Node:
        """A float node of ``layer`` reading ``inp`` (one tensor, or a tuple for a merge op)."""
        attrs = {"keras_class": type(layer).__name__, **(attrs or {})}
        inputs = inp if isinstance(inp, tuple) else (inp,)
        return Node(op=op, name=_name(layer), inputs=inputs, output=self.tensor("f32", out_shape), attrs=attrs,
                    params=params or {}, source_layers=(_name(layer),))

    def is_flat(self, t: Tensor) -> bool:
        return t.id in self.flat

    def pad_view(self, inp: Tensor, pads: tuple[int, int, int, int]) -> Tensor:
        """A tensor that stands for ``inp`` zero-padded by ``pads`` (top, bottom, left, right): no node;
        the convolution that reads it takes the padding into its own (``unpad``)."""
        h, w, c = inp.shape
        top, bottom, left, right = pads
        view = self.tensor("f32", (h + top + bottom, w + left + right, c))
        self.views[view.id] = (inp, tuple(int(p) for p in pads))
        return view

    def reshape_model_input(self, t: Tensor, shape) -> Tensor:
        """The model input seen with another shape (a Reshape before any other layer): the 8-bit input
        buffer is the same row-major bytes, so the integer graph simply takes the new shape."""
        if t is not self.model_input or self.nodes:
            raise ValueError("only the unread model input can be relabelled")
        self.model_input = self.tensor("f32", _as_hwc(tuple(shape), "Reshape output"))
        return self.model_input

    def unpad(self, t: Tensor) -> tuple[Tensor, tuple[int, int, int, int] | None]:
        """(the tensor a padding view stands for, its pads), or (t, None) for an ordinary tensor."""
        if t.id in self.views:
            return self.views[t.id]
        return t, None

    def mark_flat(self, t: Tensor) -> None:
        self.flat.add(t.id)

    @property
    def refusals(self) -> list[LayerRow]:
        return [r for r in self.rows if r.status == "refused"]


def lower(model) -> FloatGraph:
    """Lower a loaded Keras model to the float graph; refuse it naming every unsupported layer."""
    graph, low = lower_with_table(model)
    if low.refusals:
        raise refusal_error(low.refusals)
    return graph


def refusal_error(refused: list[LayerRow]) -> UnsupportedModelError:
    lines = [f"layer '{r.name}' ({r.keras_class}): {r.detail}" for r in refused]
    head = lines[0] if len(lines) == 1 else f"{len(lines)} layers are not supported:\n  " + "\n  ".join(lines)
    return UnsupportedModelError(head, hint=f"supported: {supported_text()}")


def lower_with_table(model) -> tuple[FloatGraph | None, Lowering]:
    """The float graph (None when a layer was refused) and the table of every Keras layer."""
    keras_in = tuple(int(d) if d is not None else -1 for d in model.input_shape[1:])
    low = Lowering()
    inp = low.model_input = low.tensor("f32", _as_hwc(keras_in, "model input"))
    if len(keras_in) == 1:
        low.mark_flat(inp)  # a 1-D input is already flat from Keras' point of view
    ignored: list[str] = []
    produced: dict[str, Tensor] = {}  # Keras layer name -> the tensor it produced
    previous = inp
    for layer in model.layers:
        cls = type(layer).__name__
        sources = _inputs_of(model, layer, produced, previous)
        if cls == "InputLayer":
            produced[layer.name] = inp
            previous = inp
            low.rows.append(LayerRow(_name(layer), cls, "ignored", "the model input"))
            continue
        out = sources[0] if sources and len(sources) == 1 else None
        op = ops.for_keras_class(cls)
        try:
            if sources is None:
                calls = len(layer._inbound_nodes)
                raise ops.Refusal(f"a layer called {calls} times (shared weights)", "each layer called once")
            if any(t is None for t in sources):
                raise ops.Refusal("its input (the output of a refused layer)", "inputs from supported layers")
            if op is None:
                raise ops.Refusal("this layer class", CLASS_HINTS.get(cls, "see the supported list below"))
            if op.multi_input:
                src = tuple(sources)
            elif len(sources) == 1:
                src = sources[0]
            else:
                raise ops.Refusal(f"{len(sources)} inputs", "one input (merge layers: Concatenate, Add)")
            padded = [t for t in sources if t.id in low.views]
            if padded and not op.reads_padding_views:
                raise ops.Refusal("its input (a ZeroPadding2D output)", "ZeroPadding directly into a QuantConv2D, "
                                  "QuantConv1D or QuantDepthwiseConv2D with padding='valid'")
            lowered = op.lower(layer, src, low)  # None, a node, a chain of nodes, or a view (a tensor)
            if isinstance(lowered, Tensor):  # a view, no node: ZeroPadding (the next layer folds it in),
                out = lowered  # or a Reshape of the model input
                what = "the model input as" if out is low.model_input else "padding of the next layer,"
                low.rows.append(LayerRow(_name(layer), cls, "lowered", f"{what} {tuple(out.shape)}"))
                produced[layer.name] = previous = out
                continue
            lowered = [] if lowered is None else lowered if isinstance(lowered, list) else [lowered]
            if not lowered:
                ignored.append(_name(layer))
                low.rows.append(LayerRow(_name(layer), cls, "ignored", "no effect at inference"))
            else:
                low.nodes.extend(lowered)
                out = lowered[-1].output
                low.rows.append(LayerRow(_name(layer), cls, "lowered", " + ".join(n.op for n in lowered)
                                         + f" {tuple(out.shape)}"))
        except ops.Refusal as r:
            detail = (f"{r.option} is not supported; supported: {r.supported}" if op is not None
                      else f"not supported: {r.supported}")
            low.rows.append(LayerRow(_name(layer), cls, "refused", detail))
            out = _placeholder(layer, low)  # so that later layers are still checked on their own
        produced[layer.name] = out
        previous = out
    output = _model_output(model, produced, previous, low)
    if low.refusals:
        return None, low
    graph = FloatGraph(name=inline(model.name), input=low.model_input, keras_input_shape=keras_in,
                       nodes=tuple(low.nodes),
                       outputs=(output,), ignored=tuple(ignored))
    return graph, low


def _inputs_of(model, layer, produced: dict, previous) -> list | None:
    """The tensors a layer reads: the previous layer's in a Sequential model, its inbound layers' in a
    functional one (branches: one tensor per inbound layer, in call order). None: the layer is called
    more than once (a shared layer), which the IR does not represent."""
    if type(model).__name__ == "Sequential" or not getattr(layer, "_inbound_nodes", None):
        return [previous]
    nodes = layer._inbound_nodes
    if len(nodes) != 1:
        return None
    inbound = nodes[0].inbound_layers
    inbound = list(inbound) if isinstance(inbound, (list, tuple)) else [inbound]
    if type(layer).__name__ == "InputLayer":
        return []
    return [produced.get(x.name) for x in inbound]


def _model_output(model, produced: dict, previous, low: Lowering):
    """The tensor the model outputs: one output, produced by a lowered layer."""
    names = list(getattr(model, "output_names", None) or [])
    if type(model).__name__ == "Sequential" or not names:
        return previous
    if len(names) != 1:
        low.rows.append(LayerRow(inline(model.name), type(model).__name__, "refused",
                                 f"{len(names)} outputs are not supported; supported: one output"))
        return None
    return produced.get(names[0], previous)


def _placeholder(layer, low: Lowering) -> Tensor | None:
    try:
        shape = tuple(int(d) for d in layer.output_shape[1:])
        return low.tensor("f32", _as_hwc(shape, "output"))
    except Exception:  # multi-output or unknown shapes: later layers then report their input
        return None


def load_graph(path: str | os.PathLike) -> tuple[FloatGraph, object]:
    model = load_model(path)
    return lower(model), model


# --------------------------------------------------------------------------------------------------


def _name(layer) -> str:
    """A layer's name as the IR, messages and tables carry it: one line, control characters escaped
    (names come from the model file; generated files encode them again for their own context)."""
    return inline(layer.name)


def _as_hwc(shape: tuple[int, ...], what: str) -> Shape3:
    if any(d is None or d <= 0 for d in shape):
        raise UnsupportedModelError(f"{what} has an unknown dimension {shape}; give the model a fixed "
                                    "input shape")
    if len(shape) == 1:
        return (1, 1, shape[0])
    if len(shape) == 2:  # Keras layers act on the last axis: (A, B) is A "pixels" of B channels
        return (1, shape[0], shape[1])
    if len(shape) == 3:
        return (shape[0], shape[1], shape[2])
    raise UnsupportedModelError(f"{what} has rank {len(shape)} (shape {shape}); expected (N,), (H, W) or "
                                "(H, W, C)")
