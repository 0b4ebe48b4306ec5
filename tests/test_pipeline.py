"""Pipelined requests (Link.infer_many, used by run and --jobs): the real app compiled natively
(ASan/UBSan) answers a stream with two requests in flight, in order; a corrupted frame in the middle of
the stream and a frame lost entirely are both recovered from, and every result still equals the
reference in input order."""

from __future__ import annotations

import numpy as np
import pytest
from test_ops_random_graphs import chain_mlp

from bnn_mcu import build, codegen, plan, reference
from bnn_mcu.boards import load_board
from bnn_mcu.link import Link, PipeTransport

N = 30


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    graph = chain_mlp()
    codegen.write_project(graph, plan.make_plan(graph), load_board("mps2-an386"), tmp / "p", source="test")
    project = build.Project.load(tmp / "p")
    exe = build.build(project, host=True, sanitize=True, kernels="ref").artifact
    rng = np.random.default_rng(3)
    q = rng.integers(0, 256, (N, graph.input_bytes), dtype=np.uint8)
    q[rng.random(q.shape) < 0.5] = 0  # half of them travel RLE-encoded
    ref = reference.run(graph, q.reshape((N,) + tuple(graph.input_shape)))
    return exe, q, ref


def _stream(exe, q, *, mangle=None, timeout=10.0):
    with PipeTransport.spawn([str(exe)], timeout=10) as t:
        link = Link(t, timeout=timeout)
        link.hello()
        if mangle is not None:
            write, frames = t.write, []

            def mangled(data: bytes) -> int:
                frames.append(data)
                out = mangle(len(frames), bytes(data))
                return write(out) if out else len(data)

            t.write = mangled
        got = list(link.infer_many(((i, q[i].tobytes()) for i in range(len(q))), window=2))
        if mangle is not None:
            del t.write  # the class's write again, for SHUTDOWN
        link.shutdown()
        return got, link


def _check(got, ref):
    assert [k for k, _ in got] == list(range(N))
    for i, res in got:
        assert np.array_equal(np.asarray(res.outputs, np.int32), ref.raw[i]), i
        assert res.top1 == ref.top1[i], i


def test_pipelined_stream_in_order(app):
    exe, q, ref = app
    got, link = _stream(exe, q)
    _check(got, ref)
    assert link.retries == 0 and link.rle_bytes_saved > 0


def test_corrupt_frame_mid_stream_is_recovered(app):
    exe, q, ref = app

    def flip(n, data):  # the 7th frame sent: flip a payload byte (the target answers BAD_CRC)
        if n == 7:
            b = bytearray(data)
            b[len(b) // 2] ^= 0x10 if b[len(b) // 2] not in (0x00, 0x10) else 0x01
            return bytes(b)
        return data

    got, link = _stream(exe, q, mangle=flip)
    _check(got, ref)
    assert link.retries >= 1


def test_lost_frame_mid_stream_is_recovered(app):
    exe, q, ref = app
    got, link = _stream(exe, q, mangle=lambda n, data: b"" if n == 5 else data, timeout=1.0)
    _check(got, ref)
    assert link.retries >= 1
