"""Concurrent builds of one project are serialised by a lock file (PROJECT/.build.lock), and a build
that has to wait says so, with the pid it waits for. Real `bnn-mcu build` subprocesses, real CMake."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

WAITING = "waiting for another build of"


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bnn_mcu.cli", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, text=True, **kwargs)


@pytest.fixture
def fresh_project(toy_project, tmp_path) -> Path:
    """A converted, never built copy of the toy project."""
    _need("cmake", "arm-none-eabi-gcc")
    dst = tmp_path / "toy"
    shutil.copytree(toy_project, dst, ignore=shutil.ignore_patterns("build*", ".build*"))
    return dst


def test_concurrent_builds_of_one_project_all_succeed(fresh_project):
    waited = 0
    for trial in range(3):
        shutil.rmtree(fresh_project / "build", ignore_errors=True)
        procs = [_cli("build", str(fresh_project), "--json", stderr=subprocess.PIPE) for _ in range(2)]
        results = [p.communicate(timeout=180) for p in procs]
        for p, (out, err) in zip(procs, results):
            assert p.returncode == 0, f"trial {trial}: build failed (exit {p.returncode}):\n{err}"
            assert '"flash_bytes"' in out
        waits = [err.count(WAITING) for _out, err in results]
        assert max(waits) <= 1, results  # said once, not once per poll
        waited += sum(waits)
        elf = fresh_project / "build" / "firmware.elf"
        assert elf.is_file() and elf.stat().st_size > 1000
    # Both start together and a fresh build takes seconds: they overlapped, so the lock was exercised.
    assert waited >= 1, "the two builds never overlapped; the test did not test the lock"


def test_a_build_waits_for_the_lock_holder_and_says_so(fresh_project, tmp_path):
    lock = fresh_project / ".build.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    err_file = tmp_path / "stderr.txt"
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{os.getpid()}\n".encode())  # what a holding bnn-mcu writes
        with err_file.open("w") as err:
            proc = _cli("build", str(fresh_project), stderr=err)
        try:
            deadline = time.monotonic() + 60
            while WAITING not in err_file.read_text():
                assert proc.poll() is None, f"build did not wait (exit {proc.returncode}):\n{err_file.read_text()}"
                assert time.monotonic() < deadline, "no waiting message within 60 s"
                time.sleep(0.05)
            time.sleep(0.5)
            assert proc.poll() is None, "the build went ahead while the lock was held"
            assert not (fresh_project / "build" / "CMakeCache.txt").exists(), "configured without the lock"
            text = err_file.read_text()
            assert f"{WAITING} {fresh_project} (pid {os.getpid()}) ..." in text, text
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        out, _ = proc.communicate(timeout=180)
        text = err_file.read_text()
        assert proc.returncode == 0, text
        assert "flash" in out and text.count(WAITING) == 1, text
        assert (fresh_project / "build" / "firmware.elf").is_file()
    finally:
        if "proc" in locals() and proc.poll() is None:
            proc.kill()
            proc.communicate()
        os.close(fd)
    assert lock.read_text() == "", "the holder's pid is cleared when the lock is released"
