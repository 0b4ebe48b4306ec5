"""Property tests for the Python half of the protocol (bnn_mcu/protocol.py), with hypothesis.

* Random bytes and mutated valid frames: the decoder never raises; cobs_decode and unpack_message raise
  nothing but the module's own ProtocolError (CobsError is one).
* Valid frames and COBS round-trip, in any chunking, at exactly the length limit; one byte over is TOO_LONG.
* Resynchronisation: garbage, then 0x00, then a valid frame gives the garbage's events, then that frame.
* A corrupted data byte is always caught as BAD_CRC (CRC-32 detects every error burst of <= 32 bits).

Example counts are bounded so the file runs in seconds; database=None keeps .hypothesis/ out of the tree.
"""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnn_mcu import protocol as P

SETTINGS = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

types = st.integers(0, 255)
seqs = st.integers(0, 255)
# Payloads rich in what matters to COBS: zeros, and runs of non-zero bytes around the 254-byte group.
payloads = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from([0, 1, 0xFF, 0x55]), max_size=300).map(bytes),
    st.integers(240, 520).map(lambda n: bytes([0x11]) * n),
)


def feed_chunked(dec: P.FrameDecoder, data: bytes, cuts: list[int]) -> list:
    """Feed data split at the given cut points (any order, any values)."""
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [e for a, b in zip(bounds, bounds[1:]) for e in dec.feed(data[a:b])]


def assert_well_formed(events: list, max_payload: int) -> None:
    for e in events:
        assert isinstance(e, P.Frame | P.FrameError), e
        if isinstance(e, P.Frame):
            assert len(e.payload) <= max_payload and 0 <= e.type <= 255 and 0 <= e.seq <= 255
        else:
            assert e.code in P.TRANSPORT_ERRORS and 0 <= e.detail <= P.U32_MAX and 0 <= e.seq <= 255


# ------------------------------------------------------------------------------------ random bytes
@SETTINGS
@given(data=st.binary(max_size=2000), max_payload=st.integers(0, 300), cuts=st.lists(st.integers(0, 4000)))
def test_decoder_takes_any_bytes(data, max_payload, cuts):
    dec = P.FrameDecoder(max_payload)
    events = feed_chunked(dec, data, cuts)
    assert_well_formed(events, max_payload)
    assert len(dec._body) <= dec.capacity
    # At most one event per delimiter; chunking changes nothing.
    assert len(events) <= data.count(0)
    assert events == P.FrameDecoder(max_payload).feed(data)


@SETTINGS
@given(data=st.binary(max_size=600))
def test_cobs_decode_raises_only_cobs_error(data):
    try:
        out = P.cobs_decode(data)
    except P.CobsError as e:
        assert isinstance(e, P.ProtocolError) and 0 <= e.position <= len(data)
        return
    assert 0 not in data and len(out) <= len(data)
    # What decodes re-encodes canonically; the canonical form decodes to the same bytes.
    assert P.cobs_decode(P.cobs_encode(out)) == out


@SETTINGS
@given(type=types, payload=st.binary(max_size=120))
def test_unpack_message_raises_only_protocol_error(type, payload):
    try:
        msg = P.unpack_message(P.Frame(type, 1, payload))
    except P.ProtocolError:
        assert type not in (P.MsgType.INFER, P.MsgType.PROFILE)  # these take any payload
        return
    assert msg.MSG_TYPE == type
    # Every accepted payload is the one pack() produces. (INFO decodes a non-ASCII board name with
    # replacement characters, which pack() then refuses: only ASCII names round-trip.)
    if type != P.MsgType.INFO or payload[P.info_payload_bytes(0):].isascii():
        assert msg.pack() == payload


# ------------------------------------------------------------------------------------- round trips
@SETTINGS
@given(data=payloads)
def test_cobs_round_trip_and_non_canonical_end(data):
    enc = P.cobs_encode(data)
    assert 0 not in enc and len(enc) <= P.cobs_max(len(data)) and P.cobs_decode(enc) == data
    # Decoders accept either form of the trailing group (PROTOCOL.md): after a full 0xFF group a 0x01
    # group adds nothing; after any other group it completes one more zero.
    tail = len(data) - (data.rfind(0) + 1)  # the trailing run of non-zero bytes
    last_group_full = tail > 0 and tail % 254 == 0
    assert P.cobs_decode(enc + b"\x01") == data + (b"" if last_group_full else b"\x00")


@SETTINGS
@given(type=types, seq=seqs, payload=payloads, cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_valid_frames_round_trip(type, seq, payload, cuts):
    wire = P.encode_frame(type, seq, payload)
    assert wire[-1] == 0 and 0 not in wire[:-1]
    # Exactly at the limit: accepted, in any chunking (the host's leading flush changes nothing).
    dec = P.FrameDecoder(len(payload))
    assert feed_chunked(dec, b"\x00" + wire, cuts) == [P.Frame(type, seq, payload)]
    if payload:  # one byte over: TOO_LONG, detail = encoded bytes before the delimiter
        assert P.FrameDecoder(len(payload) - 1).feed(wire) == [P.FrameError(P.ErrorCode.TOO_LONG, len(wire) - 1, seq)]


# ------------------------------------------------------------------------------------ mutated frames
mutations = st.lists(st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "zero"]),
                               st.integers(0, 1000), st.integers(0, 255)), min_size=1, max_size=4)


def mutate(wire: bytes, ops) -> bytes:
    b = bytearray(wire)
    for op, pos, val in ops:
        i = pos % (len(b) + 1)
        if op == "insert":
            b.insert(i, val)
        elif op == "zero":
            b.insert(i, 0)
        elif op == "truncate":
            del b[i:]
        elif i < len(b):
            if op == "flip":
                b[i] ^= 1 << (val % 8)
            elif op == "set":
                b[i] = val
            else:
                del b[i]
    return bytes(b)


@SETTINGS
@given(type=types, seq=seqs, payload=payloads, ops=mutations, max_payload=st.integers(0, 300),
       cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_mutated_frames_never_raise_and_resync(type, seq, payload, ops, max_payload, cuts):
    bad = mutate(P.encode_frame(type, seq, payload), ops)
    before = P.FrameDecoder(max_payload).feed(bad + b"\x00")
    assert_well_formed(before, max_payload)
    good = P.encode_frame(P.MsgType.HELLO, 9, b"")
    assert feed_chunked(P.FrameDecoder(max_payload), bad + b"\x00" + good, cuts) == [*before, P.Frame(1, 9)]


@SETTINGS
@given(garbage=st.binary(max_size=1000), type=types, seq=seqs, payload=st.binary(max_size=64))
def test_garbage_then_delimiter_then_frame(garbage, type, seq, payload):
    good = P.encode_frame(type, seq, payload)
    before = P.FrameDecoder(64).feed(garbage + b"\x00")
    assert P.FrameDecoder(64).feed(garbage + b"\x00" + good) == [*before, P.Frame(type, seq, payload)]


def data_positions(enc: bytes) -> list[int]:
    """Indices of the data (non-code) bytes of a COBS encoding."""
    out, i = [], 0
    while i < len(enc):
        out += range(i + 1, min(i + enc[i], len(enc)))
        i += enc[i]
    return out


@SETTINGS
@given(type=types, seq=seqs, payload=payloads, which=st.integers(0, 10_000), new=st.integers(1, 255))
def test_corrupted_data_byte_is_bad_crc(type, seq, payload, which, new):
    wire = bytearray(P.encode_frame(type, seq, payload))
    pos = data_positions(bytes(wire[:-1]))
    i = pos[which % len(pos)]  # the body is >= 6 bytes, so there are data bytes
    if wire[i] == new:
        new ^= 0x80 if new != 0x80 else 0x01
    wire[i] = new
    body = P.cobs_decode(bytes(wire[:-1]))  # one byte of the body changed; the structure did not
    (carried,) = struct.unpack("<I", body[-4:])
    assert P.FrameDecoder(len(payload)).feed(bytes(wire)) == [P.FrameError(P.ErrorCode.BAD_CRC, carried, body[1])]
