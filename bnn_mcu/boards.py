"""Board descriptions: one declarative YAML file per board, validated against ``boards/schema.yaml``.

A board says which core to compile for, where flash and RAM are (explicit byte addresses and sizes,
checked against the datasheet figures it quotes), which chip directory under ``firmware/platform/``
holds its drivers (compiled together with the shared ``cortex_m/``), the preprocessor defines those
need (clocks, pins, UART, interrupts), what its counter counts and with what, its serial port as the
host sees it (baud, USB IDs), how to flash it (pyOCD/OpenOCD), and for emulated boards how to start
QEMU. ``schema.yaml`` is the single definition of the fields; this module interprets it, derives the
defines that follow from other fields (``BNN_SEMIHOSTING`` from the qemu block, ...) and adds the
cross-field checks a schema cannot express (no DWT on a Cortex-M0 or in QEMU, ...).

    board = load_board("mps2-an386")       # or load_board("path/to/my-board.yaml")
    board.cpu_flags            # ('-mcpu=cortex-m4', '-mthumb', '-mfpu=fpv4-sp-d16', '-mfloat-abi=hard')
    board.defines              # {'BNN_CACHES': 0, 'BNN_CLOCK_HZ': 25000000, 'BNN_COUNTER_KIND': 1, ...}
    board.platform_dirs        # ('cortex_m', 'mps2')
    board.project_files()      # {'board.yaml': ...}: a converted project carries its board
    render_linker_script(board)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from bnn_mcu import resources
from bnn_mcu.errors import UsageError
from bnn_mcu.protocol import CounterKind

log = logging.getLogger(__name__)

__all__ = [
    "COUNTER_KINDS",
    "Board",
    "BoardError",
    "QemuSpec",
    "list_boards",
    "load_board",
    "render_linker_script",
]

#: counter_kind name -> the number the firmware reports (docs/PROTOCOL.md INFO.counter_kind and
#: bnn_counter_kind_t in firmware/include/bnn/platform.h).
COUNTER_KINDS: Mapping[str, int] = MappingProxyType({k.name.lower(): int(k) for k in CounterKind})

#: Defines this module derives from other fields; a board file must not set them itself.
DERIVED_DEFINES = ("BNN_CLOCK_HZ", "BNN_COUNTER_KIND", "BNN_NUM_IRQS", "BNN_SEMIHOSTING", "BNN_CACHES",
                   "BNN_UART_BAUD", "BNN_COUNTER_SRC_PLATFORM", "BNN_COUNTER_SRC_SYSTICK", "BNN_COUNTER_SRC_DWT",
                   "BNN_COUNTER_SRC_NONE")

#: Shared Cortex-M code (firmware/platform/cortex_m/) that every target build compiles with its platform.
CORE_PLATFORM = "cortex_m"

#: The board file inside a converted project (see :meth:`Board.project_files`).
PROJECT_BOARD_FILE = "board.yaml"

#: Baud rate of a board file without a ``serial:`` block (the QEMU boards, where it does not matter).
DEFAULT_BAUD = 115200

_NO_DWT = ("cortex-m0", "cortex-m0plus")
_HAS_CACHES = ("cortex-m7", "cortex-m7f", "cortex-m55")


class BoardError(UsageError):
    """A board file is missing, unreadable or invalid. The message names the file and the field."""


@dataclass(frozen=True)
class QemuSpec:
    """How to emulate a board: ``qemu-system-arm -M machine -icount shift=icount_shift *extra_args``."""

    machine: str
    icount_shift: int
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class SerialSpec:
    """The board's UART as the host sees it: baud rate, wiring (for people) and the USB IDs of the
    debugger's virtual COM port (``run --port auto``)."""

    baud: int = DEFAULT_BAUD
    wiring: str = ""
    usb_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProbeSpec:
    """How ``bnn-mcu flash`` programs the board: a pyOCD target type, OpenOCD scripts as a fallback."""

    pyocd_target: str
    openocd_config: tuple[str, ...] = ()


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    cpu: str
    cpu_flags: tuple[str, ...]
    platform: str
    flash_origin: int
    flash_size: int
    ram_origin: int
    ram_size: int
    stack_size: int
    clock_hz: int
    counter_kind: str
    #: Every -D the platform code needs: the board file's ``defines`` plus BNN_CLOCK_HZ and
    #: BNN_COUNTER_KIND. Read-only mapping, sorted by name.
    defines: Mapping[str, str | int] = field(hash=False)
    qemu: QemuSpec | None = None
    path: Path | None = field(default=None, compare=False)
    counter_source: str = "platform"
    irqs: int = 32
    caches: bool = False
    serial: SerialSpec = SerialSpec()
    probe: ProbeSpec | None = None
    #: (part, flash bytes, RAM bytes, reference) from the board file's ``datasheet:`` block, if any.
    datasheet: tuple[str, int, int, str] | None = None
    #: The board file's text, so a project can carry its board (``board.yaml``) and work without it.
    source_text: str = field(default="", compare=False, repr=False)

    @property
    def platform_dirs(self) -> tuple[str, ...]:
        """Directories under ``firmware/platform/`` a target build compiles: the shared core code first."""
        return (CORE_PLATFORM, self.platform)

    @property
    def counter_kind_id(self) -> int:
        """The protocol number of ``counter_kind`` (0 none, 1 instructions, 2 cycles)."""
        return COUNTER_KINDS[self.counter_kind]

    def project_files(self) -> dict[str, str]:
        """Files a converted project carries for this board: ``board.yaml`` (the board file as given), so
        that every verb works on the project even when the board came from a path outside this checkout."""
        return {PROJECT_BOARD_FILE: self.source_text} if self.source_text else {}

    def define_flags(self) -> tuple[str, ...]:
        """``-DNAME=value`` for each define (integers in decimal)."""
        return tuple(f"-D{k}={v}" for k, v in self.defines.items())

    def linker_context(self) -> dict[str, Any]:
        """Variables for ``templates/linker.ld.j2`` (addresses and sizes as ``0x%08X`` strings)."""
        return {
            "board_name": self.name,
            "cpu": self.cpu,
            "flash_origin": f"0x{self.flash_origin:08X}",
            "flash_size": f"0x{self.flash_size:08X}",
            "ram_origin": f"0x{self.ram_origin:08X}",
            "ram_size": f"0x{self.ram_size:08X}",
            "stack_size": f"0x{self.stack_size:08X}",
        }


# --------------------------------------------------------------------------------------------------
# Loading


def list_boards(directory: str | Path | None = None) -> list[Board]:
    """Every board in ``directory`` (default: the shipped boards), sorted by name.

    Raises BoardError if any of them is invalid: the shipped boards must all be valid.
    """
    d = Path(directory) if directory is not None else resources.boards_dir()
    files = sorted(p for p in d.glob("*.yaml") if p.name != "schema.yaml")
    return [_load_file(p, expect_name=p.stem) for p in files]


def load_board(name_or_path: str | Path) -> Board:
    """Load a board by name (``"mps2-an386"``, from the shipped boards) or from a YAML file path."""
    text = str(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or "/" in text or text.endswith((".yaml", ".yml"))
    if looks_like_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise BoardError(f"{path}: board file not found")
        return _load_file(path, expect_name=None)
    d = resources.boards_dir()
    path = d / f"{text}.yaml"
    if text == "schema" or not path.is_file():
        known = ", ".join(sorted(p.stem for p in d.glob("*.yaml") if p.name != "schema.yaml"))
        raise BoardError(f"unknown board '{text}' (known boards: {known}; or give a path to a .yaml file)")
    return _load_file(path, expect_name=text)


def render_linker_script(board: Board) -> str:
    """The GNU ld script for ``board``, rendered from ``templates/linker.ld.j2``."""
    from .templating import render

    return render("linker.ld.j2", board.linker_context())


# --------------------------------------------------------------------------------------------------
# Schema interpretation

_TYPE_NAMES = {
    "str": "a string",
    "int": "an integer",
    "bool": "a boolean",
    "list": "a list",
    "map": "a mapping",
    "dict": "a mapping",
}

_schema_cache: dict[Path, dict[str, Any]] = {}


def _load_schema() -> dict[str, Any]:
    path = resources.boards_dir() / "schema.yaml"
    if path not in _schema_cache:
        with path.open(encoding="utf-8") as f:
            schema = yaml.safe_load(f)
        if not isinstance(schema, dict) or schema.get("schema_version") != 1:
            raise BoardError(f"{path}: not a version-1 board schema")
        _schema_cache[path] = schema
    return _schema_cache[path]


def _describe(value: Any) -> str:
    r = repr(value)
    return f"{type(value).__name__} {r if len(r) <= 40 else r[:37] + '...'}"


def _is_type(value: Any, type_name: str) -> bool:
    if type_name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "str":
        return isinstance(value, str)
    if type_name == "bool":
        return isinstance(value, bool)
    if type_name == "list":
        return isinstance(value, list)
    if type_name in ("map", "dict"):
        return isinstance(value, dict)
    raise AssertionError(f"schema uses unknown type {type_name!r}")


def _check_fields(src: str, where: str, value: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a mapping with a fixed set of keys; fill defaults. ``where`` is the dotted prefix."""
    label = where or "top level"
    if not isinstance(value, dict):
        raise BoardError(f"{src}: {label}: expected a mapping, got {_describe(value)}")
    unknown = sorted(str(k) for k in value if k not in fields)
    if unknown:
        allowed = ", ".join(fields)
        raise BoardError(f"{src}: {label}: unknown field '{_join(where, unknown[0])}' (allowed: {allowed})")
    out: dict[str, Any] = {}
    for key, spec in fields.items():
        dotted = _join(where, key)
        if key not in value or value[key] is None:
            if spec.get("required", True):
                raise BoardError(f"{src}: field '{dotted}' is required ({spec.get('doc', '').strip()})")
            out[key] = spec.get("default")
            continue
        out[key] = _check_value(src, dotted, value[key], spec)
    return out


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _check_value(src: str, dotted: str, value: Any, spec: Mapping[str, Any]) -> Any:
    t = spec["type"]
    if not _is_type(value, t):
        raise BoardError(f"{src}: field '{dotted}': expected {_TYPE_NAMES[t]}, got {_describe(value)}")
    if t == "str":
        if "enum" in spec and value not in spec["enum"]:
            raise BoardError(f"{src}: field '{dotted}': '{value}' is not one of: {', '.join(spec['enum'])}")
        if "pattern" in spec and not re.fullmatch(spec["pattern"], value):
            raise BoardError(f"{src}: field '{dotted}': '{value}' does not match /{spec['pattern']}/")
    elif t == "int":
        if "min" in spec and value < spec["min"]:
            raise BoardError(f"{src}: field '{dotted}': {value} is below the minimum {spec['min']}")
        if "max" in spec and value > spec["max"]:
            raise BoardError(f"{src}: field '{dotted}': {value} is above the maximum {spec['max']}")
    elif t == "list":
        if len(value) < spec.get("min_items", 0):
            raise BoardError(f"{src}: field '{dotted}': needs at least {spec['min_items']} item(s)")
        return [_check_value(src, f"{dotted}[{i}]", v, spec["items"]) for i, v in enumerate(value)]
    elif t == "map":
        return _check_fields(src, dotted, value, spec["fields"])
    elif t == "dict":
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or not re.fullmatch(spec["key_pattern"], k):
                raise BoardError(f"{src}: field '{dotted}': key {k!r} does not match /{spec['key_pattern']}/")
            if not any(_is_type(v, vt) for vt in spec["value_types"]):
                kinds = " or ".join(_TYPE_NAMES[vt] for vt in spec["value_types"])
                raise BoardError(f"{src}: field '{dotted}.{k}': expected {kinds}, got {_describe(v)}")
            out[k] = v
        return out
    return value


# --------------------------------------------------------------------------------------------------
# Cross-field checks and construction


def _load_file(path: Path, *, expect_name: str | None) -> Board:
    src = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
    except OSError as e:
        raise BoardError(f"{src}: cannot read: {e}") from e
    except yaml.YAMLError as e:
        raise BoardError(f"{src}: not valid YAML: {e}") from e
    if raw is None:
        raise BoardError(f"{src}: empty board file")
    data = _check_fields(src, "", raw, _load_schema()["fields"])
    board = _build(src, path, data, text)
    if expect_name is not None and board.name != expect_name:
        raise BoardError(f"{src}: field 'name': '{board.name}' must equal the file name '{expect_name}'")
    log.debug("loaded board %s from %s", board.name, path)
    return board


def _build(src: str, path: Path, d: dict[str, Any], text: str = "") -> Board:
    cpu = d["cpu"]
    flags = tuple(d["cpu_flags"])
    core = cpu.removesuffix("f")
    if f"-mcpu={core}" not in flags:
        raise BoardError(f"{src}: field 'cpu_flags': must contain -mcpu={core} for cpu '{cpu}'")
    hard = "-mfloat-abi=hard" in flags
    if cpu.endswith("f") != hard and cpu != "cortex-m55":
        need = "needs" if cpu.endswith("f") else "must not use"
        raise BoardError(f"{src}: field 'cpu_flags': cpu '{cpu}' {need} -mfloat-abi=hard")

    flash, ram = d["memory"]["flash"], d["memory"]["ram"]
    for region, r in (("flash", flash), ("ram", ram)):
        if r["origin"] + r["size"] > 1 << 32:
            raise BoardError(
                f"{src}: field 'memory.{region}.size': region ends beyond the 4 GB address space"
            )
        if r["origin"] % 8 or r["size"] % 8:
            raise BoardError(f"{src}: field 'memory.{region}': origin and size must be multiples of 8")
    if flash["origin"] < ram["origin"] + ram["size"] and ram["origin"] < flash["origin"] + flash["size"]:
        raise BoardError(f"{src}: field 'memory': flash and ram regions overlap")
    stack = d["stack_size"]
    if stack % 8:
        raise BoardError(f"{src}: field 'stack_size': {stack} is not a multiple of 8 (AAPCS stack alignment)")
    if stack >= ram["size"]:
        raise BoardError(f"{src}: field 'stack_size': {stack} bytes do not fit in {ram['size']} bytes of RAM")

    user_defines = d["defines"] or {}
    for k, v in user_defines.items():
        if k in DERIVED_DEFINES:
            raise BoardError(f"{src}: field 'defines.{k}': derived from another field; do not set it here")
        if isinstance(v, str) and (not v or re.search(r"[\s\"'\\]", v)):
            raise BoardError(
                f"{src}: field 'defines.{k}': string values must be non-empty, without "
                "whitespace, quotes or backslashes"
            )
    if "BNN_UART_IRQ" not in user_defines or not isinstance(user_defines["BNN_UART_IRQ"], int):
        raise BoardError(f"{src}: field 'defines.BNN_UART_IRQ': required, an integer (the UART's receive "
                         "interrupt number)")
    if not 0 <= user_defines["BNN_UART_IRQ"] < d["irqs"]:
        raise BoardError(f"{src}: field 'irqs': {d['irqs']} vectors do not cover BNN_UART_IRQ "
                         f"{user_defines['BNN_UART_IRQ']}")

    source, kind, q = d["counter_source"], d["counter_kind"], d["qemu"]
    if (source == "none") != (kind == "none"):
        raise BoardError(f"{src}: field 'counter_kind': '{kind}' does not go with counter_source '{source}'")
    if source == "dwt":
        if core in _NO_DWT:
            raise BoardError(f"{src}: field 'counter_source': {core} has no DWT cycle counter; use systick")
        if q is not None:
            raise BoardError(f"{src}: field 'counter_source': QEMU does not model the DWT cycle counter "
                             "(it reads 0); use systick or platform for an emulated board")
    if q is not None and kind == "cycles":
        raise BoardError(f"{src}: field 'counter_kind': QEMU counts instructions, not cycles")
    if d["caches"] and cpu not in _HAS_CACHES:
        raise BoardError(f"{src}: field 'caches': {cpu} has no caches")

    ds = d["datasheet"]
    datasheet = None
    if ds is not None:
        if flash["size"] > ds["flash_size"]:
            raise BoardError(f"{src}: field 'memory.flash.size': {flash['size']:,} bytes exceed the "
                             f"{ds['part']}'s {ds['flash_size']:,} (datasheet)")
        if ram["size"] > ds["ram_size"]:
            raise BoardError(f"{src}: field 'memory.ram.size': {ram['size']:,} bytes exceed the "
                             f"{ds['part']}'s {ds['ram_size']:,} (datasheet)")
        datasheet = (ds["part"], ds["flash_size"], ds["ram_size"], ds["reference"] or "")

    ser = d["serial"]
    serial = SerialSpec() if ser is None else SerialSpec(
        baud=ser["baud"], wiring=ser["wiring"] or "", usb_ids=tuple(ser["usb_ids"] or ()))
    pr = d["probe"]
    probe = None if pr is None else ProbeSpec(pyocd_target=pr["pyocd_target"],
                                              openocd_config=tuple(pr["openocd_config"] or ()))

    defines = {
        "BNN_CLOCK_HZ": d["clock_hz"],
        "BNN_COUNTER_KIND": COUNTER_KINDS[kind],
        f"BNN_COUNTER_SRC_{source.upper()}": 1,
        "BNN_NUM_IRQS": d["irqs"],
        "BNN_SEMIHOSTING": int(q is not None),
        "BNN_CACHES": int(d["caches"]),
        "BNN_UART_BAUD": serial.baud,
    }
    defines.update(user_defines)

    platform = d["platform"]
    try:
        platform_dir = resources.firmware_dir() / "platform" / platform
    except FileNotFoundError:
        platform_dir = None  # no firmware tree available: nothing to check against
    if platform in (CORE_PLATFORM, "host"):
        raise BoardError(f"{src}: field 'platform': '{platform}' is not a chip platform")
    if platform_dir is not None and not platform_dir.is_dir():
        raise BoardError(f"{src}: field 'platform': no directory {platform_dir}")

    qemu = None
    if q is not None:
        qemu = QemuSpec(
            machine=q["machine"], icount_shift=q["icount_shift"], extra_args=tuple(q["extra_args"] or ())
        )

    return Board(
        name=d["name"],
        description=d["description"],
        cpu=cpu,
        cpu_flags=flags,
        platform=platform,
        flash_origin=flash["origin"],
        flash_size=flash["size"],
        ram_origin=ram["origin"],
        ram_size=ram["size"],
        stack_size=stack,
        clock_hz=d["clock_hz"],
        counter_kind=d["counter_kind"],
        defines=MappingProxyType(dict(sorted(defines.items()))),
        qemu=qemu,
        path=path,
        counter_source=source,
        irqs=d["irqs"],
        caches=d["caches"],
        serial=serial,
        probe=probe,
        datasheet=datasheet,
        source_text=text,
    )
