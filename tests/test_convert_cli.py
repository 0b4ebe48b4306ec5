"""convert/inspect from a user's point of view: outputs, determinism, and clear errors (no tracebacks)."""

import json

import models
import pytest

from bnn_mcu.cli import main


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_convert_is_deterministic(tmp_path, toy_h5, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["convert", str(toy_h5), "-o", str(a)]) == 0
    assert main(["convert", str(toy_h5), "-o", str(b)]) == 0
    fa, fb = _files(a), _files(b)
    assert fa.keys() == fb.keys()
    assert all(fa[k] == fb[k] for k in fa), [k for k in fa if fa[k] != fb[k]]
    data = (a / "model" / "bnn_model_data.c").read_text()
    assert "do not edit" in data and "bnn_conv2d_u8_b1(&layer0_params" in data and "bnn_maxpool2d_b1(" in data


def test_convert_json_and_project_metadata(tmp_path, toy_h5, capsys):
    out = tmp_path / "p"
    assert main(["convert", str(toy_h5), "-o", str(out), "--input-range", "-1", "1", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    meta = json.loads((out / "bnn_project.json").read_text())
    assert obj["model_hash"] == meta["model_hash"] and len(obj["model_hash"]) == 64
    assert meta["input_range"] == [-1.0, 1.0] and meta["board"] == "mps2-an386"
    assert "0x" in (out / "model" / "bnn_model_data.c").read_text()


def test_input_range_changes_the_hash(tmp_path, toy_h5, capsys):
    hashes = []
    for lo in ("0", "-1"):
        assert main(["convert", str(toy_h5), "-o", str(tmp_path / lo), "--input-range", lo, "1", "--json"]) == 0
        hashes.append(json.loads(capsys.readouterr().out)["model_hash"])
    assert hashes[0] != hashes[1]


def test_inspect_lists_layers(toy_h5, capsys):
    assert main(["inspect", str(toy_h5), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert [r["kind"] for r in obj["layers"]] == [
        "conv2d u8->b1", "maxpool2d b1->b1", "conv2d b1->b1", "maxpool2d b1->b1", "dense b1->b1", "dense b1->s32"]
    assert obj["fits"] and obj["softmax"] and "dropout" in obj["ignored_layers"][1]


def _unsupported(tmp_path, layers, name="bad.h5"):
    k = models.keras()
    m = k.Sequential(layers)
    path = tmp_path / name
    m.save(path)
    return path


def _err(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("case", ["float_dense", "dilation", "relu", "conv2d_transpose", "tern", "late_real",
                                  "heaviside", "rescaling", "pad_into_pool"])
def test_unsupported_models_name_the_layer(tmp_path, capsys, case):
    k = models.keras()
    import larq as lq

    first = [k.layers.InputLayer((8, 8, 1))]
    layers = {
        "float_dense": first + [k.layers.Flatten(), k.layers.Dense(4, name="plain_dense")],
        "dilation": first + [models.qconv(4, 3, first=True, dilation_rate=2, name="dilated")],
        "heaviside": first + [lq.layers.QuantConv2D(4, 3, kernel_quantizer="ste_heaviside", name="heavi")],
        "rescaling": first + [models.qconv(4, 3, first=True), k.layers.Rescaling(2.0, name="scale")],
        "relu": first + [models.qconv(4, 3, first=True), k.layers.Activation("relu", name="act_relu")],
        "conv2d_transpose": first + [k.layers.Conv2DTranspose(2, 3, name="up")],
        "tern": first + [lq.layers.QuantConv2D(4, 3, kernel_quantizer="ste_tern", name="ternary")],
        "late_real": first + [models.qconv(4, 3, first=True), k.layers.Flatten(),
                              models.qdense(3, first=True, name="late"), models.qdense(2)],
        "pad_into_pool": first + [models.qconv(4, 3, first=True), k.layers.ZeroPadding2D(1),
                                  k.layers.MaxPooling2D(name="pool_of_pad")],
    }[case]
    path = _unsupported(tmp_path, layers)
    rc = main(["convert", str(path), "-o", str(tmp_path / "out")])
    err = _err(capsys)
    assert rc == 4, err
    expected_name = {"float_dense": "plain_dense", "dilation": "dilated", "relu": "act_relu",
                     "conv2d_transpose": "up", "tern": "ternary", "late_real": "late", "heaviside": "heavi",
                     "rescaling": "scale", "pad_into_pool": "pool_of_pad"}[case]
    assert f"'{expected_name}'" in err
    assert "supported" in err
    assert not (tmp_path / "out").exists(), "nothing may be written for a refused model"


def test_every_refused_layer_is_reported_at_once_and_inspect_shows_the_table(tmp_path, capsys):
    k = models.keras()
    import larq as lq

    layers = [k.layers.InputLayer((8, 8, 1)), models.qconv(4, 3, first=True, dilation_rate=2, name="dilated"),
              k.layers.Rescaling(1 / 255, name="scale"),
              lq.layers.QuantConv2D(4, 1, kernel_quantizer="ste_tern", input_quantizer="ste_sign", name="ternary"),
              k.layers.Flatten(), k.layers.Dense(3, name="plain")]
    path = _unsupported(tmp_path, layers)
    assert main(["convert", str(path), "-o", str(tmp_path / "out")]) == 4
    err = _err(capsys)
    assert "4 layers are not supported" in err
    for name, what in [("scale", "directly on the model input"), ("dilated", "dilation"),
                       ("ternary", "kernel_quantizer=SteTern"), ("plain", "full-precision")]:
        line = next(line for line in err.splitlines() if f"'{name}'" in line)
        assert what in line, line
    assert main(["inspect", str(path)]) == 4
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "4 layers are not supported" in err
    table = [line for line in out.splitlines() if line.split()[:1] in (["dilated"], ["scale"])
             or line.startswith("flatten")]
    assert [line.split()[2] for line in table] == ["refused", "refused", "ignored"], out
    assert main(["inspect", str(path), "--json"]) == 4
    obj = json.loads(capsys.readouterr().out)
    assert not obj["supported"] and [r["status"] for r in obj["keras_layers"]].count("refused") == 4
    assert not (tmp_path / "out").exists()


def test_not_a_model_file(tmp_path, capsys):
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"this is not HDF5")
    assert main(["convert", str(junk), "-o", str(tmp_path / "o")]) == 3
    assert "could not load" in _err(capsys)
    assert main(["convert", str(tmp_path / "missing.h5"), "-o", str(tmp_path / "o")]) == 2
    assert "not found" in _err(capsys)
    txt = tmp_path / "model.txt"
    txt.write_text("hello")
    assert main(["convert", str(txt), "-o", str(tmp_path / "o")]) == 3
    assert "unknown model format" in _err(capsys)


def test_refuses_to_overwrite_a_foreign_directory(tmp_path, toy_h5, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert main(["convert", str(toy_h5), "-o", str(out)]) == 2
    assert "not a bnn-mcu project" in _err(capsys)
    assert (out / "precious.txt").read_text() == "keep me"


def test_keras_and_savedmodel_formats(tmp_path, capsys):
    m = models.mlp_model(n_in=20, hidden=(33,), classes=4)
    m.save(tmp_path / "m.keras")
    m.save(tmp_path / "saved")
    hashes = []
    for src in ("m.keras", "saved"):
        assert main(["convert", str(tmp_path / src), "-o", str(tmp_path / f"out_{src}"), "--json"]) == 0
        hashes.append(json.loads(capsys.readouterr().out)["model_hash"])
    assert hashes[0] == hashes[1]


def test_model_too_big_for_board_is_refused_with_numbers(tmp_path, capsys):
    from bnn_mcu import fold, frontend, plan

    graph = fold.fold(frontend.lower(models.mlp_model(n_in=64, hidden=(4096, 4096), classes=10)))
    p = plan.make_plan(graph)

    class Tiny:
        name, flash_size, ram_size, stack_size = "tiny", 64 * 1024, 16 * 1024, 2048

    with pytest.raises(Exception) as info:
        plan.check_fits(p, Tiny())
    msg = str(info.value)
    assert "flash" in msg and f"{p.flash_estimate:,}" in msg and "65,536" in msg


def test_help_teaches(capsys):
    with pytest.raises(SystemExit) as e:
        main(["convert", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--input-range" in out and "(default: 0 1, or 0 255 when the model starts with a Rescaling" in out
    assert "examples" in out


def test_input_range_must_be_increasing(toy_h5, tmp_path, capsys):
    assert main(["convert", str(toy_h5), "-o", str(tmp_path / "o"), "--input-range", "1", "1"]) == 2
    assert "LO < HI" in _err(capsys)


def test_fan_in_too_large_for_bitsliced_counters(tmp_path, capsys):
    """K = 16449 8-bit inputs need 25 counter planes: bitsliced refuses with a hint, ref converts and builds."""
    from bnn_mcu import build

    path = tmp_path / "wide.h5"
    models.mlp_model(n_in=16449, hidden=(8,), classes=3).save(path)
    assert main(["convert", str(path), "-o", str(tmp_path / "bs")]) == 4
    err = _err(capsys)
    assert "fan-in 16449" in err and "--kernels ref" in err
    out = tmp_path / "ref"
    assert main(["convert", str(path), "-o", str(out), "--kernels", "ref"]) == 0
    assert "#error" in (out / "model" / "bnn_model_data.c").read_text()  # only under BNN_KERNELS_BITSLICED
    capsys.readouterr()
    assert main(["inspect", str(path), "--json"]) == 0
    ks = json.loads(capsys.readouterr().out)["kernel_sets"]
    assert ks["ref"]["ok"] and not ks["bitsliced"]["ok"] and "16449" in ks["bitsliced"]["problems"][0]
    assert build.build(build.Project.load(out), host=True).artifact.is_file()


def test_copied_project_with_build_dir_rebuilds(toy_project, tmp_path, capsys):
    import shutil

    from bnn_mcu import build

    src = tmp_path / "a"
    shutil.copytree(toy_project, src)
    build.build(build.Project.load(src), host=True)
    moved = tmp_path / "b"
    shutil.copytree(src, moved)  # the CMake cache still points at a/
    assert build.build(build.Project.load(moved), host=True).artifact.is_file()


def test_model_that_does_not_fit_a_board_file_is_refused_before_building(tmp_path, capsys):
    """A board description with 64 KB flash / 16 KB RAM (e.g. a small part) and a model that needs more:
    exit 5, both budgets with numbers, nothing written."""
    import yaml

    from bnn_mcu.resources import boards_dir

    board = yaml.safe_load((boards_dir() / "mps2-an386.yaml").read_text())
    board.update(name="tiny-m4", description="a small Cortex-M4 (test fixture)")
    board["memory"]["flash"]["size"] = 64 * 1024
    board["memory"]["ram"]["size"] = 16 * 1024
    board_file = tmp_path / "tiny-m4.yaml"
    board_file.write_text(yaml.safe_dump(board))
    model = tmp_path / "big.h5"
    models.mlp_model(n_in=256, hidden=(2048, 256), classes=10).save(model)  # ~85 KB of weights
    out = tmp_path / "out"
    assert main(["convert", str(model), "-o", str(out), "--board", str(board_file)]) == 5
    err = _err(capsys)
    assert "does not fit board 'tiny-m4'" in err and "flash: needs ~" in err and "65,536" in err
    assert not out.exists()
    assert main(["inspect", str(model), "--board", str(board_file), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["fits"] is False and "flash" in obj["why_not"]


@pytest.mark.parametrize("case", ["bn_after_concat", "add_of_concat", "multiply", "ends_in_concat", "shared_layer",
                                  "two_outputs"])
def test_unsupported_branches_are_refused_clearly(tmp_path, capsys, case):
    """Branching models the target cannot run exactly are refused naming the layer and what is
    supported (exit 4, no traceback, nothing written)."""
    k = models.keras()
    inp = k.Input((8, 8, 1))
    x = k.layers.BatchNormalization()(models.qconv(4, 3, first=True, padding="same")(inp))
    y = k.layers.BatchNormalization()(models.qconv(4, 3, padding="same")(x))
    outputs, expected = None, None
    if case == "bn_after_concat":
        cat = k.layers.Concatenate()([x, y])
        z = k.layers.BatchNormalization(name="bn_on_cat")(cat)
        outputs, expected = models.qdense(3)(k.layers.Flatten()(z)), ("bn_on_cat", "real values of a concatenation")
    elif case == "add_of_concat":
        z = k.layers.Add(name="residual")([k.layers.Concatenate()([x, y]), k.layers.Concatenate()([y, x])])
        outputs, expected = models.qdense(3)(k.layers.Flatten()(z)), ("residual", "signs only are kept")
    elif case == "multiply":
        z = k.layers.Multiply(name="gate")([x, y])
        outputs, expected = models.qdense(3)(k.layers.Flatten()(z)), ("gate", "not supported")
    elif case == "ends_in_concat":
        outputs, expected = k.layers.Concatenate(name="cat_out")([x, y]), ("output", "ends in a quantized layer")
    elif case == "shared_layer":
        shared = models.qconv(4, 3, padding="same", name="shared")
        z = k.layers.Concatenate()([shared(x), shared(y)])
        outputs, expected = models.qdense(3)(k.layers.Flatten()(z)), ("shared", "called once")
    elif case == "two_outputs":
        outputs = [models.qdense(3)(k.layers.Flatten()(y)), models.qdense(2)(k.layers.Flatten()(x))]
        expected = ("2 outputs", "one output")
    path = tmp_path / f"{case}.h5"
    k.Model(inp, outputs, name="branches").save(path)
    rc = main(["convert", str(path), "-o", str(tmp_path / "out")])
    err = _err(capsys)
    assert rc == 4, err
    assert all(e in err for e in expected), err
    assert not (tmp_path / "out").exists()
