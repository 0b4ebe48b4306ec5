"""Layers that change nothing at inference (InputLayer, Dropout, Flatten, linear activations) and the
final softmax. Binary networks get their nonlinearity from the next layer's sign quantizer, so any
other activation is refused."""

from __future__ import annotations

from ..ir import Node, Tensor
from .base import Op, Refusal

DROPOUT_CLASSES = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "AlphaDropout", "GaussianDropout",
                   "GaussianNoise")


def activation_name(layer) -> str:
    act = getattr(layer, "activation", None)
    return "linear" if act is None else getattr(act, "__name__", str(act))


class Identity(Op):
    """Dropout and noise layers (inactive at inference), InputLayer, and Flatten (a no-op on the
    row-major NHWC layout: it only marks the tensor as flat for a following QuantDense)."""

    name = "identity"
    keras_classes = ("InputLayer", "Flatten", *DROPOUT_CLASSES)
    supported = "Flatten; Dropout and noise layers (ignored at inference)"

    def lower(self, layer, inp: Tensor, ctx) -> None:
        if type(layer).__name__ == "Flatten":
            ctx.mark_flat(inp)
        return None


class Softmax(Op):
    name = "softmax"
    role = "final"
    keras_classes = ("Softmax", "Activation")
    supported = "Activation('linear'); Activation('softmax') or Softmax as the final layer"

    def lower(self, layer, inp: Tensor, ctx) -> Node | None:
        act = "softmax" if type(layer).__name__ == "Softmax" else activation_name(layer)
        if act == "linear":
            return None
        if act != "softmax":
            raise Refusal(f"activation '{act}'", "linear, or softmax at the end (binary layers get their "
                          "nonlinearity from the next layer's sign quantizer)")
        return ctx.node("softmax", layer, inp, inp.shape)
