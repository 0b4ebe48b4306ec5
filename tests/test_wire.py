"""Packed-bit inputs (bnn_mcu/wire.py): a model whose first layer binarizes its input receives the sign
bits, 8 per byte. The host's bits equal the sign op's own reference bits; the generated firmware says
so (BNN_MODEL_INPUT_BITS, INFO input_bytes); the real app compiled natively unpacks them and matches
the reference (which runs from the 8-bit codes) for 1, 32 and 33 channels."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import check_host_exe
from test_ops_random_graphs import Chain, chain_mlp

from bnn_mcu import build, codegen, ops, plan, reference, wire
from bnn_mcu.bitpack import unpack_bits
from bnn_mcu.boards import load_board


def _sign_chain(shape, seed=0) -> Chain:
    c = Chain(f"sign_{'x'.join(map(str, shape))}", shape, seed=seed, input_range=(-1.0, 1.0))
    c.sign()
    c.conv(33, 3, 1, "same")
    c.dense(5, out_kind="s32")
    return c


@pytest.mark.parametrize("shape", [(28, 28, 1), (3, 4, 32), (5, 3, 33)])
def test_bits_are_the_sign_ops_bits(shape):
    graph = _sign_chain(shape).graph()
    assert wire.encoding_for(graph) == wire.BITS
    n_values = int(np.prod(shape))
    assert wire.wire_bytes(graph, wire.BITS) == (n_values + 7) // 8
    q = np.random.default_rng(1).integers(0, 256, (6,) + shape, dtype=np.uint8)
    sent = wire.encode(graph, q, wire.BITS)
    assert sent.shape == (6, (n_values + 7) // 8) and sent.dtype == np.uint8
    node = graph.layers[0]
    want = unpack_bits(ops.get("sign").reference(node, [q]), shape[2]).reshape(6, -1)
    got = np.unpackbits(sent, axis=1, bitorder="little")[:, :n_values].astype(bool)
    assert np.array_equal(got, want)
    assert not np.unpackbits(sent, axis=1, bitorder="little")[:, n_values:].any()  # tail bits 0


def test_u8_models_send_the_codes():
    graph = chain_mlp()
    assert wire.encoding_for(graph) == wire.U8
    q = np.arange(2 * graph.input_bytes, dtype=np.int64).astype(np.uint8).reshape((2,) + graph.input_shape)
    assert np.array_equal(wire.encode(graph, q, wire.U8), q.reshape(2, -1))
    with pytest.raises(ValueError, match="sign"):
        wire.encode(graph, q, wire.BITS)


def test_old_projects_take_u8():
    assert wire.project_encoding({}) == wire.U8
    assert wire.project_encoding({"input_encoding": "bits"}) == wire.BITS


@pytest.mark.parametrize("shape", [(28, 28, 1), (3, 4, 32), (5, 3, 33)])
def test_host_firmware_unpacks_the_bits(tmp_path, shape):
    graph = _sign_chain(shape, seed=3).graph()
    mplan = plan.make_plan(graph)
    assert mplan.max_payload < graph.input_bytes or graph.input_bytes < 64  # the receive buffer shrinks
    codegen.write_project(graph, mplan, load_board("mps2-an386"), tmp_path / "p", source="test")
    project = build.Project.load(tmp_path / "p")
    assert project.meta["input_encoding"] == "bits"
    assert project.meta["wire_input_bytes"] == (graph.input_bytes + 7) // 8
    config = (tmp_path / "p" / "model" / "bnn_model_config.h").read_text()
    assert "#define BNN_MODEL_INPUT_BITS 1" in config
    data = (tmp_path / "p" / "model" / "bnn_model_data.c").read_text()
    assert "bnn_unpack_bits_b1(" in data and "bnn_sign_u8_b1(" not in data
    q = np.random.default_rng(4).integers(0, 256, (25,) + shape, dtype=np.uint8)
    ref = reference.run(graph, q)
    exe = build.build(project, host=True, sanitize=True, kernels="ref").artifact
    check_host_exe(exe, project, graph, q, ref)  # sends wire.encode(...): the packed bits
