"""Run firmware in ``qemu-system-arm`` and expose its UART to pyserial.

    with Qemu.for_board(board, "fw.elf") as q:          # serial="tcp" (default)
        link = serial.serial_for_url(q.url, timeout=5)  # "socket://127.0.0.1:PORT"
        ...
        rc = q.wait(timeout=10)                         # the guest's semihosting exit code

    with Qemu.for_board(board, "fw.elf", serial="pty") as q:
        link = serial.Serial(q.port, timeout=5)         # "/dev/pts/N"

``tcp`` mode uses ``-serial tcp:127.0.0.1:0,server=on,wait=on,nodelay=on``: QEMU picks a free port and
holds the guest until the host connects, so nothing the guest sends is lost (but pyserial's open()
discards input that already arrived: synchronise by sending a request, never on a banner).
``nodelay=on`` avoids ~40 ms Nagle delays on small replies. ``pty`` mode starts the guest at once.

The QEMU child is always killed when the context exits, on every path: a QEMU waiting in accept()
would otherwise wait forever. QEMU's stderr (including the guest's semihosting console, e.g. the
fault report) is collected in ``.stderr_text``.

QEMU also dies with its parent when no context can exit (SIGKILL, or a signal nobody handles; the CLI
turns SIGTERM and SIGHUP into an unwinding exception, see :mod:`bnn_mcu.signals`). It runs in its own
session (so a terminal's Ctrl-C reaches only us and we report it), hence no signal reaches it through
its process group: on Linux the child sets ``PR_SET_PDEATHSIG(SIGKILL)`` between fork and exec.
The kernel sends that signal when the *thread* that forked the child exits, not the process, so a
QEMU started from a thread that ends before it is closed would be killed early. Qemu therefore forks
from the main thread when started there (it lives as long as the process) and otherwise from one
long-lived "qemu-spawner" thread. Elsewhere than Linux there is no such guarantee (and nothing here
was tested there).
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import functools
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bnn_mcu.errors import TargetError

if TYPE_CHECKING:
    from bnn_mcu.boards import Board

log = logging.getLogger(__name__)

__all__ = ["QEMU_BINARY", "Qemu", "QemuError"]

QEMU_BINARY = "qemu-system-arm"

#: Platforms whose QEMU runs with -icount sleep=on (see Qemu.command).
SLEEPING_PLATFORMS = frozenset({"mps2"})

_TCP_RE = re.compile(r"waiting for connection on: disconnected:tcp:([0-9.]+):(\d+)")
_PTY_RE = re.compile(r"char device redirected to (/dev/\S+)")


class QemuError(TargetError):
    """qemu-system-arm is missing, failed to start, or did not exit in time. Includes QEMU's stderr."""


# --------------------------------------------------------------------------------------------------
# QEMU dies with its parent

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl(), resolved once in the parent (the forked child must not dlopen), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


def _die_with_parent_preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when the forking thread exits (Linux)."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()
    sigkill = int(signal.SIGKILL)

    def preexec() -> None:  # runs in the child between fork and exec: keep it minimal
        prctl(_PR_SET_PDEATHSIG, sigkill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl(): nobody would kill us later
            os.kill(os.getpid(), sigkill)

    return preexec


_spawn_requests: queue.SimpleQueue | None = None
_spawner_lock = threading.Lock()


def _serve_spawns(requests: queue.SimpleQueue) -> None:
    while True:
        fn, future = requests.get()
        try:
            future.set_result(fn())
        except BaseException as exc:  # handed to the caller
            future.set_exception(exc)


def _popen(cmd: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    """``subprocess.Popen`` forked from a thread that lives as long as the process (see the module doc):
    the calling thread if it is the main thread, else a daemon "qemu-spawner" thread (a daemon: it is
    not stopped, not even at interpreter exit, while other threads may still use their QEMU)."""
    preexec = _die_with_parent_preexec()

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(cmd, preexec_fn=preexec, **kwargs)  # type: ignore[call-overload]

    if preexec is None or threading.current_thread() is threading.main_thread():
        return spawn()
    global _spawn_requests
    with _spawner_lock:
        if _spawn_requests is None:
            _spawn_requests = queue.SimpleQueue()
            threading.Thread(target=_serve_spawns, args=(_spawn_requests,), name="qemu-spawner",
                             daemon=True).start()
    future: concurrent.futures.Future[subprocess.Popen[bytes]] = concurrent.futures.Future()
    _spawn_requests.put((spawn, future))
    return future.result()


class Qemu:
    """One QEMU child process running one ELF; use as a context manager."""

    def __init__(
        self,
        elf: str | Path,
        *,
        machine: str,
        icount_shift: int | None = 6,
        icount_sleep: bool = False,
        serial: str = "tcp",
        extra_args: Sequence[str] = (),
        binary: str = QEMU_BINARY,
        start_timeout: float = 10.0,
    ) -> None:
        if serial not in ("tcp", "pty"):
            raise ValueError(f"serial must be 'tcp' or 'pty', not {serial!r}")
        self.elf = Path(elf)
        self.machine = machine
        self.icount_shift = icount_shift
        self.icount_sleep = icount_sleep
        self.serial = serial
        self.extra_args = tuple(extra_args)
        self.binary = binary
        self.start_timeout = start_timeout
        self.url: str | None = None  # tcp mode: "socket://127.0.0.1:PORT"
        self.port: str | None = None  # pty mode: "/dev/pts/N"
        self.returncode: int | None = None
        self.started_at: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: list[str] = []
        self._stdout: list[str] = []
        self._lock = threading.Lock()
        self._lines = threading.Condition(self._lock)
        self._threads: list[threading.Thread] = []

    @classmethod
    def for_board(cls, board: Board, elf: str | Path, **kwargs: object) -> Qemu:
        """A Qemu for ``board`` (its ``qemu:`` block); keyword arguments override it."""
        if board.qemu is None:
            raise QemuError(f"board '{board.name}' has no qemu: block; it cannot be emulated")
        opts: dict[str, object] = {
            "machine": board.qemu.machine,
            "icount_shift": board.qemu.icount_shift,
            "icount_sleep": board.platform in SLEEPING_PLATFORMS,
            "extra_args": board.qemu.extra_args,
        }
        opts.update(kwargs)
        return cls(elf, **opts)  # type: ignore[arg-type]

    # ----------------------------------------------------------------------------------------------

    def command(self) -> list[str]:
        """The qemu-system-arm command line (the binary resolved on PATH when starting)."""
        serial = "tcp:127.0.0.1:0,server=on,wait=on,nodelay=on" if self.serial == "tcp" else "pty"
        cmd = [
            self.binary,
            "-M",
            self.machine,
            "-nographic",
            "-monitor",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
        ]
        if self.icount_shift is not None:
            # sleep=off: while the guest idles (WFI, waiting for UART input) QEMU jumps virtual time to
            # the next timer instead of sleeping in real time; sleep=on sleeps. On mps2 boards the guest's
            # 1 kHz keep-alive tick made an idle QEMU use 70 % of a core with sleep=off (8 % with
            # sleep=on), taken from the other QEMUs of `run --jobs` and from the host, for the same bytes
            # per second (benchmarks/README.md, "Serial throughput"), so those use sleep=on. Elsewhere
            # sleep=off stays: QEMU 7.2's netduinoplus2 stopped answering INFER under sleep=on (HELLO
            # worked), and the other boards were not measured. Instruction counts are the same either
            # way (idle time is outside the timed region).
            sleep = "on" if self.icount_sleep else "off"
            cmd += ["-icount", f"shift={self.icount_shift},sleep={sleep}"]
        cmd += ["-kernel", str(self.elf), "-serial", serial, *self.extra_args]
        return cmd

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def stderr_text(self) -> str:
        with self._lock:
            return "".join(self._stderr)

    @property
    def stdout_text(self) -> str:
        with self._lock:
            return "".join(self._stdout)

    def __enter__(self) -> Qemu:  # noqa: PYI034 (typing.Self needs Python 3.11)
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start QEMU and wait until its serial port is ready (``.url`` or ``.port`` is set)."""
        if self._proc is not None:
            raise QemuError("this Qemu was already started")
        if not self.elf.is_file():
            raise QemuError(f"firmware not found: {self.elf}")
        exe = shutil.which(self.binary)
        if exe is None:
            raise QemuError(f"{self.binary} not found on PATH (Debian: apt-get install qemu-system-arm)")
        cmd = self.command()
        cmd[0] = exe
        log.debug("starting: %s", " ".join(cmd))
        self.started_at = time.monotonic()
        try:
            self._proc = _popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as e:
            raise QemuError(f"cannot run {exe}: {e}") from e
        try:
            self._spawn_reader(self._proc.stderr, self._stderr, "stderr")
            self._spawn_reader(self._proc.stdout, self._stdout, "stdout")
            self._wait_for_serial()
        except BaseException:
            self.close()
            raise
        log.debug(
            "qemu pid %d ready after %.3f s: %s",
            self._proc.pid,
            time.monotonic() - self.started_at,
            self.url or self.port,
        )

    def _spawn_reader(self, stream, sink: list[str], name: str) -> None:  # type: ignore[no-untyped-def]
        def pump() -> None:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace")
                log.debug("qemu %s: %s", name, line.rstrip())
                with self._lines:
                    sink.append(line)
                    self._lines.notify_all()
            with self._lines:
                self._lines.notify_all()

        t = threading.Thread(target=pump, name=f"qemu-{name}", daemon=True)
        t.start()
        self._threads.append(t)

    def _wait_for_serial(self) -> None:
        assert self._proc is not None
        pattern = _TCP_RE if self.serial == "tcp" else _PTY_RE
        deadline = time.monotonic() + self.start_timeout
        with self._lines:
            while True:
                # tcp: QEMU reports on stderr; pty: on stdout.
                m = pattern.search("".join(self._stderr) + "".join(self._stdout))
                if m:
                    break
                if self._proc.poll() is not None:
                    # Let the reader threads drain what is left before reporting.
                    self._lines.wait(0.2)
                    raise QemuError(
                        f"qemu-system-arm -M {self.machine} exited with code {self._proc.returncode} "
                        f"before its serial port was ready:\n{self._output_locked()}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise QemuError(
                        f"qemu-system-arm -M {self.machine} did not report its serial port within "
                        f"{self.start_timeout} s:\n{self._output_locked()}"
                    )
                self._lines.wait(min(remaining, 0.05))
        if self.serial == "tcp":
            self.url = f"socket://{m.group(1)}:{m.group(2)}"
        else:
            self.port = m.group(1)

    def _output_locked(self) -> str:
        return ("".join(self._stderr) + "".join(self._stdout)).strip() or "(no output)"

    def wait(self, timeout: float) -> int:
        """Wait for the guest to exit; return QEMU's exit code (the semihosting exit code).

        Raises QemuError if it is still running after ``timeout`` seconds (the process is then left
        running: leaving the context kills it).
        """
        if self._proc is None:
            raise QemuError("QEMU was not started")
        try:
            rc = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise QemuError(
                f"firmware on {self.machine} did not exit within {timeout} s; qemu stderr:\n"
                f"{self.stderr_text.strip()}"
            ) from None
        self._join_readers()
        self.returncode = rc
        log.debug("qemu exited with %d", rc)
        return rc

    def poll(self) -> int | None:
        """The exit code if QEMU has exited, else None."""
        return None if self._proc is None else self._proc.poll()

    def close(self) -> None:
        """Kill QEMU if it is still running and release its pipes. Safe to call more than once."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            log.debug("killing qemu pid %d", proc.pid)
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # own session: QEMU and anything it spawned
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        if self.returncode is None:
            self.returncode = proc.returncode
        self._join_readers()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def _join_readers(self) -> None:
        for t in self._threads:
            t.join(timeout=2)
