"""Strings from a model file are untrusted data: this module is the one place that encodes them.

A model file (and its file name) is written by someone else: its model name, layer names and config
values can hold newlines, ``*/``, quotes, ``;``, ``$(...)``, terminal escape sequences or trigraphs.
Every such string is wrapped in :class:`Untrusted` as soon as it leaves the frontend's hands for a
file we generate; the Jinja2 environment (``codegen``) refuses to render an :class:`Untrusted` value
unless a filter from :data:`JINJA_FILTERS` has encoded it for the context it lands in:

=================  ===========================================================================
context            encoder
=================  ===========================================================================
C or CMake comment :func:`comment` -- a whitelist of harmless printable ASCII, no ``*/``, no
                   newline, no backslash, bounded length (CMake line comments end at a newline;
                   a C block comment ends at ``*/``)
C string literal   :func:`c_string` -- printable ASCII except ``"``, ``\\`` and ``?`` (trigraphs
                   are on in strict C99) as is; every other byte as a 3-digit octal escape
C identifier       never from a user string: generated from our own counters (``layer3_weights``)
CMake              nothing from the model file reaches CMake code, only comments
JSON               ``json.dumps`` escapes control characters; nothing to do
terminal           :func:`inline` for a name inside a message or a table row (one line, every
                   control character escaped); :func:`terminal` for whole texts printed by the CLI
                   (control characters but newline and tab escaped), so a name can neither fake
                   lines of output nor send escape sequences to the user's terminal
=================  ===========================================================================
"""

from __future__ import annotations

import re

MAX_COMMENT_CHARS = 80

# Printable ASCII that is inert in a C block comment and a CMake line comment: no '*', '/', '\\',
# '?' (so no '*/', '/*', '//', line splices or trigraphs), no '#', '[' or ']' (CMake bracket comments).
_COMMENT_SAFE = re.compile(r"[^A-Za-z0-9 _.,:;+=()<>{}!%&|~'@^$-]")
# Printable ASCII kept as is in a C string literal.
_C_STRING_SAFE = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\", "?"}
# C0 and C1 control characters (keeping newline and tab), and DEL.
_TERMINAL_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INLINE_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Untrusted(str):
    """A string read from a model file. Templates must encode it (see the module doc)."""

    __slots__ = ()


def untrusted(value: object) -> Untrusted:
    return Untrusted(str(value))


def comment(value: object) -> str:
    """Text that is inert inside a C block comment or a CMake line comment, on one line."""
    text = _COMMENT_SAFE.sub("_", str(value))
    if len(text) > MAX_COMMENT_CHARS:
        text = text[: MAX_COMMENT_CHARS - 3] + "..."
    return text


def c_string(value: object) -> str:
    """The body of a C string literal (without the quotes) that holds exactly the UTF-8 bytes of
    ``value``. Octal escapes are used because they stop after 3 digits (``\\x`` would swallow a
    following hex digit)."""
    out = []
    for byte in str(value).encode("utf-8", "surrogateescape"):
        ch = chr(byte)
        out.append(ch if ch in _C_STRING_SAFE else f"\\{byte:03o}")
    return "".join(out)


def inline(value: object) -> str:
    """A model string inside a message or a table row: one line, control characters escaped (so a name
    cannot fake further lines of output)."""
    return _INLINE_UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def terminal(value: object) -> str:
    """Text safe to print on a terminal: control characters are shown as ``\\xNN`` escapes."""
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def refuse_unencoded(value: object) -> object:
    """Jinja2 ``finalize`` hook: an :class:`Untrusted` value that reaches output without a filter is a
    bug in a template, caught when the project is generated (never a silent injection)."""
    if isinstance(value, Untrusted):
        raise TypeError(f"template renders an untrusted model string without encoding it: {value!r}; "
                        "use one of the filters " + ", ".join(JINJA_FILTERS))
    return value


JINJA_FILTERS = {"comment": comment, "c_string": c_string}
