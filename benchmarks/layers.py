#!/usr/bin/env python3
"""Benchmark single-layer shapes (the issue's targets) on every QEMU core: instructions per binary MAC.

Each shape is a small Larq model with set (seeded random) weights whose layer of interest runs as it
would inside a network (binary in, binary out, 'same' padding where the shape says so); the model is
converted for each board, built for every kernel set and run in QEMU with ``bnn-mcu bench`` (every
output checked against the reference, adversarial inputs included), and the layer's executed
instructions per binary MAC are reported: typical (the shape's inputs: random for binary layers, all
255 for the 8-bit layer) and worst case, the kernel's code bytes (its file's .text + .rodata in the
linker map), and int8 CMSIS-NN on the same shape where it was measured (M4, M55).

Examples::

    .venv/bin/python benchmarks/layers.py --boards all --out benchmarks/layers.md   # the README table
    .venv/bin/python benchmarks/layers.py                        # all shapes, mps2-an386, all kernel sets
    .venv/bin/python benchmarks/layers.py --shapes dense_1024_256 --kernels bitsliced -n 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# name -> (description, builder kwargs); the measured layer is the node named "measured".
SHAPES = {
    "conv3x3_16x16x32_32": "3x3 binary conv 16x16x32->32, padding='same', pad_values=1.0, binarized input",
    "conv3x3_8x8x64_64": "3x3 binary conv 8x8x64->64, padding='same', pad_values=1.0, binarized input",
    "dense_1024_256": "binary dense 1024->256 on a binarized input",
    "first3x3_28x28x1_16": "8-bit first layer 3x3 28x28x1->16, padding='same' (worst case: all-255 input)",
}


# int8 CMSIS-NN instructions per MAC on the same shapes, measured on the same QEMU machines (issue 9)
CMSIS_NN = {
    "cortex-m4": {"conv3x3_16x16x32_32": 1.93, "conv3x3_8x8x64_64": 1.76, "dense_1024_256": 1.92,
                  "first3x3_28x28x1_16": 10.4},
    "cortex-m55": {"conv3x3_16x16x32_32": 0.26, "conv3x3_8x8x64_64": 0.21, "dense_1024_256": 0.48,
                   "first3x3_28x28x1_16": 3.94},
}


def qemu_boards() -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "bnn_mcu.cli", "boards", "--json"], check=True,
                         capture_output=True, text=True).stdout
    data = json.loads(out)
    boards = data["boards"] if isinstance(data, dict) else data
    return [b for b in boards if b.get("qemu_machine")]


def build_model(name: str, seed: int = 0):
    import larq as lq
    import tf_keras as k

    sign = {"input_quantizer": "ste_sign", "kernel_quantizer": "ste_sign", "kernel_constraint": "weight_clip",
            "use_bias": False}
    if name.startswith("conv3x3"):
        h, c = (16, 32) if "16x16" in name else (8, 64)
        layers = [k.layers.InputLayer((h, h, c)),
                  lq.layers.QuantConv2D(c, 3, padding="same", pad_values=1.0, name="measured", **sign),
                  k.layers.BatchNormalization(), k.layers.Flatten(), lq.layers.QuantDense(10, **sign)]
    elif name == "dense_1024_256":
        layers = [k.layers.InputLayer((1024,)), lq.layers.QuantDense(256, name="measured", **sign),
                  k.layers.BatchNormalization(), lq.layers.QuantDense(10, **sign)]
    elif name == "first3x3_28x28x1_16":
        layers = [k.layers.InputLayer((28, 28, 1)),
                  lq.layers.QuantConv2D(16, 3, padding="same", name="measured", **{**sign, "input_quantizer": None}),
                  k.layers.BatchNormalization(), k.layers.MaxPooling2D(4), k.layers.Flatten(),
                  lq.layers.QuantDense(10, **sign)]
    else:
        raise SystemExit(f"unknown shape {name}; known: {', '.join(SHAPES)}")
    model = k.Sequential(layers, name=name)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            layer.kernel.assign(rng.uniform(-1, 1, layer.kernel.shape).astype(np.float32))
            fan = int(np.prod(layer.kernel.shape[:-1]))
        elif isinstance(layer, k.layers.BatchNormalization):
            cc = layer.moving_mean.shape[0]
            scale = 128.0 * np.sqrt(fan) if name.startswith("first") else np.sqrt(fan)
            layer.moving_mean.assign(rng.normal(0, scale, cc).astype(np.float32))
            layer.moving_variance.assign(np.full(cc, scale**2, np.float32))
    return model


def run(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="examples:\n" + __doc__.split("Examples::\n\n")[1])
    p.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated shapes (default: all)")
    p.add_argument("--board", default="mps2-an386", help="one board (default: %(default)s)")
    p.add_argument("--boards", help="comma-separated boards, or 'all' (every board QEMU can emulate)")
    p.add_argument("--kernels", default="all", help="kernel sets for bench (default: all)")
    p.add_argument("-n", type=int, default=3, help="inputs per benchmark (default: 3)")
    p.add_argument("--workdir", type=Path, default=REPO / "out" / "bench-layers")
    p.add_argument("--out", type=Path, help="write a markdown table here")
    args = p.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))
    from bnn_mcu.bench import kernel_code_from_map

    if args.boards == "all":
        boards = [(b["name"], b.get("cpu", "")) for b in qemu_boards()]
    else:
        names = args.boards.split(",") if args.boards else [args.board]
        known = {b["name"]: b.get("cpu", "") for b in qemu_boards()}
        boards = [(n, known.get(n, "")) for n in names]
    cli = [sys.executable, "-m", "bnn_mcu.cli"]
    rows = []
    for name in args.shapes.split(","):
        model_path = args.workdir / f"{name}.h5"
        build_model(name).save(model_path)
        inputs = args.workdir / f"{name}-inputs.npz"
        shape = tuple(build_model(name).input_shape[1:])
        x = np.ones((args.n,) + shape, np.float32) if name.startswith("first") else \
            np.random.default_rng(1).uniform(-1, 1, (args.n,) + shape).astype(np.float32)
        np.savez(inputs, x=x)
        lo_hi = ["--input-range", "0", "1"] if name.startswith("first") else ["--input-range", "-1", "1"]
        for board, cpu in boards:
            proj = args.workdir / board / name
            subprocess.run([*cli, "convert", str(model_path), "-o", str(proj), "--board", board, "--force", *lo_hi],
                           check=True, stdout=subprocess.DEVNULL)
            out = subprocess.run([*cli, "bench", str(proj), "--inputs", str(inputs), "-n", str(args.n), "--kernels",
                                  args.kernels, "--json"], check=True, capture_output=True, text=True).stdout
            report = json.loads(out)
            for s in report["sets"]:
                layer = next(layer for layer in s["layers"] if layer["name"] == "measured")
                kernel = "bnn_" + layer["kind"].replace("->", "_").replace(" ", "_")
                map_file = Path(s["elf"]).parent / "firmware.map"
                code = kernel_code_from_map(map_file.read_text(), s["kernels"]).get(kernel) if map_file.is_file() \
                    else None
                cpu_key = (report.get("cpu") or cpu).removesuffix("f")
                rows.append({"board": board, "cpu": report.get("cpu") or cpu, "shape": name, "what": SHAPES[name],
                             "kernels": s["kernels"], "macs": layer["macs"], "instructions": layer["instructions"],
                             "worst": layer.get("worst_instructions", layer["instructions"]),
                             "per_mac": layer["instructions"] / layer["macs"],
                             "worst_per_mac": layer.get("worst_instructions", layer["instructions"]) / layer["macs"],
                             "code": code, "cmsis": CMSIS_NN.get(cpu_key, {}).get(name)})
    lines = ["| board (core) | shape | kernels | binary MACs | instructions | instr/MAC | worst instr/MAC | "
             "kernel code bytes | CMSIS-NN int8 instr/MAC |", "|---|---|---|--:|--:|--:|--:|--:|--:|"]
    def cell(v):
        return "–" if v is None else v

    lines += [f"| {r['board']} ({r['cpu']}) | {r['what']} | {r['kernels']} | {r['macs']:,} | "
              f"{r['instructions']:,.0f} | {r['per_mac']:.3f} | {r['worst_per_mac']:.3f} | {cell(r['code'])} | "
              f"{cell(r['cmsis'])} |" for r in rows]
    text = "\n".join(lines)
    print(text)
    if args.out:
        cmd = "benchmarks/layers.py" + (f" --boards {args.boards}" if args.boards else f" --board {args.board}") + \
            f" -n {args.n}" + (f" --kernels {args.kernels}" if args.kernels != "all" else "")
        shown = args.out.resolve().relative_to(REPO) if args.out.resolve().is_relative_to(REPO) else args.out
        args.out.write_text(f"Measured with `.venv/bin/python {cmd} --out {shown}` (QEMU instruction counts; "
                            "every output checked against the reference; worst case over the shape's inputs and "
                            "bench's adversarial inputs). CMSIS-NN: int8 kernels on the same shapes and QEMU "
                            "machines, from the issue.\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(run())
