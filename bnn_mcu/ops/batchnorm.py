"""BatchNormalization: a per-channel affine map that the fold merges into the thresholds (or into the
last layer's float affine). It never reaches the target as a node of its own."""

from __future__ import annotations

import numpy as np

from ..ir import Node, Tensor
from .base import Op, Refusal


class BatchNorm(Op):
    name = "batchnorm"
    role = "affine"
    keras_classes = ("BatchNormalization",)
    supported = "BatchNormalization over the channel axis (any gamma sign, gamma = 0, center/scale off)"

    def lower(self, layer, inp: Tensor, ctx) -> Node:
        axis = list(layer.axis) if isinstance(layer.axis, (list, tuple)) else [layer.axis]
        rank = len(layer.input_shape) - 1
        if len(axis) != 1 or axis[0] not in (-1, rank):
            raise Refusal(f"axis={axis}", "normalisation over the last (channel) axis")
        c = inp.shape[2]
        gamma = layer.gamma.numpy() if layer.gamma is not None else np.ones(c, np.float32)
        beta = layer.beta.numpy() if layer.beta is not None else np.zeros(c, np.float32)
        return ctx.node("batchnorm", layer, inp, inp.shape, attrs={"epsilon": float(layer.epsilon)},
                        params={"gamma": np.asarray(gamma, np.float32), "beta": np.asarray(beta, np.float32),
                                "mean": np.asarray(layer.moving_mean.numpy(), np.float32),
                                "variance": np.asarray(layer.moving_variance.numpy(), np.float32)})

    @staticmethod
    def affine(node: Node) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel (a, b) with BN(y) = a*y + b, in float64 from the stored float32 parameters."""
        p = node.params
        var_eps = (np.asarray(p["variance"], np.float32) + np.float32(node.attrs["epsilon"])).astype(np.float64)
        a = np.asarray(p["gamma"], np.float64) / np.sqrt(var_eps)  # the float32 add above is Keras'
        b = np.asarray(p["beta"], np.float64) - a * np.asarray(p["mean"], np.float64)
        return a, b
