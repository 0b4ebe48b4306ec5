"""On a real board: convert, build, flash, then run over its UART and compare every output bit for bit.
Skipped unless a board is named: pytest tests/test_hardware.py --board nucleo-f446re --port /dev/ttyACM0
(--port auto finds it by USB IDs; --probe ID picks one of several debug probes)."""

from __future__ import annotations

import json

import pytest

from bnn_mcu.boards import load_board
from bnn_mcu.cli import main

pytestmark = pytest.mark.hardware


@pytest.fixture(scope="module")
def hardware(request):
    name = request.config.getoption("--board")
    if not name:
        pytest.skip("no hardware named: pytest --board BOARD --port DEVICE|auto")
    board = load_board(name)
    if board.qemu is not None:
        pytest.skip(f"{board.name} is emulated: tests/test_boards_qemu.py covers it")
    return board, request.config.getoption("--port"), request.config.getoption("--probe")


def test_toy_model_bit_exact_on_the_board(hardware, tmp_path, toy_h5, toy_inputs, capsys):
    board, port, probe = hardware
    out = tmp_path / "toy"
    assert main(["convert", str(toy_h5), "-o", str(out), "--board", board.name]) == 0
    assert main(["build", str(out)]) == 0
    assert main(["flash", str(out)] + (["--probe", probe] if probe else [])) == 0
    capsys.readouterr()
    rc = main(["run", str(out), "--inputs", str(toy_inputs), "--port", port, "--json"])
    s = json.loads(capsys.readouterr().out)
    assert rc == 0, s
    assert s["matches"] == s["inputs"] == 40
    assert s["count_unit"] == "cycles" and s["per_inference_mean"] > 1000
    assert 0 < s["stack_used_bytes"] < s["stack_size_bytes"]
