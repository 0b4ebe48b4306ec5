#!/usr/bin/env python3
"""Serial throughput under QEMU: where the time of a bulk run goes (benchmarks/README.md, "Serial throughput").

    .venv/bin/python benchmarks/uart_throughput.py out/mnist/firmware --inputs out/mnist/digits-test.npz -n 300

For one converted and built project it boots the firmware once per configuration and sends the same
N inputs over the emulated UART, reporting per input the wall time, the QEMU process's CPU time and
the payload bytes, for plain INFER and INFER_RLE under ``-icount sleep=on`` (the default) and
``sleep=off``; then the CPU an idle QEMU uses (handshaken, no traffic, 2 s). Every output is checked
against the reference. Numbers depend on the machine's load: compare configurations of one run.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_mcu import reference, runner, wire  # noqa: E402
from bnn_mcu.build import Project  # noqa: E402
from bnn_mcu.link import open_link  # noqa: E402
from bnn_mcu.qemu import Qemu  # noqa: E402


def qemu_cpu_seconds(pid: int) -> float:
    """User + system CPU of every thread of process ``pid`` so far."""
    total = 0
    for stat in glob.glob(f"/proc/{pid}/task/*/stat"):
        fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class SleepQemu(Qemu):
    """Qemu with an explicit -icount sleep setting."""

    def __init__(self, *args, sleep: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.sleep = sleep

    def command(self) -> list[str]:
        cmd = super().command()
        i = cmd.index("-icount")
        cmd[i + 1] = f"shift={self.icount_shift},sleep={self.sleep}"
        return cmd


def measure(project: Project, sent: np.ndarray, ref, *, rle: bool, sleep: str) -> dict:
    with SleepQemu.for_board(project.board(), project.elf(), sleep=sleep) as q:
        link = open_link(q.url, rle=rle)
        link.hello()
        cpu0, t0 = qemu_cpu_seconds(q.pid), time.monotonic()
        for i in range(len(sent)):
            r = link.infer(sent[i].tobytes())
            if not (np.array_equal(np.asarray(r.outputs, np.int32), ref.raw[i]) and r.top1 == ref.top1[i]):
                raise SystemExit(f"input {i}: the target differs from the reference")
        wall, cpu = time.monotonic() - t0, qemu_cpu_seconds(q.pid) - cpu0
        idle0 = qemu_cpu_seconds(q.pid)
        time.sleep(2.0)
        idle = (qemu_cpu_seconds(q.pid) - idle0) / 2.0
        link.shutdown()
    n = len(sent)
    return {"rle": rle, "sleep": sleep, "ms_per_input": 1000 * wall / n, "qemu_cpu_ms_per_input": 1000 * cpu / n,
            "bytes_per_input": link.wire_input_bytes / n, "idle_cpu_percent": 100 * idle}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("project")
    ap.add_argument("--inputs", required=True, help=".npz with x (as for bnn-mcu run)")
    ap.add_argument("-n", type=int, default=300, help="inputs per configuration (default 300)")
    args = ap.parse_args(argv)
    project = Project.load(args.project)
    graph = project.graph()
    x, _ = runner.load_inputs(args.inputs, graph)
    q = runner.quantize(x[: args.n], graph)
    ref = reference.run(graph, q)
    sent = wire.encode(graph, q, wire.project_encoding(project.meta))
    print(f"{project.path}: {len(sent)} inputs of {sent.shape[1]} bytes, board {project.board_name}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'payload':<10} {'-icount':<10} {'ms/input':>9} {'QEMU CPU ms/input':>18} {'bytes/input':>12} "
          f"{'idle QEMU CPU':>14}")
    for rle in (False, True):
        for sleep in ("on", "off"):
            m = measure(project, sent, ref, rle=rle, sleep=sleep)
            print(f"{'INFER_RLE' if rle else 'INFER':<10} {'sleep=' + sleep:<10} {m['ms_per_input']:>9.1f} "
                  f"{m['qemu_cpu_ms_per_input']:>18.1f} {m['bytes_per_input']:>12.1f} {m['idle_cpu_percent']:>13.0f}%")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
