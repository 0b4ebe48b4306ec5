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

import types  # noqa: E402

from . import build as _build_module  # noqa: E402 (after __version__, which the modules use)
from .api import Conversion, RunResult, convert, run  # noqa: E402


class _CallableModule(types.ModuleType):
    """``bnn_mcu.build`` is both the module (``from bnn_mcu import build; build.Project``, as the code and
    the tests have always used it) and the API function (``bnn_mcu.build(project)`` is
    :func:`bnn_mcu.api.build`): calling the module calls the function."""

    def __call__(self, project, **options):
        """Build a firmware project: :func:`bnn_mcu.api.build` (``host=True`` for a native executable)."""
        from .api import build as _build

        return _build(project, **options)


_build_module.__class__ = _CallableModule
build = _build_module

__all__ = ["Conversion", "RunResult", "__version__", "build", "convert", "run"]
