"""`bnn-mcu flash` and `run --port auto` without hardware: the command lines pyOCD/OpenOCD get, the probe
checks, and the serial-port detection by USB IDs, all against fakes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from bnn_mcu import flash as F
from bnn_mcu.boards import load_board
from bnn_mcu.build import Project
from bnn_mcu.cli import _resolve_serial, main
from bnn_mcu.errors import TargetError, UsageError


def fake_project(tmp_path: Path, board: str = "nucleo-f446re") -> Project:
    """A project directory with what flash/run read: bnn_project.json, board.yaml, build/firmware.elf."""
    b = load_board(board)
    proj = tmp_path / "proj"
    (proj / "build").mkdir(parents=True)
    (proj / "bnn_project.json").write_text(json.dumps({"board": b.name, "model_hash": "00" * 32}))
    (proj / "board.yaml").write_text(b.source_text)
    (proj / "build" / "firmware.elf").write_bytes(b"\x7fELF fake")
    return Project.load(proj)


class FakeRun:
    def __init__(self, returncode=0, stdout="", stderr=""):
        self.calls = []
        self.result = (returncode, stdout, stderr)

    def __call__(self, cmd, **kwargs):
        self.calls.append(cmd)
        rc, out, err = self.result
        return subprocess.CompletedProcess(cmd, rc, out, err)


ONE = [F.Probe("066DFF383032", "STM32 STLink")]
TWO = ONE + [F.Probe("000683000000", "J-Link OB-nRF5340")]


def test_pyocd_command_line():
    b = load_board("nucleo-f446re")
    cmd = F.flash_command(b, Path("/p/build/firmware.elf"), probe="066DFF383032")
    assert cmd[1:] == ["-m", "pyocd", "flash", "--target", "stm32f446retx", "--format", "elf",
                       "--uid", "066DFF383032", "/p/build/firmware.elf"]


def test_openocd_command_line():
    b = load_board("nrf52840-dk")
    cmd = F.flash_command(b, Path("/a b/firmware.elf"), tool="openocd", probe="683")
    assert cmd == ["openocd", "-f", "interface/jlink.cfg", "-f", "target/nrf52.cfg", "-c", "adapter serial 683",
                   "-c", "program {/a b/firmware.elf} verify reset exit"]


def test_flash_programs_the_only_probe(tmp_path):
    project = fake_project(tmp_path)
    run = FakeRun()
    res = F.flash(project, tool="pyocd", run=run, probes=lambda: ONE)
    assert res["probe"] == "066DFF383032" and res["board"] == "nucleo-f446re"
    assert run.calls == [res["command"]] and "--uid" in res["command"]
    assert res["command"][-1].endswith("build/firmware.elf")


def test_no_probe_is_a_clear_error(tmp_path):
    project = fake_project(tmp_path)
    run = FakeRun()
    with pytest.raises(TargetError, match="no debug probe found for nucleo-f446re") as info:
        F.flash(project, tool="pyocd", run=run, probes=lambda: [])
    assert info.value.exit_code == 7 and "ST-LINK, J-Link or CMSIS-DAP" in info.value.message
    assert run.calls == []  # nothing was started


def test_several_probes_need_one_named(tmp_path):
    project = fake_project(tmp_path)
    with pytest.raises(UsageError, match="several debug probes.*066DFF383032.*000683000000"):
        F.flash(project, tool="pyocd", run=FakeRun(), probes=lambda: TWO)
    run = FakeRun()
    res = F.flash(project, tool="pyocd", probe="000683000000", run=run, probes=lambda: TWO)
    assert res["command"][res["command"].index("--uid") + 1] == "000683000000"
    with pytest.raises(TargetError, match="probe 'nope' is not connected; connected: 066DFF383032"):
        F.flash(project, tool="pyocd", probe="nope", run=FakeRun(), probes=lambda: TWO)


def test_tool_failure_shows_its_output_and_the_pack_hint(tmp_path):
    project = fake_project(tmp_path)
    run = FakeRun(1, "", "0000 C Target type stm32f446retx not recognized. Use 'pyocd list --targets'")
    with pytest.raises(TargetError, match="(?s)pyocd failed .exit 1.*not recognized") as info:
        F.flash(project, tool="pyocd", run=run, probes=lambda: ONE)
    assert info.value.hint == "install the target's CMSIS pack once: pyocd pack install stm32f446retx"


def test_openocd_fallback_needs_no_probe_listing(tmp_path):
    project = fake_project(tmp_path, "nucleo-g071rb")
    run = FakeRun()
    res = F.flash(project, tool="openocd", run=run, probes=lambda: pytest.fail("pyOCD API used"))
    assert res["command"][:5] == ["openocd", "-f", "interface/stlink.cfg", "-f", "target/stm32g0x.cfg"]


def test_an_emulated_board_cannot_be_flashed(tmp_path):
    project = fake_project(tmp_path, "mps2-an386")
    with pytest.raises(UsageError, match="no probe: block.*runs in QEMU"):
        F.flash(project, tool="pyocd", run=FakeRun(), probes=lambda: ONE)


def test_flash_needs_a_build(tmp_path):
    project = fake_project(tmp_path)
    project.elf().unlink()
    with pytest.raises(UsageError, match="build it first"):
        F.flash(project, tool="pyocd", run=FakeRun(), probes=lambda: ONE)


def test_cli_flash_without_a_probe_exits_7(tmp_path, monkeypatch, capsys):
    project = fake_project(tmp_path)
    run = FakeRun()
    monkeypatch.setattr(F, "list_probes", lambda: [])
    monkeypatch.setattr(F.subprocess, "run", run)
    rc = main(["flash", str(project.path), "--tool", "pyocd"])
    err = capsys.readouterr().err
    assert rc == 7 and "no debug probe found" in err and "Traceback" not in err and run.calls == []


def test_cli_flash_json(tmp_path, monkeypatch, capsys):
    project = fake_project(tmp_path)
    run = FakeRun()
    monkeypatch.setattr(F, "list_probes", lambda: ONE)
    monkeypatch.setattr(F.subprocess, "run", run)
    assert main(["flash", str(project.path), "--tool", "pyocd", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["tool"] == "pyocd" and res["probe"] == "066DFF383032" and run.calls == [res["command"]]


def port(device, vid=None, pid=None):
    return SimpleNamespace(device=device, vid=vid, pid=pid)


def test_find_port_by_usb_ids():
    b = load_board("nucleo-f446re")
    ports = [port("/dev/ttyS0"), port("/dev/ttyACM0", 0x1366, 0x1015), port("/dev/ttyACM1", 0x0483, 0x374B)]
    assert F.find_port(b, comports=lambda: ports) == "/dev/ttyACM1"
    assert F.find_port(load_board("nrf52840-dk"), comports=lambda: ports) == "/dev/ttyACM0"


def test_find_port_none_or_several():
    b = load_board("nucleo-g071rb")
    with pytest.raises(TargetError, match=r"no serial port of a nucleo-g071rb found .*ports seen: /dev/ttyS0, "
                                          r"/dev/ttyACM0 \(1366:1015\)"):
        F.find_port(b, comports=lambda: [port("/dev/ttyS0"), port("/dev/ttyACM0", 0x1366, 0x1015)])
    two = [port("/dev/ttyACM3", 0x0483, 0x374B), port("/dev/ttyACM2", 0x0483, 0x374E)]
    with pytest.raises(UsageError, match="several nucleo-g071rb serial ports found: /dev/ttyACM2, /dev/ttyACM3"):
        F.find_port(b, comports=lambda: two)
    with pytest.raises(UsageError, match="lists no serial.usb_ids"):
        F.find_port(load_board("mps2-an386"), comports=lambda: two)


def test_run_port_auto_and_the_boards_baud(tmp_path, monkeypatch):
    from serial.tools import list_ports

    project = fake_project(tmp_path, "nrf52840-dk")
    monkeypatch.setattr(list_ports, "comports", lambda: [port("/dev/ttyACM7", 0x1366, 0x1051)])
    assert _resolve_serial(project, "auto", None) == ("/dev/ttyACM7", 115200)
    assert _resolve_serial(project, "/dev/ttyUSB0", 9600) == ("/dev/ttyUSB0", 9600)
    assert _resolve_serial(project, None, None) == (None, 115200)  # QEMU
