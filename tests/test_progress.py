"""Progress on a terminal: `bnn-mcu build` draws CMake's percentage and `convert` its stages and layers
as a one-line bar on stderr when it is a terminal (a real pty here), and prints nothing of it into a
pipe (scripts, CI logs)."""

import os
import pty
import shutil
import subprocess
import sys

import pytest

from bnn_mcu.cli import main

REPO = __import__("pathlib").Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no arm-none-eabi-gcc")


def _build(project, tty: bool) -> tuple[int, str]:
    return _cli(["build", str(project)], tty)


def _cli(args: list[str], tty: bool) -> tuple[int, str]:
    """`python -m bnn_mcu ARGS` with stderr on a real pty (``tty``) or a pipe; (exit code, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "bnn_mcu", *args]
    if not tty:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        return r.returncode, r.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the pty
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=300), b"".join(chunks).decode(errors="replace")


def test_build_progress_only_on_a_terminal(toy_h5, tmp_path):
    project = tmp_path / "p"
    assert main(["convert", str(toy_h5), "-o", str(project)]) == 0
    code, err = _build(project, tty=True)
    assert code == 0, err
    assert "building" in err and "100%" in err and "\r" in err and "[####" in err
    shutil.rmtree(project / "build")
    code, err = _build(project, tty=False)
    assert code == 0 and "%" not in err and "\r" not in err, err


def test_convert_shows_its_stages_and_layers_on_a_terminal(toy_h5, tmp_path):
    code, err = _cli(["convert", str(toy_h5), "-o", str(tmp_path / "p")], tty=True)
    assert code == 0, err
    assert "loading" in err and "folding and planning" in err and "generating C [" in err and "layers" in err
    code, err = _cli(["convert", str(toy_h5), "-o", str(tmp_path / "q")], tty=False)
    assert code == 0 and "generating C" not in err and "folding" not in err, err
