"""Spread inputs over several targets (``bnn-mcu run --jobs N``) and merge the replies in input order.

Each job is one worker thread that owns one target for its whole life: it boots its own QEMU (or, with
one job only, opens the board's port), handshakes, then takes the next input index from a shared
counter until none is left (keeping two requests in flight where the link allows it, see
:func:`pipeline_window`), and writes the reply into row ``i`` of
the result arrays. Rows are indexed
by input, so the merge is the arrays themselves: the order the targets happened to finish in cannot
show. Instruction counts are per input (no state carries over between inferences), so they do not
depend on which target ran an input either.

Threads are enough: a worker spends its time waiting in ``select()`` for its QEMU (which runs in its
own process); the Python work per input (framing, CRC, RLE) is a fraction of a millisecond.

The first failure wins: it stops the other workers after their current request, every QEMU is killed
(each worker's ``with`` block), and the error names the input it happened on.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import TargetError, UsageError

log = logging.getLogger(__name__)

# Requests in flight per target: the next input waits in the socket while the target computes, so the
# host's turnaround (and its scheduling delays on a busy machine) no longer idles the target.
PIPELINE_WINDOW = 2
# Only where bytes that arrive while the target computes are held back, not lost: QEMU's CMSDK UART
# (mps2/mps3) and nRF51 UART refuse input while their buffer is full, so the emulated link applies
# back-pressure. QEMU 7.2's STM32 USART loses input that arrives while the guest transmits its reply
# (measured: with two in flight, netduinoplus2 needed a retry within 20 inputs), and a real board's UART overruns
# while the firmware computes with its receive interrupt off: one request at a time there.
PIPELINE_PLATFORMS = frozenset({"mps2", "nrf"})


def pipeline_window(board, port: str | None) -> int:
    """Requests to keep in flight on ``board`` (emulated unless ``port`` is given)."""
    if port or board.qemu is None or board.platform not in PIPELINE_PLATFORMS:
        return 1
    return PIPELINE_WINDOW


def default_jobs() -> int:
    """The CPUs this process may run on (``os.sched_getaffinity``), else ``os.cpu_count()``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_jobs(jobs: int | None, *, inputs: int, port: str | None) -> int:
    """How many targets to use: ``jobs`` (default: the CPU count), never more than there are inputs;
    a board on ``port`` is one target."""
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {jobs}")
    if port:
        if jobs not in (None, 1):
            raise UsageError(f"--jobs {jobs} needs QEMU targets; --port {port} is one board",
                             hint="drop --jobs (or use --jobs 1) with --port")
        return 1
    return max(1, min(jobs or default_jobs(), inputs))


@dataclass
class Replies:
    """What the targets answered, one row per input."""

    raw: np.ndarray  # (N, outputs) int32
    top1: np.ndarray  # (N,) int64
    ticks: np.ndarray  # (N,) raw counter ticks
    infos: list  # the INFO of every target, in job order
    where: str  # what ran them ("qemu:mps2-an386" or the port; how many: jobs)
    jobs: int
    stack_used: int | None = None  # the deepest any target's stack went
    stack_size: int | None = None
    wire_bytes: int = 0  # input payload bytes sent (after RLE)
    rle_bytes_saved: int = 0


class _Work:
    """The shared state of one run: the next input to hand out, the first error, progress."""

    def __init__(self, n: int, on_done: Callable[[int], None] | None):
        self.n = n
        self._next = 0
        self._done = 0
        self._lock = threading.Lock()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._on_done = on_done

    def take(self) -> int | None:
        with self._lock:
            if self.stop.is_set() or self._next >= self.n:
                return None
            i = self._next
            self._next += 1
            return i

    def finished(self) -> None:
        with self._lock:
            self._done += 1
            done = self._done
            if self._on_done is not None:
                self._on_done(done)

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = exc
        self.stop.set()


def run_inputs(open_target, q: np.ndarray, output_count: int, *, jobs: int,
               handshake: Callable, stack_usage: Callable,
               on_done: Callable[[int], None] | None = None, window: int = PIPELINE_WINDOW) -> Replies:
    """Send every row of ``q`` (N, input_bytes) uint8 to ``jobs`` targets; return the replies in input order.

    ``open_target()`` is a context manager yielding ``(link, where)``; ``handshake(link, where)``
    returns the target's INFO (and refuses a wrong model); ``stack_usage(link)`` returns
    ``(used, size)``. ``on_done(k)`` is called (under a lock) after each of the N inputs. Each target
    has up to ``window`` requests in flight (:meth:`bnn_mcu.link.Link.infer_many`)."""
    n = len(q)
    raw = np.zeros((n, output_count), np.int32)
    top1 = np.zeros(n, np.int64)
    ticks = np.zeros(n, np.int64)
    work = _Work(n, on_done)
    infos: list = [None] * jobs
    wheres: list = [None] * jobs
    stacks: list = [(None, None)] * jobs
    wire = [0] * jobs
    saved = [0] * jobs

    def worker(j: int) -> None:
        try:
            with open_target() as (link, where):
                wheres[j] = where
                infos[j] = handshake(link, where)
                taken: list[int] = []  # indices handed to the link, oldest first

                def inputs():
                    while (k := work.take()) is not None:
                        taken.append(k)
                        yield k, q[k].tobytes()

                try:
                    for i, res in link.infer_many(inputs(), window=window):
                        taken.remove(i)
                        raw[i] = np.asarray(res.outputs, np.int32)
                        top1[i] = res.top1
                        ticks[i] = res.count
                        work.finished()
                except Exception as exc:
                    raise TargetError(f"input {taken[0] if taken else '?'}: {exc}") from exc
                stacks[j] = stack_usage(link)
                wire[j] = link.wire_input_bytes
                saved[j] = link.rle_bytes_saved
                try:
                    link.shutdown()
                except Exception as exc:  # the run is complete; the target is killed anyway
                    log.debug("shutdown of target %d: %s", j, exc)
        except BaseException as exc:  # handed to the caller's thread
            work.fail(exc)

    if jobs == 1:
        worker(0)  # in the caller's thread: Ctrl-C and tracebacks as before
    else:
        threads = [threading.Thread(target=worker, args=(j,), name=f"bnn-job-{j}", daemon=True)
                   for j in range(jobs)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():
                    t.join(0.2)  # a timeout, so that Ctrl-C reaches this thread
        except BaseException as exc:
            work.fail(exc)
            for t in threads:
                t.join()
            raise
    if work.error is not None:
        raise work.error
    used = [s[0] for s in stacks if s[0] is not None]
    sizes = [s[1] for s in stacks if s[1] is not None]
    return Replies(raw=raw, top1=top1, ticks=ticks, infos=infos, where=wheres[0], jobs=jobs,
                   stack_used=max(used) if used else None, stack_size=max(sizes) if sizes else None,
                   wire_bytes=sum(wire), rle_bytes_saved=sum(saved))
