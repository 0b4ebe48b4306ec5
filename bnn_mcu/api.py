"""The Python API: the pipeline for notebooks and scripts. The CLI (``bnn_mcu/cli.py``) is a thin layer
over these functions, so each behaviour exists once.

    import bnn_mcu
    project = bnn_mcu.convert(model, "out/m", board="mps2-an386", input_range=(0, 1))  # Keras model or path
    bnn_mcu.build(project)
    result = bnn_mcu.run(project, x, y)          # QEMU (or a board: port=...), checked against the reference
    result.bit_exact, result.outputs, result.summary["per_inference_mean"]

    bnn_mcu.convert(model, "out/kws", layout="library", name="kws")   # a C library for your firmware

Every option is keyword-only. Errors are :class:`bnn_mcu.errors.BnnError` subclasses with a message
and a hint (the CLI prints those and exits with their code).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .build import BuildResult, Project
from .errors import UsageError
from .layouts import DEFAULT_KERNELS, KERNEL_SETS

DEFAULT_BOARD = "mps2-an386"
DEFAULT_INPUT_RANGE = (0.0, 1.0)
LAYOUTS = ("firmware", "library", "package")


@dataclass(frozen=True)
class Conversion:
    """What :func:`convert` did, beyond the project: the numbers ``convert --json`` prints."""

    project: Project
    files: tuple[str, ...]
    summary: dict


def _is_path(model) -> bool:
    return isinstance(model, (str, os.PathLike))


def convert_model(model, outdir: str | Path, *, board: str = DEFAULT_BOARD,
                  input_range: tuple[float, float] | None = None, kernels: str = DEFAULT_KERNELS,
                  layout: str = "firmware", name: str | None = None, force: bool = False,
                  status=None) -> Conversion:
    """:func:`convert`, returning the :class:`Conversion` (its ``summary`` is ``convert --json``)."""
    from . import codegen, fold, frontend, library, plan
    from .boards import load_board

    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if kernels not in KERNEL_SETS:
        raise UsageError(f"unknown kernel set '{kernels}'; available: {', '.join(KERNEL_SETS)}")
    if name is not None and layout == "firmware":
        raise UsageError("a name is for libraries: convert with --as library --name NAME")
    board_ = load_board(board)
    outdir = Path(outdir)
    codegen.check_project_path(outdir)  # everything the user named is checked before TensorFlow starts
    if layout != "firmware":
        name = library.check_name(name) if name is not None else library.default_name(outdir)
    if _is_path(model):
        if status:
            status(f"loading {model} (TensorFlow takes a few seconds to start)...")
        fgraph, _model = frontend.load_graph(model)
        source = Path(model).name
    else:
        if not hasattr(model, "layers"):
            raise UsageError(f"model must be a Keras model or a path, not {type(model).__name__}")
        fgraph = frontend.lower(model)
        source = f"in-memory Keras model {getattr(model, 'name', '?')}"
    if status:
        status("folding and planning...")
    graph = fold.fold(fgraph, fold.input_range_for(fgraph, input_range, DEFAULT_INPUT_RANGE))
    mplan = plan.make_plan(graph, stack_bytes=board_.stack_size, kernels=kernels)
    plan.check_fits(mplan, board_)
    if status:
        status(f"writing {outdir} ({len(graph.layers)} layers)...")
    if layout == "library":
        gen = library.write_library(graph, mplan, board_, outdir, name=name, source=source, kernels=kernels,
                                    force=force)
    elif layout == "package":
        gen = library.write_package(graph, mplan, board_, outdir, name=name, source=source, kernels=kernels,
                                    force=force)
    else:
        gen = codegen.write_project(graph, mplan, board_, outdir, source=source, kernels=kernels, force=force)
    summary = {"project": str(gen.outdir), "model_hash": gen.model_hash, "board": board_.name,
               "input_range": list(graph.input_range), "layers": len(graph.layers),
               "binary_macs": int(sum(n.macs for n in graph.layers)), "plan": mplan.as_dict(),
               "files": len(gen.files), "kernels": kernels, "layout": layout}
    if layout != "firmware":
        summary["name"] = name
    return Conversion(project=Project.load(gen.outdir), files=gen.files, summary=summary)


def convert(model, outdir: str | Path, *, board: str = DEFAULT_BOARD, input_range: tuple[float, float] | None = None,
            kernels: str = DEFAULT_KERNELS, layout: str = "firmware", name: str | None = None,
            force: bool = False) -> Project:
    """Convert a Larq model into a project directory and return it.

    model:       an in-memory Keras/Larq model (nothing is saved) or a path (.h5, .keras, SavedModel)
    outdir:      the directory to write; an existing project is refreshed unless you changed its files
                 (``force=True`` overwrites them)
    board:       a board name (``bnn-mcu boards``) or a board YAML file
    input_range: (LO, HI) of the float input; the target takes q = 0..255 for x = LO + q*(HI-LO)/255
                 (default (0, 1), or (0, 255) for a model starting with a Rescaling layer)
    kernels:     "bitsliced" (default) or "ref"
    layout:      "firmware" (a standalone app for the board: build, run, bench), "library" (a CMake
                 library with one header for your own firmware; ``name`` prefixes every symbol, default:
                 the directory's name) or "package" (the same for Arduino, PlatformIO and Zephyr)
    """
    return convert_model(model, outdir, board=board, input_range=input_range, kernels=kernels,
                         layout=layout, name=name, force=force).project


def _project(project) -> Project:
    return project if isinstance(project, Project) else Project.load(project)


def firmware_project(project) -> Project:
    """``project`` (a path or a :class:`Project`) loaded, refused unless it is a firmware project: a
    library or a package goes into the user's own firmware and has nothing to build, run or flash."""
    project = _project(project)
    layout = project.meta.get("layout", "firmware")
    if layout != "firmware":
        raise UsageError(f"{project.path} is a {layout} (convert --as {layout}); build, run, bench and flash take "
                         "firmware projects", hint="add it to your firmware (README: 'In your own firmware'), or "
                         "convert the model without --as into another directory")
    return project


def build(project, *, host: bool = False) -> BuildResult:
    """Cross-compile a firmware project (CMake + arm-none-eabi-gcc), or a native executable with
    ``host=True``; returns the artifact and its flash/RAM bytes."""
    from .build import build as _build

    return _build(firmware_project(project), host=host)


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` returns.

    outputs:    int32 [N, outputs] as the target computed them
    logits:     float64 [N, outputs] rebuilt on the host (softmax applied if the model ends in one)
    top1:       the target's class per input
    counts:     instructions (QEMU) or cycles (a board) per inference
    reference:  the numpy reference's int32 outputs (the truth)
    summary:    the dict ``bnn-mcu run --json`` prints
    """

    outputs: np.ndarray
    logits: np.ndarray
    top1: np.ndarray
    counts: np.ndarray
    reference: np.ndarray
    summary: dict = field(repr=False)

    @property
    def matches(self) -> int:
        return int(self.summary["matches"])

    @property
    def bit_exact(self) -> bool:
        """Every output and top class equal to the reference."""
        return self.summary["mismatches"] == 0 and self.matches == self.summary["inputs"]

    @property
    def agreement(self) -> float:
        """Share of inputs whose outputs equal the reference bit for bit."""
        return self.matches / max(1, self.summary["inputs"])


def as_inputs(x, y, graph) -> tuple[np.ndarray, np.ndarray | None]:
    """In-memory ``x`` (N, *input shape) and ``y`` checked as ``run --inputs`` checks a file's: x as
    (N, values), y as int64 labels; anything else is a :class:`UsageError` saying what is expected."""
    from .runner import _labels

    x = np.asarray(x)
    expect = f"x of shape (N, {', '.join(map(str, graph.keras_input_shape))}); optional y of N class labels"
    if x.dtype == np.bool_ or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise UsageError(f"x has dtype {x.dtype}; expected real numbers", hint=f"expected {expect}")
    n = x.shape[0] if x.ndim else 0
    if n == 0 or x.size != n * graph.input_bytes:
        raise UsageError(f"x has shape {x.shape}; the model takes (N, "
                         f"{', '.join(map(str, graph.keras_input_shape))})", hint=f"expected {expect}")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        raise UsageError("x holds non-finite values (NaN or inf)")
    return x.reshape(n, graph.input_bytes), (None if y is None else _labels(np.asarray(y), n, Path("y"), expect))


def run_project(project, x, y=None, *, keras=None, port: str | None = None, baud: int | None = None,
                allow_clipping: bool = False, build: bool = True, timeout: float = 10.0,
                report: str | Path | None = None, status=None, **options):
    """:func:`run` without the final check, for the CLI: ``(RunResult, RunSummary, arrays)``, where
    ``arrays`` is what ``run --outputs`` writes. ``options`` pass through to :func:`bnn_mcu.runner.run`."""
    import math

    from . import fileio, modelfile, reference, runner
    from .build import build as _build

    if not math.isfinite(timeout) or timeout <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, not {timeout}")
    project = firmware_project(project)
    graph = project.graph()
    x, y = as_inputs(x, y, graph)
    runner.check_clipping(runner.clipping(x, graph.input_range), allow=allow_clipping)
    if report is not None:
        fileio.check_writable(report, "--report")
    if keras is not None and _is_path(keras):
        modelfile.vet(keras)
    port, baud = resolve_serial(project, port, baud)
    if keras is not None:  # loaded once, checked to be the project's model, before any target time
        if status and _is_path(keras):
            status(f"loading {keras} (TensorFlow takes a few seconds to start)...")
        keras = runner.load_keras_for(project, keras, graph)
    sizes = None
    if not port and build:
        if status:
            status(f"building {project.path} (incremental)...")
        res = _build(project)
        sizes = (res.flash_bytes, res.ram_bytes)
    elif project.elf().is_file():
        res = BuildResult.of_elf(project.elf())
        sizes = (res.flash_bytes, res.ram_bytes)
    summary, arrays = runner.run(project, x, y, port=port, baudrate=baud, keras_model=keras, timeout=timeout,
                                 **options)
    if sizes:
        summary.flash_bytes, summary.ram_bytes = sizes
    q = runner.quantize(x, graph)
    ref = reference.run(graph, q)
    result = RunResult(outputs=arrays["raw"], logits=arrays["logits"], top1=arrays["top1"],
                       counts=arrays["count"], reference=ref.raw, summary=summary.as_dict())
    if report is not None:
        if status:
            status(f"writing the report {report}...")
        write_report(report, project, result, x=x, y=y, keras=keras, q=q, ref=ref, profile=not port)
    return result, summary, arrays


PROFILE_INPUTS = 3  # inputs the report's per-layer chart is measured on (a PROFILE run in QEMU)


def write_report(path, project: Project, result: RunResult, *, x, y, keras, q, ref, profile: bool) -> Path:
    """The HTML validation report of a run (:mod:`bnn_mcu.report`). ``profile``: also boot QEMU once
    more for the instructions per layer (PROFILE on the first inputs)."""
    from . import bench, larqcheck, reference, report

    graph = project.graph()
    data = report.ReportData(
        summary=result.summary, model_name=graph.name, softmax=graph.softmax, target_top1=result.top1,
        reference_top1=ref.top1, target_outputs=result.logits, labels=y, plan=project.meta.get("plan", {}),
        count_unit=result.summary.get("count_unit", "instructions"),
        float_outputs=None if keras is None else larqcheck.larq_outputs(keras, graph, x),
        stack_used=result.summary.get("stack_used_bytes"))
    if profile and project.board().qemu is not None:
        n = min(PROFILE_INPUTS, len(q))
        kb = bench.bench_kernels(project, bench.default_kernels(project), q[:n], reference.run(graph, q[:n]))
        data.layers = [(lb.name, lb.kind, lb.macs, lb.instructions) for lb in kb.layers]
        data.count_unit = "instructions"
        data.sections = kb.sections
        data.stack_used = kb.stack_used_bytes if data.stack_used is None else data.stack_used
    elif project.elf().is_file():
        data.sections = bench._sections(project.elf())
    return report.write(path, data)


def run(project, x, y=None, *, keras=None, port: str | None = None, baud: int | None = None,
        allow_clipping: bool = False, build: bool = True, timeout: float = 10.0, report: str | Path | None = None,
        check: bool = True, **options) -> RunResult:
    """Run float inputs ``x`` (as the Keras model takes them; quantised with the project's input range)
    on the target and compare every output with the numpy reference.

    y:        integer labels (accuracies in the summary)
    keras:    the Larq model (in memory or a path): exact check and agreement with the float model
    port:     a board's serial device ("auto": by its USB IDs); default: the board in QEMU
    build:    (re)build the firmware first (incremental)
    report:   write the HTML validation report here (bnn_mcu.report)
    check:    raise :class:`bnn_mcu.errors.MismatchError` when the target differs from the reference
    options:  passed on to :func:`bnn_mcu.runner.run`
    """
    from . import runner

    result, summary, _arrays = run_project(project, x, y, keras=keras, port=port, baud=baud,
                                           allow_clipping=allow_clipping, build=build, timeout=timeout,
                                           report=report, **options)
    if check:
        runner.check(summary)
    return result


def resolve_serial(project: Project, port: str | None, baud: int | None) -> tuple[str | None, int]:
    """``port="auto"`` -> the board's debugger port (by USB IDs); no ``baud`` -> the board file's."""
    from .boards import DEFAULT_BAUD

    if port != "auto" and baud is not None:
        return port, baud
    board = project.board()
    if port == "auto":
        from .flash import find_port

        port = find_port(board)
    return port, baud or board.serial.baud or DEFAULT_BAUD
