"""bnn-mcu command line. Every verb has --help with examples, --json for scripts, and -v for tracebacks.

Errors are mapped to exit codes in one place, :func:`main`: a :class:`~bnn_mcu.errors.BnnError`
prints ``error: ...`` (and a hint) and exits with its code; anything else is a bug and says so.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from . import __version__
from .api import DEFAULT_BOARD, DEFAULT_INPUT_RANGE  # one place for the defaults
from .errors import BnnError, UsageError
from .layouts import DEFAULT_KERNELS, KERNEL_SETS
from .untrusted import inline, terminal

log = logging.getLogger("bnn_mcu")

EPILOG_MAIN = """\
typical session:
  bnn-mcu inspect model.h5                              # layers, support, memory, before anything else
  bnn-mcu convert model.h5 -o out/mnist --board mps2-an386 --input-range 0 1
  bnn-mcu build out/mnist                               # cross-compile; prints flash and RAM bytes
  bnn-mcu run out/mnist --inputs digits.npz             # QEMU + serial; every output checked

exit codes: 0 ok, 1 internal error (a bug), 2 usage, 3 model not loadable, 4 unsupported model,
            5 does not fit the board, 6 build failed, 7 target/link failure, 8 target != reference,
            9 a result file could not be written, 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP
"""


def _input_range_help() -> str:
    lo, hi = DEFAULT_INPUT_RANGE
    return (f"float range [LO, HI] of the model's input (default: {lo:g} {hi:g}, or 0 255 when the model "
            "starts with a Rescaling layer). The firmware takes 8-bit "
            "integers q = 0..255 and the model sees x = LO + q*(HI-LO)/255: use '0 1' for x = pixel/255, "
            "'-1 1' for x = pixel/127.5 - 1, '0 255' for raw pixels")


def _add_model_args(p: argparse.ArgumentParser) -> None:
    """The model file and its input range (inspect, check)."""
    p.add_argument("model", help="the model file (.h5, .keras) or SavedModel directory")
    p.add_argument("--input-range", nargs=2, type=float, metavar=("LO", "HI"), default=None,
                   help=_input_range_help())


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout (for scripts)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging; -v shows tracebacks")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="bnn-mcu", formatter_class=fmt, epilog=EPILOG_MAIN,
        description="Compile Larq binary neural networks into bit-exact XNOR/popcount firmware for "
                    "Cortex-M, run them in QEMU or on a board, and prove them equal to the reference.")
    parser.add_argument("--version", action="version", version=f"bnn-mcu {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")

    p = sub.add_parser(
        "convert", formatter_class=fmt, help="Larq model -> a self-contained CMake firmware project",
        description="Read a Larq/Keras model (.h5, .keras or a SavedModel directory), fold batch-norm and "
        "sign into integer thresholds, pack weights 1 bit each and write a CMake firmware project.",
        epilog="examples:\n  bnn-mcu convert model.h5 -o out/mnist --board mps2-an386\n"
               "  bnn-mcu convert saved_model/ -o out/m --input-range -1 1 --json\n"
               "  bnn-mcu convert model.h5 -o out/kws --as library --name kws   # for your own firmware\n"
               "  bnn-mcu convert model.h5 -o out/kws --as package --name kws   # Arduino, PlatformIO, Zephyr\n\n"
               "The project holds the generated model (model/), a copy of the runtime (runtime/), the "
               "linker script\nand bnn_model.npz (the integer graph the reference runs). Converting the "
               "same model twice\ngives byte-identical files.")
    p.add_argument("model", help="the model file or SavedModel directory")
    p.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="project directory to write")
    p.add_argument("--board", default=DEFAULT_BOARD,
                   help=f"target board (default: {DEFAULT_BOARD}); list them with 'bnn-mcu boards'")
    p.add_argument("--input-range", nargs=2, type=float, metavar=("LO", "HI"),
                   default=None, help=_input_range_help())
    p.add_argument("--kernels", default=DEFAULT_KERNELS,
                   help=f"kernel set compiled into the firmware: {' or '.join(KERNEL_SETS)} (default: "
                   f"{DEFAULT_KERNELS}; ref = the scalar reference kernels)")
    p.add_argument("--force", action="store_true",
                   help="converting into an existing project refuses to overwrite files you changed there "
                   "(it names them); --force overwrites them")
    p.add_argument("--as", dest="layout", choices=["firmware", "library", "package"], default="firmware",
                   help="firmware (default): a standalone app for the board, for build/run/bench; library: a "
                   "CMake library with one header (include/NAME.h) for your own firmware, no app/startup/UART; "
                   "package: the same as one directory for Arduino (library.properties), PlatformIO "
                   "(library.json) and Zephyr (zephyr/module.yml)")
    p.add_argument("--name", help="library only: the C prefix of every symbol, the header and the CMake target "
                   "(a C identifier; default: the output directory's name)")
    _add_common(p)

    p = sub.add_parser(
        "build", formatter_class=fmt, help="cross-compile a converted project; print flash/RAM bytes",
        description="Configure and build a converted project with CMake and arm-none-eabi-gcc. Flash = "
        "text + data, RAM = data + bss (arena, serial buffers and the stack reserve).",
        epilog="examples:\n  bnn-mcu build out/mnist\n  bnn-mcu build out/mnist --host   "
               "# a native executable of the same app, for testing")
    p.add_argument("project", help="directory written by 'bnn-mcu convert'")
    p.add_argument("--host", action="store_true", help="build the native host executable instead")
    _add_common(p)

    p = sub.add_parser(
        "run", formatter_class=fmt, help="run inputs on QEMU or a board; compare with the reference",
        description="Boot the firmware in QEMU (or talk to a board with --port), send every input over "
        "the framed serial protocol and check the int32 outputs and top-1 class against the numpy "
        "reference, bit for bit. Exits 8 on any mismatch.",
        epilog="examples:\n  bnn-mcu run out/mnist --inputs digits.npz\n"
               "  bnn-mcu run out/mnist --inputs digits.npz --outputs y.npz --json\n"
               "  bnn-mcu run out/mnist --inputs digits.npz --port /dev/ttyACM0   # a real board\n"
               "  bnn-mcu run out/mnist --inputs digits.npz --keras model.h5      # also compare with Larq\n"
               "  bnn-mcu run out/mnist --inputs digits.npz --keras model.h5 --report out/report.html\n\n"
               "INPUTS.npz: 'x' = float inputs exactly as the Keras model takes them (quantised with the\n"
               "project's input range), optional 'y' = integer labels. OUTPUTS.npz gets 'raw' (the\n"
               "target's int32 outputs), 'logits' (float outputs rebuilt on the host; softmax applied if\n"
               "the model ends in one), 'top1' (the target's class) and 'count' (instructions/cycles).\n\n"
               "input range: x is quantised to 8 bits with the --input-range the project was converted with;\n"
               "values outside it are clipped. The summary counts them (clipped_values, clipped_share,\n"
               "inputs_with_clipping); more than 0.1% clipped is refused before anything runs (exit 2): the\n"
               "range is wrong. Convert again with the right --input-range, or pass --allow-clipping.\n\n"
               "--keras checks two things. Exact (fails with exit 8): the reference reproduces Larq's binary\n"
               "activations on the 8-bit inputs the target saw (ties counted). Fidelity (a measurement, never\n"
               "a failure): Larq on your original float x against the target, float_top1_agreement and\n"
               "float_max_abs_diff; expect slightly below 100%, since the target sees x rounded to 8 bits.")
    p.add_argument("project", help="directory written by 'bnn-mcu convert'")
    p.add_argument("--inputs", required=True, metavar="X.npz", help="inputs (x, optional y)")
    p.add_argument("--outputs", metavar="Y.npz", help="write the target's outputs here")
    p.add_argument("--port", metavar="DEVICE", help="serial device of a real board (or a pty), or 'auto': "
                   "the board's debugger by its USB IDs (board file serial.usb_ids); default: boot the board "
                   "in QEMU")
    p.add_argument("--baud", type=int, help="baud rate for --port (default: the board file's serial.baud, "
                   "else 115200)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N inputs")
    p.add_argument("--keras", metavar="MODEL", help="also run the Larq model: exact check on the 8-bit "
                   "inputs, and agreement with it on the original float inputs (see below)")
    p.add_argument("--allow-clipping", action="store_true",
                   help="run even if more than 0.1%% of the input values lie outside the project's input "
                   "range (they are clipped to it)")
    p.add_argument("--report", metavar="REPORT.html", help="also write a self-contained HTML validation report: "
                   "verdict, accuracies, agreement with the float model (--keras), confusion matrix (labels), "
                   "output differences, instructions per layer (one more QEMU boot, PROFILE on 3 inputs), "
                   "flash and RAM")
    p.add_argument("--no-build", action="store_true", help="do not (re)build the firmware first")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="seconds to wait for each reply (default 10; raise it for big models on slow boards)")
    p.add_argument("--jobs", "-j", type=int, metavar="N",
                   help="spread the inputs over N QEMU instances, results merged in input order (default: "
                   "the CPU count; always 1 with --port)")
    _add_common(p)

    p = sub.add_parser(
        "bench", formatter_class=fmt, help="instructions per layer in QEMU, per kernel set; outputs checked",
        description="Build the firmware for each kernel set (its own build directory: build/ for the "
        "project's set, build-SET/ for the others), boot it in QEMU once, send N inputs with PROFILE and "
        "report per layer: MACs, instructions and MACs per instruction, plus totals, flash and RAM. "
        "Counts are instructions (QEMU -icount), not cycles. Every output is checked against the numpy "
        "reference first: exits 8 on any mismatch.",
        epilog="examples:\n  bnn-mcu bench out/mnist                       # 5 random inputs, the project's kernels\n"
               "  bnn-mcu bench out/mnist --inputs digits.npz -n 20\n"
               "  bnn-mcu bench out/mnist --kernels ref,bitsliced   # side by side, speedup per layer\n"
               "  bnn-mcu bench out/mnist --kernels all --json\n\n"
               "Kernel sets are the directories of PROJECT/runtime/src/ (except protocol/) holding .c files;\n"
               "the first set named is the baseline of the comparison. A layer's count includes the counter\n"
               "read around it (a few instructions); the per-inference total also covers the layer loop.")
    p.add_argument("project", help="directory written by 'bnn-mcu convert'")
    p.add_argument("--inputs", metavar="X.npz", help="inputs as for 'run' (x, quantised with the project's "
                   "input range); default: seeded random uint8")
    p.add_argument("-n", type=int, default=5, metavar="N", help="number of inputs (default 5)")
    p.add_argument("--kernels", metavar="SET[,SET...]",
                   help="kernel sets to compare, or 'all' (default: the project's own set)")
    p.add_argument("--plot", metavar="OUT.png", help="also draw the per-layer chart (typical and worst case, "
                   "MACs per instruction) with matplotlib")
    _add_common(p)

    p = sub.add_parser(
        "inspect", formatter_class=fmt, help="layer table, support and memory of a model, without building",
        description="Load a model and show how it lowers: every Keras layer, what it becomes, the MACs, "
        "and the memory plan for a board. Unsupported layers are reported with what is supported.",
        epilog="examples:\n  bnn-mcu inspect model.h5\n  bnn-mcu inspect model.h5 --board mps2-an385 --json")
    _add_model_args(p)
    p.add_argument("--board", default=DEFAULT_BOARD, help=f"board for the memory check (default: {DEFAULT_BOARD})")
    _add_common(p)

    p = sub.add_parser(
        "check", formatter_class=fmt, help="the integer reference against Larq, layer by layer (no board)",
        description="Fold the model and compare the integer reference (what the firmware computes bit for "
        "bit) with Larq's float forward pass, each binary layer on Larq's own inputs: bits that differ, "
        "float32 ties, signs of int16 residual streams within their error bound, and the streams' "
        "distance to Larq. Exits 8 when anything differs that is neither a tie nor within a bound.",
        epilog="examples:\n  bnn-mcu check model.h5                    # 256 random 8-bit inputs\n"
               "  bnn-mcu check model.h5 --inputs x.npz --input-range -1 1 --json")
    _add_model_args(p)
    p.add_argument("--inputs", metavar="X.npz", help="inputs as for 'run' (x, quantised with the input range); "
                   "default: seeded random 8-bit codes")
    p.add_argument("-n", type=int, default=256, metavar="N", help="random inputs without --inputs (default 256)")
    _add_common(p)

    p = sub.add_parser(
        "flash", formatter_class=fmt, help="program a real board with the built firmware (pyOCD or OpenOCD)",
        description="Program PROJECT/build/firmware.elf into the project's board through its debug probe "
        "(ST-LINK, J-Link, CMSIS-DAP) with pyOCD, using the board file's probe.pyocd_target; OpenOCD with "
        "probe.openocd_config is the fallback. No probe connected is an error (exit 7). Then check it "
        "with 'bnn-mcu run PROJECT --inputs X.npz --port auto'.",
        epilog="examples:\n  bnn-mcu flash out/mnist\n  bnn-mcu flash out/mnist --probe 0671FF383...   # one of "
               "several probes\n  bnn-mcu flash out/mnist --tool openocd\n\n"
               "STM32 targets need their CMSIS pack once: pyocd pack install stm32f446re (the error says so).")
    p.add_argument("project", help="directory written by 'bnn-mcu convert' and built by 'bnn-mcu build'")
    p.add_argument("--probe", metavar="ID", help="unique ID of the probe to use (pyocd list shows them)")
    p.add_argument("--tool", choices=["pyocd", "openocd"], help="default: pyOCD if installed, else OpenOCD")
    _add_common(p)

    p = sub.add_parser("boards", formatter_class=fmt, help="list the boards bnn-mcu knows",
                       description="List board descriptions (boards/*.yaml, validated by boards/schema.yaml): "
                       "core, flash and RAM bytes, QEMU machine (boards without one build and run over --port).",
                       epilog="examples:\n  bnn-mcu boards\n  bnn-mcu boards --json   # for scripts")
    _add_common(p)
    return parser


# --------------------------------------------------------------------------------------------------
# verbs


def _status(text: str) -> None:
    """A progress line for people: on stderr, only when it is a terminal (scripts see nothing)."""
    if sys.stderr.isatty():
        print(terminal(text), file=sys.stderr, flush=True)


def _emit(args, obj: dict, text: str) -> None:
    if args.json:
        print(json.dumps(obj, indent=2, sort_keys=True, default=str))
    else:
        print(terminal(text))  # layer and model names come from the model file


def _load_board(name: str):
    from .boards import load_board

    return load_board(name)


def cmd_convert(args) -> int:
    from . import api

    conv = api.convert_model(args.model, args.out, board=args.board, input_range=args.input_range,
                             kernels=args.kernels, layout=args.layout, name=args.name, force=args.force,
                             status=_status)
    obj, plan = conv.summary, conv.project.meta["plan"]
    lo, hi = obj["input_range"]
    if args.layout == "package":
        name = obj["name"]
        first = (f"converted {args.model} -> {obj['project']} (package '{name}' for Arduino, PlatformIO and Zephyr, "
                 f"{obj['files']} files)\n  header       {obj['project']}/src/{name}.h")
        nxt = (f"next: copy {obj['project']} into your Arduino libraries or PlatformIO lib/ folder, or add it to "
               f"ZEPHYR_EXTRA_MODULES with CONFIG_BNN_MCU_{name.upper()}=y")
    elif args.layout == "library":
        name = obj["name"]
        first = (f"converted {args.model} -> {obj['project']} (library '{name}', {obj['files']} files)\n"
                 f"  header       {obj['project']}/include/{name}.h")
        nxt = (f"next: add_subdirectory({obj['project']}) and target_link_libraries(your_app PRIVATE {name}) "
               "in your firmware's CMakeLists.txt")
    else:
        first = f"converted {args.model} -> {obj['project']} ({obj['files']} files)"
        nxt = f"next: bnn-mcu build {obj['project']}"
    text = (f"{first}\n  model hash   {obj['model_hash'][:16]}\n  board        {obj['board']} (kernels: "
            f"{obj['kernels']})\n  input range  [{lo:g}, {hi:g}] -> uint8\n"
            f"  layers       {obj['layers']}, {obj['binary_macs']:,} MACs per inference\n"
            f"  weights      {plan['weight_bytes']:,} bytes flash; arena {plan['arena_bytes']:,} bytes RAM\n{nxt}")
    _emit(args, obj, text)
    return 0


def cmd_build(args) -> int:
    from .api import build, firmware_project

    project = firmware_project(args.project)
    _status(f"building {project.path}{' for the host' if args.host else ''}...")
    res = build(project, host=args.host)
    obj = {"project": str(project.path), **res.as_dict()}
    if args.host:
        text = f"built {res.artifact}"
    else:
        text = (f"built {res.artifact}\n  flash  {res.flash_bytes:,} bytes (text {res.text:,} + data "
                f"{res.data:,})\n  RAM    {res.ram_bytes:,} bytes (data {res.data:,} + bss {res.bss:,})\n"
                f"next: bnn-mcu run {project.path} --inputs X.npz")
    _emit(args, obj, text)
    return 0


def cmd_run(args) -> int:
    from . import api, fileio, runner
    from .errors import OutputWriteError

    # Everything the user named is checked before TensorFlow loads, the build runs or QEMU boots.
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    project = api.firmware_project(args.project)
    x, y = runner.load_inputs(args.inputs, project.graph())
    if args.limit is not None:
        x, y = x[: args.limit], (None if y is None else y[: args.limit])
    if args.outputs:
        fileio.check_writable(args.outputs, "--outputs")
    _result, summary, arrays = api.run_project(
        project, x, y, keras=args.keras, port=args.port, baud=args.baud, allow_clipping=args.allow_clipping,
        build=not args.no_build, timeout=args.timeout, report=args.report, status=_status, jobs=args.jobs)
    write_error = None
    if args.outputs:
        try:
            fileio.write_npz(args.outputs, arrays)
        except OutputWriteError as exc:
            write_error = exc  # the summary is still printed below: the run's verdict is not lost
    _emit(args, summary.as_dict(), _run_text(summary))
    if write_error is not None:
        raise write_error
    runner.check(summary)
    return 0


def _run_text(s) -> str:
    lines = [f"ran {s.inputs} inputs on {s.target}{f' x{s.jobs}' if s.jobs > 1 else ''} ({s.board}) in "
             f"{s.seconds:.1f} s",
             f"  identical to reference  {s.matches}/{s.inputs}"
             + ("" if not s.mismatches else f"   MISMATCHES: {s.mismatches}")]
    if s.accuracy_target is not None:
        lines.append(f"  top-1 accuracy  target {100 * s.accuracy_target:.2f}%   reference "
                     f"{100 * s.accuracy_reference:.2f}%"
                     + (f"   Larq on 8-bit x {100 * s.accuracy_keras:.2f}%" if s.accuracy_keras is not None else "")
                     + (f"   Larq on float x {100 * s.float_accuracy_keras:.2f}%"
                        if s.float_accuracy_keras is not None else ""))
    if s.keras_top1_agreement is not None:
        lines.append(f"  exact check   Larq vs reference on the 8-bit inputs: top-1 agreement "
                     f"{100 * s.keras_top1_agreement:.2f}%, max |output diff| {s.keras_max_abs_diff:.2e}; "
                     f"binary activations: {s.keras_bits_compared:,} bits, {s.keras_tie_disagreements} float32 "
                     f"ties, {s.keras_unexplained_disagreements} unexplained")
    if s.float_top1_agreement is not None:
        lines.append(f"  float model   Larq on the original float x vs target: top-1 agreement "
                     f"{100 * s.float_top1_agreement:.2f}% ({s.float_top1_disagreements} of {s.inputs} differ), "
                     f"max |output diff| {s.float_max_abs_diff:.2e} (measured, not checked)")
    if s.input_range:
        lo, hi = s.input_range
        lines.append(f"  input range   [{lo:g}, {hi:g}], x spans [{s.input_min:g}, {s.input_max:g}]: "
                     + (f"{s.clipped_values:,} values clipped ({100 * s.clipped_share:.3f}%, in "
                        f"{s.inputs_with_clipping} inputs)" if s.clipped_values else "nothing clipped"))
    if s.per_inference_mean is not None:
        macs_per = s.binary_macs / s.per_inference_mean if s.per_inference_mean else 0
        lines.append(f"  {s.count_unit} per inference  {s.per_inference_mean:,.0f} (min "
                     f"{s.per_inference_min:,.0f}, max {s.per_inference_max:,.0f}); "
                     f"{macs_per:.2f} MACs per {s.count_unit[:-1]}")
    if s.flash_bytes is not None:
        stack = (f", stack high-water {s.stack_used_bytes:,} of {s.stack_size_bytes:,} reserved"
                 if s.stack_used_bytes is not None else "")
        lines.append(f"  flash {s.flash_bytes:,} bytes, RAM {s.ram_bytes:,} bytes (arena {s.arena_bytes:,}{stack})")
    return "\n".join(lines)


def cmd_bench(args) -> int:
    from . import bench
    from .api import firmware_project

    project = firmware_project(args.project)
    graph = project.graph()
    kernel_sets = bench.parse_kernels(project, args.kernels)
    q, source = bench.bench_inputs(graph, args.n, args.inputs)
    report = bench.bench(project, kernel_sets, q, source)
    if args.plot:
        bench.plot_report(report, args.plot)
    _emit(args, report.as_dict(), bench.format_report(report))
    return 0


def cmd_inspect(args) -> int:
    from . import fold, frontend, layouts, plan
    from .errors import PlanError

    board = _load_board(args.board)
    _status(f"loading {args.model} (TensorFlow takes a few seconds to start)...")
    model = frontend.load_model(args.model)
    fg, lowering = frontend.lower_with_table(model)
    keras_rows = [r.as_dict() for r in lowering.rows]
    lines = [f"model {inline(model.name)}: input {tuple(model.input_shape[1:])}",
             _table(["Keras layer", "class", "status", "what it becomes / why not"],
                    [[r["name"], r["class"], r["status"], r["detail"]] for r in keras_rows])]
    if fg is None:  # refused: the table says where, the error says what is supported
        err = frontend.refusal_error(lowering.refusals)
        if args.json:
            print(json.dumps({"model": args.model, "supported": False, "keras_layers": keras_rows,
                              "error": err.message}, indent=2, sort_keys=True))
        else:
            print(terminal("\n".join(lines)))
        raise err
    graph = fold.fold(fg, fold.input_range_for(fg, args.input_range, DEFAULT_INPUT_RANGE))
    mplan = plan.make_plan(graph, stack_bytes=board.stack_size)
    rows = [{"name": n.name, "kind": n.kind, "in_shape": list(n.in_shape), "out_shape": list(n.out_shape),
             "macs": int(n.macs), "keras_layers": list(n.source_layers)} for n in graph.layers]
    fits, why = True, ""
    try:
        plan.check_fits(mplan, board)
    except PlanError as exc:
        fits, why = False, exc.message
    kernel_sets = {k: layouts.problems(graph, k) for k in KERNEL_SETS}
    obj = {"model": args.model, "name": graph.name, "supported": True, "input_shape": list(graph.keras_input_shape),
           "input_range": list(graph.input_range), "softmax": graph.softmax, "layers": rows,
           "keras_layers": keras_rows, "ignored_layers": list(fg.ignored),
           "binary_macs": int(sum(r["macs"] for r in rows)), "board": board.name, "plan": mplan.as_dict(),
           "fits": fits, "why_not": why,
           "kernel_sets": {k: {"ok": not v, "problems": v} for k, v in kernel_sets.items()}}
    lines.append("")
    lines.append(f"runs on the target as ({len(rows)} nodes; input range {list(graph.input_range)}):")
    lines.append(_table(["node", "kind", "in", "out", "MACs", "from Keras layers"],
                        [[r["name"], r["kind"], str(tuple(r["in_shape"])), str(tuple(r["out_shape"])),
                          f"{r['macs']:,}", ", ".join(r["keras_layers"])] for r in rows], right={4}))
    lines.append(f"final softmax: {graph.softmax}")
    lines.append(f"total {obj['binary_macs']:,} MACs; on {board.name} ({mplan.kernels} kernels): weights "
                 f"{mplan.weight_bytes:,} B, arena {mplan.arena_bytes:,} B, flash ~{mplan.flash_estimate:,} / "
                 f"{board.flash_size:,} B, RAM ~{mplan.ram_estimate:,} / {board.ram_size:,} B -> "
                 + ("fits" if fits else "DOES NOT FIT: " + why))
    lines.append("kernel sets: " + "; ".join(f"{k} " + ("ok" if not v else "NOT POSSIBLE: " + " / ".join(v))
                                             for k, v in kernel_sets.items()))
    _emit(args, obj, "\n".join(lines))
    return 0


def _table(header: list[str], rows: list[list[str]], right: set | frozenset = frozenset()) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    def fmt(row):
        return "  ".join(str(x).rjust(w) if i in right else str(x).ljust(w)
                         for i, (x, w) in enumerate(zip(row, widths))).rstrip()
    return "\n".join([fmt(header)] + [fmt(r) for r in rows])


def cmd_check(args) -> int:
    from .check import check_model, format_report
    from .errors import MismatchError

    if args.n < 1:
        raise UsageError(f"-n must be at least 1, got {args.n}")
    _status(f"loading {args.model} (TensorFlow takes a few seconds to start)...")
    report = check_model(args.model, inputs=args.inputs, input_range=args.input_range, n=args.n)
    _emit(args, report.as_dict(), format_report(report))
    if not report.ok:
        raise MismatchError(f"{report.unexplained} differences from Larq are neither float32 ties nor within a "
                            "fixed-point bound")
    return 0


def cmd_boards(args) -> int:
    from .boards import list_boards

    boards = list_boards()
    rows = [{"name": b.name, "cpu": b.cpu, "flash_bytes": b.flash_size, "ram_bytes": b.ram_size,
             "qemu_machine": b.qemu.machine if b.qemu else None, "description": b.description,
             "counter": f"{b.counter_kind} ({b.counter_source})", "baud": b.serial.baud,
             "uart": b.serial.wiring or None, "path": str(b.path)}
            for b in boards]
    w = max(len(r["name"]) for r in rows) + 2
    lines = [f"{'board':<{w}}{'cpu':<15}{'flash':>10}{'RAM':>10}  {'QEMU':<15}{'counter':<25}description"]
    for r in rows:
        lines.append(f"{r['name']:<{w}}{r['cpu']:<15}{r['flash_bytes']:>10,}{r['ram_bytes']:>10,}  "
                     f"{r['qemu_machine'] or '-':<15}{r['counter']:<25}{r['description']}")
    _emit(args, {"boards": rows}, "\n".join(lines))
    return 0


def _resolve_serial(project, port: str | None, baud: int | None) -> tuple[str | None, int]:
    from .api import resolve_serial

    return resolve_serial(project, port, baud)


def cmd_flash(args) -> int:
    from .api import firmware_project
    from .flash import flash

    project = firmware_project(args.project)
    _status(f"flashing {project.path}...")
    res = flash(project, probe=args.probe, tool=args.tool)
    _emit(args, res, f"flashed {res['firmware']} into {res['board']} with {res['tool']}"
          + (f" (probe {res['probe']})" if res["probe"] else "")
          + f"\nnext: bnn-mcu run {project.path} --inputs X.npz --port auto")
    return 0


VERBS = {"convert": cmd_convert, "build": cmd_build, "run": cmd_run, "bench": cmd_bench,
         "inspect": cmd_inspect, "check": cmd_check, "boards": cmd_boards, "flash": cmd_flash}


class _TerminalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return terminal(super().format(record))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verb:
        parser.print_help()
        return 2
    verbose = getattr(args, "verbose", 0)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter("%(levelname)s %(name)s: %(message)s"))  # logs quote model strings
    logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
                        handlers=[handler])
    from .signals import Terminated, terminate_as_interrupt

    try:
        with terminate_as_interrupt():  # SIGTERM/SIGHUP unwind like Ctrl-C: QEMU is killed, locks released
            return VERBS[args.verb](args)
    except BnnError as exc:
        if verbose:
            log.exception("details")
        print(terminal(f"error: {exc.message}"), file=sys.stderr)
        if exc.hint:
            print(terminal(f"hint: {exc.hint}"), file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # e.g. piped into `head`: not an error of ours
        sys.stderr.close()
        return 0
    except Terminated as exc:  # before KeyboardInterrupt, its base class
        print(exc.description, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so, show the traceback only with -v
        if verbose:
            raise
        print(terminal(f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback)"),
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
