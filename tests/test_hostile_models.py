"""Model files are untrusted data: hostile files made as an attacker would make them.

- a Lambda layer whose code creates a file: it must not run on inspect, convert or run --keras (a
  control load with plain tf_keras shows the attack is real);
- a model name (and layer names) built to break out of C comments and CMake comments: convert and a
  real build must not run the injected CMake command, and the generated files hold it only inert;
- names with terminal escape sequences are shown escaped.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import models
import pytest

from bnn_mcu import modelfile, untrusted
from bnn_mcu.cli import main

needs_arm_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no arm-none-eabi-gcc")


def _lambda_model(marker):
    """A small valid BNN with a Lambda whose body touches ``marker`` when the layer is called."""
    k = models.keras()
    touch = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")  # noqa: S307
    return k.Sequential([k.layers.InputLayer((6,)), k.layers.Lambda(touch, name="innocent"),
                         models.qdense(3, first=True)], name="lambda_model")


@pytest.fixture(scope="module")
def lambda_h5(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    marker = d / "PWNED_BY_LAMBDA"
    path = d / "lambda.h5"
    _lambda_model(marker).save(path)  # building the model calls the lambda once: clear the marker
    marker.unlink()
    return path, marker


def test_lambda_attack_is_real(lambda_h5):
    """Control: plain tf_keras runs the file's code on load. This is what bnn-mcu must not do."""
    path, marker = lambda_h5
    k = models.keras()
    k.models.load_model(path, compile=False, safe_mode=True)  # safe_mode does not apply to .h5
    assert marker.exists()
    marker.unlink()


@pytest.mark.parametrize("verb", ["inspect", "convert", "run"])
def test_lambda_code_never_runs(tmp_path, capsys, lambda_h5, toy_project, verb):
    path, marker = lambda_h5
    argv = {"inspect": ["inspect", str(path)],
            "convert": ["convert", str(path), "-o", str(tmp_path / "out")],
            "run": ["run", str(toy_project), "--inputs", str(_inputs(tmp_path)), "--keras", str(path),
                    "--no-build"]}[verb]
    assert main(argv) == 4
    err = capsys.readouterr().err
    assert "layer 'innocent' (Lambda)" in err and "Traceback" not in err
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def _inputs(tmp_path):
    import numpy as np

    p = tmp_path / "x.npz"
    np.savez(p, x=np.zeros((1, 12, 12, 3), np.float32))
    return p


def test_keras_archive_with_lambda_is_refused_before_loading(tmp_path, capsys):
    marker = tmp_path / "PWNED_KERAS"
    path = tmp_path / "lambda.keras"
    _lambda_model(marker).save(path)
    marker.unlink()
    assert main(["inspect", str(path)]) == 4
    assert "(Lambda)" in capsys.readouterr().err and not marker.exists()


@pytest.mark.parametrize("cls, key, value, expect", [
    ("TFOpLambda", None, None, "class 'TFOpLambda'"),
    ("QuantDense", "module", "os", "module 'os'"),
    ("QuantDense", "registered_name", "Custom>Evil", "registered as 'Custom>Evil'"),
    ("QuantDense", "activation", "evil_function", "activation='evil_function'"),
])
def test_config_vetting_refuses_code_carriers(tmp_path, cls, key, value, expect):
    """Hand-edited configs, as an attacker would write them into an .h5 file."""
    path = tmp_path / "m.h5"
    models.mlp_model(n_in=6, hidden=(4,), classes=3).save(path)

    def edit(cfg):
        layer = cfg["config"]["layers"][1]
        if key is None:
            layer["class_name"] = cls
        elif key == "activation":
            layer["config"]["activation"] = value
        else:
            layer[key] = value
        return cfg

    _edit_config(path, edit)
    with pytest.raises(Exception) as info:
        modelfile.vet(path)
    assert expect in str(info.value) and type(info.value).__name__ == "UnsupportedModelError"


def test_savedmodel_without_keras_metadata_is_refused(tmp_path, capsys):
    d = tmp_path / "sm"
    d.mkdir()
    (d / "saved_model.pb").write_bytes(b"\x08\x01")
    assert main(["inspect", str(d)]) == 3
    assert "keras_metadata.pb" in capsys.readouterr().err


HOSTILE_NAME = 'm */\n#pragma message("X")\n#/*\nexecute_process(COMMAND touch {marker})\n#'


@pytest.fixture(scope="module", params=["h5", "keras"])
def hostile_name_model(request, tmp_path_factory):
    """The issue's model name (Keras accepts it), and a Dropout carrying a name with `*/`."""
    d = tmp_path_factory.mktemp(f"hostile_{request.param}")
    marker = d / "PWNED_BY_CMAKE"
    k = models.keras()
    m = models.conv_model(c1=4, c2=5, units=6, classes=3)
    m = k.Sequential([k.layers.InputLayer(m.input_shape[1:]), *m.layers[:-1], k.layers.Dropout(0.1, name="drop"),
                      m.layers[-1]], name=HOSTILE_NAME.format(marker=marker))
    path = d / f"model.{request.param}"
    m.save(path)
    return path, marker


def _rename(cfg, old, new):
    for layer in cfg["config"]["layers"]:
        if layer["config"].get("name") == old:
            layer["config"]["name"] = new
    return cfg


def _edit_config(path, edit):
    if path.suffix == ".h5":
        with h5py.File(path, "r+") as f:
            f.attrs["model_config"] = json.dumps(edit(json.loads(f.attrs["model_config"])))
        return
    import zipfile

    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["config.json"] = json.dumps(edit(json.loads(members["config.json"]))).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)


@needs_arm_gcc
def test_hostile_model_name_cannot_inject_cmake_or_c(tmp_path, capsys, hostile_name_model):
    path, marker = hostile_name_model
    out = tmp_path / "proj"
    assert main(["convert", str(path), "-o", str(out), "--kernels", "ref"]) == 0
    assert main(["build", str(out)]) == 0  # the generated C and CMake still compile
    assert not marker.exists()
    cmake = (out / "CMakeLists.txt").read_text()
    assert "execute_process" not in "\n".join(line for line in cmake.splitlines() if not line.startswith("#"))
    for rel in ("CMakeLists.txt", "model/bnn_model_data.c", "model/bnn_model_config.h"):
        text = (out / rel).read_text()
        assert "#pragma message" not in text and '"X"' not in text, rel
    assert "# Model: m ___x0a_pragma message(_X_)_x0a____x0aexecute_process(COMMAND touch" in cmake
    meta = json.loads((out / "bnn_project.json").read_text())
    assert meta["model_name"] == HOSTILE_NAME.format(marker=marker).replace("\n", "\\x0a")  # one line


def test_hostile_names_are_escaped_on_the_terminal(tmp_path, capsys, hostile_name_model):
    path, _marker = hostile_name_model
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "execute_process" in out and "\n#pragma" not in out  # shown, on one line per row
    # A layer name with terminal escapes, written into the config by hand (Keras refuses to load it,
    # and its message quotes the name: that message must not reach the terminal raw either).
    evil = tmp_path / f"escape{path.suffix}"
    shutil.copy(path, evil)
    _edit_config(evil, lambda cfg: _rename(cfg, "drop", "drop\x1b[2J\x1b[31mRED"))
    assert main(["inspect", str(evil)]) == 3
    err = capsys.readouterr().err
    assert "\x1b" not in err and "drop\\x1b[2J\\x1b[31mRED" in err


@pytest.mark.parametrize("raw, comment, c_string", [
    ("plain_name-1", "plain_name-1", "plain_name-1"),
    ("a */ b /* c", "a __ b __ c", "a */ b /* c"),
    ('q"\\??/\n', "q______", 'q\\042\\134\\077\\077/\\012'),
    ("é", "_", "\\303\\251"),
    ("x" * 100, "x" * 77 + "...", "x" * 100),
])
def test_encoders(raw, comment, c_string):
    assert untrusted.comment(raw) == comment
    assert untrusted.c_string(raw) == c_string
    assert untrusted.terminal("a\x1b[31mb\rc\n") == "a\\x1b[31mb\\x0dc\n"


def test_templates_refuse_unencoded_model_strings():
    from bnn_mcu import templating

    tmpl = templating.environment().from_string("/* {{ name }} */")
    with pytest.raises(TypeError, match="untrusted"):
        tmpl.render(name=untrusted.untrusted("*/ evil"))
    assert templating.environment().from_string("/* {{ name|comment }} */").render(
        name=untrusted.untrusted("*/ evil")) == "/* __ evil */"


def test_functions_saved_by_reference_pass_only_when_known():
    """A .keras file names an activation function by reference ({"class_name": "function"}): a known
    name passes the vetting, any other (e.g. a builtin that runs code) is refused."""
    from bnn_mcu.modelfile import _problems

    ok = {"class_name": "function", "config": "hard_tanh", "module": "builtins", "registered_name": "function"}
    assert list(_problems(ok)) == []
    for bad in ({**ok, "config": "eval"}, {**ok, "config": "exec"}, {**ok, "module": "os"},
                {**ok, "registered_name": "Custom>evil"}):
        assert list(_problems(bad)), bad


@needs_arm_gcc
def test_hostile_model_name_cannot_inject_a_library_or_package(tmp_path, hostile_name_model):
    """The same name through `--as library` (CMake configured and built) and `--as package` (every C
    file compiled; library.properties stays key=value lines; nothing from the model in Kconfig)."""
    import subprocess

    path, marker = hostile_name_model
    lib, pkg = tmp_path / "lib", tmp_path / "pkg"
    assert main(["convert", str(path), "-o", str(lib), "--as", "library", "--name", "hm"]) == 0
    assert main(["convert", str(path), "-o", str(pkg), "--as", "package", "--name", "hm"]) == 0
    toolchain = Path(__file__).resolve().parent.parent / "examples" / "two_models" / "toolchain.cmake"
    for cmd in (["cmake", "-S", str(lib), "-B", str(tmp_path / "b"), f"-DCMAKE_TOOLCHAIN_FILE={toolchain}"],
                ["cmake", "--build", str(tmp_path / "b")]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0 and "pragma message" not in r.stdout + r.stderr, r.stdout + r.stderr
    for c in sorted((pkg / "src").rglob("*.c")):
        r = subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-Wall", "-Werror", f"-I{pkg / 'src'}",
                            "-fsyntax-only", str(c)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    assert not marker.exists()
    for text in [p.read_text() for p in (*lib.rglob("*.[ch]"), lib / "CMakeLists.txt", *pkg.rglob("*.[ch]"))]:
        assert "#pragma message" not in text and '"X"' not in text
    props = (pkg / "library.properties").read_text().splitlines()
    assert all("=" in line and line.split("=", 1)[0].isidentifier() for line in props), props
    assert "execute_process" not in (pkg / "zephyr" / "Kconfig").read_text()
