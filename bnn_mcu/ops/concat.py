"""Concatenate on the channel axis, of tensors whose signs are what the next layers read (BinaryDenseNet
and MeliusNet blocks; any branching functional model whose branches meet again).

Why it is exact on bits: ``sign`` acts per value, so ``sign(concat(a, b)) = concat(sign(a), sign(b))``.
The fold materializes each input as the bits its next quantized layer would see (thresholds of the
producing layer, or the sign of the model input) and the target concatenates the bits. A real-valued
use of the concatenation (a batch-norm after it, or the model's output) is refused by the fold.

Bit layout: every b1 tensor keeps ``ceil(C/32)`` words per pixel with channel c at bit c%32 of word c/32,
so inputs whose channel counts are not multiples of 32 are shifted into place (``bnn_concat_b1``).
"""

from __future__ import annotations

import numpy as np

from ..bitpack import pack_bits, unpack_bits
from ..errors import UnsupportedModelError
from ..ir import Node, Tensor
from .base import CArray, CLayer, Op, Refusal

MAX_INPUTS = 255  # bnn_concat_params_t.count is a uint8_t


class Concat(Op):
    name = "concat"
    role = "merge"
    multi_input = True
    keras_classes = ("Concatenate",)
    supported = ("on the channel axis, of binarized tensors (the inputs of the next quantized layers, "
                 "or of pools), any channel counts")

    def lower(self, layer, inputs: tuple[Tensor, ...], ctx) -> Node:
        shapes = [t.shape for t in inputs]
        axis = int(layer.axis)
        rank = len(layer.output_shape) - 1
        if axis not in (-1, rank):
            raise Refusal(f"axis={axis}", "the channel (last) axis")
        if any(ctx.is_flat(t) for t in inputs) and rank != 1:
            raise Refusal("concatenating flattened tensors", "tensors of equal height and width")
        if len({s[:2] for s in shapes}) != 1:
            raise Refusal(f"inputs of shapes {shapes}", "inputs of equal height and width")
        if len(inputs) > MAX_INPUTS:
            raise Refusal(f"{len(inputs)} inputs", f"at most {MAX_INPUTS} inputs")
        h, w, _ = shapes[0]
        node = ctx.node(self.name, layer, tuple(inputs), (h, w, sum(s[2] for s in shapes)))
        if all(ctx.is_flat(t) for t in inputs):
            ctx.mark_flat(node.output)
        return node

    def make(self, fnode: Node, inputs: list[Tensor], new_tensor) -> Node:
        for t in inputs:
            if t.kind != "b1":  # pragma: no cover - the fold only passes bits
                raise UnsupportedModelError(f"layer '{fnode.name}': concatenation of {t.kind} tensors")
        return Node(op=self.name, name=fnode.name, inputs=tuple(inputs), output=new_tensor("b1", fnode.out_shape),
                    attrs={"channels": [t.shape[2] for t in inputs]}, source_layers=fnode.source_layers)

    def reference(self, node: Node, inputs: list[np.ndarray]) -> np.ndarray:
        bits = [unpack_bits(x, t.shape[2]) for x, t in zip(inputs, node.inputs)]
        return pack_bits(np.concatenate(bits, axis=-1))

    def target_limits(self, node: Node) -> list[str]:
        h, w, c = node.out_shape
        return [f"{c} channels (at most 65535)"] if c > 0xFFFF else []

    def c_layer(self, node: Node, kernel_set: str) -> CLayer:
        h, w, _ = node.out_shape
        channels = np.asarray(node.attrs["channels"], np.uint32)
        init = f"{{ .pixels = {h * w}u, .count = {len(channels)}u, .channels = $channels }}"
        return CLayer(layout="standard",
                      arrays=[CArray("channels", "uint32_t", channels, "channels of each input, in order")],
                      params_type="bnn_concat_params_t", params_init=init,
                      call="bnn_concat_b1(&$params, (const uint32_t *const[]){ $inputs }, (uint32_t *)$output)",
                      kernel="bnn_concat_b1")
