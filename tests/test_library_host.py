"""A converted library built natively by its own CMakeLists.txt (host gcc, ASan + UBSan), once per kernel
set (the cache variable BNN_KERNELS), on many inputs: outputs, top class and float logits equal to the
reference, quantisation equal to the host's, for a model with 'same' padding (border classes) and an
MLP whose first layer takes the 8-bit input; input range -2..3."""

import shutil
import subprocess

import numpy as np
import pytest

from bnn_mcu import reference
from bnn_mcu.bitpack import quantize_input
from bnn_mcu.build import Project
from bnn_mcu.cli import main

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("cmake") is None,
                                reason="no host gcc/cmake")

HARNESS_CMAKE = """cmake_minimum_required(VERSION 3.20)
project(harness C)
add_subdirectory(@LIB@ lib)
add_executable(harness main.c)
target_link_libraries(harness PRIVATE m_lib)
"""

# stdin: N inputs of INPUT_BYTES, then INPUT_BYTES floats; stdout: per input the int32 outputs, the top
# class (int32) and the float logits; then the quantised floats.
HARNESS_MAIN = """#include <stdio.h>
#include "m_lib.h"
int main(void)
{
    static uint8_t in[M_LIB_INPUT_BYTES];
    static int32_t out[M_LIB_OUTPUT_COUNT];
    static float logits[M_LIB_OUTPUT_COUNT], x[M_LIB_INPUT_BYTES];
    unsigned n;
    if (fread(&n, sizeof n, 1, stdin) != 1) return 2;
    for (unsigned k = 0; k < n; k++) {
        if (fread(in, 1, sizeof in, stdin) != sizeof in) return 3;
        int32_t top = m_lib_invoke_top(in, out);
        m_lib_logits(out, logits);
        fwrite(out, sizeof out, 1, stdout);
        fwrite(&top, sizeof top, 1, stdout);
        fwrite(logits, sizeof logits, 1, stdout);
    }
    if (fread(x, sizeof x, 1, stdin) != 1) return 4;
    m_lib_quantize(x, in, M_LIB_INPUT_BYTES);
    fwrite(in, sizeof in, 1, stdout);
    return 0;
}
"""


@pytest.fixture(scope="module", params=["same_padding", "mlp"])
def lib(request, tmp_path_factory):
    import models

    d = tmp_path_factory.mktemp(request.param)
    model = models.same_padding_model() if request.param == "same_padding" else models.mlp_model(seed=5)
    model.save(d / "m.h5")
    assert main(["convert", str(d / "m.h5"), "-o", str(d / "m_lib"), "--as", "library",
                 "--input-range", "-2", "3"]) == 0
    return d / "m_lib"


@pytest.mark.parametrize("kernels", ["ref", "bitsliced"])
def test_library_on_the_host_equals_the_reference(lib, kernels, tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "CMakeLists.txt").write_text(HARNESS_CMAKE.replace("@LIB@", str(lib)))
    (tmp_path / "app" / "main.c").write_text(HARNESS_MAIN)
    san = "-fsanitize=address,undefined -fno-sanitize-recover=all -g"
    for cmd in (["cmake", "-S", str(tmp_path / "app"), "-B", str(tmp_path / "b"), f"-DBNN_KERNELS={kernels}",
                 f"-DCMAKE_C_FLAGS={san}", f"-DCMAKE_EXE_LINKER_FLAGS={san}"],
                ["cmake", "--build", str(tmp_path / "b"), "-j", "2"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    graph = Project.load(lib).graph()
    rng = np.random.default_rng(11)
    n = 64
    q = rng.integers(0, 256, (n, graph.input_bytes), dtype=np.uint8)
    x = rng.uniform(-2.5, 3.5, graph.input_bytes).astype(np.float32)  # beyond both ends: clipped
    x[:3] = [-2.0, 3.0, np.float32(-2 + 5 * 0.5 / 255)]  # the ends, and next to a rounding tie
    stdin = np.uint32(n).tobytes() + q.tobytes() + x.tobytes()
    r = subprocess.run([str(tmp_path / "b" / "harness")], input=stdin, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    ref = reference.run(graph, q)
    c = graph.output_count
    per = np.dtype([("out", "<i4", c), ("top", "<i4"), ("logits", "<f4", c)])
    got = np.frombuffer(r.stdout[: n * per.itemsize], per)
    assert np.array_equal(got["out"], ref.raw) and np.array_equal(got["top"], ref.top1)
    assert np.array_equal(got["logits"].view(np.uint32), ref.logits.astype(np.float32).view(np.uint32))
    lo, hi = graph.input_range
    assert r.stdout[n * per.itemsize:] == quantize_input(x, lo, hi).tobytes()
