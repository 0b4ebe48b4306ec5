"""The one Jinja2 environment that renders ``templates/*.j2``.

Undefined variables are errors, and a string read from a model file (:class:`~bnn_mcu.untrusted.Untrusted`)
cannot reach a generated file unless a filter encodes it for its context (``|comment``, ``|c_string``).
"""

from __future__ import annotations

import functools

import jinja2

from . import resources, untrusted


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.templates_dir())),
        undefined=jinja2.StrictUndefined,
        finalize=untrusted.refuse_unencoded,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # C and CMake, not HTML: encoding is per context, by the filters above
    )
    env.filters.update(untrusted.JINJA_FILTERS)
    return env


def render(template: str, context: dict) -> str:
    return environment().get_template(template).render(context)
