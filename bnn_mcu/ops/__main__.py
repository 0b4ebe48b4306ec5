"""python -m bnn_mcu.ops: print the supported-layers table for the README."""

from . import supported_markdown

print(supported_markdown())
