"""The op registry: one module per op family, each owning everything about its op (see ``base.Op``).

Adding an op: write ``bnn_mcu/ops/<op>.py`` (lowering, fold rule, reference, layouts and C call), its
kernels under ``firmware/src/<set>/`` and one test file; register it below. The drivers (frontend,
fold, reference, plan, codegen) need no change. An op name the registry does not know is an error
everywhere, never a fallback.
"""

from __future__ import annotations

from .activation import Activation, Clip, Identity, Softmax
from .avgpool import AvgPool, DenseS16
from .base import CArray, CLayer, Op, Refusal
from .batchnorm import BatchNorm
from .concat import Concat
from .conv import Conv1D, Conv2D, Dense
from .depthwise import Depthwise2D
from .pool import MaxPool2D
from .rescaling import Rescaling
from .reshape import Reshape
from .requant import Add, Requant
from .sign import Sign, SignS16
from .zeropad import ZeroPad

REGISTRY: dict[str, Op] = {op.name: op for op in (
    Conv2D(), Conv1D(), Dense(), Depthwise2D(), BatchNorm(), MaxPool2D(), Sign(), Identity(), Activation(), Softmax(),
    Clip(), Rescaling(), Concat(), Add(), Requant(), SignS16(), AvgPool(), DenseS16(), ZeroPad(), Reshape())}


def get(name: str) -> Op:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}; registered ops: {', '.join(sorted(REGISTRY))}") from None


def for_keras_class(cls: str) -> Op | None:
    """The op that lowers Keras class ``cls``, or None."""
    for op in REGISTRY.values():
        if cls in op.keras_classes:
            return op
    return None


def supported_layers() -> list[tuple[str, str]]:
    """(Keras classes, what is supported) for every op that lowers Keras layers: the README table."""
    return [(", ".join(op.keras_classes), op.supported) for op in REGISTRY.values() if op.keras_classes]


def supported_markdown() -> str:
    """The README's supported-layers table (tests/test_ops_registry.py keeps the README equal to it;
    regenerate with ``python -m bnn_mcu.ops``)."""
    rows = ["| Keras layers | supported |", "|---|---|"]
    rows += [f"| {classes} | {text} |" for classes, text in supported_layers()]
    return "\n".join(rows)


__all__ = ["REGISTRY", "CArray", "CLayer", "Op", "Refusal", "get", "for_keras_class", "supported_layers"]
