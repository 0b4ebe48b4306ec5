"""Codegen: render the integer graph into a self-contained CMake firmware project.

Small helpers here turn arrays into C initialisers; Jinja2 templates (``templates/``) emit the
code. The runtime (``firmware/``) is copied into the project so a user's build never depends on this
checkout. Output is deterministic: the same model and options give byte-identical files.

Project layout::

    OUTDIR/
      CMakeLists.txt          target firmware by default, -DBNN_HOST=ON for a native executable
      linker.ld               from the board's memory map
      model/bnn_model_config.h, model/bnn_model_data.c
      runtime/                copy of firmware/ (include, src, app, cmake, the board's platform, host)
      bnn_model.npz           the integer graph, for the host-side reference (no TensorFlow needed)
      bnn_project.json        what build/run need: board, hash, input range, plan
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__, ir, layouts, manifest
from .bitpack import pack_bits
from .errors import UnsupportedModelError, UsageError
from .ir import IntConv, IntGraph, IntMaxPool
from .plan import MemoryPlan
from .resources import firmware_dir
from .templating import render
from .untrusted import c_string, inline, untrusted

log = logging.getLogger(__name__)

PROJECT_FILE = "bnn_project.json"
GRAPH_FILE = "bnn_model.npz"

# The one map from integer-IR layers to the runtime's op codes (firmware/include/bnn/layers.h).
OPS = {
    ("conv2d", "u8", "b1"): "BNN_OP_CONV2D_U8_B1",
    ("conv2d", "b1", "b1"): "BNN_OP_CONV2D_B1_B1",
    ("conv2d", "u8", "s32"): "BNN_OP_CONV2D_U8_S32",
    ("conv2d", "b1", "s32"): "BNN_OP_CONV2D_B1_S32",
    ("dense", "u8", "b1"): "BNN_OP_DENSE_U8_B1",
    ("dense", "b1", "b1"): "BNN_OP_DENSE_B1_B1",
    ("dense", "u8", "s32"): "BNN_OP_DENSE_U8_S32",
    ("dense", "b1", "s32"): "BNN_OP_DENSE_B1_S32",
    ("maxpool", "b1", "b1"): "BNN_OP_MAXPOOL2D_B1",
}

THRESHOLD_NOTES = {
    "transposed": "bit planes [group][plane] of tau + 1, lane = output channel % 32 (int32 bit patterns)",
    "u8_transposed": "bit planes [group][plane] of tau + 255K + 1, lane = output channel % 32 "
                     "(int32 bit patterns)",
}

# Parts of firmware/ that every project gets (plus platform/<board.platform> and platform/host).
RUNTIME_PARTS = ("include", "src", "app", "cmake")


def c_array(values, fmt: str, per_line: int) -> str:
    items = [fmt.format(v) for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n".join("    " + line for line in lines)


def c_words(words: np.ndarray) -> str:
    return c_array(np.asarray(words, np.uint32).ravel().tolist(), "0x{:08x}u", 8)


def c_ints(values: np.ndarray) -> str:
    # INT32_MIN cannot be written as a plain literal; thresholds are clamped far from it anyway.
    return c_array(np.asarray(values, np.int64).ravel().tolist(), "{:d}", 12)


def c_doubles(values: np.ndarray) -> str:
    """Exact double literals (C99 hex floats), so the target sees the host's very bits."""
    return c_array([float(v).hex() for v in np.asarray(values, np.float64).ravel()], "{}", 3)


def _dims(layer) -> dict:
    ih, iw, ic = layer.in_shape
    oh, ow, oc = layer.out_shape
    if isinstance(layer, IntConv):
        (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
    else:
        (kh, kw), (sh, sw) = layer.pool, layer.strides
    for v in (ih, iw, ic, oh, ow, oc):
        if v > 0xFFFF:
            raise UnsupportedModelError(f"layer '{layer.name}': dimension {v} exceeds the runtime's "
                                        "16-bit limit (65,535)")
    for v in (kh, kw, sh, sw):
        if v > 0xFF:
            raise UnsupportedModelError(f"layer '{layer.name}': kernel/stride {v} exceeds the runtime's "
                                        "8-bit limit (255)")
    return {"in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc, "k_h": kh, "k_w": kw,
                "stride_h": sh, "stride_w": sw}


def _layer_context(i: int, layer, plan: MemoryPlan, kernels: str) -> dict:
    buf = plan.buffers[i]
    ctx = {"name": untrusted(layer.name), "sources": untrusted(", ".join(layer.source_layers)),
           "dims": _dims(layer),
               "in_offset": "BNN_BUFFER_INPUT" if buf.in_offset is None else f"{buf.in_offset}u",
               "out_offset": buf.out_offset, "weights": None, "thresholds": None, "or_mask": None,
               "shape_note": f"{tuple(layer.in_shape)} -> {tuple(layer.out_shape)}"}
    if isinstance(layer, IntConv):
        key = (layer.op, layer.input_kind, layer.output_kind)
        ctx.update(op_enum=OPS[key], op_name=f"{layer.op} {layer.input_kind}->{layer.output_kind}",
                   weights=True, thresholds=True if layer.thresholds is not None else None,
                   blocks=_parameter_blocks(layer, kernels))
    else:
        mask = pack_bits(layer.or_mask)
        ctx.update(op_enum=OPS[("maxpool", "b1", "b1")], op_name="maxpool b1->b1",
                   or_mask=c_words(mask), or_mask_len=mask.size)
    return ctx


def _parameter_blocks(layer: IntConv, kernels: str) -> list[dict]:
    """One block of arrays per distinct layout among the kernel sets, each under its #if condition
    (same symbol names), the standard layout last as the #else. A build compiles exactly one. A layout
    the layer cannot have (e.g. too large a fan-in for bit-sliced counters) becomes an #error for that
    set, unless it is the set being converted for, which is refused now."""
    by_layout: dict[str, list[str]] = {}
    for kset in layouts.KERNEL_SETS:
        by_layout.setdefault(layouts.layout_for(layer, kset), []).append(kset)
    order = sorted(by_layout, key=lambda lay: lay == "standard")  # standard last
    blocks = []
    for lay in order:
        cond = " || ".join(f"defined(BNN_KERNELS_{k.upper()})" for k in by_layout[lay])
        try:
            thr = layouts.threshold_words(layer, lay) if layer.thresholds is not None else None
        except UnsupportedModelError as exc:
            if kernels in by_layout[lay]:
                others = [k for k in layouts.KERNEL_SETS if k not in by_layout[lay]]
                raise UnsupportedModelError(exc.message, hint=f"convert with --kernels {others[0]}") from exc
            blocks.append({"layout": lay, "cond": cond, "error": c_string(exc.message)})
            continue
        words = layouts.weight_words(layer, lay)
        block = {"layout": lay, "weights": c_words(words), "weights_len": words.size, "cond": cond}
        if thr is not None:
            block.update(thresholds=c_ints(thr), thresholds_len=thr.size,
                         thresholds_note=THRESHOLD_NOTES.get(lay, "tau per output channel: bit = acc > tau"))
        blocks.append(block)
    blocks[-1]["cond"] = None  # the standard layout is the plain #else (or the only block)
    return blocks


def _check_user_changes(outdir: Path, project_file: Path, force: bool) -> None:
    try:
        recorded = json.loads(project_file.read_text()).get("generated_files")
    except (OSError, ValueError, AttributeError):
        recorded = None
    changes = manifest.user_changes(outdir, recorded)
    if not changes:
        return
    listing = "\n  ".join(changes[:12]) + (f"\n  ... and {len(changes) - 12} more" if len(changes) > 12 else "")
    if force:
        log.warning("--force: overwriting %d changed file(s) in %s:\n  %s", len(changes), outdir, listing)
        return
    raise UsageError(f"{outdir} holds files changed since it was converted; converting again would "
                     f"overwrite them:\n  {listing}",
                     hint="copy your changes elsewhere, convert into another directory, or pass --force")


@dataclass(frozen=True)
class GeneratedProject:
    outdir: Path
    model_hash: str
    files: tuple[str, ...]


def check_project_path(path: Path) -> None:
    """CMake splits unquoted arguments at ';' (a list separator), so such a path cannot be built."""
    full = str(Path(path).resolve())
    bad = sorted({ch for ch in full if ch == ";" or ord(ch) < 0x20 or ord(ch) == 0x7F})
    if bad:
        raise UsageError(f"project path {inline(full)} contains {', '.join(repr(c) for c in bad)}, which CMake "
                         "cannot handle in paths", hint="choose a directory without ';' or control characters")


def write_project(graph: IntGraph, plan: MemoryPlan, board, outdir: str | Path, *, source: str,
                  kernels: str = "ref", extra_meta: dict | None = None, force: bool = False) -> GeneratedProject:
    """Render every file of the firmware project into ``outdir`` (created, or refreshed when the user
    has not changed any file convert owns; ``force`` overwrites those too)."""
    outdir = Path(outdir)
    check_project_path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"output path {outdir} exists and is not a directory")
    existing = outdir / PROJECT_FILE
    if outdir.exists() and any(outdir.iterdir()) and not existing.exists():
        raise UsageError(f"output directory {outdir} is not empty and is not a bnn-mcu project; "
                         "refusing to write into it")
    if existing.exists():
        _check_user_changes(outdir, existing, force)
    fw = firmware_dir()
    sets = layouts.available_sets(fw / "src")
    if kernels not in sets:
        raise UsageError(f"unknown kernel set '{kernels}'; available: {', '.join(sets)}")
    digest = ir.model_hash(graph)
    last = graph.layers[-1]
    ctx = {
        "version": __version__, "model_name": untrusted(graph.name), "source": untrusted(source),
        "hash": digest, "hash_bytes": ", ".join(f"0x{b:02x}" for b in bytes.fromhex(digest)[:16]),
        "board": board, "input_range": graph.input_range, "input_shape": graph.input_shape,
        "input_bytes": graph.input_bytes, "output_count": graph.output_count,
        "output_channels": last.out_shape[2], "plan": plan, "arena_words": max(1, plan.arena_bytes // 4),
        "layers": [_layer_context(i, layer, plan, kernels) for i, layer in enumerate(graph.layers)],
        "out_scale": c_doubles(last.scale), "out_offset": c_doubles(last.offset), "kernels": kernels,
        "defines": sorted(board.defines.items()),
    }
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "model").mkdir(exist_ok=True)
    rendered = {
        "CMakeLists.txt": render("CMakeLists.txt.j2", ctx),
        "model/bnn_model_config.h": render("bnn_model_config.h.j2", ctx),
        "model/bnn_model_data.c": render("bnn_model_data.c.j2", ctx),
        "linker.ld": render("linker.ld.j2", board.linker_context()),
        **board.project_files(),  # board.yaml: the project carries its board (build/run/bench/flash)
    }
    for rel, text in rendered.items():
        (outdir / rel).write_text(text)
    # The runtime: a fresh copy, so a re-convert never leaves stale files behind.
    runtime = outdir / "runtime"
    if runtime.exists():
        shutil.rmtree(runtime)
    for part in RUNTIME_PARTS:
        shutil.copytree(fw / part, runtime / part)
    for plat in sorted({*board.platform_dirs, "host"}):
        shutil.copytree(fw / "platform" / plat, runtime / "platform" / plat)
    ir.save(graph, outdir / GRAPH_FILE)
    meta = {
        "tool": "bnn-mcu", "tool_version": __version__, "model_name": graph.name, "source": source,
        "model_hash": digest, "board": board.name, "kernels": kernels,
        "input_range": list(graph.input_range), "input_shape": list(graph.input_shape),
        "keras_input_shape": list(graph.keras_input_shape), "input_bytes": graph.input_bytes,
        "output_count": graph.output_count, "softmax": graph.softmax, "plan": plan.as_dict(),
        "layers": [
            {"name": layer.name, "kind": "maxpool" if isinstance(layer, IntMaxPool)
             else f"{layer.op} {layer.input_kind}->{layer.output_kind}",
             "in_shape": list(layer.in_shape), "out_shape": list(layer.out_shape),
             "macs": int(layer.macs), "source_layers": list(layer.source_layers)}
            for layer in graph.layers
        ],
        **(extra_meta or {}),
    }
    meta["generated_files"] = manifest.digests(outdir)
    (outdir / PROJECT_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    files = sorted(str(p.relative_to(outdir)) for p in outdir.rglob("*")
                   if p.is_file() and not str(p.relative_to(outdir)).startswith("build"))
    log.info("wrote %d files to %s", len(files), outdir)
    return GeneratedProject(outdir=outdir, model_hash=digest, files=tuple(files))
