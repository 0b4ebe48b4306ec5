"""Talk to a bnn-mcu target over a serial link (docs/PROTOCOL.md, "Host behaviour").

:class:`Link` wraps any pyserial-like object (``read(n)``, ``write(b)``, a ``timeout`` attribute,
optionally ``in_waiting`` and ``close()``): a ``serial.Serial``, a ``serial_for_url("socket://...")``
object, or a :class:`PipeTransport` around a subprocess (the host build of the firmware).

Behaviour, in one place:

* Every request goes out as ``00 COBS(frame) 00``: the leading delimiter flushes any partial frame
  (line noise, a half-sent earlier request) out of the target's receiver.
* Replies are read up to their 0x00 delimiter, never by assumed length. Bad incoming frames are logged
  and dropped; frames whose seq is not the request's (late replies to earlier attempts, our own echo on
  ``loop://``) are dropped.
* Host seqs run 1..255 and never 0: the target uses seq 0 for an ERROR it cannot attribute.
* On a transport ERROR from the target (BAD_CRC, TOO_LONG, BAD_COBS, SHORT), a malformed reply or a
  timeout: send a lone 0x00, retry once with a new seq, then raise :class:`LinkError` saying what
  happened. ERRORs about a well-received request (BAD_LENGTH, UNKNOWN_TYPE, MODEL_FAILED) raise
  :class:`TargetReplyError` at once: a retry would get the same answer.
* ``hello()`` retries more (QEMU may drop or stall the first bytes): never synchronise on a banner.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import select
import socket
import subprocess
import termios
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import serial

from bnn_mcu import errors

if TYPE_CHECKING:
    from typing_extensions import Self

from bnn_mcu.protocol import (
    FRAME_OVERHEAD,
    HOST_SEQ_FIRST,
    RLE_MIN_VERSION,
    TRANSPORT_ERRORS,
    Error,
    ErrorCode,
    Frame,
    FrameDecoder,
    FrameError,
    Info,
    MsgType,
    ProfileResult,
    ProtocolError,
    Result,
    RleError,
    StatsResult,
    encode_frame,
    rle_decode,
    rle_encode,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0  # seconds per request attempt (an inference under QEMU included)
DEFAULT_HELLO_TIMEOUT = 1.0  # seconds per HELLO attempt (covers QEMU's ~1 s first-bytes stall)
DEFAULT_MAX_PAYLOAD = 1 << 20  # host-side receive limit; far above what any MCU target sends
POLL_INTERVAL = 0.05  # transport read timeout; bounds how far a deadline can be overshot


class LinkError(errors.TargetError):
    """The target did not answer a request correctly (timeout, repeated bad frames, link lost)."""


class TargetReplyError(LinkError):
    """The target answered a request with ERROR."""

    def __init__(self, message: str, code: ErrorCode | int, detail: int):
        super().__init__(message)
        self.code = code
        self.detail = detail


# Inputs: bytes, bytearray, memoryview or a numpy uint8 array.


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    tobytes = getattr(data, "tobytes", None)
    if tobytes is not None:  # numpy array: require uint8 so 784 int64 values are not sent as 6272 bytes
        dtype = getattr(data, "dtype", None)
        if dtype is not None and getattr(dtype, "itemsize", 1) != 1:
            raise TypeError(f"input must be uint8 bytes, got an array of {dtype}")
        return tobytes()
    return bytes(data)


# ------------------------------------------------------------------------------------ PipeTransport
class PipeTransport:
    """pyserial-like transport over a subprocess's stdin (we write) and stdout (we read).

    ``read(n)`` follows pyserial: it blocks until n bytes arrived or ``timeout`` seconds passed
    (``None`` = forever, 0 = non-blocking) and returns what it has. When the child closed its stdout
    and nothing is buffered, ``read`` raises ``ConnectionError``.
    """

    def __init__(self, proc: subprocess.Popen, timeout: float | None = 1.0):
        if proc.stdin is None or proc.stdout is None:
            raise ValueError("the process needs stdin=PIPE and stdout=PIPE")
        self.proc = proc
        self.timeout = timeout
        self._rfd = proc.stdout.fileno()
        self._wfd = proc.stdin.fileno()
        self._buf = bytearray()
        self._eof = False
        self.is_open = True

    @classmethod
    def spawn(cls, argv: Sequence[str], *, timeout: float | None = 1.0, stderr: Any = None,
              **popen_kwargs: Any) -> PipeTransport:
        proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                bufsize=0, **popen_kwargs)
        return cls(proc, timeout=timeout)

    @property
    def in_waiting(self) -> int:
        avail = bytearray(4)
        try:
            fcntl.ioctl(self._rfd, termios.FIONREAD, avail)
        except OSError:
            return len(self._buf)
        return len(self._buf) + int.from_bytes(avail, "little")

    def _fill(self, wait: float | None) -> None:
        if self._eof:
            return
        ready, _, _ = select.select([self._rfd], [], [], wait)
        if not ready:
            return
        chunk = os.read(self._rfd, 65536)
        if chunk:
            self._buf += chunk
        else:
            self._eof = True

    def read(self, size: int = 1) -> bytes:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while len(self._buf) < size and not self._eof:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            self._fill(wait)
            if deadline is not None and time.monotonic() >= deadline:
                break
        if not self._buf and self._eof:
            raise ConnectionError(f"target process closed its output (exit status {self.proc.poll()})")
        out = bytes(self._buf[:size])
        del self._buf[:size]
        return out

    def write(self, data: bytes) -> int:
        view = memoryview(bytes(data))
        try:
            while view:
                n = os.write(self._wfd, view)
                view = view[n:]
        except BrokenPipeError as exc:
            raise ConnectionError("target process closed its input") from exc
        return len(data)

    def fileno(self) -> int:
        """The descriptor to select() on for reading (what pyserial's fileno() means too)."""
        return self._rfd

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        self._buf.clear()

    def close(self, wait: float = 2.0) -> int | None:
        """Close stdin (the target sees EOF and exits), wait for it, kill it if it does not. Returns its
        exit status."""
        if not self.is_open:
            return self.proc.poll()
        self.is_open = False
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError as exc:
                if exc.errno != errno.EPIPE:
                    raise
        try:
            return self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            log.warning("target process %d did not exit; killing it", self.proc.pid)
            self.proc.kill()
            return self.proc.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------- Link
class Link:
    """Requests and replies over one transport. Not thread-safe."""

    def __init__(self, transport: Any, *, timeout: float = DEFAULT_TIMEOUT,
                 max_payload: int = DEFAULT_MAX_PAYLOAD, poll_interval: float = POLL_INTERVAL,
                 rle: bool = True):
        self.transport = transport
        self.rle = rle  # send INFER_RLE where the target supports it and it is shorter
        self.rle_bytes_saved = 0  # input bytes the RLE kept off the wire
        self.wire_input_bytes = 0  # INFER / INFER_RLE payload bytes sent
        self.timeout = timeout
        self.poll_interval = poll_interval
        # With a file descriptor (serial device, socket://, PipeTransport) Link waits in select() and
        # then reads everything available without blocking (timeout 0); pyserial's socket in_waiting
        # says only 0 or 1, so byte-count-driven reads would fetch one byte per call. Without one
        # (loop://, test doubles) it falls back to blocking reads of poll_interval.
        self._fd: int | None = None
        try:
            self._fd = transport.fileno()
        except (AttributeError, OSError, ValueError, NotImplementedError, serial.SerialException):
            self._fd = None
        transport.timeout = 0 if self._fd is not None else poll_interval
        self.info: Info | None = None
        self.last_round_trip: float | None = None  # seconds, request sent -> reply decoded
        self.rx_errors = 0  # bad frames received from the target
        self.dropped = 0  # valid frames dropped (wrong seq or type)
        self.retries = 0  # request attempts after the first
        self._decoder = FrameDecoder(max_payload)
        self._events: deque = deque()
        self._seq = HOST_SEQ_FIRST - 1

    # -- context manager -------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()

    # -- requests --------------------------------------------------------------------------------
    def hello(self, retries: int = 5, timeout: float = DEFAULT_HELLO_TIMEOUT) -> Info:
        """Handshake: HELLO -> INFO, up to 1 + retries attempts of ``timeout`` seconds each."""
        frame = self._request(MsgType.HELLO, b"", MsgType.INFO, attempts=1 + retries, timeout=timeout)
        info = self._unpack(Info, frame)
        self.info = info
        log.info("target %s: protocol %d, model %s, input %d B, %d outputs, %d layers, counter %s @ %d Hz",
                 info.board, info.protocol_version, info.model_hash.hex(), info.input_bytes,
                 info.output_count, info.n_layers, info.counter_kind.name, info.counter_hz)
        return info

    def infer(self, input: Any) -> Result:
        """INFER -> RESULT: the int32 outputs, top-1 and raw counter ticks of one inference.

        The input goes as INFER_RLE when the target speaks protocol 2 and the encoding is shorter
        (and expands in the target's buffer); otherwise as plain INFER. The reply is the same."""
        data = self._check_input(input)
        msg_type, payload = self._infer_request(data)
        self.wire_input_bytes += len(payload)
        frame = self._request(msg_type, payload, MsgType.RESULT)
        result = self._unpack(Result, frame)
        self._check_outputs("RESULT", result.outputs)
        return result

    def infer_many(self, inputs: Iterable[tuple[Any, Any]], window: int = 2) -> Iterator[tuple[Any, Result]]:
        """Pipelined INFER: for each ``(key, input)`` yield ``(key, Result)``, in order, with up to
        ``window`` requests in flight, so the target finds its next input waiting when it finishes one
        (the host's turnaround no longer idles it). Inputs are taken from ``inputs`` lazily.

        Recovery keeps the single-request rules (docs/PROTOCOL.md, "Host behaviour"): a reply that is
        an ERROR for a request that arrived intact raises :class:`TargetReplyError`; a transport error
        or a timeout on the oldest request makes every request still in flight go again one at a time
        with new seqs (flush, retry once each); replies to the old seqs are dropped as stale."""
        if window < 1:
            raise ValueError("window must be at least 1")
        pending: deque = deque()  # (key, seq, msg type, payload, sent at)
        source = iter(inputs)
        more = True
        last = time.monotonic()
        while True:
            while more and len(pending) < window:
                item = next(source, None)
                if item is None:
                    more = False
                    break
                key, data = item
                msg_type, payload = self._infer_request(self._check_input(data))
                self.wire_input_bytes += len(payload)
                seq = self.next_seq()
                self.send_frame(msg_type, seq, payload)
                pending.append((key, seq, msg_type, payload, time.monotonic()))
            if not pending:
                return
            key, seq, msg_type, payload, sent = pending[0]
            # the target answers in order: the oldest request has `timeout` from when it could start
            frame = self._await_reply(seq, MsgType.RESULT, max(sent, last) + self.timeout)
            if frame is not None and frame.type == MsgType.RESULT:
                pending.popleft()
                last = time.monotonic()
                yield key, self._result(frame)
                continue
            if frame is not None:
                err = self._unpack(Error, frame)
                if err.code not in TRANSPORT_ERRORS:
                    raise TargetReplyError(f"{msg_type.name} seq {seq}: target answered ERROR {err.name} "
                                           f"(detail {err.detail})", err.code, err.detail)
                problem = f"target answered ERROR {err.name} (detail {err.detail})"
            else:
                problem = f"no reply within {self.timeout:g} s"
            log.warning("pipelined %s seq %d: %s; sending the %d requests in flight again one by one",
                        msg_type.name, seq, problem, len(pending))
            while pending:
                key, _seq, msg_type, payload, _sent = pending.popleft()
                yield key, self._result(self._request(msg_type, payload, MsgType.RESULT, flush_first=True))
            last = time.monotonic()

    def _result(self, frame: Frame) -> Result:
        result = self._unpack(Result, frame)
        self._check_outputs("RESULT", result.outputs)
        return result

    def profile(self, input: Any) -> ProfileResult:
        """PROFILE -> PROFILE_RESULT: as infer(), plus raw counter ticks per layer."""
        data = self._check_input(input)
        frame = self._request(MsgType.PROFILE, data, MsgType.PROFILE_RESULT)
        result = self._unpack(ProfileResult, frame)
        self._check_outputs("PROFILE_RESULT", result.outputs)
        if self.info is not None and result.n_layers != self.info.n_layers:
            raise LinkError(f"PROFILE_RESULT has {result.n_layers} layers, INFO said {self.info.n_layers}")
        return result

    def stats(self) -> StatsResult:
        """STATS -> STATS_RESULT: the target's stack high-water mark and stack reserve (bytes)."""
        return self._unpack(StatsResult, self._request(MsgType.STATS, b"", MsgType.STATS_RESULT))

    def shutdown(self) -> None:
        """Ask the target to exit (no reply: QEMU then exits with status 0)."""
        self.send_frame(MsgType.SHUTDOWN, self.next_seq())

    # -- low level (also for tests and debugging) ------------------------------------------------
    def next_seq(self) -> int:
        self._seq = self._seq % 255 + 1  # 1..255, never 0
        return self._seq

    def send_raw(self, data: bytes) -> None:
        try:
            self.transport.write(bytes(data))
            flush = getattr(self.transport, "flush", None)
            if flush is not None:
                flush()
        except (OSError, serial.SerialException) as exc:
            raise LinkError(f"serial link lost while writing: {exc}") from exc

    def send_frame(self, type: int, seq: int, payload: bytes = b"") -> None:
        """Send ``00 COBS(frame) 00`` (the leading delimiter flushes a partial frame on the target)."""
        self.send_raw(b"\x00" + encode_frame(type, seq, payload))

    def read_event(self, timeout: float | None = None) -> Frame | FrameError | None:
        """The next complete frame or receive error from the target, or None after ``timeout`` s."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self._events:
            if time.monotonic() >= deadline:
                return None
            self._poll()
        return self._events.popleft()

    def read_frame(self, timeout: float | None = None) -> Frame | None:
        """The next valid frame (bad ones are logged and dropped), or None after ``timeout`` s."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            event = self.read_event(max(0.0, deadline - time.monotonic()))
            if event is None or isinstance(event, Frame):
                return event
            self.rx_errors += 1
            log.warning("bad frame from target: %s (detail %d, seq %d)", event.code.name, event.detail,
                        event.seq)

    # -- internals -------------------------------------------------------------------------------
    def _poll(self) -> None:
        try:
            if self._fd is not None:
                if not getattr(self.transport, "in_waiting", 0):
                    ready, _, _ = select.select([self._fd], [], [], self.poll_interval)
                    if not ready:
                        return
                chunk = self.transport.read(65536)  # timeout 0: whatever is there now
            else:
                chunk = self.transport.read(max(1, getattr(self.transport, "in_waiting", 0) or 0))
        except (OSError, serial.SerialException) as exc:
            raise LinkError(f"serial link lost while reading: {exc}") from exc
        if chunk:
            self._events.extend(self._decoder.feed(chunk))

    def _infer_request(self, data: bytes) -> tuple[MsgType, bytes]:
        info = self.info
        if not self.rle or info is None or info.protocol_version < RLE_MIN_VERSION:
            return MsgType.INFER, data
        encoded = rle_encode(data)
        if len(encoded) >= len(data):
            return MsgType.INFER, data
        try:
            rle_decode(encoded, len(data), buffer=info.max_payload + FRAME_OVERHEAD)
        except RleError:  # would not expand in place in this target's buffer
            return MsgType.INFER, data
        self.rle_bytes_saved += len(data) - len(encoded)
        return MsgType.INFER_RLE, encoded

    def _check_input(self, input: Any) -> bytes:
        data = _as_bytes(input)
        if self.info is not None and len(data) != self.info.input_bytes:
            raise LinkError(f"input has {len(data)} bytes, the target's model takes {self.info.input_bytes}")
        return data

    def _check_outputs(self, what: str, outputs: tuple) -> None:
        if self.info is not None and len(outputs) != self.info.output_count:
            raise LinkError(f"{what} has {len(outputs)} outputs, INFO said {self.info.output_count}")

    @staticmethod
    def _unpack(msg_class: Any, frame: Frame) -> Any:
        try:
            return msg_class.unpack(frame.payload)
        except ProtocolError as exc:  # cannot happen with a valid CRC unless the firmware is wrong
            raise LinkError(f"malformed {msg_class.__name__} from target: {exc}") from exc

    def _await_reply(self, seq: int, expect: MsgType, deadline: float) -> Frame | None:
        while True:
            frame = self.read_frame(max(0.0, deadline - time.monotonic()))
            if frame is None:
                return None
            if frame.seq == seq and frame.type in (expect, MsgType.ERROR):
                return frame
            self.dropped += 1
            if frame.type == MsgType.ERROR and frame.seq == 0:
                log.warning("target reports an unattributable bad frame: %s", _describe_error(frame))
            else:
                log.debug("dropping frame type 0x%02x seq %d while waiting for 0x%02x seq %d",
                          frame.type, frame.seq, expect, seq)

    def _request(self, msg_type: MsgType, payload: bytes, expect: MsgType, *, attempts: int = 2,
                 timeout: float | None = None, flush_first: bool = False) -> Frame:
        timeout = self.timeout if timeout is None else timeout
        problems: list[str] = []
        for attempt in range(attempts):
            seq = self.next_seq()
            start = time.monotonic()
            if attempt or flush_first:  # a lone 0x00 flushes whatever the target holds; then the request
                self.retries += 1
                self.send_raw(b"\x00" + b"\x00" + encode_frame(msg_type, seq, payload))
            else:
                self.send_frame(msg_type, seq, payload)
            frame = self._await_reply(seq, expect, start + timeout)
            if frame is None:
                problem = f"no reply within {timeout:g} s"
            elif frame.type == MsgType.ERROR:
                err = self._unpack(Error, frame)
                problem = f"target answered ERROR {err.name} (detail {err.detail})"
                if err.code not in TRANSPORT_ERRORS:  # the request arrived intact: final answer
                    raise TargetReplyError(f"{msg_type.name} seq {seq}: {problem}", err.code, err.detail)
            else:
                self.last_round_trip = time.monotonic() - start
                if attempt:
                    log.info("%s succeeded on attempt %d", msg_type.name, attempt + 1)
                return frame
            problems.append(f"attempt {attempt + 1} (seq {seq}): {problem}")
            log.warning("%s attempt %d/%d: %s", msg_type.name, attempt + 1, attempts, problem)
        raise LinkError(f"{msg_type.name} failed after {attempts} attempts: " + "; ".join(problems))


def _describe_error(frame: Frame) -> str:
    try:
        err = Error.unpack(frame.payload)
    except ProtocolError:
        return f"malformed ERROR payload {frame.payload.hex()}"
    return f"{err.name} (detail {err.detail})"


def open_link(url_or_port: str, baudrate: int = 115200, timeout: float = DEFAULT_TIMEOUT,
              **link_kwargs: Any) -> Link:
    """Open a Link on a URL (``socket://host:port``, ``loop://``, any pyserial URL) or a device path
    (``/dev/ttyACM0``, ``/dev/pts/N``). ``timeout`` is per request attempt."""
    try:
        if "://" in url_or_port:
            transport = serial.serial_for_url(url_or_port, baudrate=baudrate, timeout=POLL_INTERVAL)
        else:
            transport = serial.Serial(url_or_port, baudrate=baudrate, timeout=POLL_INTERVAL)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise LinkError(f"cannot open serial link {url_or_port!r}: {exc}") from exc
    sock = getattr(transport, "_socket", None)  # pyserial socket:// leaves Nagle on: ~40 ms stalls
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:  # pragma: no cover - not a TCP socket
            log.debug("cannot set TCP_NODELAY: %s", exc)
    return Link(transport, timeout=timeout, **link_kwargs)


__all__ = [
    "DEFAULT_HELLO_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "Link",
    "LinkError",
    "PipeTransport",
    "TargetReplyError",
    "open_link",
]
