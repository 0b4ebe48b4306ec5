"""Run a converted model on a target (QEMU or a board over a UART) and check it against the reference.

The harness owns its QEMU child (killed on every path), handshakes (HELLO/INFO), refuses a target
whose model hash differs from the project's, streams every input in a checksummed frame, and compares
the target's int32 outputs and top-1 class with the numpy reference bit for bit.

Before anything runs, the float inputs are measured against the project's input range: values outside
it are clipped by the 8-bit quantisation, and a share above :data:`MAX_CLIPPED_SHARE` means the range is
wrong (:func:`check_clipping`). With ``--keras`` the user's Larq model also runs on the original float
inputs, to measure how close the target comes to the float model (:func:`bnn_mcu.larqcheck.float_fidelity`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import reference, wire
from .bitpack import quantize_input
from .build import Project
from .errors import MismatchError, TargetError, UsageError
from .progress import Bar

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    project: str
    board: str
    model_hash: str
    target: str  # "qemu:<machine>" or the serial port
    inputs: int = 0
    matches: int = 0
    mismatches: int = 0
    top1_mismatches: int = 0
    accuracy_target: float | None = None
    accuracy_reference: float | None = None
    accuracy_keras: float | None = None
    keras_top1_agreement: float | None = None
    keras_max_abs_diff: float | None = None
    keras_bits_compared: int | None = None
    keras_tie_disagreements: int | None = None
    keras_unexplained_disagreements: int | None = None
    # int16 residual streams (ops/requant.py): signs that differ within the stream's error bound, and the
    # largest |stream - Larq| (real units), each layer on Larq's own input signs
    keras_fixed_point_disagreements: int | None = None
    keras_stream_max_abs_diff: float | None = None
    # Fidelity to the user's float model (--keras): Larq on the original float x, not the 8-bit codes.
    # A measurement, not a check: it differs a little because the target sees x quantised to 8 bits.
    float_top1_agreement: float | None = None  # target top-1 == Larq-on-float top-1
    float_top1_disagreements: int | None = None
    float_max_abs_diff: float | None = None  # |host outputs rebuilt from raw - Larq-on-float outputs|
    float_accuracy_keras: float | None = None  # Larq on the float x, with labels
    # The float inputs against the project's input range (values outside are clipped to LO or HI).
    input_range: list = field(default_factory=list)
    input_min: float | None = None
    input_max: float | None = None
    clipped_values: int = 0
    clipped_share: float = 0.0
    inputs_with_clipping: int = 0
    count_unit: str = "none"  # "instructions" (QEMU -icount), "cycles" (DWT) or "none"
    per_inference_mean: float | None = None
    per_inference_min: float | None = None
    per_inference_max: float | None = None
    binary_macs: int = 0
    flash_bytes: int | None = None
    ram_bytes: int | None = None
    arena_bytes: int | None = None
    stack_used_bytes: int | None = None  # high-water mark measured on the target (stack painting)
    stack_size_bytes: int | None = None
    seconds: float = 0.0
    jobs: int = 1  # targets the inputs were spread over (bnn-mcu run --jobs)
    wire_bytes_per_input: float | None = None  # INFER payload bytes per input, after RLE
    first_mismatches: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def load_inputs(path: str | Path, graph) -> tuple[np.ndarray, np.ndarray | None]:
    """Read ``x`` (float inputs as the Keras model takes them) and optional ``y`` labels.

    An ``.npz`` archive with ``x`` (and ``y``), or an ``.npy`` file holding ``x`` alone. Everything a user can get wrong
    is a :class:`UsageError` that says what was found and what is expected.
    """
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"inputs file not found: {p}" if not p.exists() else f"--inputs {p} is not a file")
    expect = (f"x of shape (N, {', '.join(map(str, graph.keras_input_shape))}), real numbers; "
              "optional y of N integer class labels")
    try:
        data = np.load(p, allow_pickle=False)
        if isinstance(data, np.ndarray):  # a .npy file: x alone
            x, y = data, None
        else:
            with data as z:
                if "x" not in z.files:
                    raise UsageError(f"{p} has no array 'x' (found: {', '.join(z.files) or 'nothing'}); "
                                     "save inputs with np.savez(path, x=inputs, y=labels)")
                x = z["x"]
                y = z["y"] if "y" in z.files else None
    except UsageError:
        raise
    except Exception as exc:  # numpy raises ValueError, OSError, EOFError, BadZipFile... for bad files
        raise UsageError(f"cannot read {p} as .npz/.npy inputs ({type(exc).__name__}: {exc})",
                         hint=f"expected {expect}") from exc
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)) \
            or np.issubdtype(x.dtype, np.bool_):
        raise UsageError(f"{p}: x has dtype {x.dtype}; expected real numbers", hint=f"expected {expect}")
    n = x.shape[0] if x.ndim else 0
    per = graph.input_bytes
    if n == 0 or x.size != n * per:
        raise UsageError(f"{p}: x has shape {x.shape}; the model takes (N, "
                         f"{', '.join(map(str, graph.keras_input_shape))}) ({per} values per input)")
    bad = int(np.size(x) - np.count_nonzero(np.isfinite(x))) if np.issubdtype(x.dtype, np.floating) else 0
    if bad:
        raise UsageError(f"{p}: x holds {bad} non-finite values (NaN or inf)")
    return x.reshape(n, per), (None if y is None else _labels(y, n, p, expect))


def _labels(y: np.ndarray, n: int, p: Path, expect: str) -> np.ndarray:
    """y as N int64 class labels; one-hot rows, strings, NaN or fractions are refused by name."""
    if y.ndim == 2 and y.shape[0] == n and y.shape[1] > 1:
        raise UsageError(f"{p}: y has shape {y.shape}, which looks one-hot; give class indices",
                         hint="y = np.argmax(y_onehot, axis=1)")
    if y.ndim != 1 or y.shape[0] != n:
        raise UsageError(f"{p}: y has shape {y.shape} for {n} inputs; expected ({n},)", hint=f"expected {expect}")
    if np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64)
    if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.rint(y)):
        return y.astype(np.int64)
    raise UsageError(f"{p}: y has dtype {y.dtype}" + (" with NaN, inf or fractional values"
                     if np.issubdtype(y.dtype, np.floating) else "") + "; expected integer class labels",
                     hint=f"expected {expect}")


# More clipped input values than this share means the input range is wrong: refused before running.
MAX_CLIPPED_SHARE = 0.001


@dataclass(frozen=True)
class Clipping:
    """How the float inputs ``x`` (N, values) sit in the input range [lo, hi]."""

    lo: float
    hi: float
    inputs: int
    values: int
    clipped_values: int
    inputs_with_clipping: int
    x_min: float
    x_max: float

    @property
    def share(self) -> float:
        return self.clipped_values / self.values if self.values else 0.0


def _outside(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    tol = 1e-6 * (hi - lo)  # float32 inputs such as pixel/255 may overshoot HI by a rounding step
    return (x < lo - tol) | (x > hi + tol)


def clipping(x: np.ndarray, input_range) -> Clipping:
    """Count the values of ``x`` (N, ...) outside ``input_range``, as :func:`quantize` sees them."""
    lo, hi = (float(v) for v in input_range)
    x = np.asarray(x)
    out = _outside(x, lo, hi).reshape(len(x), -1)
    return Clipping(lo=lo, hi=hi, inputs=len(x), values=int(out.size), clipped_values=int(out.sum()),
                    inputs_with_clipping=int(out.any(axis=1).sum()),
                    x_min=float(np.min(x)) if x.size else 0.0, x_max=float(np.max(x)) if x.size else 0.0)


def check_clipping(c: Clipping, *, allow: bool = False) -> None:
    """Refuse inputs of which more than :data:`MAX_CLIPPED_SHARE` fall outside the input range: the
    project was converted with another ``--input-range`` than the one the inputs (and the model) use."""
    if allow or c.share <= MAX_CLIPPED_SHARE:
        return
    raise UsageError(
        f"{c.clipped_values:,} of {c.values:,} input values ({100 * c.share:.2f}%, in {c.inputs_with_clipping} "
        f"of {c.inputs} inputs) lie outside the project's --input-range {c.lo:g} {c.hi:g}, where the 8-bit "
        f"quantisation would clip them; x spans [{c.x_min:g}, {c.x_max:g}]",
        hint=f"convert again with the --input-range the model's float inputs really use (x here spans "
        f"[{c.x_min:g}, {c.x_max:g}]), or scale x as the model was trained; --allow-clipping runs anyway "
        f"(more than {100 * MAX_CLIPPED_SHARE:g}% clipped is refused)")


def quantize(x: np.ndarray, graph) -> np.ndarray:
    lo, hi = graph.input_range
    outside = int(np.sum(_outside(np.asarray(x), lo, hi)))
    if outside:
        log.warning("%d input values lie outside the input range [%g, %g] and were clipped; was the "
                    "model converted with the right --input-range?", outside, lo, hi)
    return quantize_input(x, lo, hi)


@contextlib.contextmanager
def open_target(project: Project, *, port: str | None = None, baudrate: int = 115200,
                timeout: float = 10.0, elf: Path | None = None):
    """Yield ``(link, description)`` for QEMU (default; ``elf`` defaults to the project's build) or a
    serial device; always cleans up (the QEMU child is killed on every path)."""
    from .link import open_link

    if port:
        link = open_link(port, baudrate=baudrate, timeout=timeout)  # raises LinkError with the reason
        try:
            yield link, port
        finally:
            link.close()
        return
    from .qemu import Qemu

    board = project.board()
    if board.qemu is None:
        raise UsageError(f"board '{board.name}' cannot be emulated; run on hardware with --port DEVICE")
    elf = Path(elf) if elf else project.elf()
    if not elf.is_file():
        raise UsageError(f"{elf} does not exist; build it first with 'bnn-mcu build {project.path}'")
    with Qemu.for_board(board, elf) as q:
        link = open_link(q.url, timeout=timeout)
        try:
            yield link, f"qemu:{board.qemu.machine}"
        finally:
            link.close()


def handshake(link, project: Project, graph, where: str):
    """HELLO -> INFO, then refuse a target that runs another model or has other sizes."""
    try:
        info = link.hello()
    except Exception as exc:
        raise TargetError(f"no answer from the target at {where}: {exc}") from exc
    want = bytes.fromhex(project.model_hash)[:16]
    if info.model_hash != want:
        raise TargetError(
            f"the target runs a different model (hash {info.model_hash.hex()}, expected "
            f"{want.hex()}); refusing to compare",
            hint=f"rebuild and flash the firmware of {project.path}")
    in_bytes = wire.wire_bytes(graph, wire.project_encoding(project.meta))
    if (info.input_bytes, info.output_count, info.n_layers) != (
            in_bytes, graph.output_count, len(graph.layers)):
        raise TargetError(f"target sizes (in {info.input_bytes}, out {info.output_count}, layers "
                          f"{info.n_layers}) differ from the project's ({in_bytes}, "
                          f"{graph.output_count}, {len(graph.layers)})")
    return info


def stack_usage(link) -> tuple[int | None, int | None]:
    """(high-water mark, reserve) in bytes, or (None, None) where the target does not measure it."""
    from .link import LinkError

    try:
        st = link.stats()
    except LinkError as exc:  # firmware built before STATS existed answers UNKNOWN_TYPE
        log.info("target reports no stack statistics: %s", exc)
        return None, None
    return (st.stack_used, st.stack_size) if st.stack_size else (None, None)


def ticks_to_unit(info, board) -> tuple[str, float]:
    """(unit, factor): multiply raw counter ticks by factor to get the unit."""
    from .protocol import CounterKind

    kind = info.counter_kind
    emulated = board.qemu is not None and board.qemu.icount_shift is not None
    if kind == CounterKind.INSTRUCTIONS and emulated and info.counter_hz:
        return "instructions", 1e9 / (info.counter_hz * 2 ** board.qemu.icount_shift)
    if kind == CounterKind.CYCLES:
        return "cycles", 1.0
    return "none", 0.0


def load_keras_for(project: Project, keras_model: str, graph):
    """Load the ``--keras`` model and make sure it is the model the project was converted from
    (same integer graph with the project's input range), before any target time is spent."""
    from . import fold, frontend, ir

    # a path, or (Python API) the Keras model itself
    model = frontend.load_model(keras_model) if isinstance(keras_model, (str, Path)) else keras_model
    theirs = fold.fold(frontend.lower(model), tuple(graph.input_range))
    if ir.model_hash(theirs) != project.model_hash:
        raise UsageError(
            f"--keras {keras_model} is not the model {project.path} was converted from (its integer "
            "graph differs)", hint=f"pass the model file given to 'bnn-mcu convert' (source: "
            f"{project.meta.get('source', '?')})")
    return model


def run(project: Project, x: np.ndarray, y: np.ndarray | None = None, *, port: str | None = None,
        baudrate: int = 115200, keras_model: str | None = None, progress: bool | None = None,
        timeout: float = 10.0, jobs: int | None = None) -> tuple[RunSummary, dict]:
    """Run every input on the target; return the summary and the arrays for ``--outputs``.

    ``jobs``: QEMU instances to spread the inputs over (default: the CPU count; 1 with ``port``);
    see :mod:`bnn_mcu.fleet`. The results are in input order whatever the number of jobs."""
    graph = project.graph()
    board = project.board()
    keras = load_keras_for(project, keras_model, graph) if keras_model else None
    clip = clipping(x, graph.input_range)
    q = quantize(x, graph)
    summary = RunSummary(project=str(project.path), board=board.name, model_hash=project.model_hash,
                         target="", inputs=len(q), binary_macs=int(sum(l.macs for l in graph.layers)),
                         input_range=[clip.lo, clip.hi], input_min=clip.x_min, input_max=clip.x_max,
                         clipped_values=clip.clipped_values, clipped_share=clip.share,
                         inputs_with_clipping=clip.inputs_with_clipping)
    from . import fleet

    jobs = fleet.resolve_jobs(jobs, inputs=len(q), port=port)
    bar = Bar("run" if jobs == 1 else f"run x{jobs}", len(q), enabled=progress, rate=True)
    t0 = time.monotonic()
    # The numpy reference (~5 ms per MNIST input) runs in a thread while the targets work: they wait on
    # the emulated UART far more than they compute, so the two overlap instead of adding up.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="bnn-reference") as pool:
        ref_future = pool.submit(reference.run, graph, q)
        try:
            replies = fleet.run_inputs(
                lambda: open_target(project, port=port, baudrate=baudrate, timeout=timeout),
                wire.encode(graph, q, wire.project_encoding(project.meta)),
                graph.output_count, jobs=jobs, handshake=lambda link, where: handshake(link, project, graph, where),
                stack_usage=stack_usage, on_done=bar.update, window=fleet.pipeline_window(board, port))
        except BaseException:
            ref_future.cancel()
            raise
        finally:
            bar.close()
        ref = ref_future.result()
    info = replies.infos[0]
    summary.target = replies.where
    summary.jobs = replies.jobs
    summary.arena_bytes = info.arena_bytes
    summary.wire_bytes_per_input = round(replies.wire_bytes / max(1, len(q)), 1)
    unit, factor = ticks_to_unit(info, board)
    summary.count_unit = unit
    raw, top1 = replies.raw.astype(ref.raw.dtype), replies.top1
    counts = np.round(replies.ticks * factor)  # ticks are integers: the figure is good to +-1
    same = np.all(raw == ref.raw, axis=1) & (top1 == ref.top1)
    summary.matches = int(same.sum())
    summary.mismatches = int((~same).sum())
    summary.top1_mismatches = int((top1 != ref.top1).sum())
    for i in np.flatnonzero(~same)[:5]:
        summary.first_mismatches.append(
            {"index": int(i), "target": raw[i].tolist()[:16], "reference": ref.raw[i].tolist()[:16],
             "target_top1": int(top1[i]), "reference_top1": int(ref.top1[i])})
    summary.stack_used_bytes, summary.stack_size_bytes = replies.stack_used, replies.stack_size
    summary.seconds = round(time.monotonic() - t0, 3)
    if unit != "none":
        summary.per_inference_mean = float(np.mean(counts))
        summary.per_inference_min = float(np.min(counts))
        summary.per_inference_max = float(np.max(counts))
    if y is not None:
        summary.accuracy_target = float(np.mean(top1 == y))
        summary.accuracy_reference = float(np.mean(ref.top1 == y))
    if keras is not None:
        from .larqcheck import compare, float_fidelity

        cmp, kout = compare(keras, graph, q)
        summary.keras_top1_agreement = cmp.top1_agreement
        summary.keras_max_abs_diff = cmp.max_abs_output_diff
        summary.keras_bits_compared = cmp.bits_compared
        summary.keras_tie_disagreements = cmp.tie_disagreements
        summary.keras_unexplained_disagreements = cmp.unexplained_disagreements
        summary.keras_fixed_point_disagreements = cmp.fixed_point_disagreements
        summary.keras_stream_max_abs_diff = cmp.stream_max_abs_diff
        if y is not None:
            summary.accuracy_keras = float(np.mean(np.argmax(kout, axis=1) == y))
        fid, fout = float_fidelity(keras, graph, x, raw, top1)
        summary.float_top1_agreement = fid.top1_agreement
        summary.float_top1_disagreements = fid.top1_disagreements
        summary.float_max_abs_diff = fid.max_abs_output_diff
        if y is not None:
            summary.float_accuracy_keras = float(np.mean(np.argmax(fout, axis=1) == y))
    logits = reference.logits_from_raw(graph, raw)
    arrays = {"raw": raw, "logits": reference.softmax(logits) if graph.softmax else logits,
              "top1": top1, "count": counts}
    return summary, arrays


def check(summary: RunSummary) -> None:
    if summary.mismatches:
        raise MismatchError(
            f"{summary.mismatches} of {summary.inputs} inputs differ between the target and the "
            f"reference (first: {summary.first_mismatches[:1]})")
    if summary.keras_unexplained_disagreements:
        raise MismatchError(
            f"the reference disagrees with Larq on {summary.keras_unexplained_disagreements} binary "
            "activations that are not float32 ties: a converter bug, please report it with the model")
