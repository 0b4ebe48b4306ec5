"""C half of the protocol: firmware/tests/protocol/test_protocol.c against the shared vectors, built with
host gcc and sanitizers; mutated copies of the sources must fail it; the sources must build warning-free
for Cortex-M too."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FW = ROOT / "firmware"
PROTO_SRC = sorted((FW / "src" / "protocol").glob("*.c"))
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-g"]
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer"]

gcc = shutil.which("gcc")
arm_gcc = shutil.which("arm-none-eabi-gcc")
needs_gcc = pytest.mark.skipif(gcc is None, reason="host gcc not installed")


def build_and_run(out_dir: Path, sources: list[Path]) -> subprocess.CompletedProcess:
    exe = out_dir / "test_protocol"
    cmd = [gcc, *CFLAGS, *SAN, f"-I{FW / 'include'}", f"-I{FW / 'tests' / 'protocol'}",
           str(FW / "tests" / "protocol" / "test_protocol.c"), *map(str, sources), "-o", str(exe)]
    b = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert b.returncode == 0, f"build failed:\n{' '.join(cmd)}\n{b.stderr}"
    return subprocess.run([str(exe)], check=False, capture_output=True, text=True, timeout=60)


@needs_gcc
def test_c_protocol_matches_vectors(tmp_path):
    r = build_and_run(tmp_path, PROTO_SRC)
    assert r.returncode == 0 and "~~~ALL TESTS PASSED~~~" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    assert "0 failures" in r.stdout


MUTATIONS = {
    # file, original text, mutant text
    "crc_table": ("bnn_crc32.c", "0x1DB71064u", "0x1DB71065u"),
    "cobs_full_group": ("bnn_cobs.c", "dec->code != 0xFFu", "dec->code != 0xFEu"),
    "cobs_encode_flush": ("bnn_cobs.c", "if (enc->n == 254u)", "if (enc->n == 253u)"),
    "frame_short": ("bnn_frame.c", "len < BNN_FRAME_OVERHEAD", "len < BNN_FRAME_CRC_BYTES"),
    "frame_too_long_off_by_one": ("bnn_frame.c", "rx->len < rx->cap", "rx->len <= rx->cap - 1u + 1u"),
    "frame_seq_of_error": ("bnn_frame.c", "(len >= 2u) ? rx->buf[1]", "(len >= 3u) ? rx->buf[1]"),
}


@needs_gcc
@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_c_vector_test_catches_mutants(tmp_path, name):
    fname, old, new = MUTATIONS[name]
    sources = []
    for src in PROTO_SRC:
        if src.name == fname:
            text = src.read_text()
            assert old in text, f"mutation anchor {old!r} no longer in {fname}: update this test"
            mutant = tmp_path / src.name
            mutant.write_text(f'#line 1 "{src}"\n' + text.replace(old, new, 1))
            sources.append(mutant)
        else:
            sources.append(src)
    r = build_and_run(tmp_path, sources)
    # A mutant is caught by a failed check or by a sanitizer (the off-by-one writes past the buffer).
    assert r.returncode != 0, f"mutant {name} survived:\n{r.stdout[-2000:]}"
    assert "~~~ALL TESTS PASSED~~~" not in r.stdout


@pytest.mark.skipif(arm_gcc is None, reason="arm-none-eabi-gcc not installed")
@pytest.mark.parametrize("cpu", ["cortex-m0", "cortex-m4"])
def test_protocol_and_app_build_for_cortex_m(tmp_path, cpu):
    app = FW / "app" / "main.c"
    for src in [*PROTO_SRC, app]:
        cmd = [arm_gcc, f"-mcpu={cpu}", "-mthumb", "-Os", *CFLAGS, f"-I{FW / 'include'}",
               f"-I{FW / 'tests' / 'fake_model'}", "-c", str(src), "-o", str(tmp_path / (src.stem + ".o"))]
        r = subprocess.run(cmd, check=False, capture_output=True, text=True)
        assert r.returncode == 0, f"{src.name}:\n{r.stderr}"
