"""Benchmark a converted project in QEMU: instructions per layer and per inference, per kernel set.

For every requested kernel set (one of :data:`bnn_mcu.layouts.KERNEL_SETS` present in the project's
runtime copy) the firmware is built in its own directory (``build/`` for the project's own set,
``build-<set>/`` for the others, so switching sets never forces a full rebuild), booted once in QEMU,
and sent N inputs with PROFILE. Every reply's outputs and top-1 class are checked against the numpy
reference first: a benchmark of wrong outputs is worthless, so a mismatch raises
:class:`~bnn_mcu.errors.MismatchError` (exit 8).

Counts: the target reports raw timer ticks per layer and per inference; under QEMU ``-icount`` they
are converted to **instructions** with the board's icount shift (:func:`bnn_mcu.runner.ticks_to_unit`).
QEMU models no timing, so these are instruction counts, not cycles. A layer's figure includes the
counter read around it (a handful of instructions); the per-inference total (RESULT ``count``) also
covers the layer loop and the top-1 computation, so the layer sum is slightly below it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import layouts, reference, runner, wire
from .build import Project, build, section_sizes
from .errors import MismatchError, TargetError, UsageError

log = logging.getLogger(__name__)

COUNT_NOTE = "instructions (QEMU -icount), not cycles"


def available_kernels(project: Project) -> list[str]:
    """Kernel sets the project's runtime copy provides (sorted; ``ref`` first)."""
    return layouts.available_sets(project.path / "runtime" / "src")


def default_kernels(project: Project) -> str:
    return str(project.meta.get("kernels") or "ref")


def kernel_build_dir(project: Project, kernels: str) -> Path:
    """``build/`` for the project's own kernel set, ``build-<set>/`` for the others."""
    return project.build_dir() if kernels == default_kernels(project) else project.path / f"build-{kernels}"


def parse_kernels(project: Project, spec: str | None) -> list[str]:
    """``"ref,bitsliced"`` -> ["ref", "bitsliced"], each checked against the project's runtime."""
    have = available_kernels(project)
    if spec is None:
        wanted = [default_kernels(project)]
    elif spec.strip() == "all":
        wanted = have
    else:
        wanted = [s.strip() for s in spec.split(",") if s.strip()]
    if not wanted:
        raise UsageError("--kernels names no kernel set", hint=f"available: {', '.join(have) or 'none'}")
    missing = [s for s in wanted if s not in have]
    if missing:
        unknown = [s for s in missing if s not in layouts.KERNEL_SETS]
        raise UsageError(f"kernel set(s) {', '.join(missing)} not in {project.path / 'runtime' / 'src'}; "
                         f"available: {', '.join(have) or 'none'}",
                         hint=f"known kernel sets: {', '.join(layouts.KERNEL_SETS)}" if unknown
                         else "re-convert the model to copy a newer runtime into the project")
    return list(dict.fromkeys(wanted))  # drop repeats, keep order


def bench_inputs(graph, n: int, inputs: str | Path | None = None, seed: int = 0) -> tuple[np.ndarray, str]:
    """(q uint8 (n, input_bytes), description): the first n of ``inputs`` quantised, else random."""
    if n < 1:
        raise UsageError("-n must be at least 1")
    if inputs is not None:
        x, _y = runner.load_inputs(inputs, graph)
        if len(x) < n:
            log.warning("%s holds only %d inputs; benchmarking those", inputs, len(x))
        x = x[:n]
        return runner.quantize(x, graph), f"first {len(x)} of {inputs}"
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, graph.input_bytes), dtype=np.uint8), f"{n} random uint8 (seed {seed})"


# --------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class LayerBench:
    index: int
    name: str
    kind: str
    macs: int
    instructions: float  # mean over the inputs, counter-read overhead included

    @property
    def macs_per_instruction(self) -> float:
        return self.macs / self.instructions if self.instructions else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "instructions": round(self.instructions, 1),
                "macs_per_instruction": round(self.macs_per_instruction, 4)}


@dataclass(frozen=True)
class KernelBench:
    kernels: str
    elf: str
    layers: tuple[LayerBench, ...]
    per_inference_mean: float
    per_inference_min: float
    per_inference_max: float
    inputs: int
    matches: int
    flash_bytes: int
    ram_bytes: int
    sections: dict  # allocated ELF sections: code (.isr_vector + .text), rodata, data, bss, stack
    seconds: float
    stack_used_bytes: int | None = None  # high-water mark measured on the target

    @property
    def binary_macs(self) -> int:
        return sum(l.macs for l in self.layers)

    @property
    def layer_sum(self) -> float:
        return sum(l.instructions for l in self.layers)

    @property
    def macs_per_instruction(self) -> float:
        return self.binary_macs / self.per_inference_mean if self.per_inference_mean else 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["layers"] = [l.as_dict() for l in self.layers]
        for k in ("per_inference_mean", "per_inference_min", "per_inference_max"):
            d[k] = round(d[k], 1)
        d.update(binary_macs=self.binary_macs, layer_sum=round(self.layer_sum, 1),
                 macs_per_instruction=round(self.macs_per_instruction, 4))
        return d


@dataclass(frozen=True)
class BenchReport:
    project: str
    model_name: str
    model_hash: str
    board: str
    cpu: str
    target: str
    input_source: str
    sets: tuple[KernelBench, ...]
    count_unit: str = "instructions"
    count_note: str = COUNT_NOTE

    def speedups(self) -> dict:
        """{set: {"layers": {name: x}, "total": x}} against the first set (the baseline)."""
        base = self.sets[0]
        out = {}
        for s in self.sets[1:]:
            out[s.kernels] = {
                "layers": {b.name: round(b.instructions / l.instructions, 3) if l.instructions else None
                           for b, l in zip(base.layers, s.layers, strict=True)},
                "total": round(base.per_inference_mean / s.per_inference_mean, 3)}
        return out

    def as_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "sets"}
        d["sets"] = [s.as_dict() for s in self.sets]
        d["binary_macs"] = self.sets[0].binary_macs
        if len(self.sets) > 1:
            d["comparison"] = {"baseline": self.sets[0].kernels, "speedup": self.speedups()}
        return d


def _sections(elf: Path) -> dict:
    sec = section_sizes(elf)
    return {"code": sec.get(".isr_vector", 0) + sec.get(".text", 0), "rodata": sec.get(".rodata", 0),
            "data": sec.get(".data", 0), "bss": sec.get(".bss", 0), "stack": sec.get(".stack", 0)}


# --------------------------------------------------------------------------------------------------
# running


def bench_kernels(project: Project, kernels: str, q: np.ndarray, ref, *, timeout: float = 10.0) -> KernelBench:
    """Build ``kernels``, boot it in QEMU once, PROFILE every row of ``q``; check it against ``ref``."""
    graph, board = project.graph(), project.board()
    if board.qemu is None:
        raise UsageError(f"board '{board.name}' cannot be emulated; bench runs in QEMU only")
    bdir = kernel_build_dir(project, kernels)
    log.info("building %s with kernels '%s' in %s", project.path, kernels, bdir)
    res = build(project, kernels=kernels, build_dir=bdir)
    n_layers = len(graph.layers)
    ticks = np.zeros((len(q), n_layers), np.float64)
    totals = np.zeros(len(q), np.float64)
    t0 = time.monotonic()
    log.info("booting %s in qemu-system-arm -M %s; %d inputs with PROFILE", res.artifact,
             board.qemu.machine, len(q))
    with runner.open_target(project, timeout=timeout, elf=res.artifact) as (link, where):
        info = runner.handshake(link, project, graph, where)
        unit, factor = runner.ticks_to_unit(info, board)
        if unit != "instructions":
            raise TargetError(f"{board.name} in QEMU reports no instruction counter (counter kind "
                              f"{int(info.counter_kind)}, {info.counter_hz} Hz, icount shift "
                              f"{board.qemu.icount_shift})")
        wq = wire.encode(graph, q, wire.project_encoding(project.meta))  # packed bits for a sign-first model
        for i in range(len(q)):
            try:
                r = link.profile(wq[i].tobytes())
            except Exception as exc:
                raise TargetError(f"input {i}: {exc}") from exc
            out = np.asarray(r.outputs, np.int32)
            if not np.array_equal(out, ref.raw[i]) or r.top1 != ref.top1[i]:
                raise MismatchError(
                    f"kernels '{kernels}': input {i} differs from the reference (target top-1 {r.top1}, "
                    f"outputs {out.tolist()[:10]}; reference top-1 {int(ref.top1[i])}, outputs "
                    f"{ref.raw[i].tolist()[:10]}); no benchmark of wrong outputs")
            ticks[i] = np.asarray(r.layer_counts, np.float64) * factor
            totals[i] = r.count * factor
        stack_used, _reserve = runner.stack_usage(link)
        with contextlib.suppress(Exception):
            link.shutdown()
    seconds = time.monotonic() - t0
    mean = ticks.mean(axis=0)
    layers = tuple(LayerBench(index=i, name=l.name, kind=l.kind, macs=int(l.macs), instructions=float(mean[i]))
                   for i, l in enumerate(graph.layers))
    return KernelBench(kernels=kernels, elf=str(res.artifact), layers=layers,
                       per_inference_mean=float(totals.mean()), per_inference_min=float(totals.min()),
                       per_inference_max=float(totals.max()), inputs=len(q), matches=len(q),
                       flash_bytes=res.flash_bytes, ram_bytes=res.ram_bytes, sections=_sections(res.artifact),
                       seconds=round(seconds, 3), stack_used_bytes=stack_used)


def bench(project: Project, kernel_sets: list[str], q: np.ndarray, input_source: str) -> BenchReport:
    """Benchmark every kernel set on the same inputs (the first set is the comparison's baseline)."""
    graph, board = project.graph(), project.board()
    ref = reference.run(graph, q.reshape((len(q),) + tuple(graph.input_shape)))
    sets = tuple(bench_kernels(project, k, q, ref) for k in kernel_sets)
    return BenchReport(project=str(project.path), model_name=graph.name, model_hash=project.model_hash,
                       board=board.name, cpu=board.cpu, target=f"qemu:{board.qemu.machine}",
                       input_source=input_source, sets=sets)


# --------------------------------------------------------------------------------------------------
# text


def format_report(r: BenchReport) -> str:
    """A side-by-side table: per layer MACs, then instructions and MACs/instruction per kernel set."""
    base = r.sets[0]
    speed = r.speedups()
    w = max(6, *(len(l.name) for l in base.layers), len("per inference")) + 2
    kw = max(6, *(len(l.kind) for l in base.layers)) + 2
    head = f"{'#':>2}  {'layer':<{w}}{'kind':<{kw}}{'MACs':>11}"
    sub = f"{'':>2}  {'':<{w}}{'':<{kw}}{'':>11}"
    for s in r.sets:
        extra = 9 if s is not base else 0
        head += f"  | {s.kernels:^{25 + extra}}"
        sub += f"  | {'instructions':>13} {'MACs/instr':>11}" + (f" {'speedup':>8}" if s is not base else "")
    lines = [f"bench {r.project}: {r.model_name} on {r.board} ({r.cpu}, {r.target}); inputs: {r.input_source}",
             f"counts are {COUNT_NOTE}; a layer's figure includes the counter read around it",
             f"outputs identical to the reference: {base.inputs}/{base.inputs} for every kernel set "
             f"({', '.join(s.kernels for s in r.sets)})", "", head, sub]

    def cells(s: KernelBench, instr: float, macs: int, sp: float | None) -> str:
        mpi = f"{macs / instr:.3f}" if instr and macs else "-"
        c = f"  | {instr:>13,.0f} {mpi:>11}"
        if s is not base:
            c += f" {sp:>7.2f}x" if sp else f" {'-':>8}"
        return c

    for i, l in enumerate(base.layers):
        row = f"{i:>2}  {l.name:<{w}}{l.kind:<{kw}}{l.macs:>11,}"
        for s in r.sets:
            sp = speed[s.kernels]["layers"][l.name] if s is not base else None
            row += cells(s, s.layers[i].instructions, l.macs, sp)
        lines.append(row)
    row = f"{'':>2}  {'per inference':<{w}}{'':<{kw}}{base.binary_macs:>11,}"
    for s in r.sets:
        row += cells(s, s.per_inference_mean, s.binary_macs, speed[s.kernels]["total"] if s is not base else None)
    lines.append(row)
    lines.append("")
    for s in r.sets:
        sec = s.sections
        spread = "" if s.per_inference_min == s.per_inference_max else \
            f" (min {s.per_inference_min:,.0f}, max {s.per_inference_max:,.0f})"
        lines.append(f"{s.kernels}: {s.per_inference_mean:,.0f} instructions per inference{spread}, layers sum to "
                     f"{s.layer_sum:,.0f}; {s.macs_per_instruction:.3f} binary MACs per instruction")
        lines.append(f"{'':{len(s.kernels)}}  flash {s.flash_bytes:,} B (code {sec['code']:,} + rodata "
                     f"{sec['rodata']:,} + data {sec['data']:,}), RAM {s.ram_bytes:,} B (data {sec['data']:,} + "
                     f"bss {sec['bss']:,} + stack {sec['stack']:,}"
                     + (f", high-water {s.stack_used_bytes:,} B measured" if s.stack_used_bytes else "") + ")")
    return "\n".join(lines)
