"""The user's path, for real: convert -> build -> run in QEMU over a serial socket (and a pty)."""

import json
import shutil

import numpy as np
import pytest

from bnn_mcu import ir, reference
from bnn_mcu.build import Project
from bnn_mcu.cli import main

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def built(toy_project):
    assert main(["build", str(toy_project)]) == 0
    return toy_project


def test_run_json_and_outputs(built, toy_inputs, toy_h5, tmp_path, capsys):
    out = tmp_path / "y.npz"
    rc = main(["run", str(built), "--inputs", str(toy_inputs), "--outputs", str(out), "--json",
               "--keras", str(toy_h5)])
    s = json.loads(capsys.readouterr().out)
    assert rc == 0, s
    assert s["inputs"] == 40 and s["matches"] == 40 and s["mismatches"] == 0
    assert s["count_unit"] == "instructions" and s["per_inference_mean"] > 1000
    assert s["flash_bytes"] > 1000 and s["ram_bytes"] > s["arena_bytes"] > 0
    assert 64 < s["stack_used_bytes"] < s["stack_size_bytes"] == 4096  # measured by stack painting
    assert s["accuracy_target"] == s["accuracy_reference"] == s["accuracy_keras"]
    assert s["keras_top1_agreement"] == 1.0 and s["keras_unexplained_disagreements"] == 0
    y = np.load(out)
    x = np.load(toy_inputs)["x"]
    graph = Project.load(built).graph()
    ref = reference.run(graph, np.rint(x * 255).astype(np.uint8))
    assert np.array_equal(y["raw"], ref.raw) and np.array_equal(y["top1"], ref.top1)
    assert np.allclose(y["logits"].sum(axis=1), 1.0)  # the toy model ends in softmax
    assert np.allclose(y["logits"], ref.probs)


def test_keras_model_must_be_the_converted_one(built, toy_inputs, tmp_path, capsys):
    import models

    other = tmp_path / "other.h5"
    models.conv_model(seed=99).save(other)  # same shapes, other weights
    rc = main(["run", str(built), "--inputs", str(toy_inputs), "--keras", str(other), "--no-build"])
    err = capsys.readouterr().err
    assert rc == 2 and "not the model" in err and "Traceback" not in err


def test_bad_inputs_are_refused_before_running(built, tmp_path, capsys):
    x = np.full((3, 12, 12, 3), np.nan, np.float32)
    np.savez(tmp_path / "nan.npz", x=x)
    assert main(["run", str(built), "--inputs", str(tmp_path / "nan.npz"), "--no-build"]) == 2
    assert "non-finite" in capsys.readouterr().err


def test_outputs_directory_is_created(built, toy_inputs, tmp_path, capsys):
    out = tmp_path / "new" / "dir" / "y.npz"
    assert main(["run", str(built), "--inputs", str(toy_inputs), "--outputs", str(out), "--limit", "2",
                 "--no-build"]) == 0
    assert np.load(out)["raw"].shape[0] == 2


def test_run_over_a_pty_port(built, toy_inputs, capsys):
    from bnn_mcu.qemu import Qemu

    project = Project.load(built)
    with Qemu.for_board(project.board(), project.elf(), serial="pty") as q:
        rc = main(["run", str(built), "--inputs", str(toy_inputs), "--port", q.port, "--limit", "10",
                   "--no-build", "--json"])
    s = json.loads(capsys.readouterr().out)
    assert rc == 0 and s["matches"] == 10 and s["target"].startswith("/dev/")


def test_refuses_a_target_with_another_model(built, toy_inputs, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(built, other)
    meta = json.loads((other / "bnn_project.json").read_text())
    meta["model_hash"] = "00" * 32
    (other / "bnn_project.json").write_text(json.dumps(meta))
    rc = main(["run", str(other), "--inputs", str(toy_inputs), "--no-build"])
    err = capsys.readouterr().err
    assert rc == 7 and "different model" in err and "Traceback" not in err


def test_a_wrong_reference_is_caught(built, toy_inputs, tmp_path, capsys):
    """The check can fail: flip one threshold in the host's copy of the graph -> exit 8."""
    bad = tmp_path / "bad"
    shutil.copytree(built, bad)
    graph = ir.load(bad / "bnn_model.npz")
    layer = graph.layers[0]
    thresholds = layer.thresholds.copy()
    thresholds[:] += 40
    import dataclasses

    graph = dataclasses.replace(graph, layers=(layer.with_params(thresholds=thresholds),) + graph.layers[1:])
    ir.save(graph, bad / "bnn_model.npz")
    rc = main(["run", str(bad), "--inputs", str(toy_inputs), "--no-build", "--json"])
    s = json.loads(capsys.readouterr().out)
    assert rc == 8 and s["mismatches"] > 0 and s["first_mismatches"]


def test_bitsliced_kernels_on_qemu(tmp_path, capsys):
    """The optimised kernel set, cross-compiled and run in QEMU: identical outputs, fewer instructions
    (on 32/64-channel layers; with few channels the 32-lane bit slicing wastes lanes, see README)."""
    import models

    rng = np.random.default_rng(3)
    h5 = tmp_path / "wide.h5"
    models.conv_model(input_shape=(14, 14, 1), c1=32, c2=64, units=64, seed=2).save(h5)
    x = rng.uniform(0, 1, (20, 14, 14, 1)).astype(np.float32)
    x[x < 0.6] = 0.0  # mostly background, like real images
    np.savez(tmp_path / "x.npz", x=x)
    counts = {}
    for kernels in ("ref", "bitsliced"):
        out = tmp_path / kernels
        assert main(["convert", str(h5), "-o", str(out), "--kernels", kernels]) == 0
        capsys.readouterr()
        assert main(["run", str(out), "--inputs", str(tmp_path / "x.npz"), "--json"]) == 0
        s = json.loads(capsys.readouterr().out)
        assert s["matches"] == s["inputs"] == 20
        counts[kernels] = s["per_inference_mean"]
    assert counts["bitsliced"] < 0.5 * counts["ref"], counts


def test_corrupt_frames_over_the_emulated_uart(built):
    """Bad CRC, garbage and an oversize frame on the real (emulated) serial line: each is answered with
    an ERROR, and the very next request still gets the right answer."""
    from bnn_mcu import protocol as P
    from bnn_mcu.link import open_link
    from bnn_mcu.qemu import Qemu

    project = Project.load(built)
    graph = project.graph()
    q = np.random.default_rng(5).integers(0, 256, graph.input_bytes, dtype=np.uint8)
    ref = reference.run(graph, q[None])

    def reply(link, wire):
        link.send_raw(wire)
        frame = link.read_frame(5.0)
        assert frame is not None, "no reply"
        return frame

    with Qemu.for_board(project.board(), project.elf()) as qm:
        link = open_link(qm.url, timeout=5)
        info = link.hello()
        good = bytearray(P.encode_frame(P.MsgType.INFER, 77, q.tobytes()))
        good[10] ^= 0x01 if good[10] not in (0x00, 0x01) else 0x02  # flip a payload bit, keep COBS valid
        err = P.Error.unpack(reply(link, b"\x00" + bytes(good)).payload)
        assert err.code == P.ErrorCode.BAD_CRC
        assert np.array_equal(link.infer(q.tobytes()).outputs, ref.raw[0])
        link.send_raw(b"\x13\x37garbage\xff\xfe")  # noise on the line, no delimiter yet
        assert np.array_equal(link.infer(q.tobytes()).outputs, ref.raw[0])  # the leading 0x00 resyncs
        oversize = P.encode_frame(P.MsgType.INFER, 78, bytes(info.max_payload + 64))
        err = P.Error.unpack(reply(link, b"\x00" + oversize).payload)
        assert err.code == P.ErrorCode.TOO_LONG
        assert link.infer(q.tobytes()).top1 == ref.top1[0]
        link.shutdown()
        assert qm.wait(10) == 0
