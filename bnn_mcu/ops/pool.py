"""MaxPooling2D on bits.

Max-pool commutes with any monotone map, so the fold thresholds every pixel first and pools the bits
afterwards (``bnn_mcu/fold.py``): on bits (1 = -1) max is AND, and where the affine maps *after* the
pool decrease (a negative batch-norm scale), the pool becomes a min: OR, per channel (``or_mask``).
'same' pooling leaves the padded taps out of the window (TF pads with -inf).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..bitpack import pack_bits
from ..ir import Node, Tensor
from .base import CArray, CLayer, Op, Refusal, c_dims, c_padding
from .conv import same_padding


def pool_geometry(layer, inp: Tensor, ctx) -> tuple[tuple[int, int, int], dict]:
    """(output shape, attrs pool/strides/pads) of a Keras 1-D or 2-D pooling layer over ``inp``; TF's
    'same' puts the extra padded row or column at the bottom/right."""
    if getattr(layer, "data_format", "channels_last") != "channels_last" or ctx.is_flat(inp):
        raise Refusal("pooling after Flatten or channels_first", "channels_last pooling before Flatten")
    if type(layer).__name__.endswith("1D"):  # (time, features) is the IR's (1, time, features)
        (ph, pw), (sh, sw) = (1, int(layer.pool_size[0])), (1, int(layer.strides[0]))
    else:
        (ph, pw), (sh, sw) = (int(p) for p in layer.pool_size), (int(s) for s in layer.strides)
    h, w, c = inp.shape
    if layer.padding == "valid":
        if ph > h or pw > w:
            raise Refusal(f"pool {ph}x{pw} larger than its input {h}x{w}", "pools within the input")
        out, pads = ((h - ph) // sh + 1, (w - pw) // sw + 1, c), [0, 0, 0, 0]
    elif layer.padding == "same":
        oh, top, bottom = same_padding(h, ph, sh)
        ow, left, right = same_padding(w, pw, sw)
        out, pads = (oh, ow, c), [top, bottom, left, right]
    else:
        raise Refusal(f"padding='{layer.padding}'", "padding 'valid' or 'same'")
    return out, {"pool": [ph, pw], "strides": [sh, sw], "pads": pads}


class MaxPool2D(Op):
    name = "maxpool2d"
    role = "bitwise"
    keras_classes = ("MaxPooling2D", "MaxPooling1D")
    supported = "padding 'valid' or 'same', any pool size and stride, before or after BN (1-D on (time, features))"

    def lower(self, layer, inp: Tensor, ctx) -> Node:
        out, attrs = pool_geometry(layer, inp, ctx)
        return ctx.node("maxpool2d", layer, inp, out, attrs=attrs)

    def fold(self, fnode: Node, inp: Tensor, or_mask: np.ndarray, new_tensor) -> Node:
        return Node(op=self.name, name=fnode.name, inputs=(inp,), output=new_tensor("b1", fnode.out_shape),
                    attrs=dict(fnode.attrs), params={"or_mask": np.asarray(or_mask, bool)},
                    source_layers=fnode.source_layers)

    def reference(self, node: Node, inputs: list[np.ndarray]) -> np.ndarray:
        x = inputs[0]
        (ph, pw), (sh, sw) = node.attrs["pool"], node.attrs["strides"]
        top, bottom, left, right = node.attrs["pads"]
        oh, ow, _ = node.out_shape
        widths = ((0, 0), (top, bottom), (left, right), (0, 0))

        def reduce(fill, fn):  # padded taps take the value that leaves the reduction unchanged
            padded = np.pad(x, widths, constant_values=fill) if any(node.attrs["pads"]) else x
            win = sliding_window_view(padded, (ph, pw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]
            return fn.reduce(win.reshape(win.shape[:4] + (-1,)), axis=-1)

        all_neg = reduce(np.uint32(0xFFFFFFFF), np.bitwise_and)  # max of +-1 -> AND
        any_neg = reduce(np.uint32(0), np.bitwise_or)  # min of +-1 -> OR
        mask = pack_bits(node.params["or_mask"])
        return (all_neg & ~mask) | (any_neg & mask)

    def c_layer(self, node: Node, kernel_set: str) -> CLayer:
        init = (f"{{ .dims = {c_dims(node.in_shape, node.out_shape, node.attrs['pool'], node.attrs['strides'])},\n"
                f"      .padding = {c_padding(node.attrs['pads'])} }}")
        mask = pack_bits(node.params["or_mask"])
        return CLayer(layout="standard",
                      arrays=[CArray("or_mask", "uint32_t", mask, "channels pooled with OR (min) instead of AND")],
                      params_type="bnn_pool_params_t", params_init=init,
                      call="bnn_maxpool2d_b1(&$params, (const uint32_t *)$input, $or_mask, (uint32_t *)$output)",
                      kernel="bnn_maxpool2d_b1")
