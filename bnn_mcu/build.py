"""Build a generated project: CMake + arm-none-eabi-gcc (or the host compiler), then sizes.

Target builds go to ``OUTDIR/build/firmware.elf``, host builds to ``OUTDIR/build-host/bnn_host``
(``build_dir=`` picks another directory, e.g. one per kernel set: ``OUTDIR/build-bitsliced``, so that
switching sets does not rebuild everything).
Flash and RAM come from ``arm-none-eabi-size`` (Berkeley format): flash = text + data (the initial
values of .data live in flash), RAM = data + bss (the arena, buffers and the stack reserve are .bss).

Builds of one build directory are serialised across processes by an exclusive ``flock`` on
``OUTDIR/.build.lock`` (``.BUILD_DIR_NAME.lock`` next to the build directory; not inside it, which a
stale cache removes); a second ``build`` or ``run`` says that it waits, and for which pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from .codegen import GRAPH_FILE, PROJECT_FILE, check_project_path
from .errors import BuildError, UsageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Project:
    """A converted project directory and its metadata (``bnn_project.json``)."""

    path: Path
    meta: dict

    @classmethod
    def load(cls, path: str | Path) -> Project:
        p = Path(path)
        check_project_path(p)
        f = p / PROJECT_FILE
        if not f.is_file():
            raise UsageError(f"{p} is not a bnn-mcu project (no {PROJECT_FILE}); create one with "
                             "'bnn-mcu convert MODEL -o DIR'")
        return cls(path=p, meta=json.loads(f.read_text()))

    @property
    def model_hash(self) -> str:
        return self.meta["model_hash"]

    @property
    def board_name(self) -> str:
        return self.meta["board"]

    def graph(self):
        from . import ir

        return ir.load(self.path / GRAPH_FILE)

    def board(self):
        """The project's own copy of its board file (``board.yaml``; older projects: by name)."""
        from .boards import PROJECT_BOARD_FILE, load_board

        own = self.path / PROJECT_BOARD_FILE
        return load_board(own if own.is_file() else self.board_name)

    def build_dir(self, host: bool = False) -> Path:
        return self.path / ("build-host" if host else "build")

    def elf(self) -> Path:
        return self.build_dir() / "firmware.elf"

    def host_exe(self) -> Path:
        return self.build_dir(host=True) / "bnn_host"


@dataclass(frozen=True)
class BuildResult:
    artifact: Path
    host: bool
    text: int = 0
    data: int = 0
    bss: int = 0

    @classmethod
    def of_elf(cls, elf: Path) -> BuildResult:
        text, data, bss = elf_sizes(elf)
        return cls(artifact=elf, host=False, text=text, data=data, bss=bss)

    @property
    def flash_bytes(self) -> int:
        return self.text + self.data

    @property
    def ram_bytes(self) -> int:
        return self.data + self.bss

    def as_dict(self) -> dict:
        d = asdict(self)
        d["artifact"] = str(self.artifact)
        d.update(flash_bytes=self.flash_bytes, ram_bytes=self.ram_bytes)
        return d


def _run(cmd: list[str], what: str, progress: str | None = None) -> str:
    """Run ``cmd``; its output on failure. ``progress``: a label for a one-line progress bar on stderr
    fed by CMake's ``[ NN%]`` lines (only when stderr is a terminal)."""
    log.debug("$ %s", " ".join(cmd))
    try:
        if progress and sys.stderr.isatty():
            out, err, code = _run_with_progress(cmd, progress)
        else:
            proc = subprocess.run(cmd, capture_output=True, text=True)
            out, err, code = proc.stdout, proc.stderr, proc.returncode
    except FileNotFoundError as exc:
        raise BuildError(f"{what}: '{cmd[0]}' is not installed", hint="run tools/install_deps.sh") from exc
    if code != 0:
        tail = "\n".join((out + err).strip().splitlines()[-30:])
        raise BuildError(f"{what} failed (exit {code}):\n{tail}")
    return out


_PERCENT = re.compile(r"^\[\s*(\d+)%\]")


def _run_with_progress(cmd: list[str], label: str) -> tuple[str, str, int]:
    """``cmd`` with stdout read line by line: each ``[ NN%]`` redraws ``label [#####     ] NN%`` on the
    terminal (stderr); the line is cleared at the end. Returns (stdout, stderr, exit code)."""
    from .progress import Bar

    lines: list[str] = []
    bar = Bar(label, 100, unit="%", enabled=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            m = _PERCENT.match(line)
            if m:
                bar.update(int(m.group(1)))
        code = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        bar.close()
    return "".join(lines), "", code


def build(project: Project, *, host: bool = False, sanitize: bool = False, kernels: str | None = None,
          jobs: int = 2, build_dir: str | Path | None = None) -> BuildResult:
    """Configure (once) and build; return the artifact and, for the target, its section sizes.

    ``build_dir`` defaults to ``project.build_dir(host)``; the artifact's name stays the same.
    """
    bdir = Path(build_dir) if build_dir is not None else project.build_dir(host)
    args = ["cmake", "-S", str(project.path), "-B", str(bdir), "-DCMAKE_BUILD_TYPE=Release"]
    if host:
        args += ["-DBNN_HOST=ON", f"-DBNN_SANITIZE={'ON' if sanitize else 'OFF'}"]
    if kernels:
        args.append(f"-DBNN_KERNELS={kernels}")
    if not host and shutil.which("arm-none-eabi-gcc") is None:
        raise BuildError("arm-none-eabi-gcc is not installed", hint="run tools/install_deps.sh")
    what = str(project.path) if bdir == project.build_dir(host) else f"{project.path} in {bdir}"
    with build_lock(bdir, what):  # two builds of one directory race (make, CMake's cache, the ELF)
        _drop_stale_cache(bdir, project.path)
        _run(args, "cmake configure")
        _run(["cmake", "--build", str(bdir), "-j", str(jobs)], "cmake build", progress=f"building {what}")
        if host:
            return BuildResult(artifact=bdir / project.host_exe().name, host=True)
        return BuildResult.of_elf(bdir / project.elf().name)  # the sizes of the ELF this build made


def build_lock_path(bdir: Path) -> Path:
    """The lock file of build directory ``bdir``: ``.NAME.lock`` beside it (``PROJECT/.build.lock``)."""
    return bdir.parent / f".{bdir.name}.lock"


@contextlib.contextmanager
def build_lock(bdir: Path, what: str) -> Iterator[None]:
    """Hold the exclusive lock of build directory ``bdir``; if another process holds it, print once
    on stderr that we wait for it (and its pid, which the holder writes into the file), then block.

    ``flock`` locks belong to the open file: the kernel releases them when the holder exits, however it
    exits, so a lock is never stale. The file is never deleted (deleting would let two processes lock
    two different files). The descriptor is close-on-exec: compilers started under the lock do not
    inherit it.
    """
    path = build_lock_path(Path(bdir))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            print(f"waiting for another build of {what} (pid {holder}) ...", file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)  # interruptible: Ctrl-C / SIGTERM raise here
        log.debug("locked %s", path)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def _drop_stale_cache(bdir: Path, source: Path) -> None:
    """A project copied or moved with its build directory: CMake refuses the old cache, so start over."""
    cache = bdir / "CMakeCache.txt"
    if not cache.is_file():
        return
    for line in cache.read_text(errors="replace").splitlines():
        if line.startswith("CMAKE_HOME_DIRECTORY:INTERNAL="):
            if Path(line.split("=", 1)[1]).resolve() != Path(source).resolve():
                log.info("%s was configured for another source directory; reconfiguring", bdir)
                shutil.rmtree(bdir)
            return


def elf_sizes(elf: Path) -> tuple[int, int, int]:
    out = _run(["arm-none-eabi-size", "-B", str(elf)], "arm-none-eabi-size")
    fields = out.strip().splitlines()[-1].split()
    return int(fields[0]), int(fields[1]), int(fields[2])


def section_sizes(elf: Path) -> dict[str, int]:
    """Allocated section sizes in bytes (``arm-none-eabi-size -A``), e.g. ``{".text": 8844, ...}``."""
    out = _run(["arm-none-eabi-size", "-A", str(elf)], "arm-none-eabi-size")
    sizes = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0].startswith(".") and fields[1].isdigit():
            sizes[fields[0]] = int(fields[1])
    return sizes
