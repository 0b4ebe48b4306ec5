"""Larq quantizers bnn-mcu runs: the sign family. Their forward pass is ``sign(x)`` with ``sign(0) = +1``
whatever the clip value or the gradient (SteSign(clip_value=...), ApproxSign, SwishSign(beta=...)), so
on the target each is one comparison: bit 1 (= -1) exactly where the value is negative."""

from __future__ import annotations

from .base import Refusal

SIGN_QUANTIZERS = ("SteSign", "ApproxSign", "SwishSign")
SIGN_FUNCTIONS = ("ste_sign", "approx_sign", "swish_sign")
SUPPORTED = f"one of {', '.join(SIGN_QUANTIZERS)} (any clip_value)"
# XNOR-Net's scaled sign for weights: sign(w) * mean(|w|) per output channel (the mean over every axis
# but the last, in float32 as Larq computes it); the scale is a positive affine folded like a batch-norm.
SCALED_KERNEL_QUANTIZERS = ("MagnitudeAwareSign", "magnitude_aware_sign")


def name_of(q) -> str | None:
    if q is None:
        return None
    # Larq quantizer objects are named by their class (SteSign), plain functions by __name__ (ste_sign).
    return getattr(q, "__name__", None) or type(q).__name__


def is_scaled_kernel_sign(q) -> bool:
    """True for XNOR-Net's MagnitudeAwareSign (allowed as a kernel quantizer only)."""
    return name_of(q) in SCALED_KERNEL_QUANTIZERS


def is_sign(q, which: str, allow_none: bool) -> bool:
    """True for a sign-family quantizer, False for None (when allowed); a Refusal otherwise."""
    name = name_of(q)
    if name is None:
        if allow_none:
            return False
        raise Refusal(f"{which}=None (float weights)", f"{which} {SUPPORTED}")
    if name in SIGN_QUANTIZERS or name in SIGN_FUNCTIONS:
        return True
    raise Refusal(f"{which}={name}", f"{which} {SUPPORTED}; multi-bit, ternary and scaled quantizers "
                  "(DoReFa, SteTern, SteHeaviside) are not supported" + (
        "" if which == "kernel_quantizer" else "; MagnitudeAwareSign only as a kernel_quantizer"))
