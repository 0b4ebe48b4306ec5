"""`convert --as library`: two different models as libraries, linked into one firmware (the example
application examples/two_models: its own main.c, startup and linker script), cross-compiled with
arm-none-eabi-gcc, run in QEMU; every output, top class, float logit and quantised byte equal to the
host's (numpy reference, bnn_mcu.bitpack.quantize_input)."""

import shutil
import subprocess

import numpy as np
import pytest

from bnn_mcu import reference
from bnn_mcu.bitpack import quantize_input
from bnn_mcu.build import Project
from bnn_mcu.cli import main

EXAMPLE = __import__("pathlib").Path(__file__).resolve().parent.parent / "examples" / "two_models"
N_INPUTS = 4  # examples/two_models/main.c
SEEDS = {"digits": 0x12345678, "kws": 0x9E3779B9}
RAMP = (np.arange(64, dtype=np.float32) * np.float32(0.03125) - np.float32(0.5)).astype(np.float32)

pytestmark = [pytest.mark.qemu,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no arm-none-eabi-gcc"),
              pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="no qemu-system-arm")]


def xorshift_inputs(seed: int, n: int, size: int) -> np.ndarray:
    """The example's inputs: xorshift32 (13, 17, 5) from ``seed``, the top byte of each draw."""
    out = np.zeros((n, size), np.uint8)
    r = seed
    for k in range(n):
        for j in range(size):
            r ^= (r << 13) & 0xFFFFFFFF
            r ^= r >> 17
            r ^= (r << 5) & 0xFFFFFFFF
            out[k, j] = r >> 24
    return out


@pytest.fixture(scope="module")
def libraries(tmp_path_factory):
    """A conv model (input range 0..1) and an MLP (input range -1..1), converted as two libraries."""
    import models

    d = tmp_path_factory.mktemp("libs")
    models.conv_model().save(d / "digits.h5")
    models.mlp_model(seed=3).save(d / "kws.h5")
    assert main(["convert", str(d / "digits.h5"), "-o", str(d / "digits"), "--as", "library"]) == 0
    assert main(["convert", str(d / "kws.h5"), "-o", str(d / "out_kws"), "--as", "library", "--name", "kws",
                 "--input-range", "-1", "1", "--kernels", "bitsliced"]) == 0
    return {"digits": d / "digits", "kws": d / "out_kws"}


def _cmake(src, bdir, libs, check=True):
    cfg = subprocess.run(["cmake", "-S", str(src), "-B", str(bdir), f"-DCMAKE_TOOLCHAIN_FILE={src}/toolchain.cmake",
                          f"-DDIGITS_DIR={libs['digits']}", f"-DKWS_DIR={libs['kws']}"],
                         capture_output=True, text=True)
    if not check:
        return cfg
    assert cfg.returncode == 0, cfg.stdout + cfg.stderr
    b = subprocess.run(["cmake", "--build", str(bdir), "-j", "2"], capture_output=True, text=True)
    assert b.returncode == 0, b.stdout + b.stderr
    assert "warning" not in b.stdout + b.stderr, b.stdout + b.stderr
    return bdir / "two_models.elf"


def test_two_libraries_in_one_firmware_equal_the_reference(libraries, tmp_path):
    elf = _cmake(EXAMPLE, tmp_path / "build", libraries)
    # Only the API is global: no unprefixed model symbol, each kernel once (the link would fail otherwise).
    nm = subprocess.run(["arm-none-eabi-nm", "-g", str(elf)], capture_output=True, text=True, check=True).stdout
    names = {line.split()[-1] for line in nm.splitlines()}
    assert {"digits_invoke", "digits_invoke_top", "kws_invoke", "kws_quantize", "kws_logits",
            "bnn_graph_invoke"} <= names
    assert not [n for n in names if n.startswith("bnn_model")]
    assert not any(n in names for n in ("bnn_uart_putc", "bnn_platform_init", "malloc", "_sbrk"))
    check_two_models(run_in_qemu(elf), libraries)
    assert Project.load(libraries["kws"]).graph().input_range == (-1.0, 1.0)


def run_in_qemu(elf) -> str:
    """Boot the example on the emulated MPS2-AN386; its semihosting console (stdout or stderr, depending
    on QEMU's stdio), after checking it exited 0 and finished."""
    r = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
                        "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                       capture_output=True, text=True, timeout=60)
    console = r.stdout + r.stderr
    assert r.returncode == 0 and "~~~ALL DONE~~~" in console, console
    return console


def check_two_models(console: str, libraries: dict) -> None:
    """Every line the example printed for each model equals the host: outputs and top class (numpy
    reference), float logits bit for bit (float32 of the host's double), quantised bytes."""
    lines = [ln.split() for ln in console.splitlines()]
    for name, path in libraries.items():
        project = Project.load(path)
        graph = project.graph()
        q = xorshift_inputs(SEEDS[name], N_INPUTS, graph.input_bytes)
        ref = reference.run(graph, q)
        rows = [ln for ln in lines if ln[:2] == [name, "input"]]
        assert len(rows) == N_INPUTS
        for k, row in enumerate(rows):
            assert int(row[2]) == k and int(row[4]) == ref.top1[k]
            assert [int(v) for v in row[6].split(",")] == ref.raw[k].tolist()
            want = ref.logits[k].astype(np.float32).view(np.uint32)  # one rounding of the same double
            assert [int(v, 16) for v in row[8].split(",")] == want.tolist()
        assert len({tuple(r[6].split(",")) for r in rows}) > 1  # the inputs differ, so do the outputs
        quant = next(ln for ln in lines if ln[:2] == [name, "quantize"])[2]
        lo, hi = graph.input_range
        assert bytes.fromhex(quant) == quantize_input(RAMP[: min(64, graph.input_bytes)], lo, hi).tobytes()


def test_libraries_from_different_runtimes_refuse_to_share_one(libraries, tmp_path):
    other = tmp_path / "kws"
    shutil.copytree(libraries["kws"], other)
    cm = other / "CMakeLists.txt"
    cm.write_text(cm.read_text().replace("bnn-mcu 0.", "bnn-mcu 9."))  # as if another bnn-mcu wrote it
    cfg = _cmake(EXAMPLE, tmp_path / "build", {"digits": libraries["digits"], "kws": other}, check=False)
    assert cfg.returncode != 0
    assert "convert both models with the same bnn-mcu" in " ".join(cfg.stderr.split())
