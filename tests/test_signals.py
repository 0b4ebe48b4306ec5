"""Signals during `bnn-mcu run`: SIGTERM and SIGHUP unwind like Ctrl-C (QEMU is killed, exit 128 +
signum), SIGKILL of the CLI still takes QEMU with it (PR_SET_PDEATHSIG), and a QEMU that is killed or
frozen under a running CLI is still reported as a target failure (exit 7).

The CLI runs as a real subprocess on the (session-cached) toy project with thousands of inputs, so it
is still running when the test finds its QEMU child in /proc and signals it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bnn_mcu.signals import Terminated, terminate_as_interrupt

QEMU_COMM = "qemu-system-arm"  # /proc/PID/stat truncates the name to 15 characters: this is all of it


def _stat(pid: int) -> tuple[str, str, int] | None:
    """(comm, state, ppid) of a process, or None if it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    head, _, rest = text.rpartition(")")
    fields = rest.split()
    return head.partition("(")[2], fields[0], int(fields[1])


def _children(ppid: int, comm: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and st[2] == ppid and st[0] == comm and st[1] != "Z":
                pids.append(int(entry))
    return pids


def _alive(pid: int) -> bool:
    """Running or stopped; a zombie (dead, not yet reaped by a reaper that may never come) is not."""
    st = _stat(pid)
    return st is not None and st[1] != "Z"


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)


class Cli:
    """`bnn-mcu run` in a subprocess and its QEMU child; both are SIGKILLed at teardown if still alive
    (so that a failing test, e.g. against code without the fix, leaves no busy QEMU behind)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bnn_mcu.cli", *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.qemu: int | None = None

    def find_qemu(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kids = _children(self.proc.pid, QEMU_COMM)
            if kids:
                self.qemu = kids[0]
                return self.qemu
            if self.proc.poll() is not None:
                pytest.fail(f"bnn-mcu exited with {self.proc.returncode} before starting QEMU:\n"
                            f"{self.proc.stderr.read()}")
            time.sleep(0.05)
        pytest.fail(f"no {QEMU_COMM} child of pid {self.proc.pid} within {timeout} s")

    def finish(self, timeout: float = 20.0) -> tuple[int, str]:
        _out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err

    def cleanup(self) -> None:
        for pid in (self.proc.pid, self.qemu):
            if pid is not None and _alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.proc.communicate()


@pytest.fixture(scope="module")
def built_toy(toy_project) -> Path:
    from bnn_mcu.cli import main

    assert main(["build", str(toy_project)]) == 0
    return toy_project


@pytest.fixture(scope="module")
def many_inputs(tmp_path_factory) -> Path:
    """~70 s of inputs at ~23 ms each: the run is always still going when the test signals it."""
    path = tmp_path_factory.mktemp("inputs") / "many.npz"
    np.savez(path, x=np.random.default_rng(1).uniform(0, 1, (3000, 12, 12, 3)).astype(np.float32))
    return path


@pytest.fixture
def cli_run(built_toy, many_inputs):
    started: list[Cli] = []

    def start(*extra: str) -> Cli:
        cli = Cli("run", str(built_toy), "--inputs", str(many_inputs), "--no-build", *extra)
        started.append(cli)
        return cli

    yield start
    for cli in started:
        cli.cleanup()


def _running(cli: Cli) -> int:
    """The QEMU pid, once the run is under way (past the boot and the handshake)."""
    qemu = cli.find_qemu()
    time.sleep(1.0)
    assert cli.proc.poll() is None, cli.proc.stderr.read()
    assert _alive(qemu)
    return qemu


# --------------------------------------------------------------------------------------------------
# the real CLI

@pytest.mark.qemu
@pytest.mark.parametrize(("signum", "code", "message"), [(signal.SIGTERM, 143, "terminated"),
                                                         (signal.SIGHUP, 129, "hung up")])
def test_sigterm_and_sighup_stop_run_and_kill_qemu(cli_run, signum, code, message):
    cli = cli_run()
    qemu = _running(cli)
    os.kill(cli.proc.pid, signum)
    rc, err = cli.finish()
    assert rc == code, err
    assert err.strip().splitlines()[-1] == message, err
    assert "Traceback" not in err
    assert _wait_gone(qemu, 3.0), f"QEMU pid {qemu} outlived bnn-mcu ({_stat(qemu)})"


@pytest.mark.qemu
def test_sigint_still_reports_interrupted(cli_run):
    cli = cli_run()
    qemu = _running(cli)
    os.kill(cli.proc.pid, signal.SIGINT)
    rc, err = cli.finish()
    assert rc == 130 and err.strip().splitlines()[-1] == "interrupted", err
    assert _wait_gone(qemu, 3.0)


@pytest.mark.qemu
def test_sigkill_of_the_cli_kills_qemu_too(cli_run):
    cli = cli_run()
    qemu = _running(cli)
    os.kill(cli.proc.pid, signal.SIGKILL)
    rc, _err = cli.finish()
    assert rc == -signal.SIGKILL
    assert _wait_gone(qemu, 3.0), f"QEMU pid {qemu} outlived the SIGKILLed bnn-mcu ({_stat(qemu)})"


@pytest.mark.qemu
def test_killed_qemu_is_a_target_error(cli_run):
    cli = cli_run()
    os.kill(_running(cli), signal.SIGKILL)
    rc, err = cli.finish()
    assert rc == 7 and "error: " in err and "Traceback" not in err, err


@pytest.mark.qemu
def test_frozen_qemu_is_a_target_error(cli_run):
    cli = cli_run("--timeout", "1")
    qemu = _running(cli)
    os.kill(qemu, signal.SIGSTOP)
    rc, err = cli.finish()
    assert rc == 7 and "error: " in err and "Traceback" not in err, err
    assert _wait_gone(qemu, 3.0)  # a stopped QEMU ignores SIGTERM: it gets SIGKILL


# --------------------------------------------------------------------------------------------------
# the pieces, in process

@pytest.mark.qemu
def test_qemu_started_in_a_thread_outlives_the_thread(built_toy):
    """PR_SET_PDEATHSIG fires when the *thread* that forked QEMU exits: a QEMU started from a worker
    thread must not die with that thread (it is forked from the long-lived spawner thread)."""
    from bnn_mcu.build import Project
    from bnn_mcu.qemu import Qemu

    project = Project.load(built_toy)
    q = Qemu.for_board(project.board(), project.elf())
    t = threading.Thread(target=q.start)
    t.start()
    t.join()
    try:
        time.sleep(0.3)
        assert q.poll() is None, f"QEMU died with the thread that started it (exit {q.poll()})"
        assert q.pid in _children(os.getpid(), QEMU_COMM)  # a child of this process, as before
    finally:
        q.close()
    assert q.poll() is not None


def test_terminated_unwinds_and_restores_handlers():
    before = signal.getsignal(signal.SIGTERM)
    cleaned = []
    with pytest.raises(Terminated) as info:
        with terminate_as_interrupt():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # interrupted: the handler raises
            finally:
                cleaned.append(True)
    assert cleaned == [True]
    assert isinstance(info.value, KeyboardInterrupt)
    assert (info.value.signum, info.value.exit_code, info.value.description) == (signal.SIGTERM, 143, "terminated")
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_ignored_signal_stays_ignored():
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with terminate_as_interrupt():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, old)
