"""C kernels against an independent scalar model, without Python's reference: firmware/tests/kernels/test_kernels.c,
built with host gcc and sanitizers for each kernel set (a set's own files plus the ref files it does not provide,
as CMake picks them), over a grid of channels, kernels, strides, paddings and border classes. Mutated copies of
the kernels must fail it; the kernels must build warning-free for Cortex-M too. Also src/model.c's layer loop
against the fake generated layers of firmware/tests/fake_model/fake_layers.c."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FW = ROOT / "firmware"
TEST_C = FW / "tests" / "kernels" / "test_kernels.c"
SETS = ("ref", "bitsliced")
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-g"]
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer"]

gcc = shutil.which("gcc")
arm_gcc = shutil.which("arm-none-eabi-gcc")
needs_gcc = pytest.mark.skipif(gcc is None, reason="host gcc not installed")


def set_sources(src: Path, kernels: str) -> list[Path]:
    """The set's files plus every ref file whose name the set does not provide (CMakeLists.txt.j2's rule)."""
    own = sorted((src / kernels).glob("*.c"))
    names = {p.name for p in own}
    return own + [p for p in sorted((src / "ref").glob("*.c")) if p.name not in names]


@pytest.fixture(scope="module")
def test_objects(tmp_path_factory):
    """test_kernels.c compiled once per set (its layouts depend on BNN_KERNELS_<SET>)."""
    out = tmp_path_factory.mktemp("kernel_test_objects")
    objs = {}
    for kernels in SETS:
        obj = out / f"test_kernels_{kernels}.o"
        cmd = [gcc, *CFLAGS, *SAN, f"-DBNN_KERNELS_{kernels.upper()}=1", f"-I{FW / 'include'}", "-c", str(TEST_C),
               "-o", str(obj)]
        b = subprocess.run(cmd, check=False, capture_output=True, text=True)
        assert b.returncode == 0, f"build failed:\n{' '.join(cmd)}\n{b.stderr}"
        objs[kernels] = obj
    return objs


def build_and_run(out_dir: Path, test_obj: Path, src: Path, kernels: str, *args: str,
                  opt: str = "-O1") -> subprocess.CompletedProcess:
    exe = out_dir / f"test_kernels_{kernels}"
    cmd = [gcc, *CFLAGS, opt, *SAN, f"-I{FW / 'include'}", str(test_obj), *map(str, set_sources(src, kernels)),
           "-o", str(exe)]
    b = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert b.returncode == 0, f"build failed:\n{' '.join(cmd)}\n{b.stderr}"
    return subprocess.run([str(exe), *args], check=False, capture_output=True, text=True, timeout=300)


@needs_gcc
@pytest.mark.parametrize("kernels", SETS)
def test_kernels_match_scalar_model(tmp_path, test_objects, kernels):
    r = build_and_run(tmp_path, test_objects[kernels], FW / "src", kernels)
    assert r.returncode == 0 and "~~~ALL TESTS PASSED~~~" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    assert f"{kernels}: " in r.stdout and " cases, 0 failures" in r.stdout


MUTATIONS = {
    # name: (kernel set, file under src/<set>/, original text, mutant text)
    "ref_tap_bottom_off_by_one": ("ref", "ref_common.h", "return *i < size;", "return *i <= size;"),
    "ref_interior_bottom_off_by_one": ("ref", "ref_common.h", "iy0 + d->k_h <= d->in_h",
                                       "iy0 + d->k_h <= d->in_h + 1u"),
    "ref_interior_left": ("ref", "ref_common.h", "ix0 < d->in_w && ix0 + d->k_w",
                          "ix0 + 1u < d->in_w + 1u && ix0 + d->k_w"),
    "ref_padded_b1_tap_skipped": ("ref", "ref_common.h", "(a ? a[j] : 0u) ^ *b", "(a ? a[j] ^ *b : 0u)"),
    "ref_class_index": ("ref", "ref_common.h", "(uint32_t)p->row_class[oy] * p->col_classes + p->col_class[ox]",
                        "(uint32_t)p->col_class[ox] * p->col_classes + p->row_class[oy]"),
    "ref_flat_layout_as_standard": ("ref", "ref_common.h", "const uint32_t *wo = w + (uint32_t)o * BNN_WORDS_FOR(k);",
                                    "const uint32_t *wo = w + (uint32_t)o * "
                                    "(0u * k + d->k_h * d->k_w * BNN_WORDS_FOR(d->in_c));"),
    "ref_pool_padded_taps_counted": ("ref", "maxpool2d_b1.c", "continue; /* 'same' pooling",
                                     "iy = 0; /* 'same' pooling"),
    "ref_sign_le": ("ref", "sign_u8_b1.c", "(uint32_t)q[i] < threshold", "(uint32_t)q[i] <= threshold"),
    "bs_border_bottom_missed": ("bitsliced", "bs_common.h", "iy0 + (int32_t)d->k_h > (int32_t)d->in_h",
                                "iy0 + (int32_t)d->k_h > (int32_t)d->in_h + 1"),
    "bs_padded_tap_reads_input": ("bitsliced", "bs_common.h", "keep = 0u;\n", "keep = ~0u;\n"),
    "bs_u8_tail_mask": ("bitsliced", "bs_u8.h", "g->tail = used == 4u ?", "g->tail = used >= 3u ?"),
    "bs_u8_gather_left": ("bitsliced", "bs_u8.h", "const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;",
                          "const int32_t kx_lo = ix0 < 0 ? -ix0 - 1 : 0;"),
    "bs_u8_fast_reads_past_end": ("bitsliced", "bs_u8.h", "return last + 4u * g->wpr <= g->in_bytes;",
                                  "return last + 4u * g->wpr <= g->in_bytes + 3u;"),
    "bs_u8_chunk_offset": ("bitsliced", "bs_u8.h", "const uint32_t *wj = w + (o + j) * nw + w0;",
                           "const uint32_t *wj = w + (o + j) * nw;"),
    "bs_hs8_lane": ("bitsliced", "bs_common.h", "BNN_BS_T(w, a, sh, 6u), BNN_BS_T(w, a, sh, 7u)",
                    "BNN_BS_T(w, a, sh, 6u), BNN_BS_T(w, a, sh, 6u)"),
    "bs_add1_carry": ("bitsliced", "bs_common.h", "(eights) ^= c_;", "(eights) |= c_;"),
    "bs_sixteens_plane": ("bitsliced", "bs_common.h", "bnn_bs_ripple((q), s_, 4u);", "bnn_bs_ripple((q), s_, 3u);"),
    "bs_block_size": ("bitsliced", "conv2d_b1_b1.c", "const uint32_t block = owc * planes;",
                      "const uint32_t block = planes;"),
    "bs_u8_column_mask_keeps_padded_taps": ("bitsliced", "conv2d_u8_b1.c",
                                            "return below_hi & ~((1u << (8u * lo_bytes)) - 1u) & g->tail;",
                                            "return below_hi & (lo_bytes | ~0u) & g->tail;"),
    "bs_u8_gather1_bottom": ("bitsliced", "bs_u8.h", "if (n && iy >= 0 && iy < (int32_t)d->in_h) {",
                             "if (n && iy >= 0 && iy <= (int32_t)d->in_h) {"),
    "bs_u8_load_bounds": ("bitsliced", "conv2d_u8_b1.c", "while (have_rows && x_min < x_max && off_first",
                          "while (0 && x_min < x_max && off_first"),
    "bs_u8_block_size": ("bitsliced", "conv2d_u8_b1.c", ": 0u) * d->out_c;", ": 0u) * owc;"),
}


@needs_gcc
@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_kernel_test_catches_mutants(tmp_path, test_objects, name):
    kernels, fname, old, new = MUTATIONS[name]
    src = tmp_path / "src"
    for s in SETS:
        shutil.copytree(FW / "src" / s, src / s)
    target = src / kernels / fname
    text = target.read_text()
    assert old in text, f"mutation anchor {old!r} no longer in {kernels}/{fname}: update this test"
    target.write_text(f'#line 1 "{FW / "src" / kernels / fname}"\n' + text.replace(old, new, 1))
    # A quarter of the grid (one channel pair per configuration), built at -O0: half the time, and enough.
    r = build_and_run(tmp_path, test_objects[kernels], src, kernels, "1", opt="-O0")
    # A mutant is caught by a failed comparison or by a sanitizer (reads outside the input).
    assert r.returncode != 0, f"mutant {name} survived:\n{r.stdout[-2000:]}"
    assert "~~~ALL TESTS PASSED~~~" not in r.stdout


@pytest.mark.skipif(arm_gcc is None, reason="arm-none-eabi-gcc not installed")
@pytest.mark.parametrize("kernels", SETS)
def test_kernels_build_for_cortex_m(tmp_path, kernels):
    """At every optimisation level a user's build may use: -O0 and -Og are debug builds (Zephyr, PlatformIO),
    where the hand-scheduled assembly cannot get its registers and the C versions must be taken."""
    for cpu, opt in (("cortex-m0", "-O2"), ("cortex-m4", "-O2"), ("cortex-m4", "-O0"), ("cortex-m4", "-Og"),
                     ("cortex-m4", "-Os"), ("cortex-m55", "-O0")):
        cmd = [arm_gcc, f"-mcpu={cpu}", "-mthumb", opt, *CFLAGS, "-Wpedantic", f"-I{FW / 'include'}", "-c",
               *map(str, set_sources(FW / "src", kernels))]
        r = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert r.returncode == 0, f"{kernels} for {cpu} {opt}:\n{r.stderr}"


@needs_gcc
def test_model_c_runs_generated_layers(tmp_path):
    exe = tmp_path / "test_model"
    cmd = [gcc, *CFLAGS, *SAN, f"-I{FW / 'include'}", f"-I{FW / 'tests' / 'fake_model'}",
           str(FW / "tests" / "kernels" / "test_model.c"), str(FW / "src" / "model.c"), str(FW / "src" / "invoke.c"),
           str(FW / "tests" / "fake_model" / "fake_layers.c"), str(FW / "platform" / "host" / "platform_host.c"),
           "-o", str(exe)]
    b = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert b.returncode == 0, f"build failed:\n{' '.join(cmd)}\n{b.stderr}"
    r = subprocess.run([str(exe)], check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "~~~ALL TESTS PASSED~~~" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
