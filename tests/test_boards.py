"""Board files: the shipped boards are valid, every invalid fixture is rejected naming its field."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from bnn_mcu import boards, resources
from bnn_mcu.boards import Board, BoardError, list_boards, load_board, render_linker_script

INVALID_DIR = Path(__file__).parent / "fixtures" / "boards_invalid"
INVALID = sorted(INVALID_DIR.glob("*.yaml"))


def test_shipped_boards_are_valid():
    found = {b.name: b for b in list_boards()}
    assert {"mps2-an385", "mps2-an386"} <= set(found)
    for b in found.values():
        assert b.path is not None and b.path.stem == b.name
        assert (resources.firmware_dir() / "platform" / b.platform).is_dir()


def test_mps2_an386_fields():
    b = load_board("mps2-an386")
    assert b.cpu == "cortex-m4f"
    assert b.cpu_flags == ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard")
    assert b.platform == "mps2"
    assert (b.flash_origin, b.flash_size) == (0, 4 * 1024 * 1024)
    assert (b.ram_origin, b.ram_size) == (0x20000000, 4 * 1024 * 1024)
    assert b.stack_size == 4096
    assert b.counter_kind == "instructions" and b.counter_kind_id == 1
    assert b.clock_hz == 25_000_000
    assert dict(b.defines) == {
        "BNN_CACHES": 0,
        "BNN_CLOCK_HZ": 25_000_000,
        "BNN_COUNTER_KIND": 1,
        "BNN_COUNTER_SRC_PLATFORM": 1,
        "BNN_NUM_IRQS": 32,
        "BNN_SEMIHOSTING": 1,
        "BNN_UART_BAUD": 115200,
        "BNN_UART_IRQ": 0,
        "MPS2_TIMER0_BASE": 0x40000000,
        "MPS2_UART0_BASE": 0x40004000,
    }
    assert b.platform_dirs == ("cortex_m", "mps2")
    assert b.counter_source == "platform" and b.irqs == 32 and not b.caches
    assert "-DMPS2_UART0_BASE=1073758208" in b.define_flags()
    assert b.qemu == boards.QemuSpec(machine="mps2-an386", icount_shift=6, extra_args=())


def test_mps2_an385_is_cortex_m3_on_the_same_platform():
    b3, b4 = load_board("mps2-an385"), load_board("mps2-an386")
    assert b3.cpu == "cortex-m3" and b3.cpu_flags == ("-mcpu=cortex-m3", "-mthumb")
    assert b3.platform == b4.platform
    assert b3.qemu is not None and b3.qemu.machine == "mps2-an385"


def test_board_is_frozen_and_hashable():
    b = load_board("mps2-an386")
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.ram_size = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        b.defines["X"] = 1  # type: ignore[index]
    assert hash(b) == hash(load_board("mps2-an386"))


def test_load_by_path_equals_load_by_name():
    by_name = load_board("mps2-an385")
    assert load_board(resources.boards_dir() / "mps2-an385.yaml") == by_name
    assert load_board(str(resources.boards_dir() / "mps2-an385.yaml")) == by_name


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(BoardError, match=r"unknown board 'nope'.*mps2-an386"):
        load_board("nope")
    with pytest.raises(BoardError, match="unknown board 'schema'"):
        load_board("schema")
    with pytest.raises(BoardError, match="not found"):
        load_board("does/not/exist.yaml")


def test_there_are_invalid_fixtures():
    names = {p.stem for p in INVALID}
    assert {"missing_field", "ram_size_not_int", "unknown_cpu", "flash_size_zero", "dwt_under_qemu",
            "dwt_on_cortex_m0", "caches_on_cortex_m4", "uart_irq_beyond_vectors", "uart_irq_missing",
            "ram_beyond_datasheet", "cycles_under_qemu"} <= names


def test_every_core_has_a_qemu_board():
    emulated = {b.cpu: b.name for b in list_boards() if b.qemu is not None}
    assert {"cortex-m0", "cortex-m3", "cortex-m4f", "cortex-m7f", "cortex-m33f", "cortex-m55"} <= set(emulated)
    names = {b.name for b in list_boards()}
    assert {"mps2-an500", "mps2-an505", "mps3-an547", "microbit", "netduinoplus2"} <= names
    for b in list_boards():
        if b.qemu is not None:
            assert b.qemu.machine == b.name  # board files of emulated boards are named after the machine
            assert b.defines["BNN_SEMIHOSTING"] == 1


def test_project_carries_its_board_file():
    b = load_board("microbit")
    assert b.project_files() == {"board.yaml": (resources.boards_dir() / "microbit.yaml").read_text()}
    assert b.platform_dirs == ("cortex_m", "nrf") and b.counter_source == "systick"
    assert b.datasheet is not None and b.datasheet[1:3] == (256 * 1024, 16 * 1024)


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_board_is_rejected_naming_file_and_field(path: Path):
    expected_field = re.search(r"^# expect: (\S+)", path.read_text(), re.MULTILINE)
    assert expected_field, f"{path} needs a '# expect: <field>' first line"
    with pytest.raises(BoardError) as info:
        load_board(path)
    msg = str(info.value)
    assert str(path) in msg
    assert f"'{expected_field.group(1)}'" in msg


def test_list_boards_rejects_a_directory_with_an_invalid_board(tmp_path: Path):
    shutil.copy(resources.boards_dir() / "mps2-an386.yaml", tmp_path)
    assert [b.name for b in list_boards(tmp_path)] == ["mps2-an386"]
    shutil.copy(INVALID_DIR / "unknown_cpu.yaml", tmp_path / "unknown_cpu.yaml")
    with pytest.raises(BoardError, match="unknown_cpu.yaml"):
        list_boards(tmp_path)


def test_name_must_match_file_name_in_a_boards_directory(tmp_path: Path):
    shutil.copy(resources.boards_dir() / "mps2-an386.yaml", tmp_path / "other.yaml")
    with pytest.raises(BoardError, match=r"field 'name': 'mps2-an386' must equal the file name 'other'"):
        list_boards(tmp_path)


def test_not_yaml_and_empty_files(tmp_path: Path):
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(BoardError, match="not valid YAML"):
        load_board(tmp_path / "bad.yaml")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(BoardError, match="empty board file"):
        load_board(tmp_path / "empty.yaml")


def test_board_without_qemu_block_is_valid(tmp_path: Path):
    text = (resources.boards_dir() / "mps2-an386.yaml").read_text()
    text = text[: text.index("qemu:")]
    (tmp_path / "real.yaml").write_text(text)
    b = load_board(tmp_path / "real.yaml")
    assert b.qemu is None


def test_linker_script_renders_the_board_layout():
    b: Board = load_board("mps2-an386")
    ld = render_linker_script(b)
    assert "FLASH (rx)  : ORIGIN = 0x00000000, LENGTH = 0x00400000" in ld
    assert "RAM   (rwx) : ORIGIN = 0x20000000, LENGTH = 0x00400000" in ld
    assert "STACK_SIZE = 0x00001000;" in ld
    for symbol in ("_estack", "_sidata", "_sdata", "_edata", "_sbss", "_ebss", "ASSERT(_ebss <= _sstack"):
        assert symbol in ld
    assert "{{" not in ld and "{%" not in ld


@pytest.mark.parametrize("board", list_boards(), ids=lambda b: b.name)
def test_every_board_renders_its_linker_script(board: Board):
    ld = render_linker_script(board)
    assert f"FLASH (rx)  : ORIGIN = 0x{board.flash_origin:08X}, LENGTH = 0x{board.flash_size:08X}" in ld
    assert f"RAM   (rwx) : ORIGIN = 0x{board.ram_origin:08X}, LENGTH = 0x{board.ram_size:08X}" in ld
    assert f"STACK_SIZE = 0x{board.stack_size:08X};" in ld
    if board.datasheet is not None:
        _part, flash, ram, _ref = board.datasheet
        assert board.flash_size <= flash and board.ram_size <= ram
