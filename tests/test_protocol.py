"""Python half of the protocol against the shared vectors, plus round trips and receiver behaviour."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bnn_mcu import protocol as P

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests" / "vectors" / "protocol.json").read_text())


def _h(s: str) -> bytes:
    return bytes.fromhex(s)


def _event_dict(e) -> dict:
    if isinstance(e, P.Frame):
        return {"kind": "frame", "type": e.type, "seq": e.seq, "payload": e.payload.hex()}
    return {"kind": "error", "code": int(e.code), "code_name": e.code.name, "detail": e.detail, "seq": e.seq}


# ------------------------------------------------------------------------------------------ vectors
def test_generated_files_are_up_to_date():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_protocol_vectors.py"), "--check"],
                       check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("case", VECTORS["cobs"], ids=lambda c: c["name"])
def test_cobs_vectors(case):
    dec, enc = _h(case["decoded"]), _h(case["encoded"])
    assert P.cobs_encode(dec) == enc
    assert P.cobs_decode(enc) == dec
    assert 0 not in enc
    assert len(enc) <= P.cobs_max(len(dec))


def test_cobs_vectors_cover_the_boundaries():
    names = {c["name"] for c in VECTORS["cobs"]}
    assert {"empty", "all_zeros_10", "run_254", "run_255", "run_256"} <= names
    run254 = next(c for c in VECTORS["cobs"] if c["name"] == "run_254")
    assert _h(run254["encoded"])[0] == 0xFF and len(_h(run254["encoded"])) == 255  # no trailing 0x01


@pytest.mark.parametrize("case", VECTORS["crc32"], ids=lambda c: c["name"])
def test_crc_vectors(case):
    assert P.crc32(_h(case["data"])) == case["crc"]


def test_crc_check_value():
    assert P.crc32(b"123456789") == 0xCBF43926


@pytest.mark.parametrize("case", VECTORS["frames"], ids=lambda c: c["name"])
def test_frame_vectors(case):
    wire = _h(case["wire"])
    payload = _h(case["payload"])
    assert P.encode_frame(case["type"], case["seq"], payload) == wire
    assert wire[-1] == 0 and 0 not in wire[:-1]
    events = P.FrameDecoder(len(payload)).feed(wire)
    assert events == [P.Frame(case["type"], case["seq"], payload)]
    if "message" in case:
        msg = P.unpack_message(events[0])
        assert type(msg).__name__ == case["message"]["class"]
        assert msg.pack() == payload
        assert P.encode_message(msg, case["seq"]) == wire
        for name, value in case["message"]["fields"].items():
            got = getattr(msg, name)
            if isinstance(got, bytes):
                got = got.hex()
            elif isinstance(got, tuple):
                got = list(got)
            assert got == value, name


def test_every_message_type_has_a_frame_vector():
    types = {c["type"] for c in VECTORS["frames"] if "message" in c}
    assert types == {int(t) for t in P.MsgType}


@pytest.mark.parametrize("case", VECTORS["streams"], ids=lambda c: c["name"])
def test_stream_vectors(case):
    wire = _h(case["wire"])
    want = case["events"]
    assert [_event_dict(e) for e in P.FrameDecoder(case["max_payload"]).feed(wire)] == want
    # Chunking must not matter: byte by byte and random chunks give the same events.
    dec = P.FrameDecoder(case["max_payload"])
    assert [_event_dict(e) for b in wire for e in dec.feed(bytes([b]))] == want
    rng = random.Random(len(wire))
    dec, got, i = P.FrameDecoder(case["max_payload"]), [], 0
    while i < len(wire):
        n = rng.randrange(1, 40)
        got += dec.feed(wire[i : i + n])
        i += n
    assert [_event_dict(e) for e in got] == want


def test_stream_vectors_cover_every_receiver_error():
    codes = {e["code_name"] for c in VECTORS["streams"] for e in c["events"] if e["kind"] == "error"}
    assert codes == {"BAD_CRC", "TOO_LONG", "BAD_COBS", "SHORT"}


# ------------------------------------------------------------------------------------- round trips
def test_cobs_and_frame_round_trip_random():
    rng = random.Random(7)
    for _ in range(500):
        n = rng.choice([0, 1, 253, 254, 255, 508, rng.randrange(0, 1200)])
        data = bytes(rng.choice([0, rng.randrange(256)]) for _ in range(n))
        enc = P.cobs_encode(data)
        assert 0 not in enc and P.cobs_decode(enc) == data and len(enc) <= P.cobs_max(n)
        t, s = rng.randrange(256), rng.randrange(256)
        assert P.FrameDecoder(n).feed(P.encode_frame(t, s, data)) == [P.Frame(t, s, data)]


def test_message_round_trips():
    msgs = [
        P.Hello(), P.Shutdown(), P.Infer(bytes(range(256)) * 3), P.Profile(b"\x00\x01"),
        P.Info(1, bytes(16), 1, 2, 3, 4, 5, P.CounterKind.CYCLES, 6, ""),
        P.Info(1, b"\xff" * 16, 2**32 - 1, 0, 0, 0, 65535, P.CounterKind.NONE, 0, "x" * 255),
        P.Result(0, -1, ()), P.Result(2**32 - 1, 9, (-(2**31), 2**31 - 1)),
        P.ProfileResult(5, 0, (), (1,)), P.ProfileResult(5, 0, (1, 2**32 - 1), ()),
        P.Error(P.ErrorCode.MODEL_FAILED, 3), P.Error(200, 1),
    ]
    for i, m in enumerate(msgs):
        (frame,) = P.FrameDecoder(1 << 16).feed(P.encode_message(m, i))
        assert frame.seq == i and P.unpack_message(frame) == m


def test_malformed_payloads_raise_protocol_error():
    info = P.Info(1, bytes(16), 1, 2, 3, 4, 5, P.CounterKind.CYCLES, 6, "board").pack()
    for bad in (info[:-1], info + b"x", info[:10]):
        with pytest.raises(P.ProtocolError):
            P.Info.unpack(bad)
    with pytest.raises(P.ProtocolError):
        P.Info.unpack(info[:36] + b"\x09" + info[37:])  # counter_kind (offset 36) = 9
    with pytest.raises(P.ProtocolError):
        P.Result.unpack(b"\x00" * 9)
    with pytest.raises(P.ProtocolError):
        P.ProfileResult.unpack(P.ProfileResult(1, 1, (1, 2), ()).pack()[:-1])
    with pytest.raises(P.ProtocolError):
        P.Error.unpack(b"\x01")
    with pytest.raises(P.ProtocolError):
        P.Hello.unpack(b"\x00")
    with pytest.raises(P.ProtocolError):
        P.unpack_message(P.Frame(0x55, 0, b""))
    with pytest.raises(P.ProtocolError):
        P.encode_frame(256, 0)
    with pytest.raises(P.ProtocolError):
        P.Info(1, bytes(15), 1, 2, 3, 4, 5, P.CounterKind.NONE, 6, "b").pack()


@pytest.mark.parametrize("enc,pos", [(b"\x03\x01\x00\x02", 2), (b"\x05\x01\x02", 3), (b"\x00", 0)])
def test_cobs_decode_errors(enc, pos):
    with pytest.raises(P.CobsError) as exc:
        P.cobs_decode(enc)
    assert exc.value.position == pos


# ------------------------------------------------------------------------------------------ decoder
def test_decoder_resyncs_after_garbage():
    rng = random.Random(3)
    good = P.encode_frame(P.MsgType.INFER, 5, bytes(range(30)))
    for _ in range(200):
        garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        events = P.FrameDecoder(64).feed(garbage + b"\x00" + good)
        assert events[-1] == P.Frame(P.MsgType.INFER, 5, bytes(range(30)))
        assert all(isinstance(e, P.FrameError) for e in events[:-1])
        assert len(events) <= 1 + garbage.count(0) + 1


def test_empty_frames_are_ignored():
    good = P.encode_frame(1, 1)
    assert P.FrameDecoder(0).feed(b"\x00" * 10 + good + b"\x00" * 3) == [P.Frame(1, 1, b"")]


def test_length_limit_exact_and_over():
    mp = 100
    ok = P.encode_frame(2, 1, bytes(mp))
    over = P.encode_frame(2, 2, bytes(mp + 1))
    dec = P.FrameDecoder(mp)
    assert dec.feed(ok) == [P.Frame(2, 1, bytes(mp))]
    (err,) = dec.feed(over)
    assert err == P.FrameError(P.ErrorCode.TOO_LONG, len(over) - 1, 2)
    assert dec.feed(ok) == [P.Frame(2, 1, bytes(mp))]  # and it recovers


def test_length_limit_bounds_memory():
    dec = P.FrameDecoder(16)
    dec.feed(b"\x01" * 200_000)  # no delimiter yet: nothing may be stored beyond the capacity
    assert len(dec._body) <= dec.capacity
    (err,) = dec.feed(b"\x00")
    assert err.code == P.ErrorCode.TOO_LONG and err.detail == 200_000


def test_bad_crc_reports_carried_crc_and_seq():
    body = bytearray(P.frame_body(P.MsgType.INFER, 77, b"abcdef"))
    body[4] ^= 0x01
    (err,) = P.FrameDecoder(16).feed(P.cobs_encode(bytes(body)) + b"\x00")
    assert err == P.FrameError(P.ErrorCode.BAD_CRC, int.from_bytes(body[-4:], "little"), 77)


# --------------------------------------------------------------------------- one place for numbers
def test_platform_header_counter_kinds_match():
    text = (ROOT / "firmware" / "include" / "bnn" / "platform.h").read_text()
    for kind in P.CounterKind:
        assert re.search(rf"BNN_COUNTER_{kind.name}\s*=\s*{int(kind)}\b", text), kind


def test_protocol_md_lists_every_number():
    text = (ROOT / "docs" / "PROTOCOL.md").read_text()
    for t in P.MsgType:
        assert re.search(rf"\|\s*0x{int(t):02X}\s*\|\s*{t.name}\s*\|", text), t
    for e in P.ErrorCode:
        assert re.search(rf"\|\s*{int(e)}\s*\|\s*{e.name}\s*\|", text), e
    assert f"version {P.PROTOCOL_VERSION}" in text


def test_max_payload_for():
    assert P.max_payload_for(784, 10, 5, 10) == 784
    assert P.max_payload_for(4, 10, 5, 10) == P.profile_payload_bytes(5, 10) == 10 + 20 + 40
    assert P.info_payload_bytes(0) == 42
