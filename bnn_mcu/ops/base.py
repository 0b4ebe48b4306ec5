"""What every op module provides. The drivers (frontend, fold, reference, plan, codegen) only call
these methods; they never test an op's class or look inside its attributes.

An op module owns, for its op:
- the Keras classes it lowers and the options it accepts or refuses (:meth:`Op.lower`);
- its numpy reference (:meth:`Op.reference`), and its part of the fold (its own module's functions,
  called by ``bnn_mcu/fold.py`` through :meth:`Op.fold`);
- its parameter layouts per kernel set, their byte counts for the plan, and the C it needs: the kernel
  function, the constant arrays and the parameter struct (:meth:`Op.c_layer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ir import Node


class Refusal(Exception):
    """A layer option the op does not support: ``option`` is what is at fault, ``supported`` what is."""

    def __init__(self, option: str, supported: str):
        super().__init__(option)
        self.option = option
        self.supported = supported


@dataclass
class CArray:
    """A constant array of one layer in the generated C (``static const <ctype> layerN_<suffix>[]``)."""

    suffix: str
    ctype: str  # "uint32_t", "int32_t", "uint8_t"
    values: np.ndarray
    note: str = ""


@dataclass
class CLayer:
    """What codegen emits for one node and one kernel set."""

    layout: str  # parameter layout name (bnn_mcu/layouts.py); blocks with equal layouts are shared
    arrays: list[CArray] = field(default_factory=list)
    params_type: str = ""  # the kernel's parameter struct type, e.g. "bnn_conv_params_t"
    params_init: str = ""  # its C99 initializer (string.Template: $<array suffix> names that array)
    call: str = ""  # the kernel call (string.Template: $params, $input, $output, $<array suffix>)
    kernel: str = ""  # the C function it calls (its code size counts once per model in the plan)
    error: str | None = None  # why this kernel set cannot run the node (an #error in that block)


def c_dims(in_shape, out_shape, kernel, strides) -> str:
    """The C99 initializer of a ``bnn_dims_t`` (firmware/include/bnn/kernels.h)."""
    (ih, iw, ic), (oh, ow, oc), (kh, kw), (sh, sw) = in_shape, out_shape, kernel, strides
    return (f"{{ .in_h = {ih}, .in_w = {iw}, .in_c = {ic}, .out_h = {oh}, .out_w = {ow}, .out_c = {oc}, "
            f".k_h = {kh}, .k_w = {kw}, .stride_h = {sh}, .stride_w = {sw} }}")


def class_tables(node: Node) -> tuple[list[CArray], str]:
    """The border-class tables of a node whose constants differ by border position (params ``row_class``
    and ``col_class``: class = row_class[y] * col_classes + col_class[x]), as arrays and the C99
    initializer of the struct fields ``row_class, col_class, col_classes`` (NULL tables: one class)."""
    if "row_class" not in node.params:
        return [], ".row_class = NULL, .col_class = NULL, .col_classes = 1u"
    cols = int(node.params["col_class"].max()) + 1
    return ([CArray("row_class", "uint8_t", node.params["row_class"], "border class of each output row"),
             CArray("col_class", "uint8_t", node.params["col_class"], "border class of each output column")],
            f".row_class = $row_class, .col_class = $col_class, .col_classes = {cols}u")


def c_padding(pads) -> str:
    """The C99 initializer of a ``bnn_padding_t`` from ``[top, bottom, left, right]``."""
    top, _bottom, left, _right = pads
    return f"{{ .top = {top}, .left = {left} }}"


class Op:
    name: str = ""
    # How the fold treats the op: "accumulate" (conv, dense: thresholds), "affine" (batch-norm), "bitwise"
    # (max-pool: commutes with monotone maps), "monotone" (clipping activations), "merge" (concatenation of
    # signs), "add" (int16 residual adds), "real_pool" (average pools of int16 streams), "final" (softmax),
    # "input" (sign of the model input), "".
    role: str = ""
    keras_classes: tuple[str, ...] = ()
    multi_input: bool = False  # lower() gets a tuple of every input tensor (Concatenate, Add)
    reads_padding_views: bool = False  # lower() may get a ZeroPadding view (ctx.unpad): convolutions
    supported: str = ""  # one line for the README table and refusal hints

    # -- frontend ---------------------------------------------------------------------------------
    def lower(self, layer, inp, ctx) -> Node | list[Node] | None:  # pragma: no cover - overridden
        """The float node(s) for a Keras layer reading ``inp`` (None: no effect at inference); raise
        :class:`Refusal` for an option the op does not support."""
        raise NotImplementedError(self.name)

    # -- integer graph ----------------------------------------------------------------------------
    def macs(self, node: Node) -> int:
        return 0

    def reference(self, node: Node, inputs: list[np.ndarray]) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError(self.name)

    # -- target -----------------------------------------------------------------------------------
    def target_limits(self, node: Node) -> list[str]:
        """What about this node the runtime's parameter fields cannot hold (empty: nothing)."""
        return []

    def c_layer(self, node: Node, kernel_set: str) -> CLayer:  # pragma: no cover
        raise NotImplementedError(self.name)

