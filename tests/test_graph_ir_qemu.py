"""The graph-IR capabilities end to end, as a user runs them: one Larq model with every capability
('same' padding with both pad values, a binarized model input, biases, 'same' max-pooling, BN variants,
every sign quantizer, a last layer without BN), converted, cross-compiled, run in QEMU over the serial
link with both kernel sets, and checked bit for bit against the reference and against Larq (--keras);
a functional model with branches and concatenations, the same way; and the benchmark layer shapes of
benchmarks/layers.py convert and run."""

from __future__ import annotations

import json
import subprocess
import sys

import models
import numpy as np
import pytest
from conftest import REPO

from bnn_mcu.cli import main

pytestmark = pytest.mark.qemu


MODELS = {  # model, input shape, concat nodes expected, file format
    # every capability of the graph-IR issue
    "everything": (lambda: models.everything_model(seed=1), (11, 10, 2), 0, "h5"),
    "branchy": (lambda: models.branchy_model(seed=2), (10, 9, 3), 2, "h5"),
    # .keras: tf_keras cannot reload a Larq hard_tanh activation from .h5 (its own loader fails)
    "activations": (lambda: models.activations_model(seed=1), (9, 8, 2), 0, "keras"),
    "kws": (lambda: models.kws_model(seed=3, pad_values=1.0), (49, 10), 0, "h5"),
    "depthwise": (lambda: models.depthwise_model(seed=4, multiplier=2), (11, 10, 3), 0, "h5"),
    "residual": (lambda: models.residual_model(seed=1, pad_values=0.0), (10, 9, 3), 0, "h5"),
    "pooled": (lambda: models.pooled_residual_model(seed=1), (11, 10, 3), 0, "h5"),
    # every layer kind of the 'rest of Larq' issue in one model
    "larq_everything": (lambda: models.larq_everything_model(seed=1), (12, 11, 3), 1, "keras"),
}


@pytest.mark.parametrize("kernels", ["ref", "bitsliced"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_bit_exact_on_qemu(tmp_path, capsys, kernels, name):
    """Each model as a user converts and runs it (both kernel sets): outputs equal to the reference, the
    reference equal to Larq (ties aside; int16 stream signs within their bounds)."""
    make, shape, concats, fmt = MODELS[name]
    h5 = tmp_path / f"{name}.{fmt}"
    make().save(h5)
    x = np.random.default_rng(5).uniform(-1, 1, (24,) + shape).astype(np.float32)
    x[:3] = 0.0  # exact zeros: sign(0) = +1
    np.savez(tmp_path / "x.npz", x=x)
    out = tmp_path / "proj"
    assert main(["convert", str(h5), "-o", str(out), "--input-range", "-1", "1", "--kernels", kernels]) == 0
    capsys.readouterr()
    rc = main(["run", str(out), "--inputs", str(tmp_path / "x.npz"), "--keras", str(h5), "--json"])
    s = json.loads(capsys.readouterr().out)
    assert rc == 0, s
    assert s["matches"] == s["inputs"] == 24 and s["mismatches"] == 0
    assert s["keras_unexplained_disagreements"] == 0
    if name in ("residual", "pooled", "larq_everything"):  # int16 streams: signs may flip within the bound
        # (random weights give close logits: one flipped sign may change the top-1, which is then explained)
        assert 0 < s["keras_fixed_point_disagreements"] <= 0.001 * s["keras_bits_compared"]
    else:
        assert s["keras_top1_agreement"] == 1.0 and s["keras_fixed_point_disagreements"] == 0
    layers = json.loads((out / "bnn_project.json").read_text())["layers"]
    assert [entry["kind"].split()[0] for entry in layers].count("concat") == concats


def test_benchmark_layer_shapes_convert_and_run(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "benchmarks" / "layers.py"), "-n", "1", "--workdir",
                        str(tmp_path), "--kernels", "ref,bitsliced"], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    rows = [line for line in r.stdout.splitlines() if line.startswith("| ") and "MACs" not in line]
    assert len(rows) == 8  # 4 shapes x 2 kernel sets, each with outputs checked by bench
    per_mac = {(row.split("|")[1].strip()[:20], row.split("|")[2].strip()): float(row.split("|")[-2]) for row in rows}
    assert all(v > 0 for v in per_mac.values())
