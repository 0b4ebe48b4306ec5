"""INFER_RLE: the run-length-encoded input (docs/PROTOCOL.md). The Python codec alone, then the real app
compiled natively (ASan/UBSan): sparse inputs travel encoded and give the reference's outputs bit for
bit, and malformed or in-place-unsafe payloads get ERROR BAD_RLE with the detail the Python decoder
predicts, after which the link still works."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import check_host_exe
from test_ops_random_graphs import chain_mlp

from bnn_mcu import build, codegen, plan, reference
from bnn_mcu import protocol as P
from bnn_mcu.boards import load_board
from bnn_mcu.link import Link, PipeTransport, TargetReplyError

CASES = [b"", b"\0", b"\0\0", b"a\0b", b"\0\0\0x", bytes(300), b"x" * 300, bytes(3) + b"x" * 200 + b"\0",
         bytes(range(256)) * 2, b"\0" * 129 + b"\1" + b"\0" * 2]


@pytest.mark.parametrize("data", CASES, ids=range(len(CASES)))
def test_roundtrip_and_in_place(data):
    enc = P.rle_encode(data)
    assert P.rle_decode(enc, len(data)) == data
    # the target's buffer is at least the plain payload + frame overhead: canonical streams always fit
    if len(enc) <= len(data):
        assert P.rle_decode(enc, len(data), buffer=len(data) + P.FRAME_OVERHEAD) == data


def test_encoding_is_canonical():
    assert P.rle_encode(b"\0") == b"\x00\x00"  # a lone zero is a literal
    assert P.rle_encode(b"\0\0") == b"\x81"
    assert P.rle_encode(bytes(129)) == b"\xff\x80"
    assert P.rle_encode(b"x" * 129) == b"\x7f" + b"x" * 128 + b"\x00x"
    assert P.rle_encode(b"ab\0cd") == b"\x04ab\0cd"  # the single zero stays inside the literal


def test_sparse_random_roundtrip():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 900))
        data = (rng.integers(1, 256, n) * (rng.random(n) < rng.uniform(0, 1))).astype(np.uint8).tobytes()
        enc = P.rle_encode(data)
        assert P.rle_decode(enc, n) == data
        assert len(enc) <= n + (n + 127) // 128


@pytest.mark.parametrize("enc,n,position", [
    (b"\x83", 3, 1),  # a run of 4 zeros into 3 bytes
    (b"\x02ab", 3, 1),  # a literal of 3 with 2 bytes left: fails after reading its token
    (b"\x81", 3, 2),  # expands to 2 of 3 bytes: len + 1
    (b"", 1, 1),
])
def test_malformed_streams_are_refused(enc, n, position):
    with pytest.raises(P.RleError) as e:
        P.rle_decode(enc, n)
    assert e.value.position == position


def test_in_place_overrun_is_refused():
    # 3 encoded bytes filling a 3-byte buffer: the leading 2-zero run would overwrite the literal's
    # token (buffer[1]) before it is read; one byte more of buffer and the zeros land on read bytes only
    enc = b"\x81\x00x"
    assert P.rle_decode(enc, 3) == b"\0\0x"
    with pytest.raises(P.RleError, match="overwrite"):
        P.rle_decode(enc, 3, buffer=3)
    assert P.rle_decode(enc, 3, buffer=4) == b"\0\0x"


def _in_place_overrun(n: int, max_payload: int) -> bytes:
    """A valid stream of exactly ``max_payload`` bytes for ``n`` output bytes whose leading run of 8
    zeros would overwrite encoded bytes in the target's buffer (only 6 bytes of slack there)."""
    m = n - 8
    for singles in range(m + 1):  # 1-byte literals cost 2 bytes each: pad the stream to max_payload
        rest = m - singles
        size = 1 + 2 * singles + rest + (rest + 127) // 128
        if size == max_payload:
            return b"\x87" + b"\x00\x07" * singles + P.rle_encode(b"\x07" * rest)
    raise AssertionError(f"no stream of {max_payload} bytes for {n}")


@pytest.fixture(scope="module")
def mlp_exe(tmp_path_factory):
    """The real app and runtime for a small u8-input MLP, compiled for the host with sanitizers."""
    tmp = tmp_path_factory.mktemp("rle")
    graph = chain_mlp()
    codegen.write_project(graph, plan.make_plan(graph), load_board("mps2-an386"), tmp / "p", source="test")
    project = build.Project.load(tmp / "p")
    exe = build.build(project, host=True, sanitize=True, kernels="ref").artifact
    return exe, project, graph


def test_sparse_inputs_travel_encoded_and_match(mlp_exe):
    exe, project, graph = mlp_exe
    rng = np.random.default_rng(5)
    q = rng.integers(0, 256, (30,) + tuple(graph.input_shape), dtype=np.uint8)
    q[rng.random(q.shape) < 0.7] = 0
    ref = reference.run(graph, q)
    saved = []
    check_host_exe(exe, project, graph, q, ref, after=lambda link: saved.append(link.rle_bytes_saved))
    assert saved[0] > 0  # INFER_RLE was really used


def test_bad_rle_payloads_get_bad_rle_and_the_link_recovers(mlp_exe):
    exe, project, graph = mlp_exe
    n = graph.input_bytes
    q = np.zeros(n, np.uint8)
    q[::7] = 9
    ref = reference.run(graph, q[None].reshape((1,) + tuple(graph.input_shape)))
    with PipeTransport.spawn([str(exe)], timeout=10) as t:
        link = Link(t, timeout=10)
        info = link.hello()
        buffer = info.max_payload + P.FRAME_OVERHEAD
        bad = [P.rle_encode(bytes(n - 1)), P.rle_encode(bytes(n)) + b"\x80", b"\x05ab",
               _in_place_overrun(n, info.max_payload)]
        assert P.rle_decode(bad[-1], n) == bytes(8) + b"\x07" * (n - 8)  # valid, but not in place
        for payload in bad:
            with pytest.raises(P.RleError) as expected:
                P.rle_decode(payload, n, buffer=buffer)
            with pytest.raises(TargetReplyError) as got:
                link._request(P.MsgType.INFER_RLE, payload, P.MsgType.RESULT)
            assert got.value.code == P.ErrorCode.BAD_RLE
            assert got.value.detail == expected.value.position
        res = link.infer(q.tobytes())  # still answers, and this one went encoded
        assert link.rle_bytes_saved > 0
        assert np.array_equal(np.asarray(res.outputs, np.int32), ref.raw[0])
        link.shutdown()
