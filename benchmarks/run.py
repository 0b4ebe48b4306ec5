#!/usr/bin/env python3
"""Benchmark the MNIST demo model on every QEMU board and every kernel set; write benchmarks/results.md.

Steps: (a) the model: ``out/mnist/model.h5`` if present (``tools/demo.sh`` makes it), else train it with
``examples/mnist/train.py`` (~45 s) into the work directory; (b) ``bnn-mcu convert`` it for each board
that QEMU can emulate (``bnn-mcu boards --json``); (c) ``bnn-mcu bench --kernels all`` on the first N
held-out digits of the shipped MNIST sample (every output checked against the reference: a mismatch
stops the run); (d) write the tables to ``benchmarks/results.md`` (and the raw JSON next to the
projects).

Examples::

    .venv/bin/python benchmarks/run.py                       # all QEMU boards, all kernel sets, 5 digits
    .venv/bin/python benchmarks/run.py -n 20 --boards mps2-an386
    .venv/bin/python benchmarks/run.py --kernels ref --out /tmp/results.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MNIST = REPO / "examples" / "mnist"
DATA = MNIST / "data" / "mnist10k.npz"
FIRST_TEST_ROW = 8000  # rows 8000.. of mnist10k.npz are the held-out digits (examples/mnist/train.py)

log = logging.getLogger("benchmarks")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="examples:\n" + __doc__.split("Examples::\n\n")[1])
    p.add_argument("--model", type=Path, default=REPO / "out" / "mnist" / "model.h5",
                   help="trained MNIST model; trained into --workdir if missing (default: %(default)s)")
    p.add_argument("--workdir", type=Path, default=REPO / "out" / "bench",
                   help="converted projects, builds, inputs and JSON (default: %(default)s)")
    p.add_argument("--out", type=Path, default=HERE / "results.md", help="results file (default: %(default)s)")
    p.add_argument("-n", type=int, default=5, help="held-out digits per benchmark (default: %(default)s)")
    p.add_argument("--boards", help="comma-separated boards (default: every board QEMU can emulate)")
    p.add_argument("--kernels", default="all", help="kernel sets passed to bench (default: %(default)s)")
    return p.parse_args(argv)


def bnn_mcu(*args: str) -> list[str]:
    return [sys.executable, "-m", "bnn_mcu.cli", *args]


def shown(cmd: list[str]) -> str:
    """The command as a user types it (``bnn-mcu ...``), paths relative to the checkout."""
    if cmd[:3] == [sys.executable, "-m", "bnn_mcu.cli"]:
        cmd = ["bnn-mcu", *cmd[3:]]
    elif cmd[0] == sys.executable:
        cmd = [_rel(sys.executable), *cmd[1:]]
    return shlex.join(_rel(c) for c in cmd)


def _rel(s: str) -> str:
    try:
        return str(Path(s).relative_to(REPO)) if s.startswith("/") else s
    except ValueError:
        return s


def run(cmd: list[str], *, capture: bool = False) -> str:
    log.info("$ %s", shown(cmd))
    proc = subprocess.run(cmd, cwd=REPO, text=True, stdout=subprocess.PIPE if capture else None)
    if proc.returncode != 0:
        raise SystemExit(f"failed (exit {proc.returncode}): {shown(cmd)}")
    return proc.stdout if capture else ""


def first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "not found"
    return out.strip().splitlines()[0] if out.strip() else "?"


def tool_versions() -> dict:
    from bnn_mcu import __version__

    rev = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True,
                         text=True).stdout.strip() or "unknown"
    return {"bnn-mcu": f"{__version__} (git {rev})",
            "arm-none-eabi-gcc": first_line(["arm-none-eabi-gcc", "--version"]),
            "qemu": first_line(["qemu-system-arm", "--version"]), "python": platform.python_version(),
            "host": f"{platform.system()} {platform.machine()}"}


def get_model(args, commands: list[str]) -> Path:
    if args.model.is_file():
        log.info("using the trained model %s", args.model)
        return args.model
    model = args.workdir / "model.h5"
    if not model.is_file():
        log.info("%s not found: training the MNIST demo model (~45 s)", args.model)
        cmd = [sys.executable, str(MNIST / "train.py"), "--out", str(model), "--quiet"]
        run(cmd)
        commands.append(shown(cmd))
    return model


def write_inputs(path: Path, n: int) -> Path:
    """x = pixel/255 of the first n held-out digits, as the Keras model takes them; y = labels."""
    with np.load(DATA) as d:
        x, y = d["x"][FIRST_TEST_ROW:FIRST_TEST_ROW + n], d["y"][FIRST_TEST_ROW:FIRST_TEST_ROW + n]
    np.savez(path, x=(x.astype(np.float32) / 255.0)[..., np.newaxis], y=y.astype(np.int64))
    return path


# --------------------------------------------------------------------------------------------------
# results.md


def _n(v: float) -> str:
    return f"{v:,.0f}"


def _mpi(macs: int, instr: float) -> str:
    return f"{macs / instr:.3f}" if macs and instr else "–"


def board_section(r: dict, cmd: str) -> list[str]:
    sets = r["sets"]
    base = sets[0]
    speed = r.get("comparison", {}).get("speedup", {})
    head = ["layer", "kind", "MACs"]
    for s in sets:
        head += [f"{s['kernels']} instr", f"{s['kernels']} MACs/instr"]
        if s is not base:
            head.append(f"{s['kernels']} speedup")
    lines = [f"## {r['board']} ({r['cpu']}, `{r['target']}`)", "", f"`{cmd}`", "",
             "| " + " | ".join(head) + " |", "|" + "|".join(["---", "---"] + ["--:"] * (len(head) - 2)) + "|"]
    for i, layer in enumerate(base["layers"]):
        row = [f"`{layer['name']}`", layer["kind"], _n(layer["macs"])]
        for s in sets:
            li = s["layers"][i]
            row += [_n(li["instructions"]), _mpi(li["macs"], li["instructions"])]
            if s is not base:
                x = speed[s["kernels"]]["layers"][layer["name"]]
                row.append(f"{x:.2f}×" if x else "–")
        lines.append("| " + " | ".join(row) + " |")
    row = ["**per inference**", "", f"**{_n(r['binary_macs'])}**"]
    for s in sets:
        row += [f"**{_n(s['per_inference_mean'])}**", f"**{_mpi(s['binary_macs'], s['per_inference_mean'])}**"]
        if s is not base:
            row.append(f"**{speed[s['kernels']]['total']:.2f}×**")
    lines += ["| " + " | ".join(row) + " |", ""]
    lines += ["| kernels | instructions per inference (min–max) | worst case (adversarial inputs) | layers sum "
              "| flash bytes (code + rodata + data) | RAM bytes (data + bss + stack) |", "|---|--:|--:|--:|--:|--:|"]
    for s in sets:
        sec = s["sections"]
        lines.append(f"| {s['kernels']} | {_n(s['per_inference_mean'])} ({_n(s['per_inference_min'])}–"
                     f"{_n(s['per_inference_max'])}) | {_n(s.get('per_inference_worst', 0))} | "
                     f"{_n(s['layer_sum'])} | {s['flash_bytes']:,} "
                     f"({sec['code']:,} + {sec['rodata']:,} + {sec['data']:,}) | {s['ram_bytes']:,} "
                     f"({sec['data']:,} + {sec['bss']:,} + {sec['stack']:,}) |")
    return lines + [""]


def render(results: list[tuple[dict, str]], meta: dict) -> str:
    v = meta["versions"]
    lines = ["# bnn-mcu benchmarks: MNIST demo model", "",
             "Generated by `" + meta["command"] + f"` on {meta['date']} in {meta['seconds']:.0f} s; "
             "re-run it after changing kernels (the work directory keeps the builds).", "",
             f"- bnn-mcu {v['bnn-mcu']}; {v['arm-none-eabi-gcc']}; {v['qemu']}; Python {v['python']} on "
             f"{v['host']}",
             f"- model: `{meta['model']}` ({meta['macs']:,} binary MACs per inference); inputs: {meta['inputs']}",
             "- **Counts are instructions (QEMU -icount), not cycles**: QEMU models no timing. A layer's count "
             "includes the counter read around it (a few instructions); the per-inference total also covers the "
             "layer loop and the top-1 computation, so the layers sum to slightly less.",
             "- Every output of every input was checked bit for bit against the numpy reference before any "
             "number was recorded (`bench` exits 8 otherwise). MACs/instr = binary MACs ÷ instructions; "
             "speedup = first kernel set's instructions ÷ this set's.",
             "- Flash and RAM from the ELF (`arm-none-eabi-size -A`): code = .isr_vector + .text, rodata = "
             "packed weights, thresholds and tables; RAM includes the stack reserve.", "",
             "Commands:", "", "```sh", *meta["commands"], "```", ""]
    if len(results) > 1:
        sets = [s["kernels"] for s in results[0][0]["sets"]]
        lines += ["## Summary: instructions per inference", "",
                  "| board | core | " + " | ".join(f"{k} (MACs/instr)" for k in sets) + " |",
                  "|---|---|" + "--:|" * len(sets)]
        for r, _cmd in results:
            cells = [f"{_n(s['per_inference_mean'])} ({_mpi(s['binary_macs'], s['per_inference_mean'])})"
                     for s in r["sets"]]
            lines.append(f"| {r['board']} | {r['cpu']} | " + " | ".join(cells) + " |")
        lines.append("")
    for r, cmd in results:
        lines += board_section(r, cmd)
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr)
    t0 = time.monotonic()
    args.workdir.mkdir(parents=True, exist_ok=True)
    commands: list[str] = []
    model = get_model(args, commands)
    inputs = write_inputs(args.workdir / "digits.npz", args.n)
    boards = json.loads(run(bnn_mcu("boards", "--json"), capture=True))["boards"]
    names = [b["name"] for b in boards if b["qemu_machine"]]
    if args.boards:
        wanted = [b.strip() for b in args.boards.split(",") if b.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise SystemExit(f"not QEMU boards: {', '.join(unknown)} (have: {', '.join(names)})")
        names = wanted
    results = []
    for board in names:
        proj = args.workdir / board
        cmd = bnn_mcu("convert", str(model), "-o", str(proj), "--board", board, "--input-range", "0", "1")
        run(cmd + ["--json"], capture=True)
        commands.append(shown(cmd))
        cmd = bnn_mcu("bench", str(proj), "--inputs", str(inputs), "-n", str(args.n), "--kernels", args.kernels)
        out = run(cmd + ["--json"], capture=True)
        (args.workdir / f"bench-{board}.json").write_text(out)
        results.append((json.loads(out), shown(cmd)))
        commands.append(shown(cmd))
    meta = {"command": shown([sys.executable, *sys.argv]) if argv is None else "benchmarks/run.py",
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": time.monotonic() - t0, "versions": tool_versions(), "model": _rel(str(model)),
            "macs": results[0][0]["binary_macs"] if results else 0, "commands": commands,
            "inputs": f"the first {args.n} held-out digits of `{_rel(str(DATA))}` (rows {FIRST_TEST_ROW}–"
                      f"{FIRST_TEST_ROW + args.n - 1}), x = pixel/255"}
    args.out.write_text(render(results, meta))
    log.info("wrote %s (%.0f s)", args.out, time.monotonic() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
