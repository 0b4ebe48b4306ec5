r"""Layers that change nothing at inference (InputLayer, Dropout, Flatten, linear activations), the
final softmax, and the monotone clipping activations (ReLU, ReLU6, Larq's hard_tanh) before a sign.

Clipping activations
--------------------
Binary networks get their nonlinearity from the next layer's sign quantizer, but a QuantConv2D or
QuantDense may apply ``activation="relu"`` (or ``hard_tanh``) before its batch-norm. That changes the
thresholds, so it is honoured exactly, never dropped. Each such activation is ``clip(v, lo, hi)``
(relu: ``[0, inf)``, relu6: ``[0, 6]``, hard_tanh: ``[-1, 1]``), and what follows it up to the sign is
an affine ``z = A2*clip(v) + B2`` per channel (already reduced, see ``fold.py``). The output bit is
``z < 0``; with ``m = -B2/A2``:

* ``A2 > 0``: ``clip(v) < m``. If ``m > hi``: always; if ``m <= lo``: never; else ``v < m``
  (for ``lo < m <= hi``: ``v < m`` gives ``clip(v) <= max(v, lo) < m``; ``v >= m`` gives
  ``clip(v) >= min(v, hi) >= m``).
* ``A2 < 0``: ``clip(v) > m``. If ``m >= hi``: never; if ``m < lo``: always; else ``v > m`` (the
  mirror argument for ``lo <= m < hi``).
* ``A2 = 0``: the constant ``B2 < 0``.

So the bit is again an affine test on ``v``: ``(1, -m)`` for ``v < m``, ``(-1, m)`` for ``v > m``, and
``(0, -1)`` / ``(0, +1)`` for always / never. :func:`equivalent_affine` returns it; the fold composes it
with the affines before the activation and derives integer thresholds as for any affine.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Node, Tensor
from .base import Op, Refusal

DROPOUT_CLASSES = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "AlphaDropout", "GaussianDropout",
                   "GaussianNoise")

# Activations that are clip(v, lo, hi): name -> (lo, hi).
CLIPS = {"relu": (0.0, math.inf), "relu6": (0.0, 6.0), "hard_tanh": (-1.0, 1.0)}
ACTIVATIONS_TEXT = "linear, relu, relu6 or hard_tanh before a sign, softmax at the end"


def activation_name(layer) -> str:
    act = getattr(layer, "activation", None)
    return "linear" if act is None else getattr(act, "__name__", str(act))


def activation_nodes(layer, act: str, inp: Tensor, ctx) -> list[Node]:
    """The nodes for activation ``act`` applied to ``inp`` (empty for linear)."""
    if act == "linear":
        return []
    if act == "softmax":
        return [ctx.node("softmax", layer, inp, inp.shape)]
    if act in CLIPS:
        lo, hi = CLIPS[act]
        return [ctx.node("clip", layer, inp, inp.shape, attrs={"fn": act, "lo": lo, "hi": hi})]
    raise Refusal(f"activation '{act}'", ACTIVATIONS_TEXT + " (binary layers get their nonlinearity from "
                  "the next layer's sign quantizer)")


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


class Activation(Op):
    """Activation and ReLU layers: nothing (linear), a softmax, or a clip."""

    name = "activation"
    keras_classes = ("Activation", "ReLU")
    supported = "Activation: " + ACTIVATIONS_TEXT + "; ReLU (plain, or with max_value)"

    def lower(self, layer, inp: Tensor, ctx) -> list[Node]:
        if type(layer).__name__ == "ReLU":
            slope, threshold = float(layer.negative_slope), float(layer.threshold)
            if slope != 0.0 or threshold != 0.0:
                raise Refusal(f"negative_slope={slope:g}, threshold={threshold:g}", "a plain ReLU (max_value allowed)")
            top = None if layer.max_value is None else float(layer.max_value)
            if top is None:
                return activation_nodes(layer, "relu", inp, ctx)
            return [ctx.node("clip", layer, inp, inp.shape, attrs={"fn": f"relu(max_value={top:g})", "lo": 0.0,
                                                                   "hi": top})]
        return activation_nodes(layer, activation_name(layer), inp, ctx)


class Softmax(Op):
    name = "softmax"
    role = "final"
    keras_classes = ("Softmax",)
    supported = "Softmax as the final layer"

    def lower(self, layer, inp: Tensor, ctx) -> Node:
        return ctx.node("softmax", layer, inp, inp.shape)


class Clip(Op):
    """A clipping activation (relu, relu6, hard_tanh) before a sign: folded into the thresholds."""

    name = "clip"
    role = "monotone"

    @staticmethod
    def equivalent_affine(node: Node, a2: np.ndarray, b2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(A, B) per channel with ``A*v + B < 0`` exactly where ``a2*clip(v) + b2 < 0`` (module doc)."""
        lo, hi = float(node.attrs["lo"]), float(node.attrs["hi"])
        a2, b2 = np.asarray(a2, np.float64), np.asarray(b2, np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.where(a2 != 0, -b2 / a2, 0.0)
        always, never = (np.zeros_like(a2), -np.ones_like(a2)), (np.zeros_like(a2), np.ones_like(a2))
        a = np.where(a2 > 0, 1.0, -1.0)
        b = np.where(a2 > 0, -m, m)
        pos_always, pos_never = (a2 > 0) & (m > hi), (a2 > 0) & (m <= lo)
        neg_always, neg_never = (a2 < 0) & (m < lo), (a2 < 0) & (m >= hi)
        const = a2 == 0
        is_always = pos_always | neg_always | (const & (b2 < 0))
        is_never = pos_never | neg_never | (const & (b2 >= 0))
        a = np.where(is_always, always[0], np.where(is_never, never[0], a))
        b = np.where(is_always, always[1], np.where(is_never, never[1], b))
        return a, b
