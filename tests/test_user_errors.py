"""A careless user's inputs get a clear usage error (exit 2) before anything slow starts; results are
written atomically; files the user edited are never silently overwritten; builds are reproducible."""

from __future__ import annotations

import json
import resource
import shutil
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from bnn_mcu.cli import main

needs_arm_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no arm-none-eabi-gcc")


def _x(n=2):
    return np.random.default_rng(0).uniform(0, 1, (n, 12, 12, 3)).astype(np.float32)


def _bad_inputs(tmp_path, case):
    p = tmp_path / f"{case}.npz"
    if case == "empty_file":
        p.write_bytes(b"")
    elif case == "truncated":
        np.savez(p, x=_x(4), y=np.arange(4))
        p.write_bytes(p.read_bytes()[:300])
    elif case == "not_a_zip":
        p.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    elif case == "empty_archive":
        with zipfile.ZipFile(p, "w"):
            pass
    elif case == "string_x":
        np.savez(p, x=np.array([["a"] * 432] * 2))
    elif case == "complex_x":
        np.savez(p, x=_x().astype(np.complex64))
    elif case == "onehot_y":
        np.savez(p, x=_x(), y=np.eye(10)[[1, 2]])
    elif case == "string_y":
        np.savez(p, x=_x(), y=np.array(["cat", "dog"]))
    elif case == "nan_y":
        np.savez(p, x=_x(), y=np.array([1.0, np.nan]))
    elif case == "fractional_y":
        np.savez(p, x=_x(), y=np.array([1.0, 2.5]))
    elif case == "object_x":
        np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
        p = tmp_path / "obj.npy"
    return p


BAD_INPUTS = {
    "empty_file": "cannot read", "truncated": "cannot read", "not_a_zip": "cannot read",
    "empty_archive": "has no array 'x'", "string_x": "x has dtype <U1", "complex_x": "x has dtype complex64",
    "onehot_y": "looks one-hot", "string_y": "y has dtype <U3", "nan_y": "NaN, inf or fractional",
    "fractional_y": "NaN, inf or fractional", "object_x": "cannot read",
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs_are_usage_errors(tmp_path, capsys, toy_project, case):
    rc = main(["run", str(toy_project), "--inputs", str(_bad_inputs(tmp_path, case)), "--no-build"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert BAD_INPUTS[case] in err and "internal error" not in err and "Traceback" not in err


def test_npy_inputs_are_x(toy_project):
    from bnn_mcu import runner
    from bnn_mcu.build import Project

    p = toy_project / ".." / "x.npy"
    np.save(p, _x(3))
    x, y = runner.load_inputs(p, Project.load(toy_project).graph())
    assert x.shape == (3, 432) and y is None
    p.unlink()


@pytest.mark.parametrize("case", ["under_a_file", "unwritable", "a_directory", "timeout_nan", "timeout_inf",
                                  "keras_missing"])
def test_bad_run_options_are_usage_errors(tmp_path, capsys, toy_project, case):
    inputs = tmp_path / "x.npz"
    np.savez(inputs, x=_x())
    (tmp_path / "file").write_text("")
    extra = {"under_a_file": ["--outputs", str(tmp_path / "file" / "out.npz")],
             "unwritable": ["--outputs", "/proc/bnn-mcu-out.npz"],
             "a_directory": ["--outputs", str(tmp_path)],
             "timeout_nan": ["--timeout", "nan"], "timeout_inf": ["--timeout", "inf"],
             "keras_missing": ["--keras", str(tmp_path / "nope.h5")]}[case]
    rc = main(["run", str(toy_project), "--inputs", str(inputs), "--no-build", *extra])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err and "internal error" not in err


def test_inputs_are_checked_before_tensorflow_loads(tmp_path, toy_project, toy_h5):
    bad = _bad_inputs(tmp_path, "onehot_y")
    code = ("import sys; from bnn_mcu.cli import main; "
            f"rc = main(['run', {str(toy_project)!r}, '--inputs', {str(bad)!r}, '--keras', {str(toy_h5)!r}]); "
            "print(rc, 'tensorflow' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.split() == ["2", "False"], r.stdout + r.stderr


@pytest.mark.qemu
def test_outputs_are_written_atomically_and_named_exactly(tmp_path, toy_built):
    inputs = tmp_path / "x.npy"
    np.save(inputs, _x(3))
    out = tmp_path / "results.bin"
    cmd = [sys.executable, "-m", "bnn_mcu.cli", "run", str(toy_built), "--inputs", str(inputs), "--no-build",
           "--outputs", str(out), "--json"]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    with np.load(out) as z:  # exactly the name given: no .npz appended
        assert z["raw"].shape == (3, 10) and z["top1"].shape == (3,) and json.loads(ok.stdout)["matches"] == 3
    assert not (tmp_path / "results.bin.npz").exists()
    before = out.read_bytes()

    def small_file_limit():  # a full disk, as a size limit: writes past 16 KB fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 10, 16 << 10))

    np.save(inputs, _x(400))  # outputs of 400 inputs (about 55 KB) do not fit in 16 KB
    full = subprocess.run(cmd, capture_output=True, text=True, timeout=300, preexec_fn=small_file_limit)
    assert full.returncode == 9, full.stderr
    assert "could not write" in full.stderr and "Traceback" not in full.stderr
    assert json.loads(full.stdout)["matches"] == 400  # the verdict is still reported
    assert out.read_bytes() == before  # the old results are intact
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".results")] == []  # no temp left


def test_project_path_with_semicolon_is_refused(tmp_path, capsys, toy_h5):
    rc = main(["convert", str(toy_h5), "-o", str(tmp_path / "a;b")])
    err = capsys.readouterr().err
    assert rc == 2 and "';'" in err and not (tmp_path / "a;b").exists()


def test_reconvert_refuses_to_overwrite_edited_files(tmp_path, capsys, toy_h5):
    out = tmp_path / "p"
    assert main(["convert", str(toy_h5), "-o", str(out)]) == 0
    assert main(["convert", str(toy_h5), "-o", str(out)]) == 0  # nothing changed: refreshed quietly
    data = out / "model" / "bnn_model_data.c"
    data.write_text(data.read_text() + "/* my tweak */\n")
    (out / "runtime" / "src" / "mine.c").write_text("int mine;\n")
    (out / "build").mkdir()
    (out / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert main(["convert", str(toy_h5), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "model/bnn_model_data.c (edited since convert)" in err
    assert "runtime/src/mine.c (added since convert)" in err and "--force" in err
    assert "my tweak" in data.read_text()
    assert main(["convert", str(toy_h5), "-o", str(out), "--force"]) == 0
    assert "my tweak" not in data.read_text() and not (out / "runtime" / "src" / "mine.c").exists()
    assert (out / "notes.txt").read_text() == "keep me" and (out / "build").is_dir()


@needs_arm_gcc
def test_builds_are_reproducible_across_folders(tmp_path, toy_h5):
    a, b = tmp_path / "first", tmp_path / "elsewhere" / "second"
    for d in (a, b):
        assert main(["convert", str(toy_h5), "-o", str(d), "--kernels", "ref"]) == 0
        assert main(["build", str(d)]) == 0
    elf_a, elf_b = (d / "build" / "firmware.elf" for d in (a, b))
    assert elf_a.read_bytes() == elf_b.read_bytes()
    assert str(tmp_path).encode() not in elf_a.read_bytes()
