"""Every board QEMU can emulate, end to end: convert the toy model for it, build, boot it in QEMU, run
inputs over the emulated UART (CMSDK, nRF or STM32 driver) and compare every output with the reference
bit for bit. Also: a board file given as a path works through every verb, and a model too big for the
micro:bit is refused before building, with the numbers."""

from __future__ import annotations

import json
import shutil

import pytest

from bnn_mcu import resources
from bnn_mcu.boards import list_boards
from bnn_mcu.cli import main

pytestmark = pytest.mark.qemu

QEMU_BOARDS = [b for b in list_boards() if b.qemu is not None]


@pytest.fixture(scope="module", params=QEMU_BOARDS, ids=[b.name for b in QEMU_BOARDS])
def board_project(request, tmp_path_factory, toy_h5):
    """toy_h5 converted and built for one board (module scope: each board compiles once)."""
    board = request.param
    out = tmp_path_factory.mktemp(f"board-{board.name}") / "toy"
    assert main(["convert", str(toy_h5), "-o", str(out), "--board", board.name]) == 0
    assert main(["build", str(out)]) == 0
    return board, out


def test_toy_model_bit_exact_on_every_qemu_board(board_project, toy_inputs, capsys):
    board, project = board_project
    capsys.readouterr()
    rc = main(["run", str(project), "--inputs", str(toy_inputs), "--no-build", "--limit", "12", "--json"])
    s = json.loads(capsys.readouterr().out)
    assert rc == 0, s
    assert s["inputs"] == s["matches"] == 12 and s["mismatches"] == 0
    assert s["board"] == board.name and s["target"] == f"qemu:{board.qemu.machine}"
    assert s["count_unit"] == "instructions" and s["per_inference_mean"] > 1000
    assert 0 < s["stack_used_bytes"] < s["stack_size_bytes"] == board.stack_size
    assert s["flash_bytes"] <= board.flash_size and s["ram_bytes"] <= board.ram_size


def test_build_writes_bin_and_hex(board_project):
    board, project = board_project
    build = project / "build"
    image = (build / "firmware.bin").read_bytes()
    assert 1000 < len(image) < board.flash_size
    hex_lines = (build / "firmware.hex").read_text().splitlines()
    assert hex_lines[0].startswith(":") and hex_lines[-1] == ":00000001FF"


def test_board_file_given_as_a_path_works_in_every_verb(tmp_path, toy_h5, toy_inputs, capsys):
    """A board file outside boards/ (here: a copy under another name): convert, build, run and bench
    all use the project's own board.yaml, so nothing looks the name up."""
    text = (resources.boards_dir() / "mps2-an385.yaml").read_text().replace(
        "name: mps2-an385", "name: my-m3-board")
    board_file = tmp_path / "elsewhere" / "my-m3-board.yaml"
    board_file.parent.mkdir()
    board_file.write_text(text)
    out = tmp_path / "proj"
    assert main(["convert", str(toy_h5), "-o", str(out), "--board", str(board_file)]) == 0
    shutil.rmtree(board_file.parent)  # the project carries its board: the original may go away
    assert (out / "board.yaml").read_text() == text
    assert main(["build", str(out)]) == 0
    capsys.readouterr()
    assert main(["run", str(out), "--inputs", str(toy_inputs), "--limit", "3", "--no-build", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["board"] == "my-m3-board" and s["matches"] == 3
    assert main(["bench", str(out), "-n", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["board"] == "my-m3-board"


def test_model_too_big_for_the_microbit_is_refused_before_building(tmp_path, capsys):
    import models

    h5 = tmp_path / "big.h5"
    models.conv_model(input_shape=(48, 48, 3), c1=64, c2=32, units=64, seed=1).save(h5)  # ~17 KB arena
    out = tmp_path / "big"
    rc = main(["convert", str(h5), "-o", str(out), "--board", "microbit"])
    err = capsys.readouterr().err
    assert rc == 5, err
    assert "does not fit board 'microbit'" in err and "16,384" in err
    assert not (out / "build").exists()
