r"""Average pooling of real values (AveragePooling2D/1D, GlobalAveragePooling2D/1D) on int16 streams,
and the real-input dense layer that usually follows a global average pool (``dense_s16``).

Average pooling
---------------
Keras averages real tensors (batch-norm outputs, residual sums), so the pooled tensor becomes an int16
stream first (``ops/requant.py``) and keeps its scale ``s``: an average never leaves the input's bound.
Per output value ``q = floor(sum(q_window) * m[class] / 2^24)`` in int64, ``m = round(2^24 / n)`` with
``n`` the taps inside the input ('same' pooling leaves padded taps out of the average, as TF does; one
multiplier per border class). Error bound: the input's, plus ``s*(1 + n*32768*2^-25)`` (the floor and
the rounding of ``m``).

Dense on a real input (``dense_s16``)
-------------------------------------
``QuantDense(input_quantizer=None)`` after the pool sees real values ``v = s*q``: it sums ``w*q`` with
``w = +-1`` in int32 (|sum| <= 32768*K), and the host's affine is ``A*s*sum + B``: exact on the integer
side, so the target equals the reference bit for bit. Only as the model's last layer (its outputs are
int32 sums); inside the network the next sign would need thresholds over a 16-bit range.
"""

from __future__ import annotations

import numpy as np

from ..bitpack import pack_bits
from ..errors import UnsupportedModelError
from ..ir import Node, Tensor
from .base import CArray, CLayer, Op, Refusal, c_dims, c_padding, class_tables
from .conv import windows
from .pool import pool_geometry
from .requant import INT16_MAX, _class_index, _sat16

POOL_SHIFT = 24


class AvgPool(Op):
    name = "avgpool2d"
    role = "real_pool"
    keras_classes = ("AveragePooling2D", "AveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling1D")
    supported = ("of real tensors (batch-norm outputs, residual adds) as int16 streams; padding 'valid' or 'same', "
                 "any pool size and stride; global pooling (1-D on (time, features))")

    def lower(self, layer, inp: Tensor, ctx) -> Node:
        if type(layer).__name__.startswith("Global"):
            if getattr(layer, "data_format", "channels_last") != "channels_last" or ctx.is_flat(inp):
                raise Refusal("pooling after Flatten or channels_first", "channels_last pooling before Flatten")
            h, w, c = inp.shape
            if getattr(layer, "keepdims", False):
                raise Refusal("keepdims=True", "keepdims=False")
            node = ctx.node(self.name, layer, inp, (1, 1, c),
                            attrs={"pool": [h, w], "strides": [1, 1], "pads": [0, 0, 0, 0]})
            ctx.mark_flat(node.output)  # Keras gives (C,): a QuantDense reads it directly
            return node
        out, attrs = pool_geometry(layer, inp, ctx)
        return ctx.node(self.name, layer, inp, out, attrs=attrs)

    @staticmethod
    def make(fnode: Node, producer: Node, new_tensor) -> Node:
        """The pool of the int16 stream ``producer`` writes (its attrs: scale, bound, error_bound)."""
        inp = producer.output
        row_taps, col_taps = _valid_taps(fnode.attrs, inp.shape, fnode.out_shape)  # a window's taps: row * col
        row_values, rows = np.unique(row_taps, return_inverse=True)
        col_values, cols = np.unique(col_taps, return_inverse=True)
        mult = np.array([[round(2**POOL_SHIFT / int(a * b)) for b in col_values] for a in row_values], np.int32)
        params = {"mult": mult.ravel()}  # class = row class * col classes + col class, as the conv tables
        if mult.size > 1:
            params["row_class"], params["col_class"] = rows.astype(np.uint8), cols.astype(np.uint8)
        n_max = int(row_values.max() * col_values.max())
        s = producer.attrs["scale"]
        error = producer.attrs["error_bound"] + s * (1.0 + n_max * (INT16_MAX + 1) * 2.0 ** -(POOL_SHIFT + 1))
        return Node(op="avgpool2d", name=fnode.name, inputs=(inp,), output=new_tensor("s16", fnode.out_shape),
                    attrs={"pool": list(fnode.attrs["pool"]), "strides": list(fnode.attrs["strides"]),
                           "pads": list(fnode.attrs["pads"]), "shift": POOL_SHIFT, "scale": s,
                           "bound": producer.attrs["bound"], "error_bound": error},
                    params=params, source_layers=fnode.source_layers)

    def reference(self, node: Node, inputs: list[np.ndarray]) -> np.ndarray:
        x = inputs[0].astype(np.int64)
        n, _, _, c = x.shape
        (ph, pw), strides, pads = node.attrs["pool"], node.attrs["strides"], node.attrs["pads"]
        oh, ow, _ = node.out_shape
        win = windows(x, (ph, pw), strides, pads)[:, :oh, :ow]  # padded taps read 0: they add nothing
        sums = win.reshape(n, oh, ow, ph * pw, c).sum(axis=3)
        cls = _class_index(node)
        m = node.params["mult"].astype(np.int64)
        mult = m[0] if cls is None else m[cls][..., None]
        return _sat16((sums * mult) >> node.attrs["shift"])

    def c_layer(self, node: Node, kernel_set: str) -> CLayer:
        tables, fields = class_tables(node)
        arrays = [CArray("mult", "int32_t", node.params["mult"], "per border class: round(2^shift / taps)"), *tables]
        init = (f"{{ .dims = {c_dims(node.in_shape, node.out_shape, node.attrs['pool'], node.attrs['strides'])},\n"
                f"      .padding = {c_padding(node.attrs['pads'])}, .shift = {node.attrs['shift']}u, {fields} }}")
        return CLayer(layout="avgpool", arrays=arrays, params_type="bnn_avgpool_params_t", params_init=init,
                      call="bnn_avgpool2d_s16(&$params, (const int16_t *)$input, $mult, (int16_t *)$output)",
                      kernel="bnn_avgpool2d_s16")

    def target_limits(self, node: Node) -> list[str]:
        problems = [f"dimension {v} exceeds 65,535" for v in (*node.in_shape, *node.out_shape) if v > 0xFFFF]
        return problems + [f"pool/stride/padding {v} exceeds 255" for v in
                           (*node.attrs["pool"], *node.attrs["strides"], *node.attrs["pads"]) if v > 0xFF]


def _valid_taps(attrs: dict, in_shape, out_shape) -> tuple[np.ndarray, np.ndarray]:
    """Rows [OH] and columns [OW] of each output's window that fall inside the input (TF's 'same' average
    divides by rows * columns)."""
    (ph, pw), (sh, sw), (top, _b, left, _r) = attrs["pool"], attrs["strides"], attrs["pads"]
    (h, w, _), (oh, ow, _) = in_shape, out_shape

    def axis(size, k, stride, before, outs):
        start = np.arange(outs) * stride - before
        return np.clip(start + k, 0, size) - np.clip(start, 0, size)

    return axis(h, ph, sh, top, oh), axis(w, pw, sw, left, ow)


class DenseS16(Op):
    """A QuantDense with a real input (input_quantizer=None) on an int16 stream: the model's last layer."""

    name = "dense_s16"
    role = "accumulate"

    def fan_in(self, node: Node) -> int:
        h, w, c = node.in_shape
        return h * w * c

    def macs(self, node: Node) -> int:
        return node.out_shape[2] * self.fan_in(node)

    def leading_affines(self, node: Node) -> list[tuple[np.ndarray, np.ndarray]]:
        from .conv import Dense

        return Dense().leading_affines(node)

    def fold(self, fnode: Node, inp: Tensor, out_kind: str, A, B, input_range, new_tensor, sources,
             per_class_offset: bool = False) -> Node:
        if out_kind != "s32" or per_class_offset:
            raise UnsupportedModelError(
                f"layer '{fnode.name}' ({fnode.attrs.get('keras_class')}) reads a real-valued stream (input_quantizer="
                "None) but is not the model's last layer; supported: a real-input QuantDense as the last layer")
        kernel = np.asarray(fnode.params["kernel"])  # [O, H, W, C]
        o = kernel.shape[0]
        s = float(fnode.attrs["input_scale"])
        return Node(op=self.name, name=fnode.name, inputs=(inp,), output=new_tensor("s32", fnode.out_shape),
                    attrs={"kernel_size": list(fnode.attrs["kernel_size"])},
                    params={"weight_bits": kernel < 0, "scale": np.asarray(A, np.float64) * s,
                            "offset": np.asarray(B, np.float64).reshape(o)},
                    source_layers=sources)

    def reference(self, node: Node, inputs: list[np.ndarray]) -> np.ndarray:
        x = inputs[0].reshape(len(inputs[0]), -1).astype(np.int64)
        w = 1 - 2 * node.params["weight_bits"].reshape(node.out_shape[2], -1).astype(np.int64)
        return (x @ w.T).astype(np.int32)

    def c_layer(self, node: Node, kernel_set: str) -> CLayer:
        o = node.out_shape[2]
        weights = pack_bits(node.params["weight_bits"].reshape(o, -1))
        init = c_dims(node.in_shape, node.out_shape, node.attrs["kernel_size"], (1, 1))
        return CLayer(layout="flat", arrays=[CArray("weights", "uint32_t", weights,
                                                    "[O][ceil(K/32)] words, input i at bit i%32 (bit 1 = -1)")],
                      params_type="bnn_dims_t", params_init=init,
                      call="bnn_dense_s16_s32(&$params, (const int16_t *)$input, $weights, (int32_t *)$output)",
                      kernel="bnn_dense_s16_s32")
