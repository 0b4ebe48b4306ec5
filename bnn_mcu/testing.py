"""Hardware-in-the-loop testing helpers: convert and build a model once, talk to its target, and assert
that the target computes what the model computes. The pytest plugin (:mod:`bnn_mcu.pytest_plugin`)
wraps these in fixtures; they work without pytest too::

    project = testing.convert_cached("model.h5", board="mps2-an385", cache_dir=".bnn-cache")
    with testing.open_target(project) as target:          # QEMU, or port="/dev/ttyACM0"
        testing.assert_matches_reference(target, x)        # x: float inputs as the Keras model takes them

A failing :func:`assert_matches_reference` raises :class:`ReferenceMismatch` (an ``AssertionError``)
whose message lists the first mismatching inputs, each differing output with the target's and the
reference's value, and the model's layer table.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__, fleet, reference, resources, runner, wire
from .build import Project, build
from .errors import UsageError

log = logging.getLogger(__name__)

DEFAULT_BOARD = "mps2-an385"
SHOWN_INPUTS = 3  # mismatching inputs a failure message details
SHOWN_OUTPUTS = 8  # differing outputs shown per input


# ------------------------------------------------------------------------------------ the project
@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if needed), released however the holder exits."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _tree_digest(h, root: Path, pattern: str = "*") -> None:
    for p in sorted(root.rglob(pattern)):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())


@functools.cache
def tool_digest() -> str:
    """A digest of everything in this bnn-mcu that shapes a generated project: its Python code, the C
    runtime, the templates and the board files. A cached project made by another version is not reused."""
    h = hashlib.sha256(__version__.encode())
    _tree_digest(h, Path(__file__).resolve().parent, "*.py")
    fw = resources.firmware_dir()
    for part in ("include", "src", "app", "cmake", "platform"):
        _tree_digest(h, fw / part)
    _tree_digest(h, resources.templates_dir())
    _tree_digest(h, resources.boards_dir())
    return h.hexdigest()


def cache_key(model: Path, board: str, input_range, kernels: str | None) -> str:
    """What a converted project depends on: the model file's bytes, the board, the input range, the
    kernel set, and this bnn-mcu (:func:`tool_digest`)."""
    h = hashlib.sha256(hashlib.sha256(Path(model).read_bytes()).digest())
    h.update(json.dumps([board, [float(v) for v in input_range] if input_range else None, kernels,
                         tool_digest()]).encode())
    return h.hexdigest()[:20]


def convert_cached(model: str | Path, *, board: str = DEFAULT_BOARD, input_range=None, kernels: str | None = None,
                   cache_dir: str | Path) -> Project:
    """Convert ``model`` for ``board`` and build its firmware, once per (model bytes, board, options):
    ``cache_dir/<key>/`` is reused while it exists. Safe across processes (pytest-xdist workers): a
    lock file per key serialises them, and a project appears under its final name only when complete."""
    from . import codegen, fold, frontend, plan
    from .boards import load_board
    from .layouts import DEFAULT_KERNELS

    model = Path(model)
    if not model.is_file():
        raise UsageError(f"model file not found: {model}")
    cache_dir = Path(cache_dir)
    key = cache_key(model, board, input_range, kernels)
    final = cache_dir / key
    with file_lock(cache_dir / f".{key}.lock"):
        if not (final / codegen.PROJECT_FILE).is_file():
            log.info("converting %s for %s into %s", model, board, final)
            b = load_board(board)
            fgraph, _model = frontend.load_graph(model)
            graph = fold.fold(fgraph, fold.input_range_for(fgraph, input_range, (0.0, 1.0)))
            kset = kernels or DEFAULT_KERNELS
            mplan = plan.make_plan(graph, stack_bytes=b.stack_size, kernels=kset)
            plan.check_fits(mplan, b)
            tmp = cache_dir / f".{key}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            codegen.write_project(graph, mplan, b, tmp, source=model.name, kernels=kset)
            tmp.rename(final)
        project = Project.load(final)
        build(project)  # incremental: a no-op when the ELF is up to date
    return project


# ------------------------------------------------------------------------------------ the target
@dataclass(frozen=True)
class Inference:
    """Results for a batch of N inputs (a single input is a batch of 1)."""

    q: np.ndarray  # (N, values) uint8: the 8-bit codes the model saw
    raw: np.ndarray  # (N, outputs) int32: the last layer's accumulators
    top1: np.ndarray  # (N,) the top class
    logits: np.ndarray  # (N, outputs) float64: the model's float outputs rebuilt from raw
    counts: np.ndarray | None = None  # (N,) instructions (QEMU) or cycles (board); None for the reference
    count_unit: str = "none"


class Target:
    """One target (QEMU or a board) running a project's firmware, handshaken and ready."""

    def __init__(self, project: Project, link, info, where: str, *, port: str | None = None):
        self.project = project
        self.graph = project.graph()
        self.board = project.board()
        self.link = link
        self.info = info  # the target's INFO: model hash, sizes, board name, counter kind
        self.where = where  # "qemu:<machine>" or the port
        self.encoding = wire.project_encoding(project.meta)
        self.count_unit, self._factor = runner.ticks_to_unit(info, self.board)
        self._window = fleet.pipeline_window(self.board, port)

    def quantize(self, x, *, quantized: bool = False) -> np.ndarray:
        """(N, values) uint8 codes: float ``x`` as the model takes it (one input or a batch), quantised
        with the project's input range; ``quantized=True``: ``x`` already holds the codes."""
        g = self.graph
        arr = np.asarray(x)
        per = g.input_bytes
        if arr.size == per:
            arr = arr.reshape(1, per)
        elif arr.size % per or arr.ndim < 2:
            raise UsageError(f"input of shape {arr.shape}: the model takes "
                             f"{tuple(g.keras_input_shape)} ({per} values) per input")
        arr = arr.reshape(-1, per)
        if quantized:
            if arr.dtype != np.uint8:
                raise UsageError(f"quantized inputs must be uint8 codes, not {arr.dtype}")
            return arr
        return runner.quantize(arr, g)

    def _result(self, q, raw, top1, counts=None) -> Inference:
        raw = np.asarray(raw, np.int32)
        return Inference(q=q, raw=raw, top1=np.asarray(top1, np.int64),
                         logits=reference.logits_from_raw(self.graph, raw), counts=counts,
                         count_unit=self.count_unit if counts is not None else "none")

    def infer(self, x, *, quantized: bool = False) -> Inference:
        """Run ``x`` on the target over the serial link."""
        q = self.quantize(x, quantized=quantized)
        sent = wire.encode(self.graph, q, self.encoding)
        raw = np.zeros((len(q), self.graph.output_count), np.int32)
        top1 = np.zeros(len(q), np.int64)
        counts = np.zeros(len(q), np.float64)
        for i, r in self.link.infer_many(((i, sent[i].tobytes()) for i in range(len(q))), window=self._window):
            raw[i], top1[i], counts[i] = r.outputs, r.top1, round(r.count * self._factor)
        return self._result(q, raw, top1, counts)

    def reference(self, x, *, quantized: bool = False) -> Inference:
        """What the model computes for ``x``: the numpy reference of the integer graph (the truth)."""
        q = self.quantize(x, quantized=quantized)
        ref = reference.run(self.graph, q.reshape((len(q),) + tuple(self.graph.input_shape)))
        return self._result(q, ref.raw, ref.top1)

    def layer_table(self) -> str:
        """The model's layers, one line each (for failure messages)."""
        m = self.project.meta
        lines = [f"layers of {m.get('model_name', '?')} (hash {self.project.model_hash[:16]}, board "
                 f"{m.get('board', '?')}, kernels {m.get('kernels', '?')}):",
                 f"  {'#':>2}  {'name':<24} {'kind':<16} {'in -> out':<34} {'MACs':>12}"]
        for i, layer in enumerate(m.get("layers", [])):
            shapes = f"{tuple(layer['in_shape'])} -> {tuple(layer['out_shape'])}"
            lines.append(f"  {i:>2}  {layer['name'][:24]:<24} {layer['kind'][:16]:<16} {shapes:<34} "
                         f"{layer['macs']:>12,}")
        return "\n".join(lines)


@contextlib.contextmanager
def open_target(project: Project, *, port: str | None = None, baudrate: int | None = None,
                timeout: float = 10.0) -> Iterator[Target]:
    """Boot the project's firmware in QEMU (or open ``port``: a device, a pyserial URL, or ``auto`` for
    the board's debugger by its USB IDs), handshake, yield a :class:`Target`; the QEMU child is killed
    on every path. ``baudrate`` defaults to the board file's."""
    if port:
        from .boards import DEFAULT_BAUD

        board = project.board()
        if port == "auto":
            from .flash import find_port

            port = find_port(board)
        baudrate = baudrate or board.serial.baud or DEFAULT_BAUD
    with runner.open_target(project, port=port, baudrate=baudrate or 115200, timeout=timeout) as (link, where):
        info = runner.handshake(link, project, project.graph(), where)
        yield Target(project, link, info, where, port=port)
        with contextlib.suppress(Exception):
            link.shutdown()


# ------------------------------------------------------------------------------------ the check
class ReferenceMismatch(AssertionError):
    """The target's outputs differ from the reference's; the message shows where."""


def _expected(target: Target, x, reference, quantized: bool) -> Inference:
    if reference is None:
        return target.reference(x, quantized=quantized)
    if callable(reference):
        return reference(x)
    if isinstance(reference, Inference):
        return reference
    raw = np.asarray(reference)
    q = target.quantize(x, quantized=quantized)
    if raw.shape != (len(q), target.graph.output_count):
        raise UsageError(f"reference outputs of shape {raw.shape}; expected {(len(q), target.graph.output_count)}")
    ref = target._result(q, raw, np.full(len(q), -1))
    return Inference(q=ref.q, raw=ref.raw, top1=np.argmax(ref.logits, axis=1), logits=ref.logits)


def mismatch_report(target: Target, got: Inference, want: Inference, *, inputs: int | None = None) -> str | None:
    """The failure message for ``got`` against ``want``, or None when they are identical."""
    bad = np.flatnonzero(np.any(got.raw != want.raw, axis=1) | (got.top1 != want.top1))
    if not len(bad):
        return None
    n = inputs if inputs is not None else len(got.raw)
    lines = [f"{len(bad)} of {n} inputs differ between the target ({target.where}) and the reference"
             f" (first: {', '.join(map(str, bad[:SHOWN_INPUTS]))})"]
    for i in bad[:SHOWN_INPUTS]:
        diff = np.flatnonzero(got.raw[i] != want.raw[i])
        lines.append(f"  input {i}: top-1 target {got.top1[i]}, reference {want.top1[i]}; "
                     f"{len(diff)} of {got.raw.shape[1]} outputs differ")
        if len(diff):
            lines.append(f"    {'output':>8} {'target':>12} {'reference':>12} {'diff':>8}")
            for o in diff[:SHOWN_OUTPUTS]:
                lines.append(f"    {'[' + str(o) + ']':>8} {int(got.raw[i, o]):>12} {int(want.raw[i, o]):>12} "
                             f"{int(got.raw[i, o]) - int(want.raw[i, o]):>+8}")
            if len(diff) > SHOWN_OUTPUTS:
                lines.append(f"    ... and {len(diff) - SHOWN_OUTPUTS} more")
    if len(bad) > SHOWN_INPUTS:
        lines.append(f"  ... and {len(bad) - SHOWN_INPUTS} more inputs")
    lines.append(target.layer_table())
    return "\n".join(lines)


def assert_matches_reference(target: Target, x, *, reference=None, quantized: bool = False) -> Inference:
    """Run ``x`` on ``target`` and require its int32 outputs and top-1 to equal the reference's bit for
    bit. ``reference``: None (the numpy reference of the project's graph), an :class:`Inference`, a
    callable ``x -> Inference``, or expected raw outputs (N, outputs), e.g. golden values a suite keeps.
    Returns the target's :class:`Inference`; raises :class:`ReferenceMismatch` with a readable diff."""
    __tracebackhide__ = True
    got = target.infer(x, quantized=quantized)
    want = _expected(target, x, reference, quantized)
    report = mismatch_report(target, got, want)
    if report is not None:
        raise ReferenceMismatch(report)
    return got
