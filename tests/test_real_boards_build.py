"""Every real board (a board file without a qemu: block) builds from the shipped files: the toy model is
converted and cross-compiled with the board's generated linker script, clocks and drivers, and the ELF
has its vector table at the flash origin, its stack at the top of RAM, and fits the datasheet figures.
(Nothing here can run them: the on-target check is `bnn-mcu run --port auto` on the board.)"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from bnn_mcu.boards import list_boards
from bnn_mcu.cli import main

REAL_BOARDS = [b for b in list_boards() if b.qemu is None]


def test_the_issue_boards_are_there():
    by_name = {b.name: b for b in REAL_BOARDS}
    assert {"nucleo-f446re", "stm32f746g-disco", "nrf52840-dk", "nucleo-g071rb"} <= set(by_name)
    assert by_name["stm32f746g-disco"].caches
    assert by_name["nucleo-g071rb"].counter_source == "systick"  # no DWT on a Cortex-M0+
    for b in REAL_BOARDS:
        assert b.counter_kind == "cycles" and b.defines["BNN_SEMIHOSTING"] == 0
        assert b.serial.baud and b.serial.usb_ids and b.serial.wiring, b.name
        assert b.probe is not None and b.probe.pyocd_target, b.name
        assert b.datasheet is not None, b.name
        if b.cpu not in ("cortex-m0", "cortex-m0plus"):
            assert b.counter_source == "dwt", b.name


@pytest.fixture(scope="module", params=REAL_BOARDS, ids=[b.name for b in REAL_BOARDS])
def built(request, tmp_path_factory, toy_h5):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc is not installed")
    board = request.param
    out = tmp_path_factory.mktemp(f"real-{board.name}") / "toy"
    assert main(["convert", str(toy_h5), "-o", str(out), "--board", board.name]) == 0
    return board, out


def test_real_board_firmware_builds(built, capsys):
    board, project = built
    capsys.readouterr()
    assert main(["build", str(project), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert 1000 < res["flash_bytes"] <= board.flash_size and res["ram_bytes"] <= board.ram_size
    elf = project / "build" / "firmware.elf"
    syms = subprocess.run(["arm-none-eabi-nm", str(elf)], check=True, capture_output=True, text=True).stdout
    addr = {p[2]: int(p[0], 16) for p in (line.split() for line in syms.splitlines()) if len(p) == 3}
    assert addr["cortex_m_vectors"] == board.flash_origin
    assert addr["_estack"] == board.ram_origin + board.ram_size
    assert "mps2" not in "".join(addr) and "cortex_m_semihost_exit" not in addr  # no semihosting on a board
    image = (project / "build" / "firmware.bin").read_bytes()
    assert res["text"] <= len(image) <= res["text"] + res["data"] + 64  # flash image from the origin
    assert (project / "build" / "firmware.hex").read_text().startswith(":")
    # The linker script and the clocks come from the board file.
    ld = (project / "linker.ld").read_text()
    assert f"ORIGIN = 0x{board.flash_origin:08X}, LENGTH = 0x{board.flash_size:08X}" in ld
    cmake = (project / "CMakeLists.txt").read_text()
    assert f"BNN_CLOCK_HZ={board.clock_hz}" in cmake and f"BNN_UART_BAUD={board.serial.baud}" in cmake
    assert f"BNN_COUNTER_SRC_{board.counter_source.upper()}=1" in cmake
