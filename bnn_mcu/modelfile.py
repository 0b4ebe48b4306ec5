"""Read a model file's architecture as plain JSON and vet it *before* Keras deserializes anything.

Keras turns a model file back into Python objects by class name, and some classes run code that the
file carries: ``Lambda`` (marshalled bytecode; tf_keras applies no safe mode to legacy ``.h5``),
``TFOpLambda`` (any TensorFlow symbol by name, e.g. ``io.write_file``), custom classes found through a
``module`` field (an import), and functions named by string. So the converter reads the config
itself -- with h5py, zipfile and a few lines of protobuf parsing, never with Keras -- and refuses the
file unless every object in it is on the allow-lists below. Only then does ``frontend.load_model``
hand the file to Keras (with ``safe_mode=True`` where the format has one).

Where the config lives:
- ``.h5``: the ``model_config`` attribute of the root group (JSON);
- ``.keras``: ``config.json`` in the zip archive;
- SavedModel: ``keras_metadata.pb`` (a ``SavedMetadata`` protobuf whose nodes carry JSON metadata).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

from .errors import ModelLoadError, UnsupportedModelError, UsageError
from .untrusted import inline

# Containers and the layers a Larq model may hold. Classes bnn-mcu does not lower yet are allowed
# here when Keras rebuilds them from plain numbers and names only; the frontend then refuses them with
# a message about the layer itself. Lambda, TFOpLambda, SlicingOpLambda and anything custom are not.
MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})
LAYER_CLASSES = frozenset({
    # Larq
    "QuantConv1D", "QuantConv2D", "QuantConv3D", "QuantDense", "QuantDepthwiseConv2D",
    "QuantSeparableConv1D", "QuantSeparableConv2D", "QuantConv2DTranspose", "QuantConv3DTranspose",
    "QuantLocallyConnected1D", "QuantLocallyConnected2D",
    # Keras built-ins
    "InputLayer", "Dense", "Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
    "SeparableConv1D", "SeparableConv2D", "Conv1DTranspose", "Conv2DTranspose", "BatchNormalization",
    "LayerNormalization", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "Flatten", "Reshape", "Permute", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D",
    "UpSampling1D", "UpSampling2D", "Activation", "Softmax", "ReLU", "LeakyReLU", "PReLU", "ELU",
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dropout",
    "SpatialDropout1D", "SpatialDropout2D", "AlphaDropout", "GaussianDropout", "GaussianNoise",
    "Rescaling", "Normalization",
})
# Objects inside layer configs: quantizers, initializers, constraints, regularizers, dtype policies.
OBJECT_CLASSES = frozenset({
    "SteSign", "ApproxSign", "SwishSign", "MagnitudeAwareSign", "SteTern", "SteHeaviside", "DoReFa",
    "DoReFaQuantizer", "NoOp", "NoOpQuantizer",
    "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
    "Orthogonal", "Identity", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "LecunNormal",
    "LecunUniform",
    "weight_clip", "WeightClip", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "RadialConstraint",
    "L1", "L2", "L1L2", "OrthogonalRegularizer",
    "Policy", "DTypePolicy",
    # Plain-data markers of SavedModel metadata: tuples, shapes and specs (TF's own spec registry).
    "__tuple__", "TensorShape", "InputSpec", "TypeSpec",
})
ALLOWED_CLASSES = MODEL_CLASSES | LAYER_CLASSES | OBJECT_CLASSES
# Where a config names a function by a string (activation="relu", kernel_quantizer="ste_sign").
FUNCTION_KEYS_SUFFIXES = ("activation", "quantizer", "initializer", "constraint", "regularizer")
ALLOWED_FUNCTION_NAMES = frozenset({
    "linear", "softmax", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "elu", "selu", "gelu",
    "swish", "silu", "softplus", "softsign", "exponential", "leaky_relu", "hard_tanh",
    "ste_sign", "approx_sign", "swish_sign", "magnitude_aware_sign", "ste_tern", "ste_heaviside",
    "dorefa_quantizer", "noop", "weight_clip",
    "zeros", "ones", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "random_normal", "random_uniform", "truncated_normal", "orthogonal", "identity",
    "l1", "l2", "l1_l2", "max_norm", "min_max_norm", "non_neg", "unit_norm",
})
ALLOWED_MODULE_PREFIXES = ("keras", "tf_keras", "larq")

MAX_CONFIG_BYTES = 64 << 20  # a .keras archive member larger than this is not a real config


def read_config(path: str | Path) -> list[dict]:
    """The architecture JSON objects of a model file (one for .h5/.keras, one per node for SavedModel).

    Uses no Keras and no TensorFlow; raises ModelLoadError for files that carry no architecture.
    """
    p = Path(path)
    if not p.exists():
        raise UsageError(f"model file not found: {p}")
    if p.is_dir() and not (p / "saved_model.pb").exists():
        raise ModelLoadError(f"{p} is a directory but not a SavedModel (no saved_model.pb in it)")
    if p.is_file() and p.suffix.lower() not in (".h5", ".hdf5", ".keras"):
        raise ModelLoadError(f"{p}: unknown model format '{p.suffix}'; expected a .h5/.hdf5 or .keras file "
                             "or a SavedModel directory")
    try:
        if p.is_dir():
            return _savedmodel_config(p)
        if p.suffix.lower() == ".keras":
            return [_keras_zip_config(p)]
        return [_h5_config(p)]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ModelLoadError(f"could not load {p} as a Keras/Larq model: {inline(exc)}",
                             hint="the file must be a model saved by tf_keras/Larq (model.save)") from exc


def vet(path: str | Path) -> None:
    """Refuse a model file that names any class or function off the allow-lists, before Keras sees it."""
    for root in read_config(path):
        for where, problem in _problems(root):
            raise UnsupportedModelError(
                f"{where}: {problem}; bnn-mcu reads model files as data and never loads a class or "
                "function that can run code from the file",
                hint="rebuild the model from standard Keras/Larq layers (no Lambda, custom layers or "
                     "custom functions) and save it again")


# --------------------------------------------------------------------------------------------------


def _h5_config(p: Path) -> dict:
    import h5py

    with h5py.File(p, "r") as f:
        raw = f.attrs.get("model_config")
    if raw is None:
        raise ValueError("no 'model_config' attribute: a weights-only file, not a whole model")
    return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))


def _keras_zip_config(p: Path) -> dict:
    with zipfile.ZipFile(p) as z:
        info = z.getinfo("config.json")
        if info.file_size > MAX_CONFIG_BYTES:
            raise ValueError(f"config.json holds {info.file_size:,} bytes")
        return json.loads(z.read(info).decode("utf-8"))


def _savedmodel_config(p: Path) -> list[dict]:
    meta = p / "keras_metadata.pb"
    if not meta.is_file():
        raise ValueError("no keras_metadata.pb: a plain TensorFlow SavedModel, not a Keras model")
    data = meta.read_bytes()
    nodes = []
    for field, value in _protobuf_fields(data):
        if field == 1:  # SavedMetadata.nodes (SavedObject)
            sub = dict(_protobuf_fields(value))
            if 5 in sub:  # SavedObject.metadata: a JSON string
                nodes.append(json.loads(sub[5].decode("utf-8")))
    if not nodes:
        raise ValueError("keras_metadata.pb describes no objects")
    return nodes


def _protobuf_fields(buf: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, value) pairs of a protobuf message: varints as int, length-delimited as bytes.
    Enough for SavedMetadata/SavedObject (no groups, no fixed32/64 fields needed but skipped)."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated protobuf")
            value, i = buf[i:i + n], i + n
        elif wire in (1, 5):
            value, i = b"", i + (8 if wire == 1 else 4)
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
        yield field, value


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("bad protobuf varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def _problems(obj, where: str = "the model") -> Iterator[tuple[str, str]]:
    """Every disallowed class, module or function name in a config tree, with where it is."""
    if isinstance(obj, list):
        for item in obj:
            yield from _problems(item, where)
        return
    if not isinstance(obj, dict):
        return
    cls = obj.get("class_name")
    if cls == "function" and set(obj) <= {"class_name", "config", "module", "registered_name"}:
        # A function saved by reference (activation="hard_tanh" resolves to Larq's function and is saved
        # so in .keras files): Keras looks the name up; only names on the allow-list pass.
        if obj.get("config") not in ALLOWED_FUNCTION_NAMES or obj.get("registered_name", "function") != "function" \
                or obj.get("module", "builtins") not in ("builtins", *ALLOWED_MODULE_PREFIXES):
            yield where, f"function {inline(repr(obj.get('config')))} is not one bnn-mcu knows"
        return
    if cls is not None:
        cfg = obj.get("config")
        name = cfg.get("name") if isinstance(cfg, dict) else None
        if cls not in OBJECT_CLASSES and isinstance(name, str):
            where = f"layer '{inline(name)}' ({inline(cls)})" if cls not in MODEL_CLASSES \
                else f"model '{inline(name)}'"
        if not isinstance(cls, str) or cls not in ALLOWED_CLASSES:
            yield where, f"class {inline(repr(cls))} is not one bnn-mcu loads"
            return
        module = obj.get("module")
        if module is not None and (not isinstance(module, str)
                                   or module.split(".")[0] not in ALLOWED_MODULE_PREFIXES):
            yield where, f"{cls} comes from module {inline(repr(module))}, not from Keras or Larq"
        registered = obj.get("registered_name")
        if registered is not None and registered != cls:
            yield where, f"{cls} is registered as {inline(repr(registered))}, not as a Keras or Larq object"
    for key, value in obj.items():
        if isinstance(value, str) and key.endswith(FUNCTION_KEYS_SUFFIXES) \
                and value not in ALLOWED_FUNCTION_NAMES:
            yield where, f"{inline(key)}={inline(repr(value))} names a function bnn-mcu does not know"
        elif isinstance(value, (dict, list)):
            yield from _problems(value, where)
