"""Packaging hook: ship firmware/, boards/ and templates/ inside the wheel as bnn_mcu/_data/.

Everything else is in pyproject.toml. In a source checkout (and an editable install) bnn_mcu uses
the top-level directories directly; see bnn_mcu/resources.py.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA_DIRS = ("firmware", "boards", "templates")


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        for name in DATA_DIRS:
            dst = Path(self.build_lib) / "bnn_mcu" / "_data" / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(ROOT / name, dst, ignore=shutil.ignore_patterns("tests", "__pycache__", "build*"))


setup(cmdclass={"build_py": BuildPyWithData})
