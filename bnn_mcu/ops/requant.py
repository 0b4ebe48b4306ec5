r"""Real-valued streams in fixed point: int32 sums -> int16 (``requant``) and the residual ``Add``.

Why fixed point
---------------
A residual block (Bi-Real, QuickNet: ``x' = BN(QuantConv2D(sign(x))) + x``) keeps a real tensor that no
threshold can replace: the next sign depends on the *sum* of two real values. The target keeps such a
tensor as int16 ``q`` with a per-tensor scale ``s`` (real value ``v ~ s*q``), and the reference runs the
very same integer arithmetic, so target and reference agree bit for bit; only the distance to Larq's
float32 forward pass is an approximation, bounded per tensor (``attrs['error_bound']``, in real units)
and measured (``larqcheck``, ``bnn-mcu check``).

Scales from bounds, not calibration
-----------------------------------
Every real value here is an affine function of a bounded integer: ``v = A'*r + B'`` with ``|r| <= R``
(``R = K`` for a binary input, ``255K`` for 8-bit codes). So ``|v| <= max_c(|A'_c|*R + max|B'_c|)``
exactly, and ``s = bound/32767`` can never overflow. The bound is loose (typical sums are ~sqrt(K)), yet
one step of the accumulator (2 units for a binary input) still spans ``2*32767/K`` int16 units for any
``K < 16384``: nothing the accumulator resolves is lost. An add's bound is the sum of its inputs'.

Requantization (``bnn_requant_s32_s16``)
----------------------------------------
``q = sat16(floor((r*mult[c] + bias[class][c]) / 2^shift))`` in int64, with ``mult = round(A'/s*2^shift)``
and ``bias = round(B'/s*2^shift)`` (``B'`` per 'same'-padding border class, as the convolution's offsets).
``floor`` keeps the sign exact where it matters most: ``q < 0`` iff ``r*mult + bias < 0``.

Add (``bnn_add_s16``)
---------------------
``q = sat16(floor(sum_i(q_i*m_i) / 2^16))`` in int64, ``m_i = round(s_i/s * 2^16)`` with the output
scale ``s = (sum of the inputs' bounds)/32767``.

Error bounds (real units, the distance to the exact real value)
---------------------------------------------------------------
requant: ``s*(1 + (R + 1)/2^(shift+1))`` (the floor, and the rounding of mult and bias);
add: ``sum_i err_i + s*(1 + n/2)`` (the floor, and ``|q_i|*|m_i rounding| <= 32768/2^17`` per input);
each plus ``bound * 2^-21`` for Larq's own float32 rounding (four ulps of the largest value).
"""

from __future__ import annotations

import numpy as np

from ..ir import Node, Tensor
from .base import CArray, CLayer, Op, Refusal, class_tables

INT16_MAX = 32767
ADD_SHIFT = 16
FLOAT32_SLACK = 2.0**-21  # Larq computes in float32: a few ulps (2^-23 relative) of the largest value


def _sat16(v: np.ndarray) -> np.ndarray:
    return np.clip(v, -INT16_MAX - 1, INT16_MAX).astype(np.int16)


def _class_index(node: Node) -> np.ndarray | None:
    """[OH, OW] border class of every output pixel, or None (one class)."""
    if "row_class" not in node.params:
        return None
    cols = int(node.params["col_class"].max()) + 1
    return node.params["row_class"].astype(np.int64)[:, None] * cols + node.params["col_class"].astype(np.int64)[None]


class Requant(Op):
    name = "requant"

    @staticmethod
    def make(acc: Node, A: np.ndarray, B: np.ndarray, raw_max: int, new_tensor) -> Node:
        """int16 stream of ``v = A*(scale*r + offset[class]) + B`` for the s32 node ``acc`` (its params
        ``scale`` [O] and ``offset`` [classes, O], from ``ops.conv.fold(per_class_offset=True)``)."""
        a = np.asarray(A, np.float64) * acc.params["scale"]  # [O]
        b = np.asarray(A, np.float64)[None, :] * acc.params["offset"] + np.asarray(B, np.float64)[None, :]
        bound = float(np.max(np.abs(a) * raw_max + np.max(np.abs(b), axis=0)))
        s = bound / INT16_MAX if bound > 0 else 1.0
        shift = 24
        while shift > 0 and max(np.max(np.abs(a)), np.max(np.abs(b))) / s * 2.0**shift >= 2**31 - 1:
            shift -= 1
        mult = np.rint(a / s * 2.0**shift).astype(np.int64)
        bias = np.rint(b / s * 2.0**shift).astype(np.int64)
        params = {"mult": mult.astype(np.int32), "bias": bias.astype(np.int32)}
        if len(bias) > 1 and np.all(bias == bias[:1]):
            params["bias"] = params["bias"][:1]
        elif len(bias) > 1:
            params["row_class"], params["col_class"] = acc.params["row_class"], acc.params["col_class"]
        error = s * (1.0 + (raw_max + 1) / 2.0 ** (shift + 1)) + bound * FLOAT32_SLACK
        return Node(op="requant", name=acc.name, inputs=(acc.output,), output=new_tensor("s16", acc.out_shape),
                    attrs={"shift": shift, "scale": s, "bound": bound, "error_bound": error},
                    source_layers=acc.source_layers, params=params)

    def reference(self, node: Node, inputs: list[np.ndarray]) -> np.ndarray:
        r = inputs[0].astype(np.int64)  # (N, OH, OW, O)
        bias = node.params["bias"].astype(np.int64)
        cls = _class_index(node)
        b = bias[0] if cls is None else bias[cls]  # [O] or [OH, OW, O]
        v = r * node.params["mult"].astype(np.int64) + b
        return _sat16(v >> node.attrs["shift"])  # >> on int64 is floor division by 2^shift

    def c_layer(self, node: Node, kernel_set: str) -> CLayer:
        h, w, c = node.out_shape
        tables, fields = class_tables(node)
        arrays = [CArray("mult", "int32_t", node.params["mult"], "per channel: q = (r*mult + bias) >> shift"),
                  CArray("bias", "int32_t", node.params["bias"], "[border class][C]"), *tables]
        init = f"{{ .height = {h}u, .width = {w}u, .channels = {c}u, .shift = {node.attrs['shift']}u, {fields} }}"
        return CLayer(layout="requant", arrays=arrays, params_type="bnn_requant_params_t", params_init=init,
                      call="bnn_requant_s32_s16(&$params, (const int32_t *)$input, $mult, $bias, (int16_t *)$output)",
                      kernel="bnn_requant_s32_s16")


class Add(Op):
    """Keras ``Add`` of real-valued tensors: the residual shortcut, in int16 fixed point."""

    name = "add"
    role = "add"
    multi_input = True
    keras_classes = ("Add",)
    supported = ("residual shortcuts of real tensors (batch-norm outputs and other adds), in int16 fixed point "
                 "(bit-exact on the target; the distance to Larq's float is bounded and measured)")

    def lower(self, layer, inputs: tuple[Tensor, ...], ctx) -> Node:
        if len({t.shape for t in inputs}) != 1:
            raise Refusal(f"inputs of shapes {[t.shape for t in inputs]}", "inputs of one shape (no broadcasting)")
        node = ctx.node(self.name, layer, tuple(inputs), inputs[0].shape)
        if all(ctx.is_flat(t) for t in inputs):
            ctx.mark_flat(node.output)
        return node

    @staticmethod
    def make(fnode: Node, inputs: list[Node], new_tensor) -> Node:
        """The add of int16 streams produced by ``inputs`` (nodes with attrs ``scale``/``bound``)."""
        bound = float(sum(n.attrs["bound"] for n in inputs))
        s = bound / INT16_MAX if bound > 0 else 1.0
        mult = np.array([round(n.attrs["scale"] / s * 2**ADD_SHIFT) for n in inputs], np.int32)
        error = sum(n.attrs["error_bound"] for n in inputs) + s * (1.0 + len(inputs) / 2.0) + bound * FLOAT32_SLACK
        return Node(op="add", name=fnode.name, inputs=tuple(n.output for n in inputs),
                    output=new_tensor("s16", fnode.out_shape),
                    attrs={"shift": ADD_SHIFT, "scale": s, "bound": bound, "error_bound": error},
                    params={"mult": mult}, source_layers=fnode.source_layers)

    def reference(self, node: Node, inputs: list[np.ndarray]) -> np.ndarray:
        acc = sum(x.astype(np.int64) * int(m) for x, m in zip(inputs, node.params["mult"]))
        return _sat16(acc >> node.attrs["shift"])

    def c_layer(self, node: Node, kernel_set: str) -> CLayer:
        h, w, c = node.out_shape
        init = (f"{{ .count = {len(node.inputs)}u, .values = {h * w * c}u, .shift = {node.attrs['shift']}u, "
                ".mult = $mult }")
        return CLayer(layout="add", arrays=[CArray("mult", "int32_t", node.params["mult"], "per input, Q16")],
                      params_type="bnn_add_params_t", params_init=init,
                      call="bnn_add_s16(&$params, (const int16_t *const[]){ $inputs }, (int16_t *)$output)",
                      kernel="bnn_add_s16")
