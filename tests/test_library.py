"""`convert --as library`: names, layout, the public header, and the user's files (no build here; the
QEMU test of two linked libraries is tests/test_library_qemu.py)."""

import json

import pytest

from bnn_mcu.cli import main
from bnn_mcu.errors import UsageError
from bnn_mcu.library import check_name


@pytest.fixture(scope="module")
def mlp_h5(tmp_path_factory):
    import models

    path = tmp_path_factory.mktemp("m") / "mlp.h5"
    models.mlp_model().save(path)
    return path


@pytest.mark.parametrize("bad", ["1kws", "kws-net", "int", "bnn_kws", "_kws", "k" * 32, "$(reboot)", "", "a b",
                                 "bnn_runtime", "kws\n"])
def test_bad_names_are_refused(bad):
    with pytest.raises(UsageError):
        check_name(bad)


@pytest.mark.parametrize("good", ["kws", "Digits2", "model_a", "k" * 31])
def test_good_names(good):
    assert check_name(good) == good


def test_library_layout_and_header(mlp_h5, tmp_path, capsys):
    out = tmp_path / "kws"
    assert main(["convert", str(mlp_h5), "-o", str(out), "--as", "library", "--json"]) == 0  # name: the dir
    obj = json.loads(capsys.readouterr().out)
    assert obj["layout"] == "library" and obj["name"] == "kws"
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"CMakeLists.txt", "include/kws.h", "src/kws.c", "runtime/src/invoke.c", "runtime/include/bnn/bnn.h",
            "bnn_project.json", "bnn_model.npz"} <= files
    # no app, startup, UART, platform or protocol
    assert not [f for f in files if any(s in f for s in ("main.c", "startup", "platform", "protocol", "linker"))]
    header = (out / "include" / "kws.h").read_text()
    for decl in ("#define KWS_INPUT_BYTES 70u", "#define KWS_OUTPUT_COUNT 5u", "#define KWS_ARENA_BYTES",
                 "bnn_status_t kws_invoke(const uint8_t *input, int32_t *output);",
                 "int32_t kws_invoke_top(const uint8_t *input, int32_t *output);",
                 "void kws_quantize(const float *x, uint8_t *q, uint32_t n);",
                 "void kws_logits(const int32_t *output, float *logits);"):
        assert decl in header
    source = (out / "src" / "kws.c").read_text()
    assert "bnn_model_" not in source and "static bnn_status_t kws_model_run_layer" in source
    meta = json.loads((out / "bnn_project.json").read_text())
    assert meta["layout"] == "library" and meta["library_name"] == "kws"
    assert "include/kws.h" in meta["generated_files"]


def test_user_edits_are_not_overwritten(mlp_h5, tmp_path, capsys):
    out = tmp_path / "lib"
    assert main(["convert", str(mlp_h5), "-o", str(out), "--as", "library", "--name", "kws"]) == 0
    header = out / "include" / "kws.h"
    header.write_text(header.read_text() + "/* mine */\n")
    capsys.readouterr()
    assert main(["convert", str(mlp_h5), "-o", str(out), "--as", "library", "--name", "kws"]) == 2
    err = capsys.readouterr().err
    assert "include/kws.h (edited since convert)" in err and "Traceback" not in err
    assert "/* mine */" in header.read_text()
    assert main(["convert", str(mlp_h5), "-o", str(out), "--as", "library", "--name", "kws", "--force"]) == 0
    assert "/* mine */" not in header.read_text()
    # a firmware project cannot be written over a library (nor the reverse)
    assert main(["convert", str(mlp_h5), "-o", str(out)]) == 2
    assert "holds a bnn-mcu library project" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--as", "library", "--name", "9lives"], "is not a C identifier"),
    (["--as", "library", "--name", "static"], "is a keyword"),
    (["--name", "kws"], "a name is for libraries"),
])
def test_cli_refuses_bad_library_options(mlp_h5, tmp_path, capsys, argv, message):
    assert main(["convert", str(mlp_h5), "-o", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_default_name_must_be_an_identifier(mlp_h5, tmp_path, capsys):
    assert main(["convert", str(mlp_h5), "-o", str(tmp_path / "my-model"), "--as", "library"]) == 2
    assert "--name" in capsys.readouterr().err


def test_package_edits_are_not_overwritten(mlp_h5, tmp_path, capsys):
    out = tmp_path / "kws"
    assert main(["convert", str(mlp_h5), "-o", str(out), "--as", "package"]) == 0
    props = out / "library.properties"
    props.write_text(props.read_text().replace("category=Data Processing", "category=Sensors"))
    capsys.readouterr()
    assert main(["convert", str(mlp_h5), "-o", str(out), "--as", "package"]) == 2
    assert "library.properties (edited since convert)" in capsys.readouterr().err
    assert "category=Sensors" in props.read_text()


@pytest.mark.parametrize("verb", [["build"], ["run", "--inputs", "x.npz"], ["bench"], ["flash"]])
def test_firmware_verbs_refuse_a_library(mlp_h5, tmp_path, capsys, verb):
    out = tmp_path / "kws"
    assert main(["convert", str(mlp_h5), "-o", str(out), "--as", "library"]) == 0
    capsys.readouterr()
    assert main([verb[0], str(out), *verb[1:]]) == 2
    err = capsys.readouterr().err
    assert "is a library (convert --as library)" in err and "Traceback" not in err


@pytest.mark.parametrize("layout", ["library", "package"])
def test_converting_twice_gives_identical_files(mlp_h5, tmp_path, layout):
    a, b = tmp_path / "a" / "kws", tmp_path / "b" / "kws"
    for out in (a, b):
        assert main(["convert", str(mlp_h5), "-o", str(out), "--as", layout]) == 0
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
