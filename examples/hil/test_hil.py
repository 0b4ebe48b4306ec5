"""The model computes on the target what it computes on the host: a user-style hardware-in-the-loop
suite. Runs in QEMU by default; ``--bnn-port /dev/ttyACM0`` runs the same tests on a flashed board."""

from __future__ import annotations

import numpy as np
import pytest

from bnn_mcu.testing import assert_matches_reference


def test_target_runs_our_model(bnn_target, bnn_project):
    project = bnn_project()
    assert bnn_target.info.model_hash.hex() == project.model_hash[:32]
    assert bnn_target.info.output_count == 10


@pytest.mark.parametrize("batch", range(4))
def test_outputs_match_the_reference(bnn_target, images, batch):
    assert_matches_reference(bnn_target, images[8 * batch: 8 * batch + 8])


def test_edge_inputs(bnn_target):
    black = np.zeros((12, 12, 1), np.float32)
    white = np.ones((12, 12, 1), np.float32)
    checker = (np.indices((12, 12)).sum(axis=0) % 2).astype(np.float32)[..., None]
    assert_matches_reference(bnn_target, np.stack([black, white, checker]))


def test_top1_is_the_largest_logit(bnn_target, images):
    out = bnn_target.infer(images[:4])
    assert np.array_equal(out.top1, np.argmax(out.logits, axis=1))


def test_instruction_budget(bnn_target, images):
    """A performance regression check: instructions under QEMU (exact and repeatable), cycles on a board."""
    out = bnn_target.infer(images[:2])
    if out.count_unit == "none":
        pytest.skip("this target reports no counter")
    assert out.counts.max() < 200_000, f"{out.counts.max():,.0f} {out.count_unit} per inference"
