"""examples/hil, the user-style hardware-in-the-loop suite, run as a user runs it: pytest in a subprocess,
in a copy of the directory, with the bnn-mcu plugin converting the model, building real firmware and
booting QEMU. Plain, under pytest-xdist with two workers (one QEMU each, one build), and with a
deliberately wrong reference, which must fail with a readable diff."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "hil"

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(shutil.which("qemu-system-arm") is None,
                                                     reason="qemu-system-arm not installed")]

RECORDER = '''
import json, os
from pathlib import Path

def test_record_target(bnn_target):
    out = Path(os.environ["HIL_RECORD_DIR"]) / f"{os.getpid()}.json"
    out.write_text(json.dumps({"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
                               "port": bnn_target.link.transport.port or str(bnn_target.link.transport),
                               "where": bnn_target.where}))
'''

WRONG_REFERENCE = '''
from bnn_mcu.testing import assert_matches_reference

def test_against_golden_outputs(bnn_target, images):
    golden = bnn_target.reference(images[:4]).raw.copy()
    golden[2, 3] += 1  # a deliberately wrong reference: one output of input 2 is off by one
    assert_matches_reference(bnn_target, images[:4], reference=golden)
'''


@pytest.fixture(scope="module")
def bnn_cache(tmp_path_factory):
    """One converted-project cache for every run below (the first run converts and builds)."""
    return tmp_path_factory.mktemp("bnn-cache")


def _suite(tmp_path: Path, **extra_files: str) -> Path:
    suite = tmp_path / "hil"
    shutil.copytree(EXAMPLE, suite, ignore=shutil.ignore_patterns(".pytest_cache", "__pycache__"))
    for name, text in extra_files.items():
        (suite / name).write_text(text)
    return suite


def _pytest(suite: Path, cache: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    environ.update(env or {})
    cmd = [sys.executable, "-m", "pytest", "-o", f"cache_dir={suite / '.cache'}", f"--bnn-cache={cache}",
           "-p", "no:randomly", *args]
    return subprocess.run(cmd, cwd=suite, env=environ, capture_output=True, text=True, timeout=600)


def test_example_suite_passes(tmp_path, bnn_cache):
    r = _pytest(_suite(tmp_path), bnn_cache, "-q")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "8 passed" in r.stdout
    assert len([p for p in bnn_cache.iterdir() if not p.name.startswith(".")]) == 1  # one project


def test_example_suite_under_xdist_one_target_per_worker(tmp_path, bnn_cache):
    pytest.importorskip("xdist")
    record = tmp_path / "record"
    record.mkdir()
    suite = _suite(tmp_path, **{"test_zz_record.py": RECORDER})
    # enough tests that both workers get some, and each records the target it talked to
    r = _pytest(suite, bnn_cache, "-n", "2", "-v", "--dist", "each", env={"HIL_RECORD_DIR": str(record)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[gw0]" in r.stdout and "[gw1]" in r.stdout
    seen = [json.loads(p.read_text()) for p in record.iterdir()]
    assert sorted(s["worker"] for s in seen) == ["gw0", "gw1"]
    assert len({s["port"] for s in seen}) == 2  # each worker its own QEMU on its own TCP port
    assert all(s["where"] == "qemu:mps2-an385" for s in seen)
    assert len([p for p in bnn_cache.iterdir() if not p.name.startswith(".")]) == 1  # still one build


def test_wrong_reference_fails_with_a_readable_diff(tmp_path, bnn_cache):
    suite = _suite(tmp_path, **{"test_golden.py": WRONG_REFERENCE})
    r = _pytest(suite, bnn_cache, "-q", "test_golden.py")
    out = r.stdout
    assert r.returncode == 1, out + r.stderr
    assert "ReferenceMismatch" in out and "assert False" not in out
    assert "1 of 4 inputs differ between the target (qemu:mps2-an385) and the reference (first: 2)" in out
    assert "input 2: top-1 target" in out and "1 of 10 outputs differ" in out
    line = next(ln for ln in out.splitlines() if "[3]" in ln)
    target, reference, diff = line.split()[-3:]
    assert int(reference) == int(target) + 1 and diff == "-1"
    assert "layers of hil_example" in out and "conv1" in out and "fc" in out


def test_installed_entry_point_and_conftest_register_the_plugin_once(tmp_path, bnn_cache):
    """As after `pip install bnn-mcu`: a distribution whose pytest11 entry point is the plugin. The
    suite's conftest (pytest_plugins) and -p name it too; pytest must load it once, not fail."""
    dist = tmp_path / "site" / "bnn_mcu_entry_point-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bnn-mcu-entry-point\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pytest11]\nbnn_mcu.pytest_plugin = bnn_mcu.pytest_plugin\n")
    suite = _suite(tmp_path)
    pythonpath = os.pathsep.join([str(ROOT), str(tmp_path / "site")])
    r = _pytest(suite, bnn_cache, "-q", "-p", "bnn_mcu.pytest_plugin", "-k", "runs_our_model",
                env={"PYTHONPATH": pythonpath})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed" in r.stdout
    r = subprocess.run([sys.executable, "-m", "pytest", "--help"], cwd=tmp_path, capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=pythonpath), timeout=120)
    assert "--bnn-port=DEVICE" in r.stdout  # registered by the entry point alone, outside the suite
