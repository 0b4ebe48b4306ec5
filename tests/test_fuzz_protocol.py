"""Fuzzing the C receive path (firmware/tests/fuzz/): frame accumulation, COBS decode, length and CRC checks.

* The seeded mutational driver (driver.c, host gcc or clang, ASan + UBSan) runs 1,000,000 generated frames
  through the fuzz target, which checks every event against a reference model and asserts resynchronisation
  after garbage (fuzz_frame.c lists the invariants).
* libFuzzer drives the same target for a bounded number of runs when clang and its runtime are installed.
* Mutants of the parser must make the harness fail: a pass of the fuzz run means something.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FW = ROOT / "firmware"
FUZZ = FW / "tests" / "fuzz"
PROTO_SRC = sorted((FW / "src" / "protocol").glob("*.c"))
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-g", f"-I{FW / 'include'}"]
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]

FRAMES = 1_000_000
SHARDS = 2  # the run is split over two processes with different seeds: two cores, half the wall time
LIBFUZZER_RUNS = 60_000

CC = shutil.which("gcc") or shutil.which("clang")
CLANG = shutil.which("clang")
needs_cc = pytest.mark.skipif(CC is None, reason="no host C compiler (gcc or clang) installed")
needs_clang = pytest.mark.skipif(CLANG is None, reason="clang not installed: libFuzzer needs it "
                                 "(the gcc-built driver still fuzzes the same target)")


def build(out: Path, sources: list[Path]) -> Path:
    """The seeded driver: host compiler, ASan + UBSan, aborting on the first sanitizer report."""
    exe = out / "fuzz_exe"
    cmd = [CC, *CFLAGS, *SAN, *map(str, sources), "-o", str(exe)]
    r = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert r.returncode == 0, f"build failed:\n{' '.join(cmd)}\n{r.stderr}"
    return exe


@pytest.fixture(scope="module")
def harness_objs(tmp_path_factory) -> list[Path]:
    """driver.c and fuzz_frame.c compiled once; each build then compiles only the protocol sources."""
    out = tmp_path_factory.mktemp("fuzz_objs")
    objs = []
    for src in (FUZZ / "driver.c", FUZZ / "fuzz_frame.c"):
        obj = out / (src.stem + ".o")
        cmd = [CC, *CFLAGS, *SAN, "-c", str(src), "-o", str(obj)]
        r = subprocess.run(cmd, check=False, capture_output=True, text=True)
        assert r.returncode == 0, f"build failed:\n{' '.join(cmd)}\n{r.stderr}"
        objs.append(obj)
    return objs


def summary(stdout: str) -> dict[str, float]:
    """The driver's `fuzz_driver: key=value ...` line as a dict."""
    line = next(ln for ln in stdout.splitlines() if ln.startswith("fuzz_driver: seed="))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line)}


def mutated_sources(tmp_path: Path, fname: str, old: str, new: str) -> list[Path]:
    out = []
    for src in PROTO_SRC:
        if src.name != fname:
            out.append(src)
            continue
        text = src.read_text()
        assert text.count(old) == 1, f"mutation anchor {old!r} not found once in {fname}: update this test"
        mutant = tmp_path / src.name
        mutant.write_text(f'#line 1 "{src}"\n' + text.replace(old, new))
        out.append(mutant)
    return out


@pytest.fixture(scope="module")
def driver(tmp_path_factory, harness_objs) -> Path:
    return build(tmp_path_factory.mktemp("fuzz_driver"), [*harness_objs, *PROTO_SRC])


# ------------------------------------------------------------------------------------- seeded driver
@needs_cc
def test_fuzz_driver_million_frames(driver):
    per = FRAMES // SHARDS
    t0 = time.monotonic()
    procs = [subprocess.Popen([str(driver), "-n", str(per), "-s", str(seed)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for seed in range(1, SHARDS + 1)]
    outs = [p.communicate(timeout=300) for p in procs]
    wall = time.monotonic() - t0
    stats = []
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, f"fuzz driver failed (rc {p.returncode}):\n{out[-2000:]}\n{err[-4000:]}"
        s = summary(out)
        assert s["frames"] == per and s["violations"] == 0, out
        stats.append(s)
    total = {k: sum(s[k] for s in stats) for k in stats[0] if k not in ("seed", "cpu_s")}
    assert total["frames"] == FRAMES
    # The generator reaches every outcome often (numbers are counts of receiver events over all frames),
    # so 0 violations is not "never got past the first check".
    for outcome in ("accepted", "bad_crc", "too_long", "bad_cobs", "short"):
        assert total[outcome] >= FRAMES // 200, (outcome, total)
    assert total["cobs_decoded"] >= FRAMES
    print(f"\nfuzz driver: {int(total['frames'])} frames, {int(total['bytes'])} bytes, 0 violations in "
          f"{wall:.1f} s wall ({SHARDS} processes, {sum(s['cpu_s'] for s in stats):.1f} s CPU); "
          + ", ".join(f"{k} {int(total[k])}" for k in ("accepted", "bad_crc", "too_long", "bad_cobs", "short")))


@needs_cc
def test_fuzz_driver_is_deterministic(driver):
    a, b = (subprocess.run([str(driver), "-n", "2000", "-s", "42"], check=True, capture_output=True,
                           text=True).stdout for _ in range(2))
    sa, sb = summary(a), summary(b)
    sa.pop("cpu_s"), sb.pop("cpu_s")
    assert sa == sb and sa["frames"] == 2000


# ---------------------------------------------------------------------------------------- mutants
# Each mutant breaks one promise of the receive path; the fuzz harness must notice within a short run.
MUTANTS = {
    # name: (file, original, mutant, what must report it)
    "crc_check_skipped": ("bnn_frame.c", "if (bnn_crc32(rx->buf, len - BNN_FRAME_CRC_BYTES) != carried)",
                          "if (0 && bnn_crc32(rx->buf, len - BNN_FRAME_CRC_BYTES) != carried)", "VIOLATION"),
    "store_past_buffer": ("bnn_frame.c", "if (rx->len < rx->cap)", "if (rx->len <= rx->cap)",
                          "AddressSanitizer"),
    "cut_group_unchecked": ("bnn_frame.c", "if (!bnn_cobs_dec_complete(&rx->dec))", "if (0)", "VIOLATION"),
    "no_reset_after_error": ("bnn_frame.c", "        rx_reset(rx);\n        return ev;",
                             "        if (ev != BNN_FRAME_RX_ERROR) {\n            rx_reset(rx);\n        }\n"
                             "        return ev;", "VIOLATION"),
    "empty_frame_reported": ("bnn_frame.c", "if (rx->nraw != 0u) {", "if (1) {", "VIOLATION"),
    "too_long_detail": ("bnn_frame.c", "BNN_PROTO_ERR_TOO_LONG, rx->nraw)", "BNN_PROTO_ERR_TOO_LONG, rx->nraw - 1u)",
                        "VIOLATION"),
    "cobs_full_group_zero": ("bnn_cobs.c", "dec->code != 0xFFu", "dec->code != 0xFEu", "VIOLATION"),
    "one_shot_decode_overrun": ("bnn_cobs.c", "if (n >= dst_cap)", "if (n > dst_cap)", "AddressSanitizer"),
    "crc_table": ("bnn_crc32.c", "0x76DC4190u", "0x76DC4191u", "VIOLATION"),
}


@needs_cc
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_fuzz_driver_catches_mutants(tmp_path, harness_objs, name):
    fname, old, new, reporter = MUTANTS[name]
    exe = build(tmp_path, [*harness_objs, *mutated_sources(tmp_path, fname, old, new)])
    r = subprocess.run([str(exe), "-n", "200000", "-s", "1"], check=False, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode != 0, f"mutant {name} survived the fuzz run:\n{r.stdout[-2000:]}"
    assert reporter in r.stderr, r.stderr[-3000:]


@needs_cc
def test_keep_going_counts_violations(tmp_path, harness_objs):
    """-k reports how many inputs broke an invariant instead of aborting at the first."""
    fname, old, new, _ = MUTANTS["crc_check_skipped"]
    exe = build(tmp_path, [*harness_objs, *mutated_sources(tmp_path, fname, old, new)])
    r = subprocess.run([str(exe), "-n", "5000", "-s", "1", "-k"], check=False, capture_output=True, text=True,
                       timeout=120)
    s = summary(r.stdout)
    assert r.returncode == 1 and s["frames"] == 5000 and s["violations"] > 0, r.stdout


# --------------------------------------------------------------------------------------- libFuzzer
def build_libfuzzer(out: Path, proto: list[Path]) -> Path:
    """The target linked against libFuzzer; skips if clang's libFuzzer runtime is not installed."""
    exe = out / "fuzz_frame"
    cmd = [CLANG, *CFLAGS, "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
           str(FUZZ / "fuzz_frame.c"), *map(str, proto), "-o", str(exe)]
    r = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if r.returncode != 0 and "libclang_rt.fuzzer" in r.stderr:
        pytest.skip("clang's libFuzzer runtime is not installed (apt-get install libclang-rt-dev)")
    assert r.returncode == 0, f"build failed:\n{' '.join(cmd)}\n{r.stderr}"
    return exe


@needs_clang
def test_libfuzzer_bounded_run(tmp_path, driver):
    exe = build_libfuzzer(tmp_path, PROTO_SRC)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    subprocess.run([str(driver), "--emit", str(corpus), "128", "-s", "7"], check=True, capture_output=True)
    t0 = time.monotonic()
    r = subprocess.run([str(exe), f"-runs={LIBFUZZER_RUNS}", "-seed=1", "-max_len=600", "-print_final_stats=1",
                        f"-artifact_prefix={tmp_path}/", str(corpus)],
                       check=False, capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - t0
    assert r.returncode == 0, r.stderr[-4000:]
    assert re.search(rf"stat::number_of_executed_units:\s+{LIBFUZZER_RUNS}\b", r.stderr), r.stderr[-2000:]
    print(f"\nlibFuzzer: {LIBFUZZER_RUNS} runs in {wall:.1f} s")


@needs_clang
def test_libfuzzer_finds_a_skipped_crc_check(tmp_path):
    """From an empty corpus: libFuzzer itself (not the driver's generator) reaches the CRC check."""
    fname, old, new, _ = MUTANTS["crc_check_skipped"]
    exe = build_libfuzzer(tmp_path, mutated_sources(tmp_path, fname, old, new))
    r = subprocess.run([str(exe), "-runs=500000", "-seed=1", "-max_len=64", f"-artifact_prefix={tmp_path}/"],
                       check=False, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "VIOLATION" in r.stderr, r.stderr[-3000:]
    assert list(tmp_path.glob("crash-*")), "libFuzzer wrote no reproducer"
