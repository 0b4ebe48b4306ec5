"""Generated C (runtime + model + app + protocol) compiled natively with ASan/UBSan, checked against
the numpy reference over a grid of shapes: boundary channel counts, strides, γ<0, both pool orders,
'same' padding with both pad values, a binarized model input, and the model with every capability."""

import models
import numpy as np
import pytest
from conftest import check_host_exe, random_u8

from bnn_mcu import build, codegen, fold, frontend, plan, reference, wire
from bnn_mcu.boards import load_board


KERNEL_SETS = ("ref", "bitsliced")


def _host_check(tmp_path, model, input_range=(0.0, 1.0), n=60, seed=0):
    graph = fold.fold(frontend.lower(model), input_range)
    board = load_board("mps2-an386")
    codegen.write_project(graph, plan.make_plan(graph), board, tmp_path / "p", source="test")
    project = build.Project.load(tmp_path / "p")
    for kernels in KERNEL_SETS:
        exe = build.build(project, host=True, sanitize=True, kernels=kernels).artifact
        _check_exe(exe, project, graph, n, seed)
    return graph


def _check_exe(exe, project, graph, n, seed):
    q = random_u8(graph.input_shape, n, seed)
    ref = reference.run(graph, q)

    def stats_and_profile(link):
        st = link.stats()
        assert (st.stack_used, st.stack_size) == (0, 0)  # the host build does not measure its stack
        prof = link.profile(wire.encode(graph, q[:1], wire.project_encoding(project.meta))[0].tobytes())
        assert len(prof.layer_counts) == len(graph.layers)
        assert np.array_equal(np.asarray(prof.outputs, np.int32), ref.raw[0])

    check_host_exe(exe, project, graph, q, ref, after=stats_and_profile)


@pytest.mark.parametrize("c1,c2,units", [(1, 33, 64), (31, 65, 63), (32, 64, 65)])
def test_conv_grid(tmp_path, c1, c2, units):
    _host_check(tmp_path, models.conv_model(input_shape=(10, 10, 2), c1=c1, c2=c2, units=units,
                                            seed=c1 + c2))


def test_bn_before_pool_and_negative_range(tmp_path):
    _host_check(tmp_path, models.conv_model(pool_before_bn=False, seed=11), input_range=(-1.0, 1.0))


def test_mlp_first_dense_on_u8_input(tmp_path):
    _host_check(tmp_path, models.mlp_model(n_in=70, hidden=(65, 31, 33), classes=5, seed=4))


def test_strides_bias_and_conv_last(tmp_path):
    k = models.keras()
    m = k.Sequential([
        k.layers.InputLayer((13, 13, 3)), models.qconv(16, 3, first=True, strides=2, use_bias=True),
        k.layers.BatchNormalization(), models.qconv(20, 2, strides=(2, 1)), k.layers.BatchNormalization(),
        models.qconv(6, 2),  # last layer is a convolution with a 2x4 spatial output
    ])
    graph = _host_check(tmp_path, models.randomize(m, seed=6))
    assert graph.layers[-1].op == "conv2d" and graph.output_count == 2 * 4 * 6


@pytest.mark.parametrize("pad_values,strides,kernel", [(0.0, 1, 3), (1.0, 2, 3), (0.0, 2, (3, 5)), (0.0, 1, 5)])
def test_same_padding(tmp_path, pad_values, strides, kernel):
    graph = _host_check(tmp_path, models.same_padding_model(pad_values=pad_values, strides=strides, kernel=kernel,
                                                            seed=strides), input_range=(-1.0, 1.0), n=40)
    assert graph.layers[0].attrs["pads"] != [0, 0, 0, 0]


def test_binarized_input_and_every_capability(tmp_path):
    graph = _host_check(tmp_path / "mlp", models.binary_mlp(n_in=(9, 11), hidden=(33, 31), seed=3),
                        input_range=(-1.0, 1.0), n=40)
    assert graph.layers[0].op == "sign"
    graph = _host_check(tmp_path / "all", models.everything_model(seed=1), input_range=(-1.0, 1.0), n=40)
    assert [n.op for n in graph.layers][:4] == ["sign", "conv2d", "conv2d", "maxpool2d"]
