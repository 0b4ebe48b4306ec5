r"""Binary depthwise convolution: Larq's QuantDepthwiseConv2D with binary weights and a binarized input.

Output channel ``o = c*M + m`` (``M`` = depth_multiplier, as Keras orders them) reads only input channel
``c = o // M`` over its KH x KW window: ``x = popcount(a XOR w)`` over those ``K = KH*KW`` bits, so the
+-1 dot product is ``y = K - 2x``. That is exactly a convolution with one input channel per output, so
the fold is the convolution's (``bnn_mcu/ops/conv.py``, thresholds and 'same'-padding border classes)
applied to the kernel ``[O, KH, KW, 1]``; only the kernel that gathers each output's input channel
differs. The real-valued first layer and a depthwise last layer (int32 outputs) are refused.

Weights on the target: ``[O][ceil(K/32)]`` words, tap ``t = ky*KW + kx`` at bit ``t % 32`` of word
``t / 32``; thresholds int32 ``[border class][O]`` (the ``standard`` layout's thresholds).
"""

from __future__ import annotations

import numpy as np

from ..bitpack import pack_bits, unpack_bits
from ..errors import UnsupportedModelError
from ..ir import Node, Tensor
from .base import CArray, CLayer, Op, Refusal, c_dims, c_padding, class_tables
from .conv import compare_thresholds, geometry, windows, with_activation
from .conv import fold as conv_fold
from .quantizers import is_sign


class Depthwise2D(Op):
    name = "depthwise2d"
    reads_padding_views = True
    role = "accumulate"
    keras_classes = ("QuantDepthwiseConv2D",)
    supported = ("binary weights on a binarized input; depth_multiplier >= 1, padding 'valid' or 'same' (pad_values "
                 "0 or 1), any kernel size and stride, bias; not the first or the last layer")

    def lower(self, layer, inp: Tensor, ctx) -> list[Node]:
        if not is_sign(layer.input_quantizer, "input_quantizer", allow_none=True):
            raise Refusal("input_quantizer=None (a real-valued input)", "a sign-family input_quantizer")
        is_sign(layer.depthwise_quantizer, "depthwise_quantizer", allow_none=False)
        if layer.data_format != "channels_last":
            raise Refusal(f"data_format='{layer.data_format}'", "channels_last")
        if tuple(layer.dilation_rate) != (1, 1):
            raise Refusal(f"dilation_rate={tuple(layer.dilation_rate)}", "dilation_rate=1")
        if ctx.is_flat(inp):
            raise Refusal("a convolution after Flatten", "convolutions before Flatten")
        kernel = np.asarray(layer.depthwise_kernel.numpy(), np.float32)  # [KH, KW, C, M]
        kh, kw, c, m = kernel.shape
        inp, zero_pads = ctx.unpad(inp)
        strides = tuple(int(s) for s in layer.strides)
        (oh, ow), pads, pad_value = geometry(layer, layer.padding, inp.shape, zero_pads, (kh, kw), strides, True)
        (sh, sw), out = strides, (oh, ow, c * m)
        per_output = kernel.reshape(kh, kw, c * m)  # output o = c*M + m: Keras' order
        bias = np.asarray(layer.bias.numpy(), np.float32) if layer.use_bias else None
        node = ctx.node(self.name, layer, inp, out,
                        attrs={"kernel_size": [kh, kw], "strides": [sh, sw], "pads": list(pads),
                               "pad_value": pad_value, "input_sign": True, "depth_multiplier": m},
                        params={"kernel": np.transpose(per_output, (2, 0, 1))[..., None], "bias": bias})
        return with_activation(layer, node, ctx)

    def leading_affines(self, node: Node) -> list[tuple[np.ndarray, np.ndarray]]:
        if node.params.get("bias") is None:
            return []
        return [(np.ones(node.out_shape[2]), np.asarray(node.params["bias"], np.float64))]

    def fold(self, fnode: Node, inp: Tensor, out_kind: str, A, B, input_range, new_tensor, sources) -> Node:
        if out_kind != "b1":
            raise UnsupportedModelError(f"layer '{fnode.name}' (QuantDepthwiseConv2D) is the model's last "
                                        "quantized layer; supported: depthwise layers followed by a binary layer",
                                        hint="end the model with a QuantDense or QuantConv2D")
        folded = conv_fold(fnode, inp, out_kind, A, B, input_range, new_tensor, sources)
        return Node(op=self.name, name=folded.name, inputs=folded.inputs, output=folded.output,
                    attrs={**folded.attrs, "depth_multiplier": fnode.attrs["depth_multiplier"]},
                    params=folded.params, source_layers=folded.source_layers)

    def fan_in(self, node: Node) -> int:
        kh, kw = node.attrs["kernel_size"]
        return kh * kw

    def macs(self, node: Node) -> int:
        oh, ow, oc = node.out_shape
        return oh * ow * oc * self.fan_in(node)

    def reference(self, node: Node, inputs: list[np.ndarray]) -> np.ndarray:
        return compare_thresholds(node, self.counts(node, inputs[0]))

    @staticmethod
    def counts(node: Node, x: np.ndarray) -> np.ndarray:
        """The kernel's count ``x`` per output (N, OH, OW, O) for packed input bits ``x``."""
        m = node.attrs["depth_multiplier"]
        o = node.out_shape[2]
        kh, kw = node.attrs["kernel_size"]
        bits = unpack_bits(x, node.in_shape[2])[..., np.arange(o) // m]  # each output's input channel
        win = windows(bits, (kh, kw), node.attrs["strides"], node.attrs["pads"])  # padded taps read 0
        n, oh, ow, _ = win.shape
        w = np.asarray(node.params["weight_bits"], bool).reshape(o, kh * kw).T  # [taps, O]
        return np.sum(win.reshape(n, oh, ow, kh * kw, o) ^ w, axis=3, dtype=np.int64)

    def target_limits(self, node: Node) -> list[str]:
        from .conv import _dims_limits

        problems = _dims_limits(node)
        if node.attrs["depth_multiplier"] > 0xFF:
            problems.append(f"depth_multiplier {node.attrs['depth_multiplier']} exceeds 255")
        return problems

    def c_layer(self, node: Node, kernel_set: str) -> CLayer:
        kh, kw = node.attrs["kernel_size"]
        o = node.out_shape[2]
        weights = pack_bits(np.asarray(node.params["weight_bits"], bool).reshape(o, kh * kw))
        arrays = [CArray("weights", "uint32_t", weights, "[O][ceil(KH*KW/32)] words, tap ky*KW + kx at bit t%32"),
                  CArray("thresholds", "int32_t", np.asarray(node.params["thresholds"], np.int32),
                         "[border class][O] int32 tau: bit = acc > tau")]
        tables, fields = class_tables(node)
        arrays += tables
        init = (f"{{ .conv = {{ .dims = {c_dims(node.in_shape, node.out_shape, (kh, kw), node.attrs['strides'])},\n"
                f"      .padding = {c_padding(node.attrs['pads'])}, {fields} }},\n"
                f"    .depth_multiplier = {node.attrs['depth_multiplier']}u }}")
        return CLayer(layout="depthwise", arrays=arrays, params_type="bnn_depthwise_params_t", params_init=init,
                      call="bnn_depthwise_conv2d_b1_b1(&$params, (const uint32_t *)$input, $weights, $thresholds, "
                           "(uint32_t *)$output)", kernel="bnn_depthwise_conv2d_b1_b1")
