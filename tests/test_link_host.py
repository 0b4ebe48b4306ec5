"""End to end without QEMU: the real firmware/app/main.c + protocol + the host platform, with the TEST-ONLY
fake model of firmware/tests/fake_model/, built natively (with sanitizers) and driven through Link over a
PipeTransport."""

from __future__ import annotations

import logging
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from bnn_mcu import protocol as P
from bnn_mcu.link import Link, LinkError, PipeTransport, TargetReplyError, open_link

ROOT = Path(__file__).resolve().parent.parent
FW = ROOT / "firmware"

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")

# The fake model's constants (firmware/tests/fake_model/).
FAKE_HASH = bytes([0xFA, 0x4E, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0xFF])
IN_BYTES, OUT_COUNT, ARENA, N_LAYERS, BOARD = 40, 10, 256, 3, "host-fake-model"
FAIL_INPUT = b"\xff\xee" + bytes(IN_BYTES - 2)  # the fake model returns BNN_ERR_ARENA (3) for this


def fake_model_reference(x: bytes) -> tuple[int, tuple[int, ...]]:
    out = [-100 * k for k in range(OUT_COUNT)]
    for i, v in enumerate(x):
        out[i % OUT_COUNT] += v
    return max(range(OUT_COUNT), key=lambda k: (out[k], -k)), tuple(out)


@pytest.fixture(scope="module")
def host_app(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("host_app") / "bnn_host_app"
    sources = [FW / "app" / "main.c", *sorted((FW / "src" / "protocol").glob("*.c")),
               *sorted((FW / "platform" / "host").glob("*.c")), FW / "tests" / "fake_model" / "fake_model.c"]
    cmd = ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-g", "-fsanitize=address,undefined",
           "-fno-sanitize-recover=undefined", f"-I{FW / 'include'}", f"-I{FW / 'tests' / 'fake_model'}",
           *map(str, sources), "-o", str(exe)]
    r = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stderr}"
    return exe


class Target:
    """A running host app: its transport, a Link, and its stderr (sanitizer reports land there)."""

    def __init__(self, exe: Path, tmp_path: Path, timeout: float = 2.0):
        self.stderr_path = tmp_path / "target.stderr"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.transport = PipeTransport.spawn([str(exe)], stderr=self._stderr)
        self.link = Link(self.transport, timeout=timeout)

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def close(self) -> int:
        status = self.transport.close()
        self._stderr.close()
        return status


@pytest.fixture
def target(host_app, tmp_path):
    t = Target(host_app, tmp_path)
    yield t
    status = t.close()
    assert status == 0, f"target exited with {status}:\n{t.stderr()}"
    assert "runtime error" not in t.stderr() and "Sanitizer" not in t.stderr(), t.stderr()


def raw_request(link: Link, wire: bytes, timeout: float = 2.0) -> P.Frame:
    link.send_raw(wire)
    frame = link.read_frame(timeout)
    assert frame is not None, "no reply"
    return frame


def expect_error(frame: P.Frame, code: P.ErrorCode, detail: int | None = None, seq: int | None = None):
    assert frame.type == P.MsgType.ERROR, frame
    err = P.Error.unpack(frame.payload)
    assert err.code == code, err
    if detail is not None:
        assert err.detail == detail, err
    if seq is not None:
        assert frame.seq == seq
    return err


# ---------------------------------------------------------------------------------------- happy path
def test_hello_reports_every_info_field(target):
    info = target.link.hello()
    assert info == P.Info(
        protocol_version=P.PROTOCOL_VERSION, model_hash=FAKE_HASH, input_bytes=IN_BYTES,
        output_count=OUT_COUNT, arena_bytes=ARENA,
        max_payload=P.max_payload_for(IN_BYTES, OUT_COUNT, N_LAYERS, len(BOARD)),
        n_layers=N_LAYERS, counter_kind=P.CounterKind.NONE, counter_hz=1_000_000_000, board=BOARD)
    assert target.link.info is info


def test_infer_matches_reference(target):
    target.link.hello()
    rng = random.Random(11)
    inputs = [bytes(IN_BYTES), b"\xff" * IN_BYTES, bytes(range(IN_BYTES))]
    inputs += [bytes(rng.randrange(256) for _ in range(IN_BYTES)) for _ in range(50)]
    for x in inputs:
        top1, outputs = fake_model_reference(x)
        r = target.link.infer(x)
        assert (r.top1, r.outputs) == (top1, outputs)
        assert isinstance(r.count, int) and 0 <= r.count < 2**32


def test_infer_accepts_numpy_uint8(target):
    np = pytest.importorskip("numpy")
    x = np.arange(IN_BYTES, dtype=np.uint8)
    assert target.link.infer(x).outputs == fake_model_reference(bytes(x))[1]
    with pytest.raises(TypeError):
        target.link.infer(np.arange(IN_BYTES, dtype=np.int32))


def test_profile(target):
    info = target.link.hello()
    x = bytes(range(100, 100 + IN_BYTES))
    r = target.link.profile(x)
    assert r.n_layers == info.n_layers == N_LAYERS
    assert r.layer_counts == (1, 2, 3)
    assert (r.top1, r.outputs) == fake_model_reference(x)


def test_pipelined_requests_are_answered_in_order(target):
    x = bytes(range(IN_BYTES))
    wire = b"".join(b"\x00" + P.encode_frame(P.MsgType.INFER, s, x) for s in (10, 11, 12))
    target.link.send_raw(wire + b"\x00" + P.encode_frame(P.MsgType.HELLO, 13))
    frames = [target.link.read_frame(2.0) for _ in range(4)]
    assert [(f.type, f.seq) for f in frames] == [(0x82, 10), (0x82, 11), (0x82, 12), (0x81, 13)]


def test_split_writes_byte_by_byte(target):
    class Trickle:
        """Writes one byte per call, like a slow UART."""

        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def __setattr__(self, name, value):
            if name == "inner":
                object.__setattr__(self, name, value)
            else:
                setattr(self.inner, name, value)

        def write(self, data):
            for b in data:
                self.inner.write(bytes([b]))
            return len(data)

    link = Link(Trickle(target.transport), timeout=2.0)
    assert link.hello().board == BOARD
    assert link.infer(bytes(IN_BYTES)).outputs == fake_model_reference(bytes(IN_BYTES))[1]


# ------------------------------------------------------------------------------------ error replies
def test_corrupted_frame_gets_bad_crc_and_link_still_works(target):
    link = target.link
    body = bytearray(P.frame_body(P.MsgType.INFER, 42, bytes(range(1, IN_BYTES + 1))))
    body[10] ^= 0x20  # a payload byte flipped in transit
    carried = int.from_bytes(body[-4:], "little")
    frame = raw_request(link, b"\x00" + P.cobs_encode(bytes(body)) + b"\x00")
    expect_error(frame, P.ErrorCode.BAD_CRC, detail=carried, seq=42)
    x = bytes(range(1, IN_BYTES + 1))
    assert link.infer(x).outputs == fake_model_reference(x)[1]


def test_oversize_frame_gets_too_long_and_link_recovers(target):
    link = target.link
    info = link.hello()
    for size in (info.max_payload + 1, 5000, 100_000):
        wire = P.encode_frame(P.MsgType.INFER, 43, bytes(size))
        frame = raw_request(link, b"\x00" + wire)
        expect_error(frame, P.ErrorCode.TOO_LONG, detail=len(wire) - 1, seq=43)
        assert link.infer(bytes(IN_BYTES)).outputs == fake_model_reference(bytes(IN_BYTES))[1]


def test_largest_accepted_frame_is_exactly_max_payload(target):
    link = target.link
    info = link.hello()
    # max_payload bytes pass the receiver (then the app says BAD_LENGTH, since it is not input_bytes)
    frame = raw_request(link, b"\x00" + P.encode_frame(P.MsgType.INFER, 44, bytes(info.max_payload)))
    expect_error(frame, P.ErrorCode.BAD_LENGTH, detail=info.max_payload, seq=44)


def test_wrong_length_infer_gets_bad_length(target):
    link = target.link
    for n in (0, 1, IN_BYTES - 1, IN_BYTES + 1):
        frame = raw_request(link, b"\x00" + P.encode_frame(P.MsgType.INFER, 50, bytes(n)))
        expect_error(frame, P.ErrorCode.BAD_LENGTH, detail=n, seq=50)
        frame = raw_request(link, b"\x00" + P.encode_frame(P.MsgType.PROFILE, 51, bytes(n)))
        expect_error(frame, P.ErrorCode.BAD_LENGTH, detail=n, seq=51)
    # Through Link before hello: the target's ERROR becomes a TargetReplyError, at once (no retry).
    with pytest.raises(TargetReplyError) as exc:
        link.infer(bytes(IN_BYTES - 1))
    assert exc.value.code == P.ErrorCode.BAD_LENGTH and exc.value.detail == IN_BYTES - 1
    # After hello Link knows input_bytes and refuses locally.
    link.hello()
    with pytest.raises(LinkError, match="40"):
        link.infer(bytes(IN_BYTES + 3))


def test_hello_and_shutdown_with_payload_get_bad_length(target):
    frame = raw_request(target.link, b"\x00" + P.encode_frame(P.MsgType.HELLO, 60, b"x"))
    expect_error(frame, P.ErrorCode.BAD_LENGTH, detail=1, seq=60)
    frame = raw_request(target.link, b"\x00" + P.encode_frame(P.MsgType.SHUTDOWN, 61, b"xy"))
    expect_error(frame, P.ErrorCode.BAD_LENGTH, detail=2, seq=61)
    assert target.link.hello().board == BOARD  # still alive


@pytest.mark.parametrize("msg_type", [0x00, 0x07, 0x7F, 0x81, 0x82, 0x85, 0xFF])
def test_unknown_type(target, msg_type):
    frame = raw_request(target.link, b"\x00" + P.encode_frame(msg_type, 70, b"abc"))
    expect_error(frame, P.ErrorCode.UNKNOWN_TYPE, detail=msg_type, seq=70)


def test_model_failure_is_reported(target):
    with pytest.raises(TargetReplyError) as exc:
        target.link.infer(FAIL_INPUT)
    assert exc.value.code == P.ErrorCode.MODEL_FAILED and exc.value.detail == 3  # BNN_ERR_ARENA
    assert "MODEL_FAILED" in str(exc.value)
    assert target.link.infer(bytes(IN_BYTES)).top1 == 0


@pytest.mark.parametrize("wire,code,detail,seq", [
    (b"\x05\x11\x22\x00", P.ErrorCode.BAD_COBS, 3, 0x22),
    (b"\x02\x01\x00", P.ErrorCode.SHORT, 1, 0),
    (P.cobs_encode(b"\x01\x07\x01\x02\x03") + b"\x00", P.ErrorCode.SHORT, 5, 7),
])
def test_receiver_errors(target, wire, code, detail, seq):
    expect_error(raw_request(target.link, b"\x00" + wire), code, detail=detail, seq=seq)


def test_garbage_between_frames_is_survived(target):
    link = target.link
    link.hello()
    rng = random.Random(5)
    for i in range(40):
        garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        link.send_raw(garbage)  # may contain 0x00s: the target answers ERRORs that Link must drop
        x = bytes(rng.randrange(256) for _ in range(IN_BYTES))
        assert link.infer(x).outputs == fake_model_reference(x)[1], i
        # The leading 0x00 of every request flushes the garbage: no request may need a retry.
        assert link.retries == 0, f"iteration {i}: a request needed a retry"


# ------------------------------------------------------------------------------------ Link retries
class FaultyTransport:
    """Wraps a transport; the first `n` request frames written are corrupted (or dropped)."""

    def __init__(self, inner, n: int = 1, mode: str = "corrupt"):
        self.__dict__.update(inner=inner, n=n, mode=mode, writes=[])

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __setattr__(self, name, value):
        setattr(self.inner, name, value)

    def write(self, data: bytes):
        self.writes.append(bytes(data))
        if len(data) > 1 and self.n > 0:
            self.__dict__["n"] = self.n - 1
            if self.mode == "drop":
                return len(data)
            data = bytearray(data)
            i = len(data) // 2
            data[i] = data[i] ^ 0x04 or 0x01  # flip a bit in the middle, never into a 0x00
            data = bytes(data)
        return self.inner.write(data)


def test_link_retries_once_after_bad_crc(target, caplog):
    faulty = FaultyTransport(target.transport, n=1, mode="corrupt")
    link = Link(faulty, timeout=2.0)
    x = bytes(range(IN_BYTES))
    with caplog.at_level(logging.WARNING, logger="bnn_mcu.link"):
        assert link.infer(x).outputs == fake_model_reference(x)[1]
    assert faulty.writes[1].startswith(b"\x00\x00")  # the lone flush byte goes out before the retry
    assert faulty.writes[0][1:] != faulty.writes[1][2:]  # the retry carries a new seq
    assert link.retries == 1
    assert any("INFER attempt 1/2" in r.getMessage() and "BAD_CRC" in r.getMessage() for r in caplog.records)


def test_hello_retries_are_its_attempts(target):
    faulty = FaultyTransport(target.transport, n=1, mode="corrupt")
    with pytest.raises(LinkError, match="HELLO failed after 1 attempts: .*BAD_CRC"):
        Link(faulty, timeout=2.0).hello(retries=0)
    faulty = FaultyTransport(target.transport, n=3, mode="corrupt")
    assert Link(faulty, timeout=2.0).hello(retries=3).board == BOARD


def test_link_retries_after_timeout(target):
    faulty = FaultyTransport(target.transport, n=1, mode="drop")
    link = Link(faulty, timeout=0.3)
    x = bytes(range(IN_BYTES))
    t0 = time.monotonic()
    assert link.infer(x).outputs == fake_model_reference(x)[1]
    assert 0.3 <= time.monotonic() - t0 < 2.0


def test_link_gives_up_with_clear_error(target):
    faulty = FaultyTransport(target.transport, n=10, mode="corrupt")
    link = Link(faulty, timeout=1.0)
    with pytest.raises(LinkError) as exc:
        link.infer(bytes(IN_BYTES))
    msg = str(exc.value)
    assert "INFER failed after 2 attempts" in msg and "BAD_CRC" in msg, msg
    assert not isinstance(exc.value, TargetReplyError)


def test_stale_replies_with_old_seq_are_dropped(target):
    link = target.link
    # A reply to a request Link never made (seq 200) arrives first; Link must skip it.
    link.send_raw(b"\x00" + P.encode_frame(P.MsgType.INFER, 200, bytes(IN_BYTES)))
    time.sleep(0.05)
    x = b"\x07" * IN_BYTES
    assert link.infer(x).outputs == fake_model_reference(x)[1]
    assert link.dropped >= 1


def test_no_target_raises_link_error():
    link = open_link("loop://", timeout=0.2)  # echoes our own frames back: wrong type, never an answer
    t0 = time.monotonic()
    with pytest.raises(LinkError, match=r"HELLO failed after 2 attempts: .*no reply within 0.2 s"):
        link.hello(retries=1, timeout=0.2)
    assert time.monotonic() - t0 < 2.0
    assert link.dropped >= 2
    link.close()


def test_socket_url_end_to_end(host_app, tmp_path):
    """The same app behind a TCP socket, reached through open_link("socket://...") as with QEMU."""
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    link = open_link(f"socket://127.0.0.1:{port}", timeout=2.0)
    conn, _ = server.accept()
    server.close()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as QEMU's nodelay=on
    assert link.transport._socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    with open(tmp_path / "stderr", "wb") as err:
        proc = subprocess.Popen([str(host_app)], stdin=conn, stdout=conn, stderr=err)
    conn.close()
    try:
        assert link.hello().board == BOARD
        x = bytes(range(IN_BYTES))
        assert link.infer(x).outputs == fake_model_reference(x)[1]
        assert link.profile(x).layer_counts == (1, 2, 3)
        t0 = time.monotonic()
        for _ in range(20):
            link.infer(x)
        assert time.monotonic() - t0 < 0.4, "~20 ms per request: Nagle / delayed ACK is back"
        link.shutdown()
        assert proc.wait(timeout=5) == 0
    finally:
        link.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_open_link_bad_port():
    with pytest.raises(LinkError, match="cannot open"):
        open_link("/dev/does-not-exist-bnn")


# ------------------------------------------------------------------------------------- exiting
def test_shutdown_exits_zero(host_app, tmp_path):
    t = Target(host_app, tmp_path)
    t.link.hello()
    t.link.shutdown()
    assert t.transport.proc.wait(timeout=5) == 0
    assert t.close() == 0


def test_eof_exits_zero(host_app, tmp_path):
    t = Target(host_app, tmp_path)
    t.link.hello()
    assert t.close() == 0  # closing stdin: bnn_uart_getc() returns -1 -> bnn_platform_exit(0)


def test_link_error_when_target_dies(host_app, tmp_path):
    t = Target(host_app, tmp_path)
    t.link.shutdown()
    t.transport.proc.wait(timeout=5)
    with pytest.raises(LinkError, match="link lost"):
        t.link.hello(retries=0)
    t.close()


@pytest.mark.skipif(os.environ.get("BNN_BENCH_LINK") is None, reason="set BNN_BENCH_LINK=1 to measure")
def test_round_trip_timing(target):
    link = target.link
    link.hello()
    x = bytes(IN_BYTES)
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        link.infer(x)
    dt = (time.perf_counter() - t0) / n
    logging.getLogger(__name__).warning("host pipe INFER round trip: %.1f us", dt * 1e6)
