"""The bnn-mcu serial protocol, host side (the wire spec is docs/PROTOCOL.md; this is its Python half).

Layers, bottom up:

* COBS (:func:`cobs_encode`, :func:`cobs_decode`) and CRC-32 (:func:`crc32`, the one zlib computes).
* Frames: ``COBS(type seq payload crc32le) 0x00``. :func:`encode_frame` builds one; :class:`FrameDecoder`
  is fed arbitrary chunks of a byte stream and yields :class:`Frame` or :class:`FrameError` events, exactly
  as the C receiver in ``firmware/src/protocol/bnn_frame.c`` does (the shared vectors in
  ``tests/vectors/protocol.json`` pin both).
* Messages: frozen dataclasses with ``pack() -> bytes`` and ``unpack(payload)``; :func:`unpack_message`
  turns a frame into the right one.

The constants below (:class:`MsgType`, :class:`ErrorCode`, :class:`CounterKind`, sizes) are the single
source: ``tools/gen_protocol_vectors.py`` renders them into ``firmware/include/bnn/bnn_protocol_ids.h``.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from bnn_mcu.errors import TargetError

PROTOCOL_VERSION = 2  # 2: INFER_RLE (a run-length-encoded input); a version-1 target lacks it
RLE_MIN_VERSION = 2

HEADER_BYTES = 2  # type, seq
CRC_BYTES = 4
FRAME_OVERHEAD = HEADER_BYTES + CRC_BYTES  # body = payload + 6
DELIMITER = 0x00
HOST_SEQ_FIRST = 1  # the host never uses seq 0: it marks errors whose request seq was unreadable
SEQ_UNKNOWN = 0


class ProtocolError(TargetError):
    """A malformed message or frame (bad COBS, wrong payload size, unknown type...)."""


class MsgType(IntEnum):
    HELLO = 0x01
    INFER = 0x02
    PROFILE = 0x03
    SHUTDOWN = 0x04
    STATS = 0x05
    INFER_RLE = 0x06
    ERROR = 0x7F
    INFO = 0x81
    RESULT = 0x82
    PROFILE_RESULT = 0x83
    STATS_RESULT = 0x85


class ErrorCode(IntEnum):
    BAD_CRC = 1  # detail: the CRC the frame carried
    TOO_LONG = 2  # detail: encoded bytes received before the delimiter (saturating)
    BAD_COBS = 3  # detail: position (index in the encoded frame) of the delimiter that cut a group short
    SHORT = 4  # detail: decoded body length (< 6)
    UNKNOWN_TYPE = 5  # detail: the type byte
    BAD_LENGTH = 6  # detail: payload length received
    MODEL_FAILED = 7  # detail: bnn_status_t returned by the runtime
    BAD_RLE = 8  # detail: encoded bytes read when the INFER_RLE payload proved malformed


class CounterKind(IntEnum):
    NONE = 0
    INSTRUCTIONS = 1
    CYCLES = 2


#: Errors that say "the frame did not arrive intact": worth a flush and a retry.
TRANSPORT_ERRORS = frozenset({ErrorCode.BAD_CRC, ErrorCode.TOO_LONG, ErrorCode.BAD_COBS, ErrorCode.SHORT})

U32_MAX = 0xFFFFFFFF


# ----------------------------------------------------------------------------------------------- COBS
def cobs_max(n: int) -> int:
    """Upper bound on the COBS encoding of n bytes (delimiter not included): n + n // 254 + 1."""
    return n + n // 254 + 1


def cobs_encode(data: bytes) -> bytes:
    """Canonical COBS: a full 254-byte run at the very end gets no trailing 0x01 group."""
    out = bytearray()
    block = bytearray()
    for b in data:
        if len(block) == 254:  # a full group followed by more data: close it without an implied zero
            out.append(0xFF)
            out += block
            block.clear()
        if b == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(b)
    out.append(len(block) + 1)
    out += block
    return bytes(out)


class CobsError(ProtocolError):
    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position


def cobs_decode(data: bytes) -> bytes:
    """Decode one COBS frame (no delimiter). Raises CobsError on a 0x00 inside or a truncated group."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise CobsError(f"0x00 inside a COBS frame at {i}", i)
        end = i + code
        if end > n:
            raise CobsError(f"COBS group at {i} needs {code - 1} bytes, frame ends at {n}", n)
        chunk = data[i + 1 : end]
        if 0 in chunk:
            pos = i + 1 + chunk.index(0)
            raise CobsError(f"0x00 inside a COBS frame at {pos}", pos)
        out += chunk
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


# ------------------------------------------------------------------------------------------------ CRC
def crc32(data: bytes) -> int:
    """IEEE 802.3 CRC-32, identical to zlib.crc32."""
    return zlib.crc32(data) & U32_MAX


# --------------------------------------------------------------------------------------------- frames
@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes = b""


@dataclass(frozen=True)
class FrameError:
    """A frame the receiver rejected; ``seq`` is the frame's seq if at least 2 body bytes arrived, else 0."""

    code: ErrorCode
    detail: int
    seq: int = SEQ_UNKNOWN


def frame_body(type: int, seq: int, payload: bytes = b"") -> bytes:
    head = bytes((type & 0xFF, seq & 0xFF)) + bytes(payload)
    return head + struct.pack("<I", crc32(head))


def encode_frame(type: int, seq: int, payload: bytes = b"") -> bytes:
    """``COBS(type seq payload crc32le) 0x00``: what goes on the wire (trailing delimiter included)."""
    if not (0 <= int(type) <= 0xFF and 0 <= int(seq) <= 0xFF):
        raise ProtocolError(f"type {type} / seq {seq} out of range 0..255")
    return cobs_encode(frame_body(type, seq, payload)) + b"\x00"


class FrameDecoder:
    """Incremental receiver; mirrors the C state machine byte for byte.

    ``feed(chunk)`` returns the events completed by that chunk. A frame whose decoded body would exceed
    ``max_payload + 6`` bytes stops being stored and is reported as ``TOO_LONG`` at its delimiter. Empty
    frames (``00 00``) are ignored. Error precedence: TOO_LONG, BAD_COBS, SHORT, BAD_CRC.
    """

    def __init__(self, max_payload: int):
        if max_payload < 0:
            raise ValueError("max_payload must be >= 0")
        self.max_payload = max_payload
        self._cap = max_payload + FRAME_OVERHEAD
        self._reset()

    def _reset(self) -> None:
        self._body = bytearray()
        self._nraw = 0  # encoded bytes of this frame seen so far (saturating at 2^32-1)
        self._remaining = 0  # data bytes left in the current COBS group
        self._code = 0  # current group's code byte (0 = no group yet)
        self._overflow = False

    @property
    def capacity(self) -> int:
        return self._cap

    def _store(self, b: int) -> None:
        if len(self._body) < self._cap:
            self._body.append(b)
        else:
            self._overflow = True

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        return list(self.iter_feed(data))

    def iter_feed(self, data: bytes) -> Iterator[Frame | FrameError]:
        for b in data:
            if b == DELIMITER:
                event = self._finish()
                self._reset()
                if event is not None:
                    yield event
                continue
            if self._nraw < U32_MAX:
                self._nraw += 1
            if self._remaining == 0:  # a code byte
                if self._code not in (0, 0xFF):
                    self._store(0)
                self._code = b
                self._remaining = b - 1
            else:
                self._store(b)
                self._remaining -= 1

    def _finish(self) -> Frame | FrameError | None:
        if self._nraw == 0:
            return None
        body = self._body
        seq = body[1] if len(body) >= 2 else SEQ_UNKNOWN
        if self._overflow:
            return FrameError(ErrorCode.TOO_LONG, self._nraw, seq)
        if self._remaining:
            return FrameError(ErrorCode.BAD_COBS, self._nraw, seq)
        if len(body) < FRAME_OVERHEAD:
            return FrameError(ErrorCode.SHORT, len(body), seq)
        (carried,) = struct.unpack_from("<I", body, len(body) - CRC_BYTES)
        if crc32(bytes(body[:-CRC_BYTES])) != carried:
            return FrameError(ErrorCode.BAD_CRC, carried, seq)
        return Frame(body[0], body[1], bytes(body[HEADER_BYTES:-CRC_BYTES]))


# ------------------------------------------------------------------------------------------------ RLE
# INFER_RLE payloads: zero runs and literals. Token t (one byte): t >= 0x80 is a run of (t & 0x7F) + 1
# zero bytes (1..128); t < 0x80 is followed by t + 1 literal bytes (1..128, zeros allowed). The target
# expands the payload in place in its receive buffer (docs/PROTOCOL.md, "INFER_RLE"), so a stream
# is accepted only if no write overtakes the encoded bytes still to be read; rle_decode checks the
# same conditions as the C decoder, and the host sends INFER_RLE only when its payload passes them.
RLE_MAX_RUN = 128
RLE_MIN_ZERO_RUN = 2  # a lone zero stays in a literal: a run token for it would cost as much


def rle_encode(data: bytes) -> bytes:
    """The canonical RLE of ``data``: every run of >= 2 zeros becomes run tokens; the rest literals."""
    data = bytes(data)
    n = len(data)
    out = bytearray()
    lit_start = i = 0

    def flush_literal(end: int) -> None:
        for a in range(lit_start, end, RLE_MAX_RUN):
            chunk = data[a:min(end, a + RLE_MAX_RUN)]
            out.append(len(chunk) - 1)
            out.extend(chunk)

    while i < n:
        if data[i] == 0:
            j = i
            while j < n and data[j] == 0:
                j += 1
            if j - i >= RLE_MIN_ZERO_RUN:
                flush_literal(i)
                run = j - i
                while run:
                    k = min(run, RLE_MAX_RUN)
                    out.append(0x80 | (k - 1))
                    run -= k
                lit_start = j
            i = j
        else:
            i += 1
    flush_literal(n)
    return bytes(out)


class RleError(ProtocolError):
    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position


def rle_decode(data: bytes, out_len: int, *, buffer: int | None = None) -> bytes:
    """Expand ``data`` into exactly ``out_len`` bytes, as the target does.

    ``buffer``: the target's receive-buffer bytes (INFO ``max_payload`` + 6). The target first moves
    the payload to the end of that buffer and then writes the output from its start, so a zero run
    that would overwrite encoded bytes not yet read is refused, exactly as the C decoder refuses it.
    Raises :class:`RleError` on any malformed stream; its ``position`` is what the target's ERROR
    ``BAD_RLE`` carries as detail: the encoded bytes read when the stream failed (len + 1 when it
    expands to fewer than ``out_len`` bytes).
    """
    data = bytes(data)
    n = len(data)
    base = 0 if buffer is None else buffer - n  # where the encoded bytes start in the buffer
    if base < 0:
        raise RleError(f"{n} encoded bytes do not fit a {buffer}-byte buffer", 0)
    out = bytearray()
    r = 0
    while r < n:
        t = data[r]
        r += 1
        k = (t & 0x7F) + 1
        if len(out) + k > out_len:
            raise RleError(f"RLE token at {r - 1} expands past {out_len} bytes", r)
        if t & 0x80:
            if buffer is not None and len(out) + k > base + r:
                raise RleError(f"zero run at {r - 1} would overwrite encoded bytes (in-place expansion)", r)
            out += bytes(k)
        else:
            if r + k > n:
                raise RleError(f"literal at {r - 1} needs {k} bytes, {n - r} left", r)
            out += data[r:r + k]
            r += k
    if len(out) != out_len:
        raise RleError(f"RLE payload expands to {len(out)} bytes, expected {out_len}", n + 1)
    return bytes(out)


# ------------------------------------------------------------------------------------------- messages
def _need(payload: bytes, n: int, what: str, exact: bool = True) -> None:
    if (len(payload) != n) if exact else (len(payload) < n):
        raise ProtocolError(f"{what} payload has {len(payload)} bytes, expected {'' if exact else '>= '}{n}")


def _int32s(payload: bytes, what: str) -> tuple[int, ...]:
    if len(payload) % 4:
        raise ProtocolError(f"{what}: {len(payload)} bytes of outputs is not a multiple of 4")
    return struct.unpack(f"<{len(payload) // 4}i", payload)


@dataclass(frozen=True)
class _Empty:
    """A message without payload (HELLO, SHUTDOWN, STATS)."""

    MSG_TYPE: ClassVar[MsgType]

    def pack(self) -> bytes:
        return b""

    @classmethod
    def unpack(cls, payload: bytes):
        _need(payload, 0, cls.MSG_TYPE.name)
        return cls()


class Hello(_Empty):
    MSG_TYPE: ClassVar[MsgType] = MsgType.HELLO


class Shutdown(_Empty):
    MSG_TYPE: ClassVar[MsgType] = MsgType.SHUTDOWN


class Stats(_Empty):
    MSG_TYPE: ClassVar[MsgType] = MsgType.STATS


_STATS_RESULT = struct.Struct("<II")


@dataclass(frozen=True)
class StatsResult:
    """Stack high-water mark since reset and the stack reserve, in bytes (0 = not measured)."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.STATS_RESULT
    stack_used: int
    stack_size: int

    def pack(self) -> bytes:
        return _STATS_RESULT.pack(self.stack_used, self.stack_size)

    @classmethod
    def unpack(cls, payload: bytes) -> StatsResult:
        _need(payload, _STATS_RESULT.size, "STATS_RESULT")
        return cls(*_STATS_RESULT.unpack(payload))


@dataclass(frozen=True)
class Infer:
    MSG_TYPE: ClassVar[MsgType] = MsgType.INFER
    input: bytes

    def pack(self) -> bytes:
        return bytes(self.input)

    @classmethod
    def unpack(cls, payload: bytes) -> Infer:
        return cls(bytes(payload))


@dataclass(frozen=True)
class InferRle:
    """INFER with the input run-length encoded (:func:`rle_encode`); the reply is a RESULT."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.INFER_RLE
    encoded: bytes

    def pack(self) -> bytes:
        return bytes(self.encoded)

    @classmethod
    def unpack(cls, payload: bytes) -> InferRle:
        return cls(bytes(payload))


@dataclass(frozen=True)
class Profile:
    MSG_TYPE: ClassVar[MsgType] = MsgType.PROFILE
    input: bytes

    def pack(self) -> bytes:
        return bytes(self.input)

    @classmethod
    def unpack(cls, payload: bytes) -> Profile:
        return cls(bytes(payload))


_INFO_HEAD = struct.Struct("<H16sIIIIHBIB")  # ... board_len; then board bytes


@dataclass(frozen=True)
class Info:
    MSG_TYPE: ClassVar[MsgType] = MsgType.INFO
    protocol_version: int
    model_hash: bytes  # 16 bytes: first half of the SHA-256 codegen prints
    input_bytes: int
    output_count: int
    arena_bytes: int
    max_payload: int
    n_layers: int
    counter_kind: CounterKind
    counter_hz: int  # tick rate of the raw counter, 0 = unknown
    board: str

    def pack(self) -> bytes:
        board = self.board.encode("ascii")
        if len(self.model_hash) != 16:
            raise ProtocolError("model_hash must be 16 bytes")
        if len(board) > 255:
            raise ProtocolError("board name longer than 255 bytes")
        return _INFO_HEAD.pack(self.protocol_version, bytes(self.model_hash), self.input_bytes,
                               self.output_count, self.arena_bytes, self.max_payload, self.n_layers,
                               int(self.counter_kind), self.counter_hz, len(board)) + board

    @classmethod
    def unpack(cls, payload: bytes) -> Info:
        _need(payload, _INFO_HEAD.size, "INFO", exact=False)
        (version, mhash, in_bytes, out_count, arena, max_payload, n_layers, kind, hz,
         board_len) = _INFO_HEAD.unpack_from(payload)
        _need(payload, _INFO_HEAD.size + board_len, "INFO")
        try:
            counter_kind = CounterKind(kind)
        except ValueError:
            raise ProtocolError(f"INFO: unknown counter_kind {kind}") from None
        board = bytes(payload[_INFO_HEAD.size:]).decode("ascii", errors="replace")
        return cls(version, bytes(mhash), in_bytes, out_count, arena, max_payload, n_layers,
                   counter_kind, hz, board)

    @property
    def model_hash_hex(self) -> str:
        return self.model_hash.hex()


@dataclass(frozen=True)
class Result:
    MSG_TYPE: ClassVar[MsgType] = MsgType.RESULT
    count: int  # raw counter ticks around one inference
    top1: int
    outputs: tuple[int, ...]

    def pack(self) -> bytes:
        return struct.pack(f"<Ii{len(self.outputs)}i", self.count, self.top1, *self.outputs)

    @classmethod
    def unpack(cls, payload: bytes) -> Result:
        _need(payload, 8, "RESULT", exact=False)
        count, top1 = struct.unpack_from("<Ii", payload)
        return cls(count, top1, _int32s(payload[8:], "RESULT"))


@dataclass(frozen=True)
class ProfileResult:
    MSG_TYPE: ClassVar[MsgType] = MsgType.PROFILE_RESULT
    count: int
    top1: int
    layer_counts: tuple[int, ...]
    outputs: tuple[int, ...]

    @property
    def n_layers(self) -> int:
        return len(self.layer_counts)

    def pack(self) -> bytes:
        n, m = len(self.layer_counts), len(self.outputs)
        return struct.pack(f"<IiH{n}I{m}i", self.count, self.top1, n, *self.layer_counts, *self.outputs)

    @classmethod
    def unpack(cls, payload: bytes) -> ProfileResult:
        _need(payload, 10, "PROFILE_RESULT", exact=False)
        count, top1, n = struct.unpack_from("<IiH", payload)
        _need(payload, 10 + 4 * n, "PROFILE_RESULT", exact=False)
        layers = struct.unpack_from(f"<{n}I", payload, 10)
        return cls(count, top1, layers, _int32s(payload[10 + 4 * n :], "PROFILE_RESULT"))


@dataclass(frozen=True)
class Error:
    MSG_TYPE: ClassVar[MsgType] = MsgType.ERROR
    code: int  # an ErrorCode when known
    detail: int = 0

    def pack(self) -> bytes:
        return struct.pack("<BI", int(self.code), self.detail)

    @classmethod
    def unpack(cls, payload: bytes) -> Error:
        _need(payload, 5, "ERROR")
        code, detail = struct.unpack("<BI", payload)
        try:
            code = ErrorCode(code)
        except ValueError:
            pass
        return cls(code, detail)

    @property
    def name(self) -> str:
        return self.code.name if isinstance(self.code, ErrorCode) else f"code {self.code}"


Message = Hello | Shutdown | Infer | InferRle | Profile | Info | Result | ProfileResult | Error

MESSAGE_CLASSES: dict[int, type] = {
    cls.MSG_TYPE: cls
    for cls in (Hello, Shutdown, Stats, Infer, InferRle, Profile, Info, Result, ProfileResult, StatsResult, Error)
}


def encode_message(msg: Message, seq: int) -> bytes:
    """The wire bytes (with delimiter) of one message."""
    return encode_frame(msg.MSG_TYPE, seq, msg.pack())


def unpack_message(frame: Frame) -> Message:
    cls = MESSAGE_CLASSES.get(frame.type)
    if cls is None:
        raise ProtocolError(f"unknown message type 0x{frame.type:02x}")
    return cls.unpack(frame.payload)


def info_payload_bytes(board_len: int) -> int:
    return _INFO_HEAD.size + board_len


def result_payload_bytes(output_count: int) -> int:
    return 8 + 4 * output_count


def profile_payload_bytes(n_layers: int, output_count: int) -> int:
    return 10 + 4 * n_layers + 4 * output_count


ERROR_PAYLOAD_BYTES = 5
STATS_RESULT_PAYLOAD_BYTES = _STATS_RESULT.size


def max_payload_for(input_bytes: int, output_count: int, n_layers: int, board_len: int) -> int:
    """The max_payload a target advertises: the largest request or reply it handles."""
    return max(input_bytes, info_payload_bytes(board_len), result_payload_bytes(output_count),
               profile_payload_bytes(n_layers, output_count), ERROR_PAYLOAD_BYTES,
               STATS_RESULT_PAYLOAD_BYTES)


__all__ = [
    "CRC_BYTES",
    "ERROR_PAYLOAD_BYTES",
    "FRAME_OVERHEAD",
    "HEADER_BYTES",
    "HOST_SEQ_FIRST",
    "MESSAGE_CLASSES",
    "PROTOCOL_VERSION",
    "RLE_MIN_VERSION",
    "SEQ_UNKNOWN",
    "TRANSPORT_ERRORS",
    "CobsError",
    "CounterKind",
    "Error",
    "ErrorCode",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "Hello",
    "Infer",
    "InferRle",
    "Info",
    "Message",
    "MsgType",
    "Profile",
    "ProfileResult",
    "ProtocolError",
    "RleError",
    "Result",
    "Shutdown",
    "cobs_decode",
    "cobs_encode",
    "cobs_max",
    "crc32",
    "encode_frame",
    "encode_message",
    "frame_body",
    "info_payload_bytes",
    "max_payload_for",
    "profile_payload_bytes",
    "result_payload_bytes",
    "rle_decode",
    "rle_encode",
    "unpack_message",
]
