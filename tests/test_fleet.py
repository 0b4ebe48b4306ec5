"""run --jobs N (bnn_mcu/fleet.py): inputs spread over N real QEMU instances give exactly the arrays one
instance gives, in input order (outputs, top-1 and instruction counts); a failing target stops the
run with a clear error and leaves no QEMU behind; --jobs is checked before anything starts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_ops_random_graphs import chain_mlp, chain_sign_conv

from bnn_mcu import build, codegen, fleet, plan, runner
from bnn_mcu.bitpack import dequantize_input
from bnn_mcu.boards import load_board
from bnn_mcu.errors import TargetError, UsageError

needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                                reason="needs qemu-system-arm and arm-none-eabi-gcc")


def test_resolve_jobs():
    assert fleet.resolve_jobs(None, inputs=1000, port=None) == fleet.default_jobs()
    assert fleet.resolve_jobs(8, inputs=3, port=None) == 3  # never more targets than inputs
    assert fleet.resolve_jobs(None, inputs=10, port="/dev/ttyACM0") == 1
    assert fleet.resolve_jobs(1, inputs=10, port="/dev/ttyACM0") == 1
    with pytest.raises(UsageError, match="one board"):
        fleet.resolve_jobs(2, inputs=10, port="/dev/ttyACM0")
    with pytest.raises(UsageError, match="at least 1"):
        fleet.resolve_jobs(0, inputs=10, port=None)


def _project(tmp_path: Path, graph, name: str):
    codegen.write_project(graph, plan.make_plan(graph), load_board("mps2-an385"), tmp_path / name, source="test")
    project = build.Project.load(tmp_path / name)
    build.build(project)
    return project


def _x(graph, n: int, seed: int) -> np.ndarray:
    """Float inputs whose 8-bit codes are random, 60 % of them zero (so most travel RLE-encoded)."""
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 256, (n, graph.input_bytes))
    q[rng.random(q.shape) < 0.6] = 0
    return dequantize_input(q, *graph.input_range)


def _qemu_children() -> list[int]:
    me = str(os.getpid())
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            comm = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
        except OSError:
            continue
        if fields[1] == me and comm.startswith("qemu-system"):
            out.append(int(stat.parent.name))
    return out


@needs_qemu
@pytest.mark.qemu
@pytest.mark.parametrize("make", [chain_mlp, chain_sign_conv], ids=["u8_input", "bits_input"])
def test_jobs_merge_in_input_order(tmp_path, make):
    graph = make()
    project = _project(tmp_path, graph, "p")
    x = _x(graph, 37, seed=1)
    one, arrays_one = runner.run(project, x, jobs=1, progress=False)
    three, arrays_three = runner.run(project, x, jobs=3, progress=False)
    assert one.matches == three.matches == 37 and three.mismatches == 0
    assert (one.jobs, three.jobs) == (1, 3) and three.target == one.target == "qemu:mps2-an385"
    for key in ("raw", "top1", "logits"):
        assert np.array_equal(arrays_one[key], arrays_three[key]), key
    # instructions from timer ticks (1.6 per instruction on mps2): +-1 with the timer's phase, which
    # depends on when (in virtual time) the inference started, not on which QEMU ran it
    assert np.abs(arrays_one["count"] - arrays_three["count"]).max() <= 1
    assert three.wire_bytes_per_input < graph.input_bytes  # RLE (and packed bits) shrank the inputs
    assert three.stack_used_bytes and three.stack_size_bytes


@needs_qemu
@pytest.mark.qemu
def test_a_failing_target_stops_the_run_and_leaves_no_qemu(tmp_path):
    graph = chain_mlp()
    project = _project(tmp_path, graph, "p")
    other = _project(tmp_path, chain_sign_conv(), "other")
    shutil.copy(other.elf(), project.elf())  # the targets now run another model: the handshake refuses
    with pytest.raises(TargetError, match="different model"):
        runner.run(project, _x(graph, 10, seed=2), jobs=2, progress=False)
    assert _qemu_children() == []
