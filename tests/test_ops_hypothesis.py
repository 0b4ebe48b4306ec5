"""Property tests (hypothesis): random Larq models drawn from the supported layer space: shapes,
strides, paddings and pad values, channel counts across word boundaries, gamma signs, depthwise
multipliers, clipping activations, XNOR scales, residual and concatenation topologies. For each, the
integer reference agrees with Larq's own forward pass layer by layer (ties and fixed-point bounds
aside); a sample of them is also built for the host with both kernel sets and must equal the
reference bit for bit.

Example counts are bounded so the file runs in about a minute; database=None keeps .hypothesis/ out of
the tree, derandomize=True makes CI runs repeatable.
"""

from __future__ import annotations

import models
import pytest
from conftest import check_host_exe, random_u8
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bnn_mcu import build, codegen, fold, frontend, plan, reference
from bnn_mcu.boards import load_board
from bnn_mcu.larqcheck import compare

# no shrinking: each example builds a Keras model, and the failing config is printed whole anyway
SETTINGS = settings(max_examples=25, deadline=None, database=None, derandomize=True,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CHANNELS = st.sampled_from([1, 7, 31, 32, 33, 40, 63, 65])


@st.composite
def model_configs(draw):
    """A small functional Larq model: a stem, then blocks of one of several kinds, then a head."""
    return {
        "input": (draw(st.integers(5, 12)), draw(st.integers(5, 12)), draw(st.integers(1, 4))),
        "stem": {"filters": draw(CHANNELS), "kernel": draw(st.sampled_from([1, 3, 5])),
                 "strides": draw(st.sampled_from([1, 2])), "padding": draw(st.sampled_from(["same", "valid"])),
                 "input_sign": draw(st.booleans()), "activation": draw(st.sampled_from(["linear", "relu"]))},
        "blocks": draw(st.lists(st.fixed_dictionaries({
            "kind": st.sampled_from(["conv", "depthwise", "residual", "concat", "maxpool"]),
            "filters": CHANNELS,
            "kernel": st.sampled_from([1, 3, (3, 5)]),
            "strides": st.sampled_from([1, 1, 2]),
            "padding": st.sampled_from(["same", "valid"]),
            "pad_values": st.sampled_from([0.0, 1.0]),
            "multiplier": st.sampled_from([1, 2]),
            "scaled": st.booleans(),
            "activation": st.sampled_from(["linear", "linear", "hard_tanh"]),
        }), min_size=1, max_size=3)),
        "head": draw(st.sampled_from(["dense", "gap_real", "conv_last"])),
        "classes": draw(st.integers(2, 12)),
        "seed": draw(st.integers(0, 2**16)),
    }


def build_model(cfg):
    """The Keras model of a config; blocks whose shapes no longer fit are skipped (still a valid model)."""
    import larq as lq

    k = models.keras()
    inp = k.Input(cfg["input"])
    s = cfg["stem"]
    x = models.qconv(s["filters"], s["kernel"], first=True, strides=s["strides"], padding=s["padding"],
                     input_quantizer="ste_sign" if s["input_sign"] else None, activation=s["activation"])
    if s["padding"] == "valid" and min(cfg["input"][:2]) < s["kernel"]:
        x = models.qconv(s["filters"], 1, first=True, input_quantizer="ste_sign" if s["input_sign"] else None)
    x = k.layers.BatchNormalization()(x(inp))
    # x can be read as a real tensor (by an add or an average pool): a BN output without a clip before it
    real = s["activation"] == "linear"
    for b in cfg["blocks"]:
        h, w, c = x.shape[1:]
        kh, kw = (b["kernel"], b["kernel"]) if isinstance(b["kernel"], int) else b["kernel"]
        if b["padding"] == "valid" and (kh > h or kw > w):
            continue
        common = {"padding": b["padding"], "pad_values": b["pad_values"], "strides": b["strides"]}
        if b["kind"] == "conv":
            conv = models.qconv(b["filters"], b["kernel"], activation=b["activation"],
                                kernel_quantizer="magnitude_aware_sign" if b["scaled"] else "ste_sign", **common)
            x, real = k.layers.BatchNormalization()(conv(x)), b["activation"] == "linear"
        elif b["kind"] == "depthwise":
            dw = lq.layers.QuantDepthwiseConv2D(b["kernel"], depth_multiplier=b["multiplier"],
                                                input_quantizer="ste_sign", depthwise_quantizer="ste_sign",
                                                use_bias=False, **common)
            x, real = k.layers.BatchNormalization()(dw(x)), True
        elif b["kind"] == "residual" and real:
            y = models.qconv(int(c), b["kernel"], padding="same", pad_values=b["pad_values"])(x)
            x = k.layers.Add()([x, k.layers.BatchNormalization()(y)])
        elif b["kind"] == "concat":
            y = models.qconv(b["filters"], b["kernel"], padding="same", pad_values=b["pad_values"])(x)
            x, real = k.layers.Concatenate()([x, k.layers.BatchNormalization()(y)]), False
        elif b["kind"] == "maxpool" and h >= 2 and w >= 2:
            # a max-pooled real tensor is not an int16 stream yet: only its signs are read after this
            x, real = k.layers.MaxPooling2D(2, strides=b["strides"], padding=b["padding"])(x), False
    if cfg["head"] == "gap_real" and real:
        x = models.qdense(cfg["classes"], first=True)(k.layers.GlobalAveragePooling2D()(x))
    elif cfg["head"] == "conv_last":
        x = models.qconv(cfg["classes"], 1, padding="valid")(x)
    else:
        x = models.qdense(cfg["classes"])(k.layers.Flatten()(x))
    out = k.layers.BatchNormalization()(x)
    return models.randomize(k.Model(inp, out), seed=cfg["seed"])


def _lowered(cfg):
    model = build_model(cfg)
    return model, fold.fold(frontend.lower(model), (-1.0, 1.0))


@SETTINGS
@given(cfg=model_configs())
def test_random_models_agree_with_larq(cfg):
    model, graph = _lowered(cfg)
    cmp, _ = compare(model, graph, random_u8(graph.keras_input_shape, 64, cfg["seed"]))
    assert cmp.unexplained_disagreements == 0, (cfg, cmp)
    assert cmp.tie_disagreements <= max(2, cmp.bits_compared // 10000), (cfg, cmp)
    assert cmp.fixed_point_disagreements <= max(4, cmp.bits_compared // 500), (cfg, cmp)
    if not cmp.real_streams and not cmp.fixed_point_disagreements:
        assert cmp.top1_agreement == 1.0, (cfg, cmp)


@settings(max_examples=4, deadline=None, database=None, derandomize=True,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(cfg=model_configs())
def test_random_models_host_c_equals_reference(cfg, tmp_path_factory):
    _model, graph = _lowered(cfg)
    board = load_board("mps2-an386")
    out = tmp_path_factory.mktemp("hyp")
    codegen.write_project(graph, plan.make_plan(graph), board, out / "p", source="hypothesis")
    project = build.Project.load(out / "p")
    q = random_u8(graph.input_shape, 12, cfg["seed"])
    ref = reference.run(graph, q)
    for kernels in ("ref", "bitsliced"):
        exe = build.build(project, host=True, sanitize=True, kernels=kernels,
                          build_dir=out / "p" / f"build-host-{kernels}").artifact
        check_host_exe(exe, project, graph, q, ref, label=kernels)


def test_the_strategy_reaches_every_block_kind():
    """The generator really produces the topologies the properties are about."""
    from hypothesis import find

    for kind in ("depthwise", "residual", "concat", "maxpool", "conv"):
        cfg = find(model_configs(), lambda c, kind=kind: any(b["kind"] == kind for b in c["blocks"]),
                   settings=settings(database=None, derandomize=True))
        assert any(b["kind"] == kind for b in cfg["blocks"])  # find() raises if none is found


pytestmark = pytest.mark.slow
