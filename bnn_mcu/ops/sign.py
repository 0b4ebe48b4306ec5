"""sign() of the 8-bit model input, for a first layer whose input quantizer binarizes its real input
(the classic binary MLP on pixels in [-1, 1]).

The target receives 8-bit codes q and the model sees ``x = LO + q*(HI-LO)/255`` (float32, as the host
feeds Larq). ``x`` grows with q, so ``sign(x) = -1`` exactly for the codes below a threshold: the
converter finds it by evaluating that very float32 value for all 256 codes (``sign(0) = +1``), so the
bit equals Larq's for every code, with no rounding argument needed.
"""

from __future__ import annotations

import numpy as np

from ..bitpack import dequantize_input, pack_bits
from ..ir import Node, Tensor
from .base import CLayer, Op, c_dims


class Sign(Op):
    name = "sign"
    role = "input"

    @staticmethod
    def threshold(input_range: tuple[float, float], rescale: tuple[float, float] | None = None) -> int:
        """Number of codes q whose real value is negative (they are 0 .. threshold-1). ``rescale``:
        the (scale, offset) of a leading Rescaling layer, applied in float32 as Keras does."""
        x = dequantize_input(np.arange(256), *input_range)
        if rescale is not None:
            x = x * np.float32(rescale[0]) + np.float32(rescale[1])
        negative = x < 0
        t = int(negative.sum())
        assert not negative[t:].any(), "dequantize_input must be increasing in q"
        return t

    def make(self, inp: Tensor, input_range, new_tensor, source_layers=(), rescale=None) -> Node:
        return Node(op=self.name, name="input_sign", inputs=(inp,), output=new_tensor("b1", inp.shape),
                    attrs={"threshold": self.threshold(input_range, rescale)}, source_layers=tuple(source_layers))

    def reference(self, node: Node, inputs: list[np.ndarray]) -> np.ndarray:
        return pack_bits(inputs[0] < node.attrs["threshold"])

    def c_layer(self, node: Node, kernel_set: str) -> CLayer:
        init = c_dims(node.in_shape, node.in_shape, (1, 1), (1, 1))
        return CLayer(layout="standard", params_type="bnn_dims_t", params_init=init,
                      call=f"bnn_sign_u8_b1(&$params, (const uint8_t *)$input, {node.attrs['threshold']}u, "
                           "(uint32_t *)$output)", kernel="bnn_sign_u8_b1")


class SignS16(Op):
    """sign() of an int16 real-valued stream (``ops/requant.py``): bit = q < 0 (``sign(0) = +1``)."""

    name = "sign_s16"

    def make(self, inp: Tensor, producer: Node, new_tensor, consumer: str) -> Node:
        return Node(op=self.name, name=f"{producer.name}/sign", inputs=(inp,), output=new_tensor("b1", inp.shape),
                    attrs={"error_bound": producer.attrs["error_bound"]}, source_layers=(consumer,))

    def reference(self, node: Node, inputs: list[np.ndarray]) -> np.ndarray:
        return pack_bits(inputs[0] < 0)

    def c_layer(self, node: Node, kernel_set: str) -> CLayer:
        init = c_dims(node.in_shape, node.in_shape, (1, 1), (1, 1))
        return CLayer(layout="standard", params_type="bnn_dims_t", params_init=init,
                      call="bnn_sign_s16_b1(&$params, (const int16_t *)$input, (uint32_t *)$output)",
                      kernel="bnn_sign_s16_b1")
