"""bnn-mcu: Larq binary neural networks -> bit-exact XNOR/popcount firmware for Cortex-M.

The Python API (keyword-only options, typed results; the CLI is a thin layer over it)::

    import bnn_mcu
    project = bnn_mcu.convert(model, "out/m", board="mps2-an386", input_range=(0, 1))
    bnn_mcu.build(project)
    result = bnn_mcu.run(project, x, y)            # QEMU; result.bit_exact, result.outputs, result.summary
    bnn_mcu.convert(model, "out/kws", layout="library", name="kws")   # a C library for your firmware

``model`` is an in-memory Keras/Larq model or a path. See :mod:`bnn_mcu.api`.
"""

__version__ = "0.1.0"

from .api import Conversion, RunResult, build, convert, run  # noqa: E402 (after __version__, which they use)

__all__ = ["Conversion", "RunResult", "__version__", "build", "convert", "run"]
