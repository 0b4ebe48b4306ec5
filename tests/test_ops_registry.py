"""The op registry is the one place for op knowledge: the README table comes from it, C constants agree
with it, unknown ops are errors, and the memory planner places tensors by liveness."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

from bnn_mcu import layouts, ops, plan
from bnn_mcu.ir import IntGraph, Node, Tensor


def test_readme_table_is_the_registry():
    assert ops.supported_markdown() in (REPO / "README.md").read_text()


def test_unknown_op_is_an_error_never_a_fallback():
    with pytest.raises(KeyError, match="unknown op 'avgpool'"):
        ops.get("avgpool")
    assert ops.for_keras_class("Lambda") is None
    claimed = [c for op in ops.REGISTRY.values() for c in op.keras_classes]
    assert len(claimed) == len(set(claimed)), "a Keras class claimed by two ops"


def test_c_constants_agree_with_python():
    bs = (REPO / "firmware" / "src" / "bitsliced" / "bs_common.h").read_text()
    assert int(re.search(r"#define BNN_BS_MAX_PLANES (\d+)u", bs).group(1)) == layouts.MAX_PLANES
    kernels_h = (REPO / "firmware" / "include" / "bnn" / "kernels.h").read_text()
    dims = re.search(r"typedef struct \{(.*?)\} bnn_dims_t;", kernels_h, re.S).group(1)
    assert "uint16_t in_h, in_w, in_c;" in dims and "uint8_t k_h, k_w;" in dims  # conv.dims_limits' bounds
    assert "uint8_t top, left;" in kernels_h


def _chain(sizes):
    """A chain of sign nodes (any op works for placement) with b1 tensors of the given channel counts."""
    t = Tensor(0, "u8", (1, 1, 8))
    nodes = []
    for i, c in enumerate(sizes):
        out = Tensor(i + 1, "b1", (4, 4, c))
        nodes.append(Node(op="sign", name=f"n{i}", inputs=(t,), output=out, attrs={"threshold": 1}))
        t = out
    return IntGraph(name="g", input=Tensor(0, "u8", (1, 1, 8)), keras_input_shape=(8,), input_range=(0, 1),
                    layers=tuple(nodes), softmax=False)


def test_liveness_placement_never_overlaps_a_live_tensor():
    graph = _chain([32, 64, 32, 96, 32])  # 64, 128, 64, 192, 64 bytes
    offsets, arena = plan.place_tensors(graph)
    sizes = {n.output.id: 16 * ((n.output.shape[2] + 31) // 32) * 4 for n in graph.layers}
    for node in graph.layers[1:]:  # a node's output never overlaps its input
        a, b = node.inputs[0].id, node.output.id
        assert offsets[a] + sizes[a] <= offsets[b] or offsets[b] + sizes[b] <= offsets[a]
    assert arena == max(sizes[i] + sizes[i + 1] for i in range(1, 5))  # the largest live pair: 256
    assert arena == 256


def test_plan_counts_each_kernel_sets_bytes():
    graph = _chain([32])
    for kernels in layouts.KERNEL_SETS:
        p = plan.make_plan(graph, kernels=kernels)
        assert p.kernels == kernels and p.weight_bytes == 0 and p.arena_bytes == 64
    assert plan.make_plan(graph).flash_estimate == (plan.RUNTIME_FLASH_BASE + plan.PARAMS_BYTES_PER_NODE
                                                    + plan.DISPATCH_BYTES_PER_NODE + 16 * 32 + 16
                                                    # a sign-first graph takes packed bits (bnn_mcu/wire.py)
                                                    + plan.KERNEL_CODE_BYTES["ref"]["bnn_unpack_bits_b1"])


def test_every_class_an_op_lowers_passes_the_model_file_vetting():
    """modelfile's allow-list is kept apart on purpose (it also lets harmless classes through so that
    the frontend can refuse them by name); this keeps the two from drifting apart."""
    from bnn_mcu import modelfile

    claimed = {c for op in ops.REGISTRY.values() for c in op.keras_classes}
    assert claimed <= modelfile.LAYER_CLASSES | modelfile.MODEL_CLASSES, claimed - modelfile.LAYER_CLASSES
