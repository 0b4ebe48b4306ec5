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
from string import Template

import numpy as np

from . import __version__, ir, layouts, manifest, wire
from .errors import UnsupportedModelError, UsageError
from .ir import IntGraph
from .plan import MemoryPlan
from .resources import firmware_dir
from .templating import render
from .untrusted import c_string, inline, untrusted

log = logging.getLogger(__name__)

PROJECT_FILE = "bnn_project.json"
GRAPH_FILE = "bnn_model.npz"

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


def c_bytes(values: np.ndarray) -> str:
    return c_array(np.asarray(values, np.int64).ravel().tolist(), "{:d}u", 16)


def c_doubles(values: np.ndarray) -> str:
    """Exact double literals (C99 hex floats), so the target sees the host's very bits."""
    return c_array([float(v).hex() for v in np.asarray(values, np.float64).ravel()], "{}", 3)


C_INITIALISERS = {"uint32_t": c_words, "int32_t": c_ints, "uint8_t": c_bytes}


def _layer_context(i: int, node, plan: MemoryPlan, kernels: str, graph: IntGraph, encoding: str) -> dict:
    """Everything the template needs for node i: its constant arrays per kernel-set layout (each block
    under its #if), its parameter struct and its kernel call, all from the node's op module."""
    from . import ops

    op = ops.get(node.op)
    for problem in op.target_limits(node):
        raise UnsupportedModelError(f"layer '{node.name}': {problem} (the runtime's field sizes)")
    by_layout: dict[str, list[str]] = {}
    layers = {}
    for kset in layouts.KERNEL_SETS:
        layer = wire.c_layer(node, graph, kset, encoding)  # the op's, or the input-bits unpacking
        layers[kset] = layer
        by_layout.setdefault(layer.layout, []).append(kset)
    if layers[kernels].error:
        others = [k for k in layouts.KERNEL_SETS if not layers[k].error]
        raise UnsupportedModelError(layers[kernels].error,
                                    hint=f"convert with --kernels {others[0]}" if others else None)
    order = sorted(by_layout, key=lambda lay: by_layout[lay] == ["ref"] or "ref" in by_layout[lay])  # ref last
    blocks = []
    for lay in order:
        layer = layers[by_layout[lay][0]]
        cond = " || ".join(f"defined(BNN_KERNELS_{k.upper()})" for k in by_layout[lay])
        if layer.error:
            blocks.append({"cond": cond, "layout": lay, "error": c_string(layer.error), "arrays": []})
            continue
        blocks.append({"cond": cond, "layout": lay, "arrays": [
            {"name": f"layer{i}_{a.suffix}", "ctype": a.ctype, "len": int(a.values.size), "note": a.note,
             "init": C_INITIALISERS[a.ctype](a.values)} for a in layer.arrays]})
    if len(blocks) > 1 and all(b["arrays"] == blocks[0]["arrays"] and "error" not in b for b in blocks):
        blocks = blocks[:1]
    blocks[-1]["cond"] = None  # the ref layout is the plain #else (or the only block)
    layer = layers[kernels]
    names = {a.suffix: f"layer{i}_{a.suffix}" for a in layer.arrays}
    buf = plan.buffers[i]

    def tensor_ptr(offset):
        return "input" if offset is None else f"(arena + {offset}u)"

    subst = {**names, "params": f"layer{i}_params", "input": tensor_ptr(buf.in_offset),
             # a merge op's inputs, in order, as const void * (C converts them to the kernel's pointer type)
             "inputs": ", ".join(f"(const void *){tensor_ptr(off)}" for off in buf.in_offsets),
             "output": tensor_ptr(buf.out_offset)}
    return {"name": untrusted(node.name), "sources": untrusted(", ".join(node.source_layers)),
            "kind": node.kind, "shape_note": f"{tuple(node.in_shape)} -> {tuple(node.out_shape)}",
            "blocks": blocks, "params_type": layer.params_type,
            "params_init": Template(layer.params_init).substitute(subst),
            "call": Template(layer.call).substitute(subst)}


def check_project_path(path: Path) -> None:
    """CMake splits unquoted arguments at ';' (a list separator), so such a path cannot be built."""
    full = str(Path(path).resolve())
    bad = sorted({ch for ch in full if ch == ";" or ord(ch) < 0x20 or ord(ch) == 0x7F})
    if bad:
        raise UsageError(f"project path {inline(full)} contains {', '.join(repr(c) for c in bad)}, which CMake "
                         "cannot handle in paths", hint="choose a directory without ';' or control characters")


def _check_user_changes(outdir: Path, project_file: Path, force: bool, layout: str) -> None:
    try:
        recorded = json.loads(project_file.read_text()).get("generated_files")
    except (OSError, ValueError, AttributeError):
        recorded = None
    changes = manifest.user_changes(outdir, recorded, layout)
    if not changes:
        return
    listing = "\n  ".join(changes[:12]) + (f"\n  ... and {len(changes) - 12} more" if len(changes) > 12 else "")
    if force:
        log.warning("--force: overwriting %d changed file(s) in %s:\n  %s", len(changes), outdir, listing)
        return
    raise UsageError(f"{outdir} holds files changed since it was converted; converting again would "
                     f"overwrite them:\n  {listing}",
                     hint="copy your changes elsewhere, convert into another directory, or pass --force")


def prepare_outdir(outdir: Path, *, force: bool, layout: str = "firmware") -> None:
    """Refuse to write into ``outdir`` unless it is new, empty, or a project of the same ``layout`` whose
    files convert owns are unchanged since it wrote them (``force``: changed ones are overwritten)."""
    check_project_path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"output path {outdir} exists and is not a directory")
    existing = outdir / PROJECT_FILE
    if outdir.exists() and any(outdir.iterdir()) and not existing.exists():
        raise UsageError(f"output directory {outdir} is not empty and is not a bnn-mcu project; "
                         "refusing to write into it")
    if existing.exists():
        try:
            theirs = json.loads(existing.read_text()).get("layout", "firmware")
        except (OSError, ValueError, AttributeError):
            theirs = "firmware"
        if theirs != layout:
            raise UsageError(f"{outdir} holds a bnn-mcu {theirs} project; refusing to write a {layout} "
                             "project over it", hint="convert into another directory")
        _check_user_changes(outdir, existing, force, layout)


def model_context(graph: IntGraph, plan: MemoryPlan, board, *, source: str, kernels: str) -> dict:
    """What every template about the model needs (firmware project and library alike). Generating the
    constant arrays is the slow part for big models: a progress bar counts the layers on a terminal."""
    from .progress import Bar

    fw = firmware_dir()
    sets = layouts.available_sets(fw / "src")
    if kernels not in sets:
        raise UsageError(f"unknown kernel set '{kernels}'; available: {', '.join(sets)}")
    digest = ir.model_hash(graph)
    encoding = wire.encoding_for(graph)  # packed input bits when the first layer binarizes the input
    bar = Bar("generating C", len(graph.layers), unit=" layers")
    layers = []
    try:
        for i, node in enumerate(graph.layers):
            bar.update(i)
            layers.append(_layer_context(i, node, plan, kernels, graph, encoding))
    finally:
        bar.close()
    return {
        "version": __version__, "model_name": untrusted(graph.name), "source": untrusted(source),
        "hash": digest, "hash_bytes": ", ".join(f"0x{b:02x}" for b in bytes.fromhex(digest)[:16]),
        "board": board, "input_range": graph.input_range, "input_shape": graph.input_shape,
        "input_bytes": wire.wire_bytes(graph, encoding), "input_bits": encoding == wire.BITS,
        "output_count": graph.output_count,
        "output_channels": graph.output.shape[2], "plan": plan, "arena_words": max(1, plan.arena_bytes // 4),
        "layers": layers, "output_offset": plan.buffers[-1].out_offset,
        "out_scale": c_doubles(graph.out_scale), "out_offset": c_doubles(graph.out_offset), "kernels": kernels,
        "defines": sorted(board.defines.items()), "softmax": graph.softmax,
    }


def project_meta(graph: IntGraph, plan: MemoryPlan, board, *, source: str, kernels: str, layout: str,
                 extra_meta: dict | None = None) -> dict:
    """``bnn_project.json`` without ``generated_files``: what build, run and re-convert need."""
    return {
        "tool": "bnn-mcu", "tool_version": __version__, "model_name": graph.name, "source": source,
        "model_hash": ir.model_hash(graph), "board": board.name, "kernels": kernels, "layout": layout,
        "input_range": list(graph.input_range), "input_shape": list(graph.input_shape),
        "keras_input_shape": list(graph.keras_input_shape), "input_bytes": graph.input_bytes,
        "input_encoding": wire.encoding_for(graph),
        "wire_input_bytes": wire.wire_bytes(graph, wire.encoding_for(graph)),
        "output_count": graph.output_count, "softmax": graph.softmax, "plan": plan.as_dict(),
        "layers": [
            {"name": node.name, "kind": node.kind, "in_shape": list(node.in_shape),
             "out_shape": list(node.out_shape), "macs": int(node.macs), "source_layers": list(node.source_layers)}
            for node in graph.layers
        ],
        **(extra_meta or {}),
    }


def finish(outdir: Path, graph: IntGraph, meta: dict) -> GeneratedProject:
    """Save the integer graph and ``bnn_project.json`` (with the checksums of the files convert owns)."""
    ir.save(graph, outdir / GRAPH_FILE)
    meta["generated_files"] = manifest.digests(outdir, meta["layout"])
    (outdir / PROJECT_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    files = sorted(str(p.relative_to(outdir)) for p in outdir.rglob("*")
                   if p.is_file() and not str(p.relative_to(outdir)).startswith("build"))
    log.info("wrote %d files to %s", len(files), outdir)
    return GeneratedProject(outdir=outdir, model_hash=meta["model_hash"], files=tuple(files))


@dataclass(frozen=True)
class GeneratedProject:
    outdir: Path
    model_hash: str
    files: tuple[str, ...]


def write_project(graph: IntGraph, plan: MemoryPlan, board, outdir: str | Path, *, source: str,
                  kernels: str = "ref", extra_meta: dict | None = None, force: bool = False) -> GeneratedProject:
    """Render every file of the firmware project into ``outdir`` (created, or refreshed when the user
    has not changed any file convert owns; ``force`` overwrites those too)."""
    outdir = Path(outdir)
    prepare_outdir(outdir, force=force)
    fw = firmware_dir()
    ctx = model_context(graph, plan, board, source=source, kernels=kernels)
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
    meta = project_meta(graph, plan, board, source=source, kernels=kernels, layout="firmware",
                        extra_meta=extra_meta)
    return finish(outdir, graph, meta)
