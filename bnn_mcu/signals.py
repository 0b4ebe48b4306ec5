"""SIGTERM and SIGHUP unwind like Ctrl-C, so every ``with Qemu(...)`` and ``finally`` runs.

Python turns SIGINT into :class:`KeyboardInterrupt`, which unwinds the stack: the QEMU child is killed
by its context manager and the build lock is released. SIGTERM (``kill``, systemd, CI timeouts) and
SIGHUP (the terminal closed) would instead end the process at once and orphan QEMU. Inside
:func:`terminate_as_interrupt` they raise :class:`Terminated`, a ``KeyboardInterrupt`` subclass, so
code that already cleans up on Ctrl-C does the same for them::

    try:
        with terminate_as_interrupt():
            work()
    except Terminated as exc:
        print(exc.description, file=sys.stderr)
        sys.exit(exc.exit_code)          # 128 + signum: 143 for SIGTERM, 129 for SIGHUP

Only the first signal raises. A second SIGTERM/SIGHUP while unwinding ends the process at once with
the signal's default action (the impatient user's "kill it again"); nothing is orphaned even then,
because :mod:`bnn_mcu.qemu` makes QEMU die with its parent (which also covers SIGKILL, which no
process can catch), and the kernel releases the build lock. A signal that was ignored when the block
was entered (``nohup`` ignores SIGHUP) stays ignored.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

__all__ = ["HANDLED", "Terminated", "terminate_as_interrupt"]

HANDLED = (signal.SIGTERM, signal.SIGHUP)

_DESCRIPTIONS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM or SIGHUP."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def description(self) -> str:
        """What the CLI prints: "terminated" (SIGTERM), "hung up" (SIGHUP)."""
        return _DESCRIPTIONS.get(self.signum, f"killed by signal {self.signum}")

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + signum."""
        return 128 + self.signum

    def __str__(self) -> str:
        return f"{self.description} (signal {signal.Signals(self.signum).name})"


@contextlib.contextmanager
def terminate_as_interrupt(signums: tuple[int, ...] = HANDLED) -> Iterator[None]:
    """While inside the block, the first of ``signums`` raises :class:`Terminated` in the main thread.

    The previous handlers are restored on exit. Outside the main thread (where Python cannot install
    signal handlers) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        if fired:  # already unwinding: stop now
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        fired.append(signum)
        raise Terminated(signum)

    previous: dict[int, object] = {}
    try:
        for signum in signums:
            if signal.getsignal(signum) is signal.SIG_IGN:
                continue  # e.g. SIGHUP under nohup: the user asked for it to be ignored
            previous[signum] = signal.signal(signum, handler)
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, signal.SIG_DFL if old is None else old)  # None: set outside Python
