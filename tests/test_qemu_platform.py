"""Every platform in real QEMU: build firmware/tests/platform_selftest for each board with a qemu: block
(CMSDK, nRF and STM32 UART drivers on M0, M3, M4F, M7, M33 and M55 cores), boot it with bnn_mcu.qemu,
talk to it over socket:// and over a pty, check echo, exit codes, the fault handler, and that the
counter gives exactly the ticks-per-instruction -icount promises."""

from __future__ import annotations

import importlib.util
import logging
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import serial

from bnn_mcu import resources
from bnn_mcu.boards import Board, list_boards, load_board
from bnn_mcu.qemu import Qemu, QemuError

log = logging.getLogger(__name__)

pytestmark = pytest.mark.qemu

BOARDS = [b.name for b in list_boards() if b.qemu is not None]
SELFTEST_DIR = resources.firmware_dir() / "tests" / "platform_selftest"
EXIT_OK = 3  # the selftest's exit code after 'q'
EXIT_HARDFAULT = 100 + 3  # fault handler: 100 + IPSR
# Every byte value except the selftest's two commands ('q' quit, '!' fault).
PAYLOAD = bytes(b for b in range(256) if b not in b"q!") * 8
REPORT_RE = re.compile(rb"ticks n1=(\d+) t1=(\d+) n2=(\d+) t2=(\d+) untimed2=(\d+) hz=(\d+) kind=(\d+)\n")


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


def _selftest_build_module():
    spec = importlib.util.spec_from_file_location("selftest_build", SELFTEST_DIR / "build.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module", params=BOARDS)
def built(request, tmp_path_factory) -> tuple[Board, Path]:
    _need("cmake", "arm-none-eabi-gcc", "qemu-system-arm")
    board = load_board(request.param)
    build_dir = tmp_path_factory.mktemp(f"selftest-{board.name}")
    try:
        elf = _selftest_build_module().build(board.name, build_dir)
    except subprocess.CalledProcessError as e:
        pytest.fail(f"selftest build failed for {board.name}:\n{e.stdout}\n{e.stderr}")
    assert elf.is_file()
    return board, elf


def _quit_and_report(link, q: Qemu) -> dict[str, int]:
    link.write(b"q")
    line = link.read_until(b"\n")
    m = REPORT_RE.fullmatch(line)
    assert m, f"unexpected report line {line!r}; qemu stderr: {q.stderr_text}"
    link.write(b".")  # acknowledge: the selftest exits only after this (pty loses unread output on exit)
    rc = q.wait(timeout=10)
    assert rc == EXIT_OK, f"exit code {rc}; qemu stderr: {q.stderr_text}"
    keys = ("n1", "t1", "n2", "t2", "untimed2", "hz", "kind")
    return dict(zip(keys, map(int, m.groups())))


def _first_echo(link) -> float:
    """Echo one byte, resending it every 0.1 s: QEMU's STM32 USART drops bytes that arrive before the
    guest has enabled it (netduinoplus2), and with wait=on the guest starts only when we connect."""
    t0 = time.monotonic()
    old_timeout = link.timeout
    link.timeout = 0.1
    try:
        while time.monotonic() - t0 < 5:
            link.write(b"x")
            got = link.read(1)
            if got:
                assert got == b"x"
                time.sleep(0.2)
                link.reset_input_buffer()  # echoes of the resends
                return time.monotonic() - t0
    finally:
        link.timeout = old_timeout
    raise AssertionError("no echo within 5 s")


def _echo(link, payload: bytes) -> float:
    t0 = time.monotonic()
    link.write(payload)
    got = link.read(len(payload))
    assert got == payload
    return time.monotonic() - t0


def test_elf_layout(built):
    """Vector table at the flash origin, initial SP = top of RAM, loop body is exactly 2 instructions."""
    board, elf = built
    dis = subprocess.run(
        ["arm-none-eabi-objdump", "-d", str(elf)], check=True, capture_output=True, text=True
    ).stdout
    m = re.search(r"<selftest_spin>:\n((?:\s*[0-9a-f]+:.*\n)+)", dis)
    assert m, "selftest_spin not found in the disassembly"
    mnemonics = [line.split("\t")[2].split()[0] for line in m.group(1).splitlines() if line.count("\t") >= 2]
    assert mnemonics[:3] == ["subs", "bne.n", "bx"], mnemonics

    syms = subprocess.run(["arm-none-eabi-nm", str(elf)], check=True, capture_output=True, text=True).stdout
    addr = {
        parts[2]: int(parts[0], 16) for parts in (s.split() for s in syms.splitlines()) if len(parts) == 3
    }
    assert addr["cortex_m_vectors"] == board.flash_origin
    assert addr["_estack"] == board.ram_origin + board.ram_size
    assert addr["_estack"] - addr["_sstack"] == board.stack_size
    # No heap: nothing may pull in malloc.
    assert "malloc" not in addr and "_sbrk" not in addr


def test_echo_and_exit_over_socket(built):
    board, elf = built
    t0 = time.monotonic()
    with Qemu.for_board(board, elf) as q:
        assert q.url is not None and q.url.startswith("socket://127.0.0.1:")
        link = serial.serial_for_url(q.url, timeout=5)
        try:
            _first_echo(link)
            boot = time.monotonic() - t0
            seconds = _echo(link, PAYLOAD)
            report = _quit_and_report(link, q)
        finally:
            link.close()
    log.info(
        "%s: start to first echo %.3f s; echo %d B in %.3f s (%.0f B/s round trip)",
        board.name,
        boot,
        len(PAYLOAD),
        seconds,
        len(PAYLOAD) / seconds,
    )
    assert report["kind"] == board.counter_kind_id
    assert report["hz"] == board.clock_hz


def test_echo_and_exit_over_pty(built):
    board, elf = built
    with Qemu.for_board(board, elf, serial="pty") as q:
        assert q.port is not None and q.port.startswith("/dev/")
        link = serial.Serial(q.port, timeout=5)
        try:
            _first_echo(link)
            _echo(link, PAYLOAD[:300])
            _quit_and_report(link, q)
        finally:
            link.close()


def test_ticks_per_instruction(built):
    """Under -icount shift=N a timer at f Hz advances f * 2^N / 1e9 ticks per instruction (1.6 on mps2).

    selftest_spin(n) is 2n instructions plus a constant (checked in test_elf_layout), so the difference
    of two runs isolates the loop: it must match to within 2 ticks (QEMU's sub-tick rounding)."""
    board, elf = built
    assert board.qemu is not None
    with Qemu.for_board(board, elf) as q:
        link = serial.serial_for_url(q.url, timeout=5)
        try:
            _first_echo(link)
            r = _quit_and_report(link, q)
        finally:
            link.close()
    ticks_per_instruction = board.clock_hz * 2**board.qemu.icount_shift / 1e9
    instructions = 2 * (r["n2"] - r["n1"])
    measured = (r["t2"] - r["t1"]) / instructions
    log.info(
        "%s: %d ticks for %d instructions = %.6f ticks/instruction (expected %.3f); untimed +%d ticks",
        board.name,
        r["t2"] - r["t1"],
        instructions,
        measured,
        ticks_per_instruction,
        r["untimed2"] - r["t2"],
    )
    assert abs((r["t2"] - r["t1"]) - instructions * ticks_per_instruction) <= 2
    # The fixed cost (call, return, two counter reads) is a handful of instructions (~9 for a timer
    # register, ~23 for the SysTick with its wrap check).
    overhead = r["t1"] - 2 * r["n1"] * ticks_per_instruction
    assert 0 < overhead < 40 * ticks_per_instruction
    # Outside the timed region the 1 kHz SysTick runs and its interrupts add a little; inside it is off.
    # (Where the SysTick is the counter there is no keep-alive tick: both are equal to a tick.)
    if board.counter_source == "systick":
        assert abs(r["untimed2"] - r["t2"]) <= 2
    else:
        assert r["untimed2"] > r["t2"]


def test_first_bytes_do_not_stall(built):
    """qemu-notes: without a periodic guest timer ~40 % of boots stall ~1 s on the first host->guest bytes."""
    board, elf = built
    worst = 0.0
    boots = 6 if board.name in ("mps2-an385", "mps2-an386") else 3  # the suite's time: 3 on the rest
    for _ in range(boots):
        with Qemu.for_board(board, elf) as q:
            link = serial.serial_for_url(q.url, timeout=5)
            try:
                worst = max(worst, _first_echo(link))
                _quit_and_report(link, q)
            finally:
                link.close()
    log.info("%s: worst first-echo latency over %d boots: %.3f s", board.name, boots, worst)
    assert worst < 0.5


def test_uart_receive_interrupt_wakes_the_core(built, tmp_path):
    """The board file's BNN_UART_IRQ is the UART's receive interrupt: QEMU's interrupt log shows it taken
    (a wrong number still works, woken by the SysTick instead, so only this catches it)."""
    board, elf = built
    log_file = tmp_path / "int.log"
    extra = (*board.qemu.extra_args, "-d", "int", "-D", str(log_file))
    with Qemu.for_board(board, elf, extra_args=extra) as q:
        link = serial.serial_for_url(q.url, timeout=5)
        try:
            _first_echo(link)
            _echo(link, b"ping")
            _quit_and_report(link, q)
        finally:
            link.close()
    vector = 16 + int(board.defines["BNN_UART_IRQ"])
    assert re.search(rf"taking pending (non)?secure exception {vector}\b", log_file.read_text()), vector


def test_fault_handler_exits_with_100_plus_ipsr(built):
    board, elf = built
    with Qemu.for_board(board, elf) as q:
        link = serial.serial_for_url(q.url, timeout=5)
        try:
            _first_echo(link)
            link.write(b"!")
            rc = q.wait(timeout=10)
        finally:
            link.close()
    assert rc == EXIT_HARDFAULT
    assert "bnn: fault: exception 0x00000003" in q.stderr_text


def test_qemu_is_killed_when_the_host_never_connects(built):
    board, elf = built
    with Qemu.for_board(board, elf) as q:
        with pytest.raises(QemuError, match="did not exit within"):
            q.wait(timeout=0.3)  # wait=on: the guest never starts
        assert q.poll() is None
    assert q.poll() is not None


def test_qemu_is_killed_when_the_body_raises(built):
    board, elf = built
    with pytest.raises(RuntimeError), Qemu.for_board(board, elf) as q:
        raise RuntimeError("boom")
    assert q.poll() is not None


def test_unknown_machine_is_a_clear_error(built):
    _, elf = built
    expected = r"(?s)-M no-such-machine exited with code 1 .*unsupported machine type"
    with pytest.raises(QemuError, match=expected), Qemu(elf, machine="no-such-machine"):
        pass


def test_missing_qemu_binary_is_a_clear_error(tmp_path):
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"")
    expected = "qemu-system-nonexistent not found on PATH"
    with (
        pytest.raises(QemuError, match=expected),
        Qemu(elf, machine="mps2-an386", binary="qemu-system-nonexistent"),
    ):
        pass


def test_missing_elf_is_a_clear_error(tmp_path):
    with pytest.raises(QemuError, match="firmware not found"):
        Qemu(tmp_path / "nope.elf", machine="mps2-an386").start()


def test_board_without_qemu_block_cannot_be_emulated(tmp_path):
    text = (resources.boards_dir() / "mps2-an386.yaml").read_text()
    (tmp_path / "real.yaml").write_text(text[: text.index("qemu:")])
    with pytest.raises(QemuError, match="no qemu: block"):
        Qemu.for_board(load_board(tmp_path / "real.yaml"), tmp_path / "fw.elf")
