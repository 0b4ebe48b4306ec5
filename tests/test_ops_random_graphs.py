"""Op tests without TensorFlow: integer graphs built directly with random (seeded) parameters, host-built
with ASan/UBSan for both kernel sets and compared bit-exactly with the numpy reference.

A few chains of 6-12 nodes cover a boundary grid: channels 1, 31, 32, 33, 63, 64, 65; kernels 1x1, 3x3,
5x5 and 3x5; strides 1 and 2; 'valid' and 'same' padding (several threshold classes per 'same' layer);
odd spatial sizes; a u8 and a sign first layer; max-pool valid/same (pool 2/3, strides 1/2, random OR
masks); dense layers; b1->s32 and u8->s32 last layers (dense and conv) with random scale/offset.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import check_host_exe

from bnn_mcu import build, codegen, ir, ops, plan, reference
from bnn_mcu.bitpack import unpack_bits
from bnn_mcu.boards import load_board
from bnn_mcu.ops.conv import border_classes, same_padding

KERNEL_SETS = ("ref", "bitsliced")
N_INPUTS = 20


class Chain:
    """Appends integer nodes with random parameters to a chain starting at a u8 input."""

    def __init__(self, name: str, input_shape, seed: int, input_range=(0.0, 1.0)):
        self.name, self.input_range = name, input_range
        self.rng = np.random.default_rng(seed)
        self._next_id = 0
        self.input = self.new_tensor("u8", tuple(input_shape))
        self.head = self.input
        self.layers: list[ir.Node] = []
        # a calibration batch carried along the chain: thresholds are drawn from its counts
        self.values = {self.input.id: self.rng.integers(0, 256, (16,) + self.input.shape, dtype=np.uint8)}

    @property
    def value(self) -> np.ndarray:
        return self.values[self.head.id]

    def new_tensor(self, kind: str, shape) -> ir.Tensor:
        t = ir.Tensor(id=self._next_id, kind=kind, shape=tuple(int(v) for v in shape))
        self._next_id += 1
        return t

    def _add(self, node: ir.Node) -> ir.Node:
        self.values[node.output.id] = ops.get(node.op).reference(node, [self.values[t.id] for t in node.inputs])
        self.layers.append(node)
        self.head = node.output
        return node

    # -- ops ------------------------------------------------------------------------------------------
    def sign(self) -> ir.Node:
        assert not self.layers
        return self._add(ops.get("sign").make(self.head, self.input_range, self.new_tensor))

    def conv(self, out_c: int, kernel=3, strides=1, padding="valid", out_kind="b1", op="conv2d",
             inp: ir.Tensor | None = None) -> ir.Node:
        """A conv (or dense) node reading ``inp`` (default: the head, the last node's output)."""
        if inp is not None:
            self.head = inp
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        sh, sw = (strides, strides) if isinstance(strides, int) else strides
        inp = self.head
        h, w, c = inp.shape
        if op == "dense":
            kh, kw, sh, sw, padding = h, w, 1, 1, "valid"
        if padding == "valid":
            assert kh <= h and kw <= w, (kh, kw, inp.shape)
            out_shape, pads = ((h - kh) // sh + 1, (w - kw) // sw + 1, out_c), [0, 0, 0, 0]
        else:
            oh, top, bottom = same_padding(h, kh, sh)
            ow, left, right = same_padding(w, kw, sw)
            out_shape, pads = (oh, ow, out_c), [top, bottom, left, right]
        attrs = {"kernel_size": [kh, kw], "strides": [sh, sw], "pads": pads}
        K = kh * kw * c
        bits = self.rng.random((out_c, kh, kw, c)) < self.rng.uniform(0.2, 0.8)
        params: dict = {"weight_bits": bits}
        out = self.new_tensor(out_kind, out_shape)
        if out_kind == "b1":
            cls = np.zeros(out_shape[:2], np.int64)
            if any(pads):
                row_class, col_class, masks = border_classes(attrs, inp.shape, out_shape)
                params["row_class"], params["col_class"] = row_class, col_class
                cls = row_class.astype(np.int64)[:, None] * (int(col_class.max()) + 1) + col_class[None, :]
                assert len(masks) == cls.max() + 1
            count = self._counts(op, inp, out_shape, attrs, bits)
            params["thresholds"] = self._thresholds(count, cls, inp.kind, K)
        else:
            assert out_kind == "s32"
            # random scale/offset, centred on the calibration outputs so that the top-1 varies
            raw = self._raw(op, inp, out_shape, attrs, bits).reshape(-1, out_c).astype(np.float64)
            scale = self.rng.uniform(0.25, 2.0, out_c) * self.rng.choice([-1.0, 1.0], out_c)
            offset = -scale * raw.mean(axis=0) + self.rng.normal(0.0, 0.3, out_c) * np.abs(scale) * raw.std(axis=0)
            params["scale"], params["offset"] = scale.astype(np.float64), offset.astype(np.float64)
        return self._add(ir.Node(op=op, name=f"{op}_{len(self.layers)}", inputs=(inp,), output=out, attrs=attrs,
                                 params=params))

    def dense(self, out_c: int, out_kind="b1", inp: ir.Tensor | None = None) -> ir.Node:
        return self.conv(out_c, out_kind=out_kind, op="dense", inp=inp)

    def maxpool(self, pool=2, strides=2, padding="valid", inp: ir.Tensor | None = None) -> ir.Node:
        inp = self.head = inp or self.head
        h, w, c = inp.shape
        if padding == "valid":
            out_shape, pads = ((h - pool) // strides + 1, (w - pool) // strides + 1, c), [0, 0, 0, 0]
        else:
            oh, top, bottom = same_padding(h, pool, strides)
            ow, left, right = same_padding(w, pool, strides)
            out_shape, pads = (oh, ow, c), [top, bottom, left, right]
        return self._add(ir.Node(op="maxpool2d", name=f"maxpool2d_{len(self.layers)}", inputs=(inp,),
                                 output=self.new_tensor("b1", out_shape),
                                 attrs={"pool": [pool, pool], "strides": [strides, strides], "pads": pads},
                                 params={"or_mask": self.rng.random(c) < 0.5}))

    def depthwise(self, multiplier: int, kernel=3, strides=1, padding="same", inp: ir.Tensor | None = None) -> ir.Node:
        inp = self.head = inp or self.head
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        h, w, c = inp.shape
        if padding == "valid":
            out_shape, pads = ((h - kh) // strides + 1, (w - kw) // strides + 1, c * multiplier), [0, 0, 0, 0]
        else:
            oh, top, bottom = same_padding(h, kh, strides)
            ow, left, right = same_padding(w, kw, strides)
            out_shape, pads = (oh, ow, c * multiplier), [top, bottom, left, right]
        attrs = {"kernel_size": [kh, kw], "strides": [strides, strides], "pads": pads, "depth_multiplier": multiplier}
        params: dict = {"weight_bits": self.rng.random((c * multiplier, kh, kw, 1)) < 0.5}
        cls = np.zeros(out_shape[:2], np.int64)
        if any(pads):
            row_class, col_class, _ = border_classes(attrs, inp.shape, out_shape)
            params["row_class"], params["col_class"] = row_class, col_class
            cls = row_class.astype(np.int64)[:, None] * (int(col_class.max()) + 1) + col_class[None, :]
        out = self.new_tensor("b1", out_shape)
        node = ir.Node(op="depthwise2d", name=f"depthwise_{len(self.layers)}", inputs=(inp,), output=out,
                       attrs=attrs, params=params)
        count = ops.get("depthwise2d").counts(node, self.value)
        node = node.with_params(thresholds=self._thresholds(count, cls, "b1", kh * kw))
        return self._add(node)

    def stream(self, out_c: int, kernel=3, strides=1, padding="same", inp: ir.Tensor | None = None) -> ir.Node:
        """A conv's int32 sums requantized to an int16 stream (random per-class offsets and affine)."""
        acc = self.conv(out_c, kernel, strides, padding, out_kind="s32", inp=inp)
        classes = 1
        if any(acc.attrs["pads"]):
            row_class, col_class, masks = border_classes(acc.attrs, acc.in_shape, acc.out_shape)
            acc = acc.with_params(row_class=row_class, col_class=col_class)
            classes = len(masks)
        acc = acc.with_params(offset=acc.params["offset"][None, :] + self.rng.normal(0, 2, (classes, out_c)))
        self.layers[-1] = acc
        A = self.rng.uniform(0.2, 2.0, out_c) * self.rng.choice([-1.0, 1.0], out_c)
        B = self.rng.normal(0, 1.0, out_c)
        k = acc.attrs["kernel_size"][0] * acc.attrs["kernel_size"][1] * acc.in_shape[2]
        return self._add(ops.get("requant").make(acc, A, B, 255 * k if acc.input_kind == "u8" else k,
                                                 self.new_tensor))

    def add(self, producers: list[ir.Node]) -> ir.Node:
        fnode = ir.Node(op="add", name=f"add_{len(self.layers)}", inputs=tuple(p.output for p in producers),
                        output=ir.Tensor(-1, "f32", producers[0].out_shape))
        return self._add(ops.get("add").make(fnode, producers, self.new_tensor))

    def avgpool(self, producer: ir.Node, pool=3, strides=2, padding="same") -> ir.Node:
        ph, pw = (pool, pool) if isinstance(pool, int) else pool
        h, w, c = producer.out_shape
        if padding == "valid":
            out_shape, pads = ((h - ph) // strides + 1, (w - pw) // strides + 1, c), [0, 0, 0, 0]
        else:
            oh, top, bottom = same_padding(h, ph, strides)
            ow, left, right = same_padding(w, pw, strides)
            out_shape, pads = (oh, ow, c), [top, bottom, left, right]
        fnode = ir.Node(op="avgpool2d", name=f"avgpool_{len(self.layers)}", inputs=(producer.output,),
                        output=ir.Tensor(-1, "f32", out_shape),
                        attrs={"pool": [ph, pw], "strides": [strides, strides], "pads": pads})
        self.head = producer.output
        return self._add(ops.get("avgpool2d").make(fnode, producer, self.new_tensor))

    def dense_s16(self, producer: ir.Node, out_c: int) -> ir.Node:
        h, w, c = producer.out_shape
        node = ir.Node(op="dense_s16", name=f"dense_s16_{len(self.layers)}", inputs=(producer.output,),
                       output=self.new_tensor("s32", (1, 1, out_c)), attrs={"kernel_size": [h, w]},
                       params={"weight_bits": self.rng.random((out_c, h, w, c)) < 0.5,
                               "scale": self.rng.uniform(0.5, 2, out_c), "offset": self.rng.normal(0, 1, out_c)})
        return self._add(node)

    def sign_s16(self, producer: ir.Node) -> ir.Node:
        return self._add(ops.get("sign_s16").make(producer.output, producer, self.new_tensor, "next"))

    def concat(self, inputs: list[ir.Tensor]) -> ir.Node:
        node = ops.get("concat").make(ir.Node(op="concat", name=f"concat_{len(self.layers)}", inputs=tuple(inputs),
                                              output=ir.Tensor(-1, "f32", inputs[0].shape[:2] + (
                                                  sum(t.shape[2] for t in inputs),))),
                                      list(inputs), self.new_tensor)
        return self._add(node)

    def _raw(self, op, inp, out_shape, attrs, bits) -> np.ndarray:
        """The reference output of the node with an s32 output on the calibration batch."""
        probe = ir.Node(op=op, name="probe", inputs=(inp,), output=ir.Tensor(-1, "s32", out_shape), attrs=attrs,
                        params={"weight_bits": bits})
        return ops.get(op).reference(probe, [self.value])

    def _counts(self, op, inp, out_shape, attrs, bits) -> np.ndarray:
        """The kernel's count (popcount for b1 input, sum(w*q) for u8) on the calibration batch:
        (N, OH, OW, O), from the reference of the same node with an s32 output."""
        raw = self._raw(op, inp, out_shape, attrs, bits).astype(np.int64)
        if inp.kind == "b1":  # the reference returns K - 2x
            k = bits[0].size
            return (k - raw) // 2
        return raw

    def _thresholds(self, count: np.ndarray, cls: np.ndarray, kind: str, K: int) -> np.ndarray:
        """int32 [classes, O] in the count's range ([-1, K] b1, [-255K-1, 255K] u8): per class and channel
        a random quantile of the calibration counts (so bits vary), some channels at the extremes."""
        lo, hi = (-1, K) if kind == "b1" else (-255 * K - 1, 255 * K)
        n_classes, o = int(cls.max()) + 1, count.shape[-1]
        tau = np.empty((n_classes, o), np.int64)
        for k in range(n_classes):
            values = count[:, cls == k, :].reshape(-1, o)
            qs = self.rng.uniform(0.15, 0.85, o)
            tau[k] = [int(np.floor(np.quantile(values[:, j], qs[j]))) for j in range(o)]
        tau = np.clip(tau + self.rng.integers(-1, 2, tau.shape), lo, hi)
        extreme = self.rng.random((n_classes, o)) < 0.04
        tau[extreme] = self.rng.choice([lo, hi], int(extreme.sum()))
        return tau.astype(np.int32)

    def graph(self) -> ir.IntGraph:
        return ir.IntGraph(name=self.name, input=self.input, keras_input_shape=self.input.shape,
                           input_range=self.input_range, layers=tuple(self.layers), softmax=False)


# --------------------------------------------------------------------------------------------------
# The chains


def chain_u8_conv() -> ir.IntGraph:
    c = Chain("u8_conv", (15, 13, 3), seed=1)
    c.conv(33, 3, 1, "same")  # u8 -> b1, 9 border classes
    c.conv(64, 5, 2, "same")  # 15x13 -> 8x7
    c.maxpool(3, 1, "same")
    c.conv(31, 1, 1, "valid")
    c.conv(65, (3, 5), 1, "valid")  # 8x7 -> 6x3
    c.maxpool(2, 2, "valid")  # -> 3x1
    c.dense(32)
    c.dense(10, out_kind="s32")
    return c.graph()


def chain_sign_conv() -> ir.IntGraph:
    c = Chain("sign_conv", (17, 11, 1), seed=2, input_range=(-1.0, 1.0))
    c.sign()
    c.conv(63, 3, 2, "same")  # 17x11 -> 9x6
    c.conv(1, (3, 5), 1, "same")
    c.conv(65, 5, 1, "same")  # one input channel
    c.maxpool(3, 2, "same")  # 9x6 -> 5x3 (every border pixel stays visible downstream)
    c.conv(33, 3, 2, "valid")  # -> 2x1
    c.conv(64, 1, 1, "valid")
    c.conv(32, 1, 1, "valid")
    c.dense(7, out_kind="s32")
    return c.graph()


def chain_strided_same() -> ir.IntGraph:
    c = Chain("strided_same", (21, 19, 1), seed=3)
    c.conv(32, 5, 2, "valid")  # u8, one channel: 21x19 -> 9x8
    c.conv(65, (3, 5), 2, "same")  # -> 5x4
    c.maxpool(2, 1, "same")
    c.conv(31, 3, 1, "same")
    c.maxpool(3, 2, "same")  # -> 3x2
    c.conv(63, (3, 5), 2, "same")  # -> 2x1
    c.conv(33, 3, 1, "same")
    c.maxpool(2, 1, "same")
    c.conv(64, 1, 1, "valid")
    c.conv(5, 1, 1, "valid", out_kind="s32")  # conv b1 -> s32, 2x1x5 outputs
    return c.graph()


def chain_mlp() -> ir.IntGraph:
    c = Chain("mlp", (5, 7, 3), seed=4)
    c.dense(65)  # u8 -> b1 dense
    c.dense(33)
    c.dense(64)
    c.dense(31)
    c.dense(63)
    c.dense(12, out_kind="s32")
    return c.graph()


def chain_sign_wide() -> ir.IntGraph:
    c = Chain("sign_wide", (9, 7, 33), seed=5, input_range=(-0.5, 1.0))
    c.sign()  # 33 channels
    c.conv(32, 3, 1, "same")
    c.maxpool(2, 2, "same")  # 9x7 -> 5x4
    c.conv(64, 5, 1, "same")
    c.conv(1, 1, 1, "valid")
    c.conv(31, 3, 2, "same")  # -> 3x2
    c.maxpool(2, 1, "valid")  # -> 2x1
    c.conv(65, 1, 1, "valid")
    c.conv(9, 1, 1, "same", out_kind="s32")  # 1x1 'same' pads nothing
    return c.graph()


def chain_u8_last() -> ir.IntGraph:
    c = Chain("u8_conv_s32", (11, 9, 2), seed=6)
    c.conv(33, (3, 5), 2, "valid", out_kind="s32")  # u8 -> s32 convolution: 5x3x33 outputs
    return c.graph()


def chain_u8_dense_last() -> ir.IntGraph:
    c = Chain("u8_dense_s32", (3, 5, 64), seed=7)
    c.dense(10, out_kind="s32")  # u8 -> s32 dense, K = 960
    return c.graph()


def chain_one_bit() -> ir.IntGraph:
    c = Chain("one_bit", (7, 5, 2), seed=8)
    c.conv(31, 3, 2, "same")  # u8 -> b1 stride 2 'same': 7x5 -> 4x3
    c.dense(1)  # a single output bit
    c.dense(6, out_kind="s32")  # b1 -> s32 on a single input bit
    return c.graph()


def chain_branches() -> ir.IntGraph:
    """Branches that meet again: concatenations at channel offsets that are and are not multiples of 32
    (1, 31, 32, 33, 63, 64, 65 channels), a tensor read by three nodes, a pool of a concatenation, and the
    model input's sign concatenated with a layer's bits."""
    c = Chain("branches", (9, 8, 5), seed=9, input_range=(-1.0, 1.0))
    x = c.sign().output  # 5 channels
    a = c.conv(31, 3, 1, "same", inp=x).output
    b = c.conv(1, 1, 1, "valid", inp=x).output
    d = c.conv(33, 3, 1, "same", inp=a).output
    cat = c.concat([a, b, x, d]).output  # 31 + 1 + 5 + 33 = 70 channels
    e = c.conv(64, 3, 2, "same", inp=cat).output  # 9x8 -> 5x4
    f = c.conv(65, 1, 1, "valid", inp=e).output
    g = c.conv(32, 3, 1, "same", inp=e).output
    cat2 = c.concat([e, f, g]).output  # 64 + 65 + 32: word-aligned then unaligned
    p = c.maxpool(2, 2, "same", inp=cat2).output  # -> 3x2
    h = c.conv(63, 1, 1, "valid", inp=p).output
    cat3 = c.concat([h, p, h]).output  # a tensor twice
    c.dense(9, out_kind="s32", inp=cat3)
    return c.graph()


def chain_depthwise() -> ir.IntGraph:
    """Depthwise convolutions: multipliers 1, 2 and 3, 'same' (several border classes) and 'valid', strides
    1 and 2, kernels 3x3, 5x5 and 3x5, channel counts across word boundaries (31 -> 62 -> 186)."""
    c = Chain("depthwise", (13, 11, 2), seed=10)
    c.conv(31, 3, 1, "same")  # u8 -> b1
    c.depthwise(1, 3, 1, "same")
    c.depthwise(2, 5, 2, "same")  # -> 7x6x62
    c.depthwise(3, (3, 5), 1, "valid")  # -> 5x2x186
    c.depthwise(1, 3, 2, "same")  # -> 3x1
    c.dense(8, out_kind="s32")
    return c.graph()


def chain_residual() -> ir.IntGraph:
    """int16 streams: a u8 stem requantized with 9 border classes, residual adds of two and three
    streams, the sign of a stream read by convs, odd channel counts (33) and a valid-padding stream."""
    c = Chain("residual", (9, 7, 2), seed=11)
    x = c.stream(33, 3, 1, "same")  # u8 -> s32 -> s16
    b = c.sign_s16(x).output
    y = c.stream(33, 3, 1, "same", inp=b)  # b1 -> s32 -> s16
    z = c.add([x, y])
    b2 = c.sign_s16(z).output
    w = c.stream(33, 1, 1, "valid", inp=b2)
    z2 = c.add([z, w, y])
    b3 = c.sign_s16(z2).output
    c.conv(40, 3, 2, "same", inp=b3)
    c.dense(6, out_kind="s32")
    return c.graph()


def chain_pooled_stream() -> ir.IntGraph:
    """Average pools of int16 streams ('same' with several divisors, 'valid', global) and a real-input
    dense head on the pooled stream."""
    c = Chain("pooled_stream", (11, 9, 3), seed=12)
    x = c.stream(35, 3, 1, "same")
    p = c.avgpool(x, 3, 2, "same")  # -> 6x5, border classes
    b = c.sign_s16(p).output
    y = c.stream(35, 3, 1, "same", inp=b)
    z = c.add([p, y])
    p2 = c.avgpool(z, 2, 1, "valid")  # -> 5x4
    g = c.avgpool(p2, (5, 4), 1, "valid")  # global
    c.dense_s16(g, 7)
    return c.graph()


CHAINS = {f.__name__: f for f in (chain_u8_conv, chain_sign_conv, chain_strided_same, chain_mlp, chain_sign_wide,
                                  chain_u8_last, chain_u8_dense_last, chain_one_bit, chain_branches,
                                  chain_depthwise, chain_residual, chain_pooled_stream)}


def test_chains_cover_the_grid():
    """The chains together reach every boundary of the grid (so dropping a layer is noticed)."""
    graphs = [f() for f in CHAINS.values()]
    nodes = [n for g in graphs for n in g.layers]
    acc = [n for n in nodes if n.op in ("conv2d", "dense")]
    assert {1, 31, 32, 33, 63, 64, 65} <= {n.out_shape[2] for n in acc}
    assert {1, 31, 32, 33, 63, 64, 65} <= {n.in_shape[2] for n in acc}
    assert {(1, 1), (3, 3), (5, 5), (3, 5)} <= {tuple(n.attrs["kernel_size"]) for n in acc if n.op == "conv2d"}
    assert {1, 2} <= {n.attrs["strides"][0] for n in acc}
    assert any(any(n.attrs["pads"]) and len(n.params["thresholds"]) > 1 for n in acc if n.output_kind == "b1")
    assert {n.kind for n in acc} >= {"conv2d u8->b1", "conv2d b1->b1", "conv2d b1->s32", "conv2d u8->s32",
                                     "dense u8->b1", "dense b1->b1", "dense b1->s32", "dense u8->s32"}
    pools = [n for n in nodes if n.op == "maxpool2d"]
    assert {(n.attrs["pool"][0], n.attrs["strides"][0], any(n.attrs["pads"])) for n in pools} >= {
        (2, 2, False), (2, 1, False), (3, 1, True), (2, 1, True), (3, 2, True), (2, 2, True)}
    assert sum(n.op == "sign" for n in nodes) == 3
    cats = [n for n in nodes if n.op == "concat"]
    assert {c % 32 for n in cats for c in np.cumsum(n.attrs["channels"])[:-1]} >= {0, 5, 31}
    assert any(s % 2 for g in graphs for s in g.input_shape[:2])


def _check_hash_roundtrip(graph: ir.IntGraph, tmp_path) -> None:
    digest = ir.model_hash(graph)
    assert ir.model_hash(graph) == digest
    ir.save(graph, tmp_path / "a.npz")
    ir.save(graph, tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    loaded = ir.load(tmp_path / "a.npz")
    assert ir.model_hash(loaded) == digest
    ir.save(loaded, tmp_path / "c.npz")
    assert (tmp_path / "c.npz").read_bytes() == (tmp_path / "a.npz").read_bytes()
    q = np.random.default_rng(99).integers(0, 256, (4,) + tuple(graph.input_shape), dtype=np.uint8)
    assert np.array_equal(reference.run(loaded, q).raw, reference.run(graph, q).raw)


@pytest.mark.parametrize("chain", list(CHAINS))
def test_random_chain_host(tmp_path, chain):
    graph = CHAINS[chain]()
    assert ir.model_hash(CHAINS[chain]()) == ir.model_hash(graph)  # seeded: the same graph every time
    _check_hash_roundtrip(graph, tmp_path)
    board = load_board("mps2-an386")
    codegen.write_project(graph, plan.make_plan(graph), board, tmp_path / "p", source="test")
    project = build.Project.load(tmp_path / "p")
    assert project.model_hash == ir.model_hash(graph)
    assert ir.model_hash(project.graph()) == project.model_hash

    q = np.random.default_rng(len(chain)).integers(0, 256, (N_INPUTS,) + tuple(graph.input_shape), dtype=np.uint8)
    ref = reference.run(graph, q, keep_layers=True)
    # the random thresholds must leave the b1 activations non-constant (or the grid tests little)
    for node, value in zip(graph.layers, ref.layers):
        if node.output_kind == "b1":
            assert 0.05 < unpack_bits(value, node.out_shape[2]).mean() < 0.95, node.name
    for kernels in KERNEL_SETS:
        exe = build.build(project, host=True, sanitize=True, kernels=kernels,
                          build_dir=tmp_path / "p" / f"build-host-{kernels}").artifact
        check_host_exe(exe, project, graph, q, ref, label=kernels)
