"""Fidelity against the user's float model: clipped inputs are counted (and refused above 0.1 %), and
`run --keras` also compares the target with Larq run on the original float inputs.

A wrong --input-range used to pass: Larq then ran on the same clipped 8-bit inputs as the target, so
the exact check agreed 100 % while the target matched the user's float model on a third of the inputs.
Everything here runs without QEMU (a fake target replays the reference), except the `qemu` test."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest

from bnn_mcu import protocol as P
from bnn_mcu import reference, runner
from bnn_mcu.build import Project
from bnn_mcu.cli import build_parser, main
from bnn_mcu.errors import UsageError
from bnn_mcu.larqcheck import compare, float_fidelity


@pytest.fixture(scope="module")
def toy_model(toy_h5):
    from bnn_mcu import frontend

    return frontend.load_model(str(toy_h5))


@pytest.fixture(scope="module")
def project_255(tmp_path_factory, toy_h5):
    """The toy model converted for raw pixels: --input-range 0 255."""
    out = tmp_path_factory.mktemp("proj255") / "toy255"
    assert main(["convert", str(toy_h5), "-o", str(out), "--input-range", "0", "255"]) == 0
    return out


def _x01(n=64, seed=7):
    return np.random.default_rng(seed).uniform(0, 1, (n, 12, 12, 3)).astype(np.float32)


def _save(path, x, y=None):
    np.savez(path, **({"x": x} if y is None else {"x": x, "y": y}))
    return str(path)


# ------------------------------------------------------------------------------------------ clipping


def test_clipping_counts_values_and_inputs_with_quantize_tolerance():
    x = np.zeros((4, 10), np.float32)
    x[0, 0] = 1 + 0.5e-6  # within quantize's tolerance (1e-6 of the range): not clipped
    x[1, 0] = 1 + 5e-6
    x[1, 1] = -0.25
    x[3, :] = 2.0
    c = runner.clipping(x, (0.0, 1.0))
    assert (c.inputs, c.values, c.clipped_values, c.inputs_with_clipping) == (4, 40, 12, 2)
    assert c.share == pytest.approx(0.3) and (c.x_min, c.x_max) == (-0.25, 2.0)
    assert runner.clipping(x, (-1.0, 2.0)).clipped_values == 0


def test_clipped_share_above_a_thousandth_is_refused_with_the_range_named():
    x = np.zeros((1, 2000), np.float32)
    x[0, :2] = 3.0  # 0.1 % exactly: allowed
    runner.check_clipping(runner.clipping(x, (0, 1)))
    x[0, 2] = -7.5  # 0.15 %
    c = runner.clipping(x, (0, 1))
    with pytest.raises(UsageError) as e:
        runner.check_clipping(c)
    msg = e.value.message + " " + e.value.hint
    assert "--input-range 0 1" in msg and "[-7.5, 3]" in msg and "--allow-clipping" in msg
    assert e.value.exit_code == 2
    runner.check_clipping(c, allow=True)


def test_wrong_range_is_refused_before_anything_runs(toy_project, tmp_path, capsys, monkeypatch):
    """Raw pixels into a project converted for [0, 1]: exit 2 before the build, TensorFlow or QEMU."""
    from bnn_mcu import build

    def must_not_run(*a, **k):
        raise AssertionError("ran although the inputs were refused")

    monkeypatch.setattr(build, "build", must_not_run)
    monkeypatch.setattr(runner, "run", must_not_run)
    inputs = _save(tmp_path / "raw.npz", np.rint(_x01() * 255))
    rc = main(["run", str(toy_project), "--inputs", inputs, "--keras", "nonexistent.h5", "--json"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and "Traceback" not in err
    assert "--input-range 0 1" in err and "x spans [0, 255]" in err and "--allow-clipping" in err


def test_help_documents_clipping_and_fidelity():
    sub = next(a for a in build_parser()._actions if a.dest == "verb")
    text = sub.choices["run"].format_help()
    assert "--allow-clipping" in text and "0.1%" in text
    assert "float_top1_agreement" in text and "never a failure" in " ".join(text.split())


# ----------------------------------------------------------------------------- float-input fidelity


def test_float_fidelity_right_and_wrong_range(toy_model, toy_project, project_255):
    """The measurement itself, on converted projects' graphs and the reference (no target needed)."""
    x255 = np.rint(_x01(200) * 255).astype(np.float32)
    cases = {"right [0,1]": (toy_project, x255 / 255), "right [0,255]": (project_255, x255),
             "wrong [0,1] for raw pixels": (toy_project, x255)}
    got = {}
    for name, (proj, x) in cases.items():
        graph = Project.load(proj).graph()
        q = runner.quantize(x.reshape(len(x), -1), graph)
        ref = reference.run(graph, q)
        exact, _ = compare(toy_model, graph, q)
        fid, larq_float = float_fidelity(toy_model, graph, x, ref.raw, ref.top1)
        assert exact.top1_agreement == 1.0 and exact.unexplained_disagreements == 0  # passes either way
        assert larq_float.shape == ref.raw.shape and fid.inputs == 200
        assert fid.top1_disagreements == round(200 * (1 - fid.top1_agreement))
        got[name] = fid
    for right in ("right [0,1]", "right [0,255]"):
        assert got[right].top1_agreement >= 0.98 and got[right].max_abs_output_diff < 0.05, got
    wrong = got["wrong [0,1] for raw pixels"]
    assert wrong.top1_agreement < 0.6 and wrong.max_abs_output_diff > 0.1, got  # measured: 0.315


def test_float_fidelity_defaults_to_the_host_top1(toy_model, toy_project):
    graph = Project.load(toy_project).graph()
    x = _x01(16)
    ref = reference.run(graph, runner.quantize(x.reshape(16, -1), graph))
    a, _ = float_fidelity(toy_model, graph, x, ref.raw)
    b, _ = float_fidelity(toy_model, graph, x, ref.raw, ref.top1)
    assert a == b
    wrong_top1 = (ref.top1 + 1) % graph.output_count
    assert float_fidelity(toy_model, graph, x, ref.raw, wrong_top1)[0].top1_agreement == 0.0


# ------------------------------------------------------------------- the whole run, on a fake target


class _ReplayLink:
    """A target that answers every request with the reference's result: exact by construction."""

    def __init__(self, project: Project):
        self.graph = project.graph()
        self.info = P.Info(protocol_version=1, model_hash=bytes.fromhex(project.model_hash)[:16],
                           input_bytes=self.graph.input_bytes, output_count=self.graph.output_count,
                           arena_bytes=1234, max_payload=4096, n_layers=len(self.graph.layers),
                           counter_kind=P.CounterKind.NONE, counter_hz=0, board="fake")

    def hello(self):
        return self.info

    wire_input_bytes = rle_bytes_saved = 0

    def infer(self, payload: bytes):
        res = reference.run(self.graph, np.frombuffer(payload, np.uint8)[None])
        return P.Result(count=0, top1=int(res.top1[0]), outputs=tuple(int(v) for v in res.raw[0]))

    def infer_many(self, inputs, window=2):
        for key, payload in inputs:
            yield key, self.infer(payload)

    def stats(self):
        return P.StatsResult(0, 0)

    def shutdown(self):
        pass


@pytest.fixture
def fake_target(monkeypatch):
    @contextlib.contextmanager
    def open_target(project, **_kw):
        yield _ReplayLink(project), "fake:replay"

    monkeypatch.setattr(runner, "open_target", open_target)


def test_run_reports_float_fidelity_beside_the_exact_check(fake_target, toy_project, toy_h5, tmp_path, capsys):
    x, y = _x01(40), np.arange(40) % 10
    inputs = _save(tmp_path / "x.npz", x, y)
    rc = main(["run", str(toy_project), "--inputs", inputs, "--keras", str(toy_h5), "--no-build", "--json"])
    s = json.loads(capsys.readouterr().out)
    assert rc == 0 and s["matches"] == 40 and s["target"] == "fake:replay"
    assert s["keras_top1_agreement"] == 1.0 and s["keras_unexplained_disagreements"] == 0
    assert s["float_top1_agreement"] >= 0.95 and s["float_max_abs_diff"] < 0.05
    assert s["float_top1_disagreements"] == round(40 * (1 - s["float_top1_agreement"]))
    assert s["float_accuracy_keras"] is not None
    assert (s["clipped_values"], s["clipped_share"], s["inputs_with_clipping"]) == (0, 0.0, 0)
    assert s["input_range"] == [0.0, 1.0] and 0 <= s["input_min"] < s["input_max"] <= 1

    rc = main(["run", str(toy_project), "--inputs", inputs, "--keras", str(toy_h5), "--no-build"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "exact check   Larq vs reference on the 8-bit inputs" in text
    assert "float model   Larq on the original float x vs target" in text and "(measured, not checked)" in text
    assert "nothing clipped" in text


def test_allow_clipping_runs_and_shows_the_damage(fake_target, toy_project, toy_h5, tmp_path, capsys):
    """The issue's case: a wrong range passes the exact check, and now the float agreement shows it."""
    inputs = _save(tmp_path / "raw.npz", np.rint(_x01(64) * 255).astype(np.float32))
    rc = main(["run", str(toy_project), "--inputs", inputs, "--keras", str(toy_h5), "--no-build", "--json",
               "--allow-clipping"])
    s = json.loads(capsys.readouterr().out)
    assert rc == 0 and s["matches"] == 64 and s["keras_top1_agreement"] == 1.0  # exact: still identical
    assert s["inputs_with_clipping"] == 64 and s["clipped_share"] > 0.9 and s["input_max"] == 255.0
    assert s["float_top1_agreement"] < 0.6  # but far from the user's float model


def test_a_few_clipped_values_are_counted_not_refused(fake_target, toy_project, tmp_path, capsys):
    x = _x01(10)
    x[3, 0, 0, 0] = 1.5  # 1 of 4,320 values: 0.02 %
    rc = main(["run", str(toy_project), "--inputs", _save(tmp_path / "x.npz", x), "--no-build"])
    text = capsys.readouterr().out
    assert rc == 0 and "1 values clipped (0.023%, in 1 inputs)" in text
    assert "float model" not in text  # no --keras: nothing to measure against


# ------------------------------------------------------------------------------------------ on QEMU


@pytest.mark.qemu
def test_qemu_right_range_agrees_with_the_float_model(toy_built, project_255, toy_h5, tmp_path, capsys):
    x255 = np.rint(_x01(32, seed=11) * 255).astype(np.float32)
    raw = _save(tmp_path / "raw.npz", x255)
    # Converted for [0, 255]: raw pixels are exactly what the model takes.
    assert main(["build", str(project_255)]) == 0
    capsys.readouterr()
    rc = main(["run", str(project_255), "--inputs", raw, "--keras", str(toy_h5), "--no-build", "--json"])
    s = json.loads(capsys.readouterr().out)
    assert rc == 0 and s["matches"] == 32 and s["keras_unexplained_disagreements"] == 0
    assert s["clipped_values"] == 0 and s["float_top1_agreement"] >= 0.95
    # The [0, 1] project with the same raw pixels: refused before QEMU boots, runs with --allow-clipping.
    assert main(["run", str(toy_built), "--inputs", raw, "--no-build"]) == 2
    assert "--input-range 0 1" in capsys.readouterr().err
    rc = main(["run", str(toy_built), "--inputs", raw, "--keras", str(toy_h5), "--no-build", "--json",
               "--allow-clipping"])
    s = json.loads(capsys.readouterr().out)
    assert rc == 0 and s["matches"] == 32 and s["keras_top1_agreement"] == 1.0
    assert s["float_top1_agreement"] < 0.6
