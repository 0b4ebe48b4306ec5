"""`convert --as package`: one directory for Arduino (library.properties, src/), PlatformIO (library.json)
and Zephyr (zephyr/module.yml, CMakeLists.txt, Kconfig). None of those build systems is installed here,
so the layout's structure is checked against each one's rules, and two packages are compiled as each
would compile them (Arduino/PlatformIO: every C file under src/, separately, with src/ on the include
path; Zephyr: the module's own CMakeLists.txt run under stubs of Zephyr's CMake functions), linked into
examples/two_models with arm-none-eabi-gcc and run in QEMU against the reference."""

import json
import shutil
import subprocess

import pytest
import yaml
from test_library_qemu import EXAMPLE, check_two_models, run_in_qemu

from bnn_mcu.cli import main

CPU = ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]
ARDUINO_KEYS = {"name", "version", "author", "maintainer", "sentence", "paragraph", "category", "url",
                "architectures"}  # the 1.5 library specification's required fields
ARDUINO_CATEGORIES = {"Display", "Communication", "Signal Input/Output", "Sensors", "Device Control", "Timing",
                      "Data Storage", "Data Processing", "Other"}

needs_arm = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                               reason="no arm-none-eabi-gcc or qemu-system-arm")


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    import models

    d = tmp_path_factory.mktemp("pkgs")
    models.conv_model().save(d / "digits.h5")
    models.mlp_model(seed=3).save(d / "kws.h5")
    assert main(["convert", str(d / "digits.h5"), "-o", str(d / "digits"), "--as", "package"]) == 0
    assert main(["convert", str(d / "kws.h5"), "-o", str(d / "kws"), "--as", "package", "--name", "kws",
                 "--input-range", "-1", "1"]) == 0
    return {"digits": d / "digits", "kws": d / "kws"}


def test_layout_follows_arduino_platformio_and_zephyr(packages):
    for name, pkg in packages.items():
        props = dict(line.split("=", 1) for line in (pkg / "library.properties").read_text().splitlines() if line)
        assert ARDUINO_KEYS <= props.keys() and props["name"] == name
        assert props["category"] in ARDUINO_CATEGORIES and props["includes"] == f"{name}.h"
        assert (pkg / "src" / f"{name}.h").is_file()  # what the sketch includes, at the top of src/
        assert not [p for p in pkg.rglob("*") if p.suffix in (".cpp", ".ino", ".S")]
        lib = json.loads((pkg / "library.json").read_text())
        assert lib["name"] == name and (pkg / lib["build"]["srcDir"]).is_dir()
        assert "-ffp-contract=off" in lib["build"]["flags"]
        module = yaml.safe_load((pkg / "zephyr" / "module.yml").read_text())
        assert module["name"] == name
        assert (pkg / module["build"]["cmake"] / "CMakeLists.txt").is_file()
        kconfig = (pkg / module["build"]["kconfig"]).read_text()
        assert f"config BNN_MCU_{name.upper()}\n\tbool " in kconfig
        assert f"if(CONFIG_BNN_MCU_{name.upper()})" in (pkg / "zephyr" / "CMakeLists.txt").read_text()
        # one kernel set only (Arduino compiles every C file under src/): no file name twice
        runtime = sorted(p.name for p in (pkg / "src" / f"{name}_runtime").glob("*.c"))
        assert len(runtime) == len(set(runtime)) and "invoke.c" in runtime


def _global_symbols(elf) -> set:
    out = subprocess.run(["arm-none-eabi-nm", "-g", "--defined-only", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[-1] for line in out.splitlines()}


@needs_arm
@pytest.mark.qemu
def test_compiled_as_arduino_would_two_packages_link_and_run(packages, tmp_path):
    objs = []
    for name, pkg in packages.items():  # every C file under src/, each on its own, src/ on the include path
        for i, c in enumerate(sorted((pkg / "src").rglob("*.c"))):
            o = tmp_path / f"{name}_{i}_{c.stem}.o"
            r = subprocess.run(["arm-none-eabi-gcc", *CPU, "-Os", "-std=gnu11", "-Wall", "-Wextra", "-Werror",
                                "-ffunction-sections", "-fdata-sections", f"-I{pkg / 'src'}", "-c", str(c),
                                "-o", str(o)], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            objs.append(str(o))
    incs = [f"-I{pkg / 'src'}" for pkg in packages.values()]
    elf = tmp_path / "sketch.elf"
    r = subprocess.run(["arm-none-eabi-gcc", *CPU, "-Os", "-Wall", "-Werror", *incs, str(EXAMPLE / "main.c"),
                        str(EXAMPLE / "startup.c"), *objs, "-nostartfiles", "--specs=nano.specs",
                        f"-T{EXAMPLE / 'linker.ld'}", "-Wl,--gc-sections", "-o", str(elf)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr  # a symbol defined twice would fail here
    names = _global_symbols(elf)
    assert {"digits_bnn_graph_invoke", "kws_bnn_graph_invoke", "digits_invoke", "kws_logits"} <= names
    assert not [n for n in names if n.startswith("bnn_")]  # every runtime global is prefixed
    check_two_models(run_in_qemu(elf), packages)


ZEPHYR_STUB = """cmake_minimum_required(VERSION 3.20)
project(zephyr_stub C)
# The few Zephyr CMake extensions a module's CMakeLists.txt uses (zephyr/cmake/modules/extensions.cmake),
# reduced to plain CMake: a library per zephyr_library_named(), include directories on the interface
# every Zephyr library and the app link.
add_library(zephyr_interface INTERFACE)
macro(zephyr_library_named name)
  add_library(${name} STATIC)
  target_link_libraries(${name} PUBLIC zephyr_interface)
  set(ZEPHYR_CURRENT_LIBRARY ${name})
endmacro()
function(zephyr_library_sources)
  target_sources(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endfunction()
function(zephyr_include_directories)
  target_include_directories(zephyr_interface INTERFACE ${ARGN})
endfunction()
function(zephyr_library_compile_options)
  target_compile_options(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endfunction()
set(CONFIG_BNN_MCU_DIGITS y)
set(CONFIG_BNN_MCU_KWS y)
add_subdirectory(@DIGITS@/zephyr digits)
add_subdirectory(@KWS@/zephyr kws)
add_executable(app.elf @EXAMPLE@/main.c @EXAMPLE@/startup.c)
target_compile_options(app.elf PRIVATE -Wall -Werror)
target_link_libraries(app.elf PRIVATE digits kws zephyr_interface)
target_link_options(app.elf PRIVATE -nostartfiles --specs=nano.specs -T@EXAMPLE@/linker.ld -Wl,--gc-sections)
"""


@needs_arm
@pytest.mark.qemu
def test_zephyr_module_cmake_builds_two_models(packages, tmp_path):
    src = tmp_path / "app"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(ZEPHYR_STUB.replace("@DIGITS@", str(packages["digits"]))
                                        .replace("@KWS@", str(packages["kws"])).replace("@EXAMPLE@", str(EXAMPLE)))
    b = tmp_path / "build"
    r = subprocess.run(["cmake", "-S", str(src), "-B", str(b), f"-DCMAKE_TOOLCHAIN_FILE={EXAMPLE / 'toolchain.cmake'}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["cmake", "--build", str(b), "-j", "2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    check_two_models(run_in_qemu(b / "app.elf"), packages)
