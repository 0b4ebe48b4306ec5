"""Reshape: to one axis (a Flatten), or of the model input before any other layer (e.g. a keyword
spotter's (490,) features seen as (49, 10, 1)): the 8-bit input buffer is the same row-major bytes, so
the integer graph only takes the new shape. A Reshape between layers is refused for now (it moves bits
between words when the channel count changes)."""

from __future__ import annotations

import numpy as np

from ..ir import Tensor
from .base import Op, Refusal


class Reshape(Op):
    name = "reshape"
    keras_classes = ("Reshape",)
    supported = "to one axis (as Flatten), or of the model input before any other layer"

    def lower(self, layer, inp: Tensor, ctx) -> Tensor | None:
        target = tuple(int(d) for d in layer.output_shape[1:])
        if int(np.prod(target)) != int(np.prod(inp.shape)):
            raise Refusal(f"target shape {target} for a tensor of {int(np.prod(inp.shape))} values", "the same size")
        if len(target) == 1:
            ctx.mark_flat(inp)  # a flatten: the row-major NHWC order is unchanged
            return None
        if inp is ctx.model_input and not ctx.nodes:
            if len(target) > 3:
                raise Refusal(f"target shape {target} of rank {len(target)}", "rank 1 to 3")
            return ctx.reshape_model_input(inp, target)
        raise Refusal(f"a Reshape to {target} between layers", "a Reshape to one axis (Flatten), or of the model "
                      "input before any other layer")
