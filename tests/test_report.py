"""The HTML validation report: rendered from real run data, self-contained, model strings escaped, and
displayed by a real browser (headless Chromium: a screenshot is taken and checked)."""

import re
import shutil
import struct
import subprocess

import numpy as np
import pytest

from bnn_mcu import report
from bnn_mcu.cli import main

CHROMIUM = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
HOSTILE = "<script>alert(1)</script>&\"'"


def _data(labels=True, float_outputs=True, mismatches=0):
    rng = np.random.default_rng(0)
    n, c = 30, 4
    top1 = rng.integers(0, c, n)
    out = rng.normal(size=(n, c))
    summary = {"inputs": n, "matches": n - mismatches, "mismatches": mismatches, "target": "qemu:mps2-an386",
               "board": "mps2-an386", "model_hash": "ab" * 32, "accuracy_target": 0.5, "accuracy_reference": 0.5,
               "float_accuracy_keras": 0.53, "float_top1_agreement": 0.9, "float_top1_disagreements": 3,
               "per_inference_mean": 1000.0, "per_inference_min": 900.0, "per_inference_max": 1100.0,
               "flash_bytes": 5000, "ram_bytes": 3000, "input_range": [0, 1], "clipped_values": 0,
               "project": HOSTILE, "first_mismatches": [{"index": 1}] if mismatches else []}
    return report.ReportData(
        summary=summary, model_name=HOSTILE, softmax=False, target_top1=top1, reference_top1=top1,
        target_outputs=out, labels=rng.integers(0, c, n) if labels else None,
        float_outputs=out + rng.normal(scale=1e-3, size=out.shape) if float_outputs else None,
        layers=[(HOSTILE, "conv2d u8->b1", 1000, 800.0), ("d", "dense b1->s32", 64, 100.0)],
        plan={"weight_bytes": 300, "threshold_bytes": 100, "arena_bytes": 200},
        sections={"code": 4000, "rodata": 900, "data": 0, "bss": 1000, "stack": 2000}, stack_used=500)


def test_page_is_self_contained_and_escapes_model_strings():
    page = report.render(_data())
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert not re.search(r"(src|href)=\"(https?:|//|file:)", page)  # nothing fetched from anywhere
    assert page.count("data:image/png;base64,") == 4  # confusion, differences, layers, memory
    assert "bit-exact" in page and "30/30" in page and "53.00% / 50.00% / 50.00%" in page


def test_sections_follow_the_data():
    page = report.render(_data(labels=False, float_outputs=False, mismatches=2))
    assert "MISMATCH" in page and "28/30" in page and "First mismatches" in page
    assert "Confusion" not in page and "against the float model" not in page and "no labels given" in page
    assert page.count("data:image/png;base64,") == 2


def test_memory_parts_add_up_to_the_elf():
    flash, ram = report.memory_parts({"weight_bytes": 300, "threshold_bytes": 100, "arena_bytes": 200},
                                     {"code": 4000, "rodata": 900, "data": 8, "bss": 1000, "stack": 2000}, 500)
    assert sum(b for _l, b in flash) == 4000 + 900 + 8
    assert sum(b for _l, b in ram) == 8 + 1000 + 2000
    assert dict(ram)["stack used (measured)"] == 500


def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.qemu
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (tools/install_deps.sh installs it)")
def test_run_report_displays_in_chromium(toy_built, toy_inputs, toy_h5, tmp_path, capsys):
    page = tmp_path / "out" / "report.html"
    assert main(["run", str(toy_built), "--inputs", str(toy_inputs), "--keras", str(toy_h5),
                 "--report", str(page)]) == 0
    text = page.read_text()
    assert "bit-exact" in text and "40/40" in text and text.count("data:image/png;base64,") == 4
    shot = tmp_path / "shot.png"
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=1100,2600", f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    assert _png_size(shot) == (1100, 2600)
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    verdict_green = np.all(np.abs(img - [0x2E, 0x7D, 0x32]) < 8, axis=2)
    assert verdict_green.sum() > 20_000  # the verdict banner is drawn
    busy_rows = (img.min(axis=2) < 200).any(axis=1).sum()
    assert busy_rows > 1500  # the charts are drawn (not a blank page or broken images)


def test_report_path_is_checked_before_running(toy_project, toy_inputs, tmp_path, capsys):
    assert main(["run", str(toy_project), "--inputs", str(toy_inputs), "--report", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
