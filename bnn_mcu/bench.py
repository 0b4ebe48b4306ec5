"""Benchmark a converted project in QEMU: instructions per layer and per inference, per kernel set.

For every requested kernel set (one of :data:`bnn_mcu.layouts.KERNEL_SETS` present in the project's
runtime copy) the firmware is built in its own directory (``build/`` for the project's own set,
``build-<set>/`` for the others, so switching sets never forces a full rebuild), booted once in QEMU,
and sent N inputs with PROFILE. Every reply's outputs and top-1 class are checked against the numpy
reference first: a benchmark of wrong outputs is worthless, so a mismatch raises
:class:`~bnn_mcu.errors.MismatchError` (exit 8).

Typical and worst case: a layer's "instructions" is the mean over the given inputs (typical); every
run also sends adversarial inputs (:func:`adversarial_inputs`: all 0, all 255, alternating 0/255, random
bytes) and reports the largest count seen over all inputs as the worst case, per layer and per
inference. The bit-sliced and ref kernels are nearly data-independent (the Harley-Seal ripple of the
binary layers is the one data-dependent loop), so the two figures are close; a kernel whose time
depends on the pixels shows it here.

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
from .progress import Bar
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


ADVERSARIAL = "all 0, all 255, alternating 0/255, random bytes (seed 12345)"


def adversarial_inputs(graph) -> tuple[np.ndarray, str]:
    """Inputs that drive data-dependent kernels to their extremes: all 0, all 255 (every 8-bit tap at
    its maximum; all binarized inputs -1 or +1), bytes alternating 0/255, and seeded random bytes."""
    n = graph.input_bytes
    rows = [np.zeros(n, np.uint8), np.full(n, 255, np.uint8), np.tile(np.array([0, 255], np.uint8), n)[:n],
            np.random.default_rng(12345).integers(0, 256, n, dtype=np.uint8)]
    return np.stack(rows), ADVERSARIAL


# --------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class LayerBench:
    index: int
    name: str
    kind: str
    macs: int
    instructions: float  # mean over the inputs, counter-read overhead included (typical)
    worst_instructions: float = 0.0  # the largest count over the inputs and the adversarial inputs

    @property
    def macs_per_instruction(self) -> float:
        return self.macs / self.instructions if self.instructions else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "instructions": round(self.instructions, 1),
                "worst_instructions": round(self.worst_instructions, 1),
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
    per_inference_worst: float = 0.0  # over the inputs and the adversarial inputs
    adversarial_inputs: int = 0

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
        for k in ("per_inference_mean", "per_inference_min", "per_inference_max", "per_inference_worst"):
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


def bench_kernels(project: Project, kernels: str, q: np.ndarray, ref, *, timeout: float = 10.0,
                  typical: int | None = None) -> KernelBench:
    """Build ``kernels``, boot it in QEMU once, PROFILE every row of ``q``; check it against ``ref``. The
    first ``typical`` rows (default: all) give the typical figures; every row counts for the worst case."""
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
        bar = Bar(f"bench {kernels}", len(q))
        for i in range(len(q)):
            bar.update(i)
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
        bar.close()
        stack_used, _reserve = runner.stack_usage(link)
        with contextlib.suppress(Exception):
            link.shutdown()
    seconds = time.monotonic() - t0
    n = len(q) if typical is None else typical
    mean, worst = ticks[:n].mean(axis=0), ticks.max(axis=0)
    layers = tuple(LayerBench(index=i, name=l.name, kind=l.kind, macs=int(l.macs), instructions=float(mean[i]),
                              worst_instructions=float(worst[i]))
                   for i, l in enumerate(graph.layers))
    return KernelBench(kernels=kernels, elf=str(res.artifact), layers=layers,
                       per_inference_mean=float(totals[:n].mean()), per_inference_min=float(totals[:n].min()),
                       per_inference_max=float(totals[:n].max()), inputs=n, matches=n,
                       per_inference_worst=float(totals.max()), adversarial_inputs=len(q) - n,
                       flash_bytes=res.flash_bytes, ram_bytes=res.ram_bytes, sections=_sections(res.artifact),
                       seconds=round(seconds, 3), stack_used_bytes=stack_used)


def bench(project: Project, kernel_sets: list[str], q: np.ndarray, input_source: str) -> BenchReport:
    """Benchmark every kernel set on the same inputs (the first set is the comparison's baseline)."""
    graph, board = project.graph(), project.board()
    adv, _what = adversarial_inputs(graph)
    q_all = np.concatenate([q.reshape(len(q), -1), adv])
    ref = reference.run(graph, q_all.reshape((len(q_all),) + tuple(graph.input_shape)))
    sets = tuple(bench_kernels(project, k, q_all, ref, typical=len(q)) for k in kernel_sets)
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
    lines.append(f"worst case over the inputs and {r.sets[0].adversarial_inputs} adversarial inputs ({ADVERSARIAL}), "
                 "instructions and worst/typical:")
    for i, l in enumerate(base.layers):
        row = f"{i:>2}  {l.name:<{w}}{l.kind:<{kw}}{l.macs:>11,}"
        for s in r.sets:
            li = s.layers[i]
            ratio = f"{li.worst_instructions / li.instructions:.3f}x" if li.instructions else "-"
            row += f"  | {li.worst_instructions:>13,.0f} {ratio:>11}"
        lines.append(row)
    lines.append("")
    for s in r.sets:
        sec = s.sections
        spread = "" if s.per_inference_min == s.per_inference_max else \
            f" (min {s.per_inference_min:,.0f}, max {s.per_inference_max:,.0f})"
        lines.append(f"{s.kernels}: {s.per_inference_mean:,.0f} instructions per inference{spread}, layers sum to "
                     f"{s.layer_sum:,.0f}; {s.macs_per_instruction:.3f} binary MACs per instruction; worst case "
                     f"{s.per_inference_worst:,.0f}")
        lines.append(f"{'':{len(s.kernels)}}  flash {s.flash_bytes:,} B (code {sec['code']:,} + rodata "
                     f"{sec['rodata']:,} + data {sec['data']:,}), RAM {s.ram_bytes:,} B (data {sec['data']:,} + "
                     f"bss {sec['bss']:,} + stack {sec['stack']:,}"
                     + (f", high-water {s.stack_used_bytes:,} B measured" if s.stack_used_bytes else "") + ")")
    return "\n".join(lines)


def plot_report(r: BenchReport, path: str | Path) -> Path:
    """Per-layer chart: instructions per layer (typical bars, worst-case ticks) for every kernel set, and
    binary MACs per instruction on a second axis. Needs matplotlib (``pip install matplotlib``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UsageError("--plot needs matplotlib", hint="pip install matplotlib (a bnn-mcu dependency)") from exc
    names = [l.name for l in r.sets[0].layers]
    x = np.arange(len(names))
    width = 0.8 / len(r.sets)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(names) + 2), 4.5))
    ax2 = ax.twinx()
    for k, s in enumerate(r.sets):
        pos = x - 0.4 + width * (k + 0.5)
        typical = [l.instructions for l in s.layers]
        ax.bar(pos, typical, width, label=f"{s.kernels} (typical)")
        ax.scatter(pos, [l.worst_instructions for l in s.layers], marker="_", s=200, color="black",
                   label="worst case" if k == 0 else None, zorder=3)
        mpi = [l.macs / l.instructions if l.macs and l.instructions else np.nan for l in s.layers]
        ax2.plot(pos, mpi, "o", label=f"{s.kernels} MACs/instr")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel(f"{r.count_unit} per layer")
    ax2.set_ylabel("binary MACs per instruction")
    ax.set_title(f"{r.model_name} on {r.board} ({r.cpu}): {COUNT_NOTE}", fontsize=9)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper right")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def kernel_code_from_map(map_text: str, kernels: str) -> dict[str, int]:
    """Code and constant bytes of each kernel file linked from runtime/src/<set>/ or runtime/src/ref/, read
    from a GNU ld map (a kernel's static helpers and tables count with it): {bnn_<file stem>: bytes}."""
    sizes: dict[str, int] = {}
    section = None
    for line in map_text.splitlines():
        fields = line.split()
        if fields and fields[0].startswith((".text", ".rodata")):
            section = fields[0]
            fields = fields[1:]
        elif fields and fields[0].startswith("."):
            section = None
        if section is None or len(fields) != 3 or not fields[1].startswith("0x"):
            continue
        obj = fields[2]
        for s in dict.fromkeys((kernels, "ref")):
            mark = f"runtime/src/{s}/"
            if mark in obj and obj.endswith(".c.obj") and int(fields[0], 16) != 0:
                name = "bnn_" + obj.split(mark)[1][: -len(".c.obj")]
                sizes[name] = sizes.get(name, 0) + int(fields[1], 16)
    return sizes
