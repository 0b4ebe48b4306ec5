#!/usr/bin/env python3
"""Build the platform self-test for a board: render the linker script, configure and build with CMake.

    python firmware/tests/platform_selftest/build.py mps2-an386 /tmp/selftest-an386
prints the path of the ELF. tests/test_qemu_platform.py imports build() from here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build(board_name_or_path: str | Path, build_dir: str | Path) -> Path:
    from bnn_mcu import boards, resources

    board = boards.load_board(board_name_or_path)
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    linker = build_dir / "linker.ld"
    linker.write_text(boards.render_linker_script(board), encoding="utf-8")
    defines = [f"{k}={v}" for k, v in board.defines.items()]
    toolchain = resources.firmware_dir() / "cmake" / "arm-none-eabi.cmake"
    subprocess.run(
        [
            "cmake",
            "-S",
            str(HERE),
            "-B",
            str(build_dir),
            f"-DCMAKE_TOOLCHAIN_FILE={toolchain}",
            "-DCMAKE_BUILD_TYPE=",
            f"-DBNN_PLATFORM={';'.join(board.platform_dirs)}",
            f"-DBNN_LINKER_SCRIPT={linker}",
            f"-DBNN_CPU_FLAGS={';'.join(board.cpu_flags)}",
            f"-DBNN_DEFINES={';'.join(defines)}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    subprocess.run(["cmake", "--build", str(build_dir)], check=True, capture_output=True, text=True)
    return build_dir / "selftest.elf"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("board", help="board name (boards/<name>.yaml) or path to a board file")
    ap.add_argument("build_dir")
    args = ap.parse_args(argv)
    try:
        print(build(args.board, args.build_dir))
    except subprocess.CalledProcessError as e:
        sys.stderr.write(f"{' '.join(e.cmd)} failed:\n{e.stdout}{e.stderr}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
