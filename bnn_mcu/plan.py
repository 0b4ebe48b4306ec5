"""Static memory plan: where every activation lives, and whether the model fits the board.

Activations ping-pong between two regions of one static arena: layer i writes region i % 2 and reads
the other one (layer 0 reads the caller's input buffer directly). Each region is as large as the
largest activation placed in it, so the arena is the sum of the two maxima. Bits are padded to
whole 32-bit words per pixel (see :func:`bnn_mcu.ir.activation_bytes`).

Flash and RAM are estimated before building (weights + thresholds + tables + a runtime allowance;
arena + protocol buffers + stack) so that a model that cannot fit is refused with the numbers before
any compiler runs; ``bnn-mcu build`` then reports the exact figures from ``arm-none-eabi-size``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import protocol
from .bitpack import words_for
from .errors import PlanError
from .ir import IntConv, IntGraph, activation_bytes

# Measured on mps2-an386 with -O2 (text of runtime + protocol + platform + newlib-nano); see README.
RUNTIME_FLASH_ALLOWANCE = 12 * 1024
RUNTIME_RAM_ALLOWANCE = 1024


@dataclass(frozen=True)
class LayerBuffers:
    in_offset: int | None  # None: the caller's input buffer
    out_offset: int
    out_bytes: int


@dataclass(frozen=True)
class MemoryPlan:
    buffers: tuple[LayerBuffers, ...]
    arena_bytes: int
    weight_bytes: int
    threshold_bytes: int
    table_bytes: int
    max_payload: int
    serial_bytes: int
    flash_estimate: int
    ram_estimate: int

    def as_dict(self) -> dict:
        return {
            "arena_bytes": self.arena_bytes, "weight_bytes": self.weight_bytes,
            "threshold_bytes": self.threshold_bytes, "table_bytes": self.table_bytes,
            "max_payload": self.max_payload, "serial_bytes": self.serial_bytes, "flash_estimate": self.flash_estimate,
            "ram_estimate": self.ram_estimate,
        }


def _align(n: int, a: int = 4) -> int:
    return (n + a - 1) // a * a


def max_payload(graph: IntGraph) -> int:
    """Largest frame payload either side sends (docs/PROTOCOL.md), as the firmware's main.c computes it;
    the board name (at most 255 bytes) is not known here, so INFO is sized for the longest."""
    return protocol.max_payload_for(graph.input_bytes, graph.output_count, len(graph.layers), 255)


def serial_buffer_bytes(graph: IntGraph) -> int:
    """Static RAM of the app's protocol buffers (firmware/app/main.c): the receive buffer, the 255-byte
    COBS transmit block, and the outputs and per-layer counts of one reply."""
    return (max_payload(graph) + protocol.FRAME_OVERHEAD + 255 + 4 * graph.output_count
            + 4 * len(graph.layers))


def make_plan(graph: IntGraph, *, stack_bytes: int = 0) -> MemoryPlan:
    shapes = graph.activation_shapes()
    sizes = [_align(activation_bytes(kind, shape)) for kind, shape in shapes[1:]]
    region = [0, 0]
    for i, size in enumerate(sizes):
        region[i % 2] = max(region[i % 2], size)
    base = [0, region[0]]
    buffers = []
    for i, size in enumerate(sizes):
        buffers.append(LayerBuffers(in_offset=None if i == 0 else base[(i - 1) % 2],
                                    out_offset=base[i % 2], out_bytes=size))
    weight_bytes = threshold_bytes = 0
    for layer in graph.layers:
        if isinstance(layer, IntConv):
            o, kh, kw, c = layer.weight_bits.shape
            weight_bytes += o * kh * kw * words_for(c) * 4
            threshold_bytes += 4 * o if layer.thresholds is not None else 16 * o
        else:
            threshold_bytes += 4 * words_for(layer.in_shape[2])
    table_bytes = 40 * len(graph.layers)
    payload = max_payload(graph)
    arena = region[0] + region[1]
    flash = weight_bytes + threshold_bytes + table_bytes + RUNTIME_FLASH_ALLOWANCE
    ram = arena + serial_buffer_bytes(graph) + stack_bytes + RUNTIME_RAM_ALLOWANCE
    return MemoryPlan(buffers=tuple(buffers), arena_bytes=arena, weight_bytes=weight_bytes,
                      threshold_bytes=threshold_bytes, table_bytes=table_bytes, max_payload=payload,
                      serial_bytes=serial_buffer_bytes(graph),
                      flash_estimate=flash, ram_estimate=ram)


def check_fits(plan: MemoryPlan, board) -> None:
    """Refuse, with the numbers, a model that cannot fit the board's flash or RAM."""
    problems = []
    if plan.flash_estimate > board.flash_size:
        problems.append(
            f"flash: needs ~{plan.flash_estimate:,} bytes (weights {plan.weight_bytes:,}, thresholds "
            f"{plan.threshold_bytes:,}, runtime ~{RUNTIME_FLASH_ALLOWANCE:,}) but {board.name} has "
            f"{board.flash_size:,}")
    if plan.ram_estimate > board.ram_size:
        problems.append(
            f"RAM: needs ~{plan.ram_estimate:,} bytes (activation arena {plan.arena_bytes:,}, serial "
            f"buffers {plan.serial_bytes:,}, stack {board.stack_size:,}) but "
            f"{board.name} has {board.ram_size:,}")
    if problems:
        raise PlanError(f"the model does not fit board '{board.name}': " + "; ".join(problems),
                        hint="pick a board with more memory (bnn-mcu boards) or shrink the model")


def total_macs(graph: IntGraph) -> int:
    return int(np.sum([layer.macs for layer in graph.layers]))
