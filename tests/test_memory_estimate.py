"""The fit estimate (before building) matches the built ELF within 5 % for every kernel set, on real
cross-compiled firmware; the per-kernel code table agrees with the ELF's symbol sizes."""

from __future__ import annotations

import shutil
import subprocess

import models
import pytest

from bnn_mcu import build, codegen, fold, frontend, plan
from bnn_mcu.boards import load_board

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no arm-none-eabi-gcc")

MODELS = {
    "toy": lambda: models.conv_model(),
    "everything": lambda: models.everything_model(seed=1),
    "wide": lambda: models.conv_model(input_shape=(28, 28, 1), c1=32, c2=64, units=256, seed=2),
    "binary_mlp": lambda: models.binary_mlp(seed=2),
    "branchy": lambda: models.branchy_model(seed=2),
    "depthwise": lambda: models.depthwise_model(seed=4, multiplier=2),
    "residual": lambda: models.residual_model(seed=1, pad_values=0.0),
    "pooled": lambda: models.pooled_residual_model(seed=1),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    board = load_board("mps2-an386")
    out = {}
    for name, make in MODELS.items():
        graph = fold.fold(frontend.lower(make()), (-1.0, 1.0))
        for kernels in ("ref", "bitsliced"):
            p = plan.make_plan(graph, stack_bytes=board.stack_size, kernels=kernels)
            d = tmp_path_factory.mktemp(f"{name}-{kernels}")
            codegen.write_project(graph, p, board, d, source=name, kernels=kernels)
            res = build.build(build.Project.load(d))
            out[(name, kernels)] = (p, res)
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("kernels", ["ref", "bitsliced"])
def test_estimate_within_5_percent(built, name, kernels):
    p, res = built[(name, kernels)]
    assert abs(p.flash_estimate - res.flash_bytes) <= 0.05 * res.flash_bytes, (p.flash_estimate, res.flash_bytes)
    assert abs(p.ram_estimate - res.ram_bytes) <= 0.05 * res.ram_bytes, (p.ram_estimate, res.ram_bytes)


def test_kernel_code_table_matches_the_elf(built):
    for (_name, kernels), (_p, res) in built.items():
        out = subprocess.run(["arm-none-eabi-nm", "-S", str(res.artifact)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            fields = line.split()
            if len(fields) == 4 and fields[3] in plan.KERNEL_CODE_BYTES["ref"]:
                measured = int(fields[1], 16)
                assert abs(plan.kernel_code_bytes(kernels, fields[3]) - measured) <= 0.1 * measured + 16, \
                    (kernels, fields[3], measured)
