"""bnn-mcu bench: per-layer instruction counts in QEMU, outputs checked, kernel sets side by side."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bnn_mcu import bench, ir
from bnn_mcu.build import Project
from bnn_mcu.cli import main
from bnn_mcu.errors import UsageError


def _copy_project(src, dst):
    """A copy without build directories (their CMake caches name the original source directory)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("build", "build-*"))
    return dst


# --------------------------------------------------------------------------------------------------
# no QEMU


def test_kernel_sets_and_build_dirs(toy_project, tmp_path):
    proj = Project.load(_copy_project(toy_project, tmp_path / "p"))
    have = bench.available_kernels(proj)
    assert have == ["ref", "bitsliced"]  # layouts.KERNEL_SETS order, protocol/ is not a set
    assert bench.parse_kernels(proj, None) == [bench.default_kernels(proj)] == ["bitsliced"]
    shutil.copytree(proj.path / "runtime/src/ref", proj.path / "runtime/src/other")
    assert bench.available_kernels(proj) == have  # codegen emits parameters only for known sets
    assert bench.parse_kernels(proj, "bitsliced, ref,bitsliced") == ["bitsliced", "ref"]
    assert bench.parse_kernels(proj, "all") == have
    assert bench.kernel_build_dir(proj, "bitsliced") == proj.path / "build"
    assert bench.kernel_build_dir(proj, "ref") == proj.path / "build-ref"
    with pytest.raises(UsageError, match="other"):
        bench.parse_kernels(proj, "ref,other")


def test_inputs_are_seeded_or_quantised(toy_project, toy_inputs):
    graph = Project.load(toy_project).graph()
    a, src = bench.bench_inputs(graph, 4)
    b, _ = bench.bench_inputs(graph, 4)
    assert a.dtype == np.uint8 and a.shape == (4, graph.input_bytes) and np.array_equal(a, b)
    assert "seed" in src
    q, src = bench.bench_inputs(graph, 3, toy_inputs)
    x = np.load(toy_inputs)["x"][:3].reshape(3, -1)
    assert np.array_equal(q, np.rint(x * 255).astype(np.uint8)) and str(toy_inputs) in src
    with pytest.raises(UsageError):
        bench.bench_inputs(graph, 0)


def test_adversarial_inputs_cover_the_extremes(toy_project):
    graph = Project.load(toy_project).graph()
    q, what = bench.adversarial_inputs(graph)
    assert q.dtype == np.uint8 and q.shape == (4, graph.input_bytes) and "all 255" in what
    assert q[0].max() == 0 and q[1].min() == 255 and set(np.unique(q[2])) == {0, 255}
    assert np.array_equal(q, bench.adversarial_inputs(graph)[0])  # seeded


def _fake_report():
    layers = (bench.LayerBench(0, "conv1", "conv2d u8->b1", 1000, 900.0, 950.0),
              bench.LayerBench(1, "pool1", "maxpool2d b1->b1", 0, 100.0, 100.0))
    kb = bench.KernelBench(kernels="bitsliced", elf="x.elf", layers=layers, per_inference_mean=1100.0,
                           per_inference_min=1100.0, per_inference_max=1100.0, inputs=2, matches=2, flash_bytes=1,
                           ram_bytes=1, sections={"code": 1, "rodata": 0, "data": 0, "bss": 0, "stack": 0},
                           seconds=0.1, per_inference_worst=1150.0, adversarial_inputs=4)
    return bench.BenchReport(project="p", model_name="m", model_hash="h", board="mps2-an386", cpu="cortex-m4",
                             target="qemu:mps2-an386", input_source="test", sets=(kb,))


def test_report_shows_typical_and_worst_case():
    r = _fake_report()
    text = bench.format_report(r)
    assert "worst case over the inputs and 4 adversarial inputs" in text and "1.056x" in text
    d = r.as_dict()
    assert d["sets"][0]["layers"][0]["worst_instructions"] == 950.0 and d["sets"][0]["per_inference_worst"] == 1150.0


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = bench.plot_report(_fake_report(), tmp_path / "bench.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_kernel_set_is_a_usage_error(toy_project, capsys):
    assert main(["bench", str(toy_project), "--kernels", "nope"]) == 2
    assert "available: ref" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# QEMU


@pytest.mark.qemu
def test_bench_json_per_layer(toy_project, toy_inputs, capsys):
    rc = main(["bench", str(toy_project), "--inputs", str(toy_inputs), "-n", "3", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0
    graph = Project.load(toy_project).graph()
    assert d["count_unit"] == "instructions" and "QEMU -icount" in d["count_note"]
    assert d["board"] == "mps2-an386" and d["cpu"].startswith("cortex-m4")
    assert d["binary_macs"] == sum(l.macs for l in graph.layers)
    assert "comparison" not in d
    (s,) = d["sets"]
    assert s["kernels"] == "bitsliced" and s["inputs"] == s["matches"] == 3 and s["adversarial_inputs"] == 4
    assert all(r["worst_instructions"] >= r["instructions"] * 0.999 for r in s["layers"])
    rows = s["layers"]
    assert [r["name"] for r in rows] == [l.name for l in graph.layers]
    assert [r["macs"] for r in rows] == [int(l.macs) for l in graph.layers]
    assert all(r["instructions"] > 0 for r in rows)
    total = s["per_inference_mean"]
    layer_sum = sum(r["instructions"] for r in rows)
    assert layer_sum <= total and (total - layer_sum) / total < 0.05, (layer_sum, total)
    assert s["macs_per_instruction"] == pytest.approx(d["binary_macs"] / total, rel=1e-3)
    sec = s["sections"]
    assert s["flash_bytes"] == sec["code"] + sec["rodata"] + sec["data"] > 1000
    assert s["ram_bytes"] == sec["data"] + sec["bss"] + sec["stack"] > 0


@pytest.mark.qemu
def test_bench_all_sets_side_by_side(toy_project, tmp_path, capsys):
    """Every kernel set the runtime ships builds in its own directory and is compared with ref."""
    proj = _copy_project(toy_project, tmp_path / "p")
    sets = bench.available_kernels(Project.load(proj))
    if len(sets) < 2:
        pytest.skip(f"only one kernel set in the runtime: {sets}")
    rc = main(["bench", str(proj), "--kernels", "all", "-n", "2", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [s["kernels"] for s in d["sets"]] == sets and d["comparison"]["baseline"] == "ref"
    for s in d["sets"]:
        assert s["matches"] == 2 and Path(s["elf"]).is_file()
        assert [r["macs"] for r in s["layers"]] == [r["macs"] for r in d["sets"][0]["layers"]]
    own = Project.load(proj).meta["kernels"]
    for name in sets[1:]:
        build_dir = "build" if name == own else f"build-{name}"
        assert (proj / build_dir / "firmware.elf").is_file()
        assert d["comparison"]["speedup"][name]["total"] > 0
    rc = main(["bench", str(proj), "--kernels", ",".join(sets[:2]), "-n", "1"])
    text = capsys.readouterr().out
    assert rc == 0 and "instructions (QEMU -icount)" in text and "speedup" in text


@pytest.mark.qemu
def test_a_wrong_reference_fails_the_bench(toy_project, tmp_path, capsys):
    """Numbers are only reported for correct outputs: flip the host's thresholds -> exit 8."""
    bad = _copy_project(toy_project, tmp_path / "bad")
    graph = ir.load(bad / "bnn_model.npz")
    layer = graph.layers[0]
    wrong = layer.with_params(thresholds=layer.thresholds + 40)
    ir.save(dataclasses.replace(graph, layers=(wrong,) + graph.layers[1:]), bad / "bnn_model.npz")
    rc = main(["bench", str(bad), "--json"])
    captured = capsys.readouterr()
    assert rc == 8 and captured.out == ""
    assert "differs from the reference" in captured.err
