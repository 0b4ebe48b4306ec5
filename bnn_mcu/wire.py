"""The model input as it travels to the target: 8-bit codes, or packed bits for a binarized first layer.

A model whose integer graph starts with ``sign`` on the u8 input (its first layer binarizes the real
input, bnn_mcu/ops/sign.py), and reads the input nowhere else, only ever uses one bit per input value:
``q < threshold``. The host computes those bits, with the node's very threshold, and sends them packed:
``ceil(H*W*C / 8)`` bytes instead of ``H*W*C`` (98 instead of 784 for a 28x28 image), 8x fewer bytes
over the UART. On the target the sign layer becomes ``bnn_unpack_bits_b1``, which spreads the dense
bits into the b1 layout (32 channels per word per pixel; when C is a multiple of 32 the two layouts
are the same bytes and it is a copy). The numpy reference still runs from the 8-bit codes, so the
comparison checks the host's packing too.

Bit order ("dense bits"): input value k of the flattened NHWC tensor is bit ``k % 8`` of byte ``k // 8``,
LSB first, 1 = the value is negative (-1), as everywhere (DESIGN.md, "Bits"). Tail bits are 0.

Everything else (``u8``) sends the codes as they are. The encoding is fixed when the project is
converted and recorded in bnn_project.json (``input_encoding``); a project converted before this
existed has none and takes u8.
"""

from __future__ import annotations

import numpy as np

from .ir import IntGraph, Node
from .ops.base import CLayer, c_dims

U8 = "u8"
BITS = "bits"
UNPACK_KERNEL = "bnn_unpack_bits_b1"


def input_sign(graph: IntGraph) -> Node | None:
    """The graph's first node if it is ``sign`` of the model input and nothing else reads the input."""
    if not graph.layers:
        return None
    first = graph.layers[0]
    if first.op != "sign" or first.inputs[0].id != graph.input.id:
        return None
    readers = [n for n in graph.layers if any(t.id == graph.input.id for t in n.inputs)]
    return first if readers == [first] else None


def encoding_for(graph: IntGraph) -> str:
    """The encoding a project converted now uses for ``graph``."""
    return BITS if input_sign(graph) is not None else U8


def wire_bytes(graph: IntGraph, encoding: str) -> int:
    """Bytes of one input on the wire (and in the target's input buffer)."""
    return (graph.input_bytes + 7) // 8 if encoding == BITS else graph.input_bytes


def encode(graph: IntGraph, q: np.ndarray, encoding: str) -> np.ndarray:
    """(N, wire_bytes) uint8: the 8-bit codes ``q`` (N, ...) as the target takes them."""
    q = np.asarray(q, np.uint8).reshape(len(q), -1)
    if encoding == U8:
        return q
    if encoding != BITS:
        raise ValueError(f"unknown input encoding {encoding!r}")
    node = input_sign(graph)
    if node is None:
        raise ValueError("packed-bit input needs a graph that starts with sign() of its input")
    return np.packbits(q < node.attrs["threshold"], axis=1, bitorder="little")


def c_layer(node: Node, graph: IntGraph, kernels: str, encoding: str) -> CLayer:
    """The C layer codegen and plan use for ``node``: the op's own, except the input sign under BITS."""
    from . import ops

    if encoding == BITS and node is graph.layers[0]:
        init = c_dims(node.in_shape, node.out_shape, (1, 1), (1, 1))
        return CLayer(layout="standard", params_type="bnn_dims_t", params_init=init,
                      call=f"{UNPACK_KERNEL}(&$params, (const uint8_t *)$input, (uint32_t *)$output)",
                      kernel=UNPACK_KERNEL)
    return ops.get(node.op).c_layer(node, kernels)


def project_encoding(meta: dict) -> str:
    """The encoding recorded in a project's bnn_project.json (u8 when it predates the field)."""
    return meta.get("input_encoding", U8)
