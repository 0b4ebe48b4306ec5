"""Program a real board, and find its serial port.

    flash(Project.load("out/m"))                 # pyOCD: the board file's probe.pyocd_target
    flash(project, probe="0671FF3833...")        # one probe of several (its unique ID)
    flash(project, tool="openocd")               # OpenOCD with the board file's probe.openocd_config
    find_port(board)                             # "/dev/ttyACM0": the debugger's virtual COM port

pyOCD speaks ST-Link, CMSIS-DAP and J-Link; it is driven through its command line (``python -m pyocd
flash``), the probes are listed through its Python API. Targets that pyOCD does not know built in
(most STM32s) need their CMSIS pack once: ``pyocd pack install <part>`` (the error says which).
OpenOCD is the fallback: chosen with ``tool="openocd"``, or automatically when pyOCD is not installed
and ``openocd`` is on PATH.

The serial port is found with pyserial's ``list_ports`` by the USB vendor:product IDs the board file
lists under ``serial.usb_ids`` (the on-board debugger's virtual COM port).

Everything that touches hardware is injectable (``run``, ``probes``, ``comports``), so the command lines
and the port detection are tested against fakes (tests/test_flash.py).
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import TargetError, UsageError

log = logging.getLogger(__name__)

__all__ = ["FlashError", "Probe", "find_port", "flash", "flash_command", "list_probes", "pick_tool"]

TOOLS = ("pyocd", "openocd")


class FlashError(TargetError):
    """No probe, the wrong probe, or the flash tool failed (exit code 7, like other target failures)."""


@dataclass(frozen=True)
class Probe:
    unique_id: str
    description: str


def list_probes() -> list[Probe]:
    """Debug probes connected now, through pyOCD's API (empty if pyOCD is not installed)."""
    try:
        from pyocd.core.helpers import ConnectHelper
    except ImportError:
        return []
    return [Probe(p.unique_id, p.description) for p in ConnectHelper.get_all_connected_probes(blocking=False)]


def pick_tool(board, tool: str | None = None) -> str:
    """The flash tool to use: ``tool`` if given, pyOCD if installed, else OpenOCD if configured and on PATH."""
    if tool is not None:
        if tool not in TOOLS:
            raise UsageError(f"unknown flash tool '{tool}' (known: {', '.join(TOOLS)})")
        return tool
    if importlib.util.find_spec("pyocd") is not None:
        return "pyocd"
    if board.probe is not None and board.probe.openocd_config and shutil.which("openocd"):
        return "openocd"
    raise FlashError("neither pyOCD nor OpenOCD is available to program the board",
                     hint="pip install pyocd (or install OpenOCD)")


def flash_command(board, elf: Path, *, tool: str = "pyocd", probe: str | None = None) -> list[str]:
    """The command line that programs ``elf`` into ``board`` (and resets it)."""
    if board.probe is None:
        raise UsageError(f"board '{board.name}' has no probe: block, so bnn-mcu cannot flash it"
                         + (" (it runs in QEMU: bnn-mcu run PROJECT)" if board.qemu else ""))
    if tool == "pyocd":
        cmd = [sys.executable, "-m", "pyocd", "flash", "--target", board.probe.pyocd_target, "--format", "elf"]
        if probe:
            cmd += ["--uid", probe]
        return cmd + [str(elf)]
    if tool == "openocd":
        if not board.probe.openocd_config:
            raise UsageError(f"board '{board.name}' names no OpenOCD scripts (probe.openocd_config)")
        cmd = ["openocd"]
        for script in board.probe.openocd_config:
            cmd += ["-f", script]
        if probe:
            cmd += ["-c", f"adapter serial {probe}"]
        # OpenOCD's own quoting: a path with spaces must be in braces inside the command.
        return cmd + ["-c", f"program {{{elf}}} verify reset exit"]
    raise UsageError(f"unknown flash tool '{tool}' (known: {', '.join(TOOLS)})")


def flash(project, *, probe: str | None = None, tool: str | None = None,
          run: Callable[..., subprocess.CompletedProcess] | None = None,
          probes: Callable[[], list[Probe]] | None = None) -> dict:
    """Program the project's built firmware into its board. Returns what was done (for ``--json``).

    With pyOCD the probe is checked first: none connected, an unknown ``probe``, or several without
    ``probe`` are clear errors before anything runs. ``run`` (default ``subprocess.run``) and ``probes``
    (default :func:`list_probes`) are for tests.
    """
    run = run or subprocess.run
    probes = probes or list_probes
    board = project.board()
    elf = project.elf()
    if not elf.is_file():
        raise UsageError(f"{elf} does not exist; build it first with 'bnn-mcu build {project.path}'")
    tool = pick_tool(board, tool)
    cmd = flash_command(board, elf, tool=tool, probe=probe)  # refuses a board without a probe block
    if tool == "pyocd":
        found = probes()
        if not found:
            raise FlashError(f"no debug probe found for {board.name}: connect the USB port of its on-board "
                             "debugger (ST-LINK, J-Link or CMSIS-DAP)",
                             hint="check the cable and the udev permissions; 'pyocd list' shows what pyOCD sees")
        ids = [p.unique_id for p in found]
        if probe is not None and probe not in ids:
            raise FlashError(f"probe '{probe}' is not connected; connected: " + _describe(found))
        if probe is None and len(found) > 1:
            raise UsageError("several debug probes are connected; pick one with --probe ID: " + _describe(found))
        probe = probe or ids[0]
        cmd = flash_command(board, elf, tool=tool, probe=probe)
    log.info("flashing: %s", " ".join(cmd))
    try:
        proc = run(cmd, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise FlashError(f"{cmd[0]} is not installed") from exc
    if proc.returncode != 0:
        out = "\n".join(((proc.stdout or "") + (proc.stderr or "")).strip().splitlines()[-15:])
        hint = None
        if tool == "pyocd" and "not recognized" in out.lower():
            hint = f"install the target's CMSIS pack once: pyocd pack install {board.probe.pyocd_target}"
        raise FlashError(f"{tool} failed (exit {proc.returncode}) programming {board.name}:\n{out}", hint=hint)
    return {"project": str(project.path), "board": board.name, "tool": tool, "probe": probe,
            "firmware": str(elf), "command": cmd}


def _describe(found: Sequence[Probe]) -> str:
    return "; ".join(f"{p.unique_id} ({p.description})" for p in found)


def find_port(board, comports: Callable[[], list] | None = None) -> str:
    """The serial device of ``board``'s debugger, found by the USB IDs in its board file."""
    if comports is None:
        from serial.tools import list_ports

        comports = list_ports.comports
    wanted = {tuple(int(x, 16) for x in ids.split(":")) for ids in board.serial.usb_ids}
    if not wanted:
        raise UsageError(f"board '{board.name}' lists no serial.usb_ids, so --port auto cannot find it; "
                         "give the device, e.g. --port /dev/ttyACM0")
    ports = list(comports())
    matches = sorted(p.device for p in ports if (p.vid, p.pid) in wanted)
    if not matches:
        seen = ", ".join(f"{p.device} ({p.vid or 0:04x}:{p.pid or 0:04x})" if p.vid is not None else p.device
                         for p in ports) or "none"
        raise FlashError(f"no serial port of a {board.name} found (USB IDs {', '.join(board.serial.usb_ids)}); "
                         f"ports seen: {seen}", hint="connect the board's debugger USB port, or give --port DEVICE")
    if len(matches) > 1:
        raise UsageError(f"several {board.name} serial ports found: {', '.join(matches)}; pick one with --port")
    return matches[0]
