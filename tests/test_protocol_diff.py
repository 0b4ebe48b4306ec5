"""C <-> Python differential test of the receive path on random streams.

The same streams (garbage interleaved with valid frames, mutated frames, splices, oversize runs, lone
delimiters, non-canonical COBS ends) go to the C receiver (firmware/tests/fuzz/rx_dump.c, host gcc or clang
with ASan + UBSan, fed byte by byte) and to bnn_mcu.protocol.FrameDecoder (fed in random chunks). PROTOCOL.md
specifies the receiver's every output (event kind, error code and its precedence, detail, seq), so the two
must agree event for event, on everything. The one-shot COBS decoders are compared the same way (accept
with identical bytes, or both reject). There is no known legitimate difference between the two.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from bnn_mcu import protocol as P

ROOT = Path(__file__).resolve().parent.parent
FW = ROOT / "firmware"
PROTO_SRC = sorted((FW / "src" / "protocol").glob("*.c"))
CC = shutil.which("gcc") or shutil.which("clang")
STREAMS = 4000
SEGMENTS = 4000

pytestmark = pytest.mark.skipif(CC is None, reason="no host C compiler (gcc or clang) installed")


def build_rx_dump(out: Path, sources: list[Path]) -> Path:
    exe = out / "rx_dump"
    cmd = [CC, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-g", "-fsanitize=address,undefined",
           "-fno-sanitize-recover=all", f"-I{FW / 'include'}", str(FW / "tests" / "fuzz" / "rx_dump.c"),
           *map(str, sources), "-o", str(exe)]
    r = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert r.returncode == 0, f"build failed:\n{' '.join(cmd)}\n{r.stderr}"
    return exe


@pytest.fixture(scope="module")
def rx_dump(tmp_path_factory) -> Path:
    return build_rx_dump(tmp_path_factory.mktemp("rx_dump"), PROTO_SRC)


@pytest.fixture(scope="module")
def streams() -> list[tuple[int, bytes]]:
    rng = random.Random(20240605)
    return [rand_stream(rng) for _ in range(STREAMS)]


def run_c(exe: Path, lines: list[str]) -> list[list[str]]:
    """One list of output lines per input line (records end with '.')."""
    r = subprocess.run([str(exe)], input="\n".join(lines) + "\n", check=False, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    records, cur = [], []
    for line in r.stdout.splitlines():
        if line == ".":
            records.append(cur)
            cur = []
        else:
            cur.append(line)
    assert not cur and len(records) == len(lines)
    return records


def py_event_line(e: P.Frame | P.FrameError) -> str:
    """A Python event in rx_dump's format."""
    if isinstance(e, P.Frame):
        return f"F {e.type} {e.seq} {e.payload.hex() or '-'}"
    return f"E {int(e.code)} {e.detail} {e.seq}"


# ------------------------------------------------------------------------------------ stream maker
def rand_payload(rng: random.Random, n: int) -> bytes:
    style = rng.randrange(4)
    if style == 0:
        return rng.randbytes(n)
    if style == 1:
        return bytes(rng.choice((0, rng.randrange(256))) for _ in range(n))
    if style == 2:
        return bytes(n)
    return bytes(rng.randrange(1, 256) for _ in range(n))  # no zeros: full 254-byte groups


def rand_frame(rng: random.Random, max_payload: int) -> bytes:
    n = rng.choice([0, max_payload, max_payload + 1, rng.randrange(max_payload + 1), rng.randrange(248, 262),
                    max_payload + rng.randrange(2, 40)])
    wire = P.encode_frame(rng.randrange(256), rng.randrange(256), rand_payload(rng, n))
    return (b"\x00" + wire) if rng.random() < 0.5 else wire


def mutate(rng: random.Random, b: bytearray, max_payload: int) -> None:
    i = rng.randrange(len(b) + 1)
    op = rng.randrange(10)
    if op == 0 and i < len(b):
        b[i] ^= 1 << rng.randrange(8)
    elif op == 1 and i < len(b):
        b[i] = rng.randrange(256)
    elif op == 2:
        b.insert(i, rng.randrange(256))
    elif op == 3 and i < len(b):
        del b[i]
    elif op == 4:
        del b[i:]
    elif op == 5:
        b.insert(i, 0)
    elif op == 6 and b and b[-1] == 0:
        del b[-1]  # drop the delimiter: runs into the next piece
    elif op == 7 and b:
        b[len(b) - 1 : len(b) - 1] = b"\x01"  # a trailing 0x01 group: the non-canonical end, or one zero more
    elif op == 8:
        other = rand_frame(rng, max_payload)
        b[i:] = other[rng.randrange(len(other)) :]  # splice: the tail of another frame
    else:
        b[i:i] = bytes(rng.randrange(1, 256) for _ in range(max_payload + rng.randrange(7, 60)))  # oversize


def rand_stream(rng: random.Random) -> tuple[int, bytes]:
    max_payload = rng.choice([0, 1, 5, 16, 64, 248, 254, 300, 1000, rng.randrange(600)])
    out = bytearray()
    for _ in range(rng.randrange(1, 7)):
        kind = rng.randrange(7)
        if kind == 0:
            out += bytes(rng.randrange(256) if rng.random() < 0.9 else 0
                         for _ in range(rng.randrange(0, 200)))  # garbage, extra zeros
        elif kind == 1:
            out += b"\x00" * rng.randrange(1, 4)
        elif kind in (2, 3):
            out += rand_frame(rng, max_payload)
        elif kind == 4:
            out += P.cobs_encode(rand_payload(rng, rng.randrange(6))) + b"\x00"  # a body under 6 bytes
        else:
            b = bytearray(rand_frame(rng, max_payload))
            for _ in range(rng.randrange(1, 4)):
                mutate(rng, b, max_payload)
            out += b
    return max_payload, bytes(out)


def py_feed(max_payload: int, stream: bytes, rng: random.Random) -> list[str]:
    dec, events, i = P.FrameDecoder(max_payload), [], 0
    while i < len(stream):
        n = rng.randrange(1, 64)
        events += dec.feed(stream[i : i + n])
        i += n
    return [py_event_line(e) for e in events]


# -------------------------------------------------------------------------------------------- tests
def test_c_and_python_receivers_agree_on_random_streams(rx_dump, streams):
    rng = random.Random(1)  # chunking of the Python feed
    c_out = run_c(rx_dump, [f"R {mp} {s.hex()}" for mp, s in streams])
    seen: dict[str, int] = {}
    for k, ((mp, stream), c_events) in enumerate(zip(streams, c_out)):
        py_events = py_feed(mp, stream, rng)
        assert c_events == py_events, f"stream {k} (max_payload {mp}) differs:\n{stream.hex()}"
        for line in c_events:
            key = "frame" if line[0] == "F" else P.ErrorCode(int(line.split()[1])).name
            seen[key] = seen.get(key, 0) + 1
    # The streams reach every outcome, many times over, so agreement covers all of them.
    assert set(seen) == {"frame", "BAD_CRC", "TOO_LONG", "BAD_COBS", "SHORT"}, seen
    assert min(seen.values()) >= 100, seen
    print(f"\n{len(streams)} streams, {sum(map(len, c_out))} events agree: {seen}")


def test_differential_catches_a_c_mutant(tmp_path, streams):
    """A subtle C bug (the seq of an ERROR for a 2-byte body reported as 0) makes the streams differ."""
    old, new = "(len >= 2u) ? rx->buf[1]", "(len >= 3u) ? rx->buf[1]"
    src = FW / "src" / "protocol" / "bnn_frame.c"
    text = src.read_text()
    assert text.count(old) == 1, "mutation anchor moved: update this test"
    mutant = tmp_path / "bnn_frame.c"
    mutant.write_text(f'#line 1 "{src}"\n' + text.replace(old, new))
    exe = build_rx_dump(tmp_path, [mutant if p.name == "bnn_frame.c" else p for p in PROTO_SRC])
    c_out = run_c(exe, [f"R {mp} {s.hex()}" for mp, s in streams])
    rng = random.Random(1)
    differ = sum(c != py_feed(mp, s, rng) for (mp, s), c in zip(streams, c_out))
    assert differ >= 5, differ


def test_c_and_python_agree_on_the_vectors_streams(rx_dump):
    """The shared stream vectors, as a cross-check that rx_dump reports what the vectors pin."""
    vectors = json.loads((ROOT / "tests" / "vectors" / "protocol.json").read_text())["streams"]
    c_out = run_c(rx_dump, [f"R {v['max_payload']} {v['wire']}" for v in vectors])
    for v, c_events in zip(vectors, c_out):
        want = [f"F {e['type']} {e['seq']} {e['payload'] or '-'}" if e["kind"] == "frame"
                else f"E {e['code']} {e['detail']} {e['seq']}" for e in v["events"]]
        assert c_events == want, v["name"]


def rand_segment(rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:
        return rng.randbytes(rng.randrange(0, 300))  # may hold 0x00: both must reject
    enc = bytearray(P.cobs_encode(rand_payload(rng, rng.randrange(0, 600))))
    if kind == 1:
        return bytes(enc)
    if kind == 2:
        return bytes(enc) + b"\x01"  # non-canonical end
    for _ in range(rng.randrange(1, 3)):
        if not enc:
            break
        i = rng.randrange(len(enc))
        if rng.random() < 0.5:
            enc[i] = rng.randrange(1, 256)  # still no zero, structure changes
        else:
            del enc[i:]
    return bytes(enc)


def test_c_and_python_cobs_decoders_agree(rx_dump):
    rng = random.Random(7)
    segments = [rand_segment(rng) for _ in range(SEGMENTS)]
    c_out = run_c(rx_dump, [f"C {s.hex()}" for s in segments])
    accepted = rejected = 0
    for seg, (c_line,) in zip(segments, c_out):
        try:
            py_line = f"D {P.cobs_decode(seg).hex() or '-'}"
            accepted += 1
        except P.CobsError:
            py_line = "X"
            rejected += 1
        assert c_line == py_line, seg.hex()
    assert accepted >= SEGMENTS // 4 and rejected >= SEGMENTS // 10, (accepted, rejected)
