"""ZeroPadding2D / ZeroPadding1D into a convolution: no node of its own. The padding becomes the next
layer's (``ops.conv.geometry``): its zeros come before that layer's input quantizer, so a padded tap is
sign(0) = +1 for a binarized input, the real value 0 for the model's real input, and the convolution's
border classes fold it into the thresholds exactly like 'same' padding."""

from __future__ import annotations

from ..ir import Tensor
from .base import Op, Refusal


class ZeroPad(Op):
    name = "zeropad"
    keras_classes = ("ZeroPadding2D", "ZeroPadding1D")
    supported = "directly into a QuantConv2D, QuantConv1D or QuantDepthwiseConv2D with padding='valid'"

    def lower(self, layer, inp: Tensor, ctx) -> Tensor:
        if getattr(layer, "data_format", "channels_last") != "channels_last" or ctx.is_flat(inp):
            raise Refusal("padding after Flatten or channels_first", "channels_last padding before a convolution")
        if inp.id in ctx.views:
            raise Refusal("ZeroPadding of a ZeroPadding", "one ZeroPadding layer before a convolution")
        if type(layer).__name__ == "ZeroPadding1D":  # (time, features): the IR's (1, time, features)
            left, right = (int(p) for p in layer.padding)
            pads = (0, 0, left, right)
        else:
            (top, bottom), (left, right) = ((int(a), int(b)) for a, b in layer.padding)
            pads = (top, bottom, left, right)
        if max(pads) > 255:
            raise Refusal(f"padding {pads}", "at most 255 per side")
        return ctx.pad_view(inp, pads)
