"""The Python API end to end: examples/notebook_api.py trains a Larq model in memory and converts,
builds and runs it in QEMU through `import bnn_mcu` without saving a model file; plus the API's
argument checks."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import bnn_mcu
from bnn_mcu.errors import UsageError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "notebook_api.py"


def _example():
    spec = importlib.util.spec_from_file_location("notebook_api", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.qemu
@pytest.mark.slow
def test_notebook_example_end_to_end(tmp_path, capsys):
    out = tmp_path / "nb"
    result = _example().main(out, n_train=4000, epochs=3, n_test=60, report=tmp_path / "report.html")
    assert isinstance(result, bnn_mcu.RunResult)
    assert result.bit_exact and result.matches == 60 and result.agreement == 1.0
    assert np.array_equal(result.outputs, result.reference)
    s = result.summary
    assert s["accuracy_target"] > 0.5 and s["float_top1_agreement"] > 0.8  # a trained model, really run
    assert s["count_unit"] == "instructions" and result.counts.min() > 0
    assert not list(tmp_path.rglob("*.h5")) and not list(tmp_path.rglob("*.keras"))  # nothing saved
    assert "in-memory Keras model" in (out / "bnn_project.json").read_text()
    assert (tmp_path / "report.html").stat().st_size > 50_000
    assert "bit-exact with the reference: 60/60" in capsys.readouterr().out


def test_build_is_the_module_and_the_function():
    from bnn_mcu import build  # the module, as the code has always imported it

    assert build is bnn_mcu.build and build.Project and callable(bnn_mcu.build)
    with pytest.raises(UsageError, match="not a bnn-mcu project"):
        bnn_mcu.build("/nonexistent/project")


def test_api_refuses_bad_arguments(tmp_path):
    with pytest.raises(UsageError, match="Keras model or a path"):
        bnn_mcu.convert(42, tmp_path / "a")
    with pytest.raises(UsageError, match="unknown layout"):
        bnn_mcu.convert("m.h5", tmp_path / "a", layout="zip")
    with pytest.raises(UsageError, match="not a C identifier"):
        bnn_mcu.convert("m.h5", tmp_path / "a", layout="library", name="my-net")
    with pytest.raises(TypeError):  # options are keyword-only
        bnn_mcu.convert("m.h5", tmp_path / "a", "mps2-an386")


def test_run_checks_in_memory_inputs(toy_project):
    with pytest.raises(UsageError, match="x has shape"):
        bnn_mcu.run(toy_project, np.zeros((2, 5)))
    with pytest.raises(UsageError, match="non-finite"):
        bnn_mcu.run(toy_project, np.full((1, 12, 12, 3), np.nan, np.float32))
    with pytest.raises(UsageError, match="one-hot"):
        bnn_mcu.run(toy_project, np.zeros((2, 12, 12, 3)), np.eye(2))
