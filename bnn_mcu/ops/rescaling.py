"""A Rescaling layer on the model input (``x' = scale*x + offset``, e.g. ``Rescaling(1/255)`` or
``Rescaling(1/127.5, offset=-1)``): the model states that it takes raw 8-bit pixels.

It costs nothing on the target: the firmware already receives 8-bit codes with ``x = LO + s*q``, so the
first layer sees ``x' = (scale*LO + offset) + scale*s*q``, and the fold uses that range instead
(``fold.py``). The sign of a binarized input is taken of the float32 value Larq computes
(``ops/sign.py``). Without ``--input-range``, such a model is converted for ``0 255``.
"""

from __future__ import annotations

import numpy as np

from ..ir import Node, Tensor
from .base import Op, Refusal

MODEL_INPUT_RANGE = (0.0, 255.0)  # what a leading Rescaling says about the raw input


class Rescaling(Op):
    name = "rescaling"
    role = "input_affine"
    keras_classes = ("Rescaling",)
    supported = ("on the model input, one scale > 0 and one offset (folded into the input range exactly; "
                 "the default --input-range becomes 0 255)")

    def lower(self, layer, inp: Tensor, ctx) -> Node:
        if ctx.nodes or inp.id != 0:
            raise Refusal("Rescaling after other layers", "Rescaling directly on the model input")
        scale, offset = np.asarray(layer.scale, np.float64), np.asarray(layer.offset, np.float64)
        if scale.size != 1 or offset.size != 1 or not float(scale) > 0:
            raise Refusal(f"scale={scale.tolist()}, offset={offset.tolist()}", "one scale > 0 and one offset")
        return ctx.node("rescaling", layer, inp, inp.shape,
                        attrs={"scale": float(scale), "offset": float(offset)})

    @staticmethod
    def apply(node: Node, input_range: tuple[float, float]) -> tuple[float, float]:
        """The range the next layer sees for the user's input range."""
        s, o = node.attrs["scale"], node.attrs["offset"]
        return (s * input_range[0] + o, s * input_range[1] + o)
