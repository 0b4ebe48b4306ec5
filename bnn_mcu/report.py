"""The validation report: one self-contained HTML page (``bnn-mcu run ... --report out/report.html``).

Everything is inline (CSS, and the charts as base64 PNGs drawn with matplotlib's Agg backend), so the
page can be mailed, attached to a CI run or opened offline. It shows:

- the verdict: the target's outputs bit-exact with the numpy reference on N of N inputs;
- accuracy of the float Larq model, the reference and the target (with labels), and the top-1
  agreement of the target with the float Larq model on the user's original float inputs (``keras=``);
- the confusion matrix and per-class accuracy of the target (with labels);
- a histogram of the target's outputs minus the float model's (probabilities when the model ends in a
  softmax, else logits);
- instructions per layer (a PROFILE run of a few inputs in QEMU: :func:`bnn_mcu.bench.bench_kernels`);
- flash and RAM, broken down into weights, thresholds, code, other constants, arena, other RAM and the
  stack (reserve and measured high-water mark).

Strings from the model file (its name, layer names) reach the page only through :func:`html.escape`
and, inside the charts, as pixels.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__


@dataclass
class ReportData:
    """What the page shows; every field but ``summary`` may be missing (None) and its section says so."""

    summary: dict                           # RunSummary.as_dict(): the `run --json` object
    model_name: str
    softmax: bool
    target_top1: np.ndarray
    reference_top1: np.ndarray
    target_outputs: np.ndarray              # host-rebuilt outputs (probabilities if softmax)
    labels: np.ndarray | None = None
    float_outputs: np.ndarray | None = None  # the float Larq model on the original x
    layers: list = field(default_factory=list)  # [(name, kind, macs, instructions)] from a PROFILE run
    count_unit: str = "instructions"
    plan: dict = field(default_factory=dict)    # MemoryPlan.as_dict()
    sections: dict = field(default_factory=dict)  # bench._sections: code, rodata, data, bss, stack
    stack_used: int | None = None


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)  # no display; PNGs only
    import matplotlib.pyplot as plt

    return plt


def confusion(y: np.ndarray, pred: np.ndarray, classes: int) -> np.ndarray:
    """counts[true, predicted]."""
    m = np.zeros((classes, classes), np.int64)
    np.add.at(m, (y, pred), 1)
    return m


def chart_confusion(m: np.ndarray) -> str:
    plt = _pyplot()
    n = len(m)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1.1, 1]})
    ax.imshow(m, cmap="Blues")
    for i in range(n):
        for j in range(n):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if m[i, j] > m.max() / 2 else "black")
    ax.set_xlabel("target's class")
    ax.set_ylabel("label")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_title("confusion matrix (target)")
    per = np.divide(np.diag(m), m.sum(axis=1), out=np.zeros(n), where=m.sum(axis=1) > 0)
    bx.bar(range(n), 100 * per, color="#4c72b0")
    bx.set_ylim(0, 112)  # room for the labels above 100 %
    bx.set_xticks(range(n))
    bx.set_xlabel("class")
    bx.set_ylabel("accuracy %")
    bx.set_title("per-class accuracy (target)")
    for i, v in enumerate(per):
        bx.text(i, 100 * v + 1, f"{100 * v:.0f}", ha="center", fontsize=8)
    return _png(fig)


def chart_differences(diff: np.ndarray, what: str) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.hist(diff.ravel(), bins=60, color="#55a868")
    ax.set_xlabel(f"target - float Larq model ({what})")
    ax.set_ylabel("outputs")
    ax.set_yscale("log")
    ax.set_title(f"output differences against the float model: max |diff| {np.max(np.abs(diff)):.3g}")
    return _png(fig)


def chart_layers(layers: list, unit: str) -> str:
    plt = _pyplot()
    names = [f"{i}: {name} ({kind})" for i, (name, kind, _m, _c) in enumerate(layers)]
    counts = [c for *_x, c in layers]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(layers) + 1.2))
    y = np.arange(len(layers))[::-1]
    ax.barh(y, counts, color="#c44e52")
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel(f"{unit} per inference")
    for yi, (_n, _k, macs, c) in zip(y, layers):
        ax.text(c, yi, f" {c:,.0f}  ({macs / c:.2f} MACs/instr.)" if c else "", va="center", fontsize=8)
    ax.set_xlim(0, max(counts or [1]) * 1.45)
    ax.set_title(f"{unit} per layer")
    return _png(fig)


def memory_parts(plan: dict, sections: dict, stack_used: int | None) -> tuple[list, list]:
    """(flash parts, RAM parts) as [(label, bytes)], from the memory plan and the ELF's sections."""
    weights = int(plan.get("weight_bytes", 0))  # exact: the packed arrays the converter emitted
    thresholds = int(plan.get("threshold_bytes", 0))
    rodata = int(sections.get("rodata", 0))  # weights and thresholds are const: they live in .rodata
    flash = [("weights", weights), ("thresholds", thresholds),
             ("other constants", max(0, rodata - weights - thresholds)),
             ("code", int(sections.get("code", 0))), ("data init", int(sections.get("data", 0)))]
    arena = int(plan.get("arena_bytes", 0))
    bss = int(sections.get("bss", 0))
    stack = int(sections.get("stack", 0))
    ram = [("arena", arena), ("other statics (serial buffers...)", max(0, bss + int(sections.get("data", 0)) - arena))]
    if stack_used is not None:
        ram += [("stack used (measured)", stack_used), ("stack reserve left", max(0, stack - stack_used))]
    else:
        ram.append(("stack reserve", stack))
    return flash, ram


def chart_memory(flash: list, ram: list) -> str:
    plt = _pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(9, 3.2))
    colors = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]
    for ax, (title, parts) in zip(axes, (("flash", flash), ("RAM", ram))):
        left = 0
        total = sum(b for _l, b in parts) or 1
        for (label, b), col in zip(parts, colors):
            if b:
                ax.barh(0, b, left=left, color=col, label=f"{label} {b:,} B")
                left += b
        ax.set_yticks([])
        ax.set_xlim(0, total)
        ax.set_title(f"{title}: {sum(b for _l, b in parts):,} bytes", fontsize=10, loc="left")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, fontsize=8, frameon=False)
    fig.subplots_adjust(hspace=1.6)
    return _png(fig)


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def render(d: ReportData) -> str:
    """The page as one HTML string."""
    s = d.summary
    n, ok = int(s["inputs"]), int(s["matches"])
    exact = ok == n and not s.get("mismatches")
    rows = [("target", f"{html.escape(str(s.get('target')))} (board {html.escape(str(s.get('board')))})"),
            ("model hash", html.escape(str(s.get("model_hash", ""))[:16])),
            ("inputs", f"{n:,}"),
            ("accuracy: float Larq / reference / target",
             f"{_pct(s.get('float_accuracy_keras'))} / {_pct(s.get('accuracy_reference'))} / "
             f"{_pct(s.get('accuracy_target'))}" if d.labels is not None else "no labels given"),
            ("top-1 agreement with the float Larq model (original float x)",
             _pct(s.get("float_top1_agreement")) + (f" ({s.get('float_top1_disagreements')} of {n} differ)"
                                                     if s.get("float_top1_agreement") is not None else
                                                     " (pass the Keras model to compare)")),
            (f"{html.escape(d.count_unit)} per inference",
             f"{s['per_inference_mean']:,.0f} (min {s['per_inference_min']:,.0f}, max {s['per_inference_max']:,.0f})"
             if s.get("per_inference_mean") is not None else "-"),
            ("flash / RAM", f"{s['flash_bytes']:,} / {s['ram_bytes']:,} bytes" if s.get("flash_bytes") else "-"),
            ("input range", f"{s.get('input_range')}, {s.get('clipped_values', 0):,} values clipped")]
    parts = []
    if d.labels is not None:
        classes = int(max(d.target_outputs.shape[1], d.labels.max() + 1, d.target_top1.max() + 1))
        m = confusion(d.labels, d.target_top1, classes)
        parts.append(("Confusion matrix and per-class accuracy", chart_confusion(m), ""))
    if d.float_outputs is not None:
        what = "probabilities: the model ends in a softmax" if d.softmax else "logits"
        parts.append(("Outputs against the float model", chart_differences(d.target_outputs - d.float_outputs, what),
                      "The target's outputs, rebuilt on the host, minus the float Larq model's on the original "
                      "float inputs (the target sees them rounded to 8 bits)."))
    if d.layers:
        parts.append((f"{d.count_unit.capitalize()} per layer", chart_layers(d.layers, d.count_unit),
                      "A PROFILE run of the first inputs in QEMU (-icount): instructions, not cycles; each layer's "
                      "figure includes the counter read around it."))
    if d.sections:
        flash, ram = memory_parts(d.plan, d.sections, d.stack_used)
        parts.append(("Flash and RAM", chart_memory(flash, ram),
                      "From the ELF's sections and the converter's memory plan; the stack high-water mark is "
                      "measured on the target (stack painting)."))
    table = "\n".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    figures = "\n".join(f"<section><h2>{html.escape(t)}</h2><img alt=\"{html.escape(t)}\" "
                        f"src=\"data:image/png;base64,{png}\"><p class=note>{html.escape(note)}</p></section>"
                        for t, png, note in parts)
    first = s.get("first_mismatches") or []
    mism = ("" if exact else "<p class=bad>First mismatches: " + html.escape(str(first[:3])) + "</p>")
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>bnn-mcu report: {html.escape(d.model_name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; color: #222; }}
.verdict {{ font-size: 1.6em; padding: .6em 1em; border-radius: 8px; color: white; }}
.ok {{ background: #2e7d32; }} .fail {{ background: #c62828; }} .bad {{ color: #c62828; }}
table {{ border-collapse: collapse; margin: 1em 0; }} th, td {{ text-align: left; padding: .3em 1em .3em 0; }}
th {{ font-weight: 600; color: #555; }} img {{ max-width: 100%; }} .note {{ color: #666; font-size: .9em; }}
</style></head><body>
<h1>bnn-mcu validation report: {html.escape(d.model_name)}</h1>
<div class="verdict {'ok' if exact else 'fail'}">{'bit-exact' if exact else 'MISMATCH'}: {ok}/{n} inputs
identical to the reference</div>
{mism}
<table>
{table}
</table>
{figures}
<p class=note>bnn-mcu {__version__}, {when}. Project {html.escape(str(s.get('project')))}.</p>
</body></html>
"""


def write(path: str | Path, d: ReportData) -> Path:
    """Render and write the page atomically (an I/O error is an OutputWriteError, exit 9)."""
    from .fileio import write_text

    path = Path(path)
    write_text(path, render(d))
    return path
