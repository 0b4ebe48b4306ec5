"""Export a converted model as a C library for the user's own firmware (``convert --as library``).

Layout of ``OUTDIR`` (a CMake project: ``add_subdirectory(OUTDIR)``, then link the target ``NAME``)::

    CMakeLists.txt       target NAME (static library) + the shared target bnn_runtime (kernels, invoke)
    include/NAME.h       the one public header: sizes as macros, NAME_invoke, NAME_invoke_top,
                         NAME_quantize, NAME_logits (documented there)
    src/NAME.c           the model (templates/model_layers.c.j2, the same text the firmware project
                         gets, with every symbol static and prefixed NAME_model_) and the API
    runtime/             include/bnn/, src/invoke.c and the kernel sets (src/ref, src/bitsliced)
    bnn_model.npz, bnn_project.json   as for a firmware project (layout "library")

Two models in one firmware: each library has its own arena and static data; the kernels
(``bnn_<op>_<types>``) exist once, in ``bnn_runtime``, which the first library added creates
(``if(NOT TARGET bnn_runtime)``). A second library checks that its runtime is the same (bnn-mcu
version and a digest of its runtime files) and fails the configure step otherwise.
No app, no startup code, no UART, no platform layer, no heap.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from . import codegen
from .errors import UsageError
from .resources import firmware_dir
from .templating import render
from .untrusted import inline

LAYOUT = "library"
MAX_NAME_CHARS = 31  # C99 guarantees 31 significant characters of an external identifier

# The runtime headers a library needs (the app's model.h, layers.h, platform.h and protocol are not shipped).
RUNTIME_HEADERS = ("bnn.h", "invoke.h", "kernels.h")

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum extern float for goto
if inline int long register restrict return short signed sizeof static struct switch typedef union unsigned void
volatile while _Bool _Complex _Imaginary""".split())
# Names the runtime or CMake already use: a library called so would collide with them.
RESERVED_NAMES = frozenset({"bnn_runtime", "bnn", "main", "m", "c", "gcc", "nosys"})


def check_name(name: str) -> str:
    """``name`` as the prefix of every symbol, the header, the source and the CMake target: a C
    identifier (letters, digits, underscore; not a keyword), at most 31 characters, not starting with
    ``bnn_`` (the runtime's prefix) or ``_`` (reserved in C). Returns it, or raises :class:`UsageError`."""
    if not _IDENTIFIER.match(name or ""):
        raise UsageError(f"--name {inline(name)!r} is not a C identifier",
                         hint="use letters, digits and underscores, starting with a letter, e.g. --name kws")
    if name in C_KEYWORDS:
        raise UsageError(f"--name {name!r} is a keyword", hint="choose another name, e.g. --name kws")
    if name.startswith("_") or name.lower().startswith("bnn_") or name.lower() in RESERVED_NAMES:
        raise UsageError(f"--name {name!r} is reserved (C reserves a leading underscore; bnn_ and "
                         f"{', '.join(sorted(RESERVED_NAMES))} are the runtime's or the toolchain's)",
                         hint="choose another name, e.g. --name kws")
    if len(name) > MAX_NAME_CHARS:
        raise UsageError(f"--name {name!r} has {len(name)} characters; at most {MAX_NAME_CHARS}")
    return name


def default_name(outdir: Path) -> str:
    """The library name when ``--name`` is not given: the output directory's name, if it is a valid one."""
    candidate = Path(outdir).resolve().name
    try:
        return check_name(candidate)
    except UsageError as exc:
        raise UsageError(f"the output directory's name {inline(candidate)!r} cannot name the library "
                         f"({exc.message})", hint="give the library a name: --name kws") from None


def runtime_files(fw: Path) -> list[tuple[Path, str]]:
    """(source, path in the library) of every runtime file a library ships, in a fixed order."""
    from .layouts import available_sets

    out = [(fw / "include" / "bnn" / h, f"runtime/include/bnn/{h}") for h in RUNTIME_HEADERS]
    out.append((fw / "src" / "invoke.c", "runtime/src/invoke.c"))
    for kset in available_sets(fw / "src"):
        out += [(p, f"runtime/src/{kset}/{p.name}") for p in sorted((fw / "src" / kset).iterdir()) if p.is_file()]
    return out


def runtime_digest(files: list[tuple[Path, str]]) -> str:
    """SHA-256 (first 16 hex digits) over the shipped runtime's paths and contents: two libraries can share
    one bnn_runtime target only if theirs are equal."""
    h = hashlib.sha256()
    for src, rel in files:
        h.update(rel.encode() + b"\0" + src.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def write_library(graph, plan, board, outdir: str | Path, *, name: str, source: str, kernels: str,
                  force: bool = False, extra_meta: dict | None = None) -> codegen.GeneratedProject:
    """Write the library for ``graph`` into ``outdir`` (see the module doc); ``name`` must pass
    :func:`check_name`. A user's changed files are never overwritten without ``force``."""
    outdir = Path(outdir)
    check_name(name)
    codegen.prepare_outdir(outdir, force=force, layout=LAYOUT)
    fw = firmware_dir()
    files = runtime_files(fw)
    lo, hi = (float(v) for v in graph.input_range)
    ctx = codegen.model_context(graph, plan, board, source=source, kernels=kernels)
    ctx.update(name=name, NAME=name.upper(), package=False, runtime_digest=runtime_digest(files),
               input_lo=repr(lo), input_hi=repr(hi), input_lo_hex=lo.hex(), input_scale_hex=(255.0 / (hi - lo)).hex())
    outdir.mkdir(parents=True, exist_ok=True)
    for sub in ("include", "src", "runtime"):
        if (outdir / sub).exists():
            shutil.rmtree(outdir / sub)  # a fresh copy: a re-convert (or a new name) leaves nothing stale
        (outdir / sub).mkdir()
    (outdir / "CMakeLists.txt").write_text(render("library_CMakeLists.txt.j2", ctx))
    (outdir / "include" / f"{name}.h").write_text(render("library.h.j2", ctx))
    (outdir / "src" / f"{name}.c").write_text(render("library.c.j2", ctx))
    for src, rel in files:
        (outdir / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, outdir / rel)
    meta = codegen.project_meta(graph, plan, board, source=source, kernels=kernels, layout=LAYOUT,
                                extra_meta={"library_name": name, **(extra_meta or {})})
    return codegen.finish(outdir, graph, meta)


# --------------------------------------------------------------------------------------------------
# One directory for Arduino, PlatformIO and Zephyr (``convert --as package``)

PACKAGE_LAYOUT = "package"
_GLOBAL_FUNCTION = re.compile(r"\b(bnn_[a-z0-9_]+)\s*\(")


def runtime_globals(fw: Path) -> list[str]:
    """The runtime's functions with external linkage: those its public headers declare (kernels.h,
    invoke.h); a package renames each to NAME_bnn_* (``tests/test_library_packages.py`` checks with nm
    that no other global symbol is left)."""
    names = set()
    for h in ("kernels.h", "invoke.h"):
        names |= {n for n in _GLOBAL_FUNCTION.findall((fw / "include" / "bnn" / h).read_text()) if not n.endswith("_t")}
    return sorted(names)


def package_runtime(fw: Path, kernels: str) -> list[Path]:
    """The runtime sources one kernel set compiles to: the set's files, the ref files it does not
    replace, their private headers and invoke.c (the rule of the CMake projects, flattened)."""
    own = sorted(p for p in (fw / "src" / kernels).iterdir() if p.suffix in (".c", ".h"))
    names = {p.name for p in own}
    ref = [p for p in sorted((fw / "src" / "ref").iterdir()) if p.suffix in (".c", ".h") and p.name not in names]
    return [fw / "src" / "invoke.c", *own, *ref] if kernels != "ref" else [fw / "src" / "invoke.c", *ref]


def write_package(graph, plan, board, outdir: str | Path, *, name: str, source: str, kernels: str,
                  force: bool = False) -> codegen.GeneratedProject:
    """The library as one directory that Arduino (``library.properties``, ``src/``), PlatformIO
    (``library.json``) and Zephyr (``zephyr/module.yml``, ``zephyr/CMakeLists.txt``, ``zephyr/Kconfig``)
    accept. Arduino and PlatformIO compile every C file under ``src/``: the runtime there is the one kernel
    set, flattened, and every C file includes ``NAME_names.h`` first (the set's define, and the runtime's
    global functions renamed ``NAME_bnn_*``), so two packages link into one firmware."""
    import json

    from . import __version__

    outdir = Path(outdir)
    check_name(name)
    codegen.prepare_outdir(outdir, force=force, layout=PACKAGE_LAYOUT)
    fw = firmware_dir()
    lo, hi = (float(v) for v in graph.input_range)
    ctx = codegen.model_context(graph, plan, board, source=source, kernels=kernels)
    ctx.update(name=name, NAME=name.upper(), package=True, kconfig=f"BNN_MCU_{name.upper()}",
               runtime_globals=runtime_globals(fw), input_lo=repr(lo), input_hi=repr(hi),
               input_lo_hex=lo.hex(), input_scale_hex=(255.0 / (hi - lo)).hex())
    outdir.mkdir(parents=True, exist_ok=True)
    for sub in ("src", "zephyr"):
        if (outdir / sub).exists():
            shutil.rmtree(outdir / sub)
        (outdir / sub).mkdir()
    src = outdir / "src"
    (src / "bnn").mkdir()
    (src / f"{name}_runtime").mkdir()
    files = {
        "library.properties": render("package_library.properties.j2", ctx),
        f"src/{name}.h": render("library.h.j2", ctx),
        f"src/{name}.c": render("library.c.j2", ctx),
        f"src/{name}_names.h": render("package_names.h.j2", ctx),
        "zephyr/module.yml": render("package_module.yml.j2", ctx),
        "zephyr/CMakeLists.txt": render("package_zephyr_CMakeLists.txt.j2", ctx),
        "zephyr/Kconfig": render("package_zephyr_Kconfig.j2", ctx),
    }
    manifest_json = {
        "name": name, "version": __version__,
        "description": f"Binary neural network converted by bnn-mcu (model hash {ctx['hash'][:16]}); API in {name}.h",
        "keywords": ["bnn", "binary neural network", "tinyml", "bnn-mcu"],
        "frameworks": "*", "platforms": "*",
        "build": {"srcDir": "src", "includeDir": "src", "flags": ["-ffp-contract=off"]},
    }
    files["library.json"] = json.dumps(manifest_json, indent=2) + "\n"
    for rel, text in files.items():
        (outdir / rel).write_text(text)
    for h in RUNTIME_HEADERS:
        shutil.copyfile(fw / "include" / "bnn" / h, src / "bnn" / h)
    for f in package_runtime(fw, kernels):
        text = f.read_text()
        if f.suffix == ".c":  # the names first: the runtime's own sources stay as they are in firmware/
            text = f'#include "../{name}_names.h" /* added by bnn-mcu: prefixed names */\n' + text
        (src / f"{name}_runtime" / f.name).write_text(text)
    meta = codegen.project_meta(graph, plan, board, source=source, kernels=kernels, layout=PACKAGE_LAYOUT,
                                extra_meta={"library_name": name})
    return codegen.finish(outdir, graph, meta)
