"""Static memory plan: where every tensor lives, and whether the model fits the board.

Tensors are placed in one static arena by liveness over the graph: walking the nodes in execution
order, each node's output goes to the lowest offset that overlaps no tensor still to be read (its own
inputs included: kernels never work in place), and a tensor's bytes are free again after the last
node that reads it. The model input is the caller's buffer, not part of the arena. Bits are padded to
whole 32-bit words per pixel (:func:`bnn_mcu.ir.activation_bytes`).

Flash and RAM are estimated before building (each op's constant data for the chosen kernel set + a
runtime allowance; arena + protocol buffers + stack) so that a model that cannot fit is refused with
the numbers before any compiler runs; ``bnn-mcu build`` then reports the exact figures from
``arm-none-eabi-size``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import protocol, wire
from .errors import PlanError
from .ir import IntGraph, activation_bytes
from .layouts import DEFAULT_KERNELS

# Flash of everything but the model (Cortex-M4, -O2, newlib-nano; measured from the ELF with
# arm-none-eabi-nm: startup, app, protocol, platform, model.c and the libgcc double routines of the
# top-1), then per model: each node's parameter struct and dispatch case, 16 B per output channel
# (scale and offset doubles) and the 16-byte hash. tests/test_memory_estimate.py keeps the estimate
# within 5 % of built ELFs for every kernel set. INFER_RLE (its in-place decoder, the handler and the
# memset it pulls in) added 512 bytes (measured: the toy model's ELF, 11,392 -> 11,904 bytes).
RUNTIME_FLASH_BASE = 5620 + 512
PARAMS_BYTES_PER_NODE = 28
DISPATCH_BYTES_PER_NODE = 36
# Code bytes of each kernel on Cortex-M4 -O2: its file's .text and .rodata in the linker map (the kernel
# function with its static helpers; tests/test_memory_estimate.py checks the ones a test model uses
# against the ELF). A model pays for each kernel it calls once.
KERNEL_CODE_BYTES = {
    "ref": {"bnn_conv2d_b1_b1": 812, "bnn_conv2d_u8_b1": 784, "bnn_conv2d_b1_s32": 640, "bnn_conv2d_u8_s32": 620,
            "bnn_dense_b1_b1": 662, "bnn_dense_u8_b1": 640, "bnn_dense_b1_s32": 546, "bnn_dense_u8_s32": 520,
            "bnn_maxpool2d_b1": 344, "bnn_sign_u8_b1": 170, "bnn_concat_b1": 336,
            "bnn_depthwise_conv2d_b1_b1": 590, "bnn_requant_s32_s16": 340, "bnn_add_s16": 208,
            "bnn_sign_s16_b1": 162, "bnn_avgpool2d_s16": 504, "bnn_dense_s16_s32": 148},
    "bitsliced": {"bnn_conv2d_b1_b1": 5156, "bnn_conv2d_u8_b1": 3908, "bnn_dense_b1_b1": 2508,
                  "bnn_dense_u8_b1": 1776, "bnn_maxpool2d_b1": 556},
}
# The input-bits unpacking that stands in for the input sign of a sign-first model (bnn_mcu/wire.py).
KERNEL_CODE_BYTES["ref"][wire.UNPACK_KERNEL] = 178
UNKNOWN_KERNEL_BYTES = 1000
# RAM besides the arena, the serial buffers and the stack reserve (measured: 39 B of small statics).
RUNTIME_RAM_ALLOWANCE = 64


def kernel_code_bytes(kernels: str, function: str) -> int:
    """A kernel set's code for ``function``; a set that does not provide it falls back to ref's."""
    return KERNEL_CODE_BYTES.get(kernels, {}).get(function) or KERNEL_CODE_BYTES["ref"].get(
        function, UNKNOWN_KERNEL_BYTES)


@dataclass(frozen=True)
class LayerBuffers:
    in_offset: int | None  # the first input; None: the caller's input buffer
    out_offset: int
    out_bytes: int
    in_offsets: tuple = ()  # every input (None for the model input)


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
    kernels: str = DEFAULT_KERNELS

    def as_dict(self) -> dict:
        return {
            "arena_bytes": self.arena_bytes, "weight_bytes": self.weight_bytes,
            "threshold_bytes": self.threshold_bytes, "table_bytes": self.table_bytes,
            "max_payload": self.max_payload, "serial_bytes": self.serial_bytes, "flash_estimate": self.flash_estimate,
            "ram_estimate": self.ram_estimate, "kernels": self.kernels,
        }


def _align(n: int, a: int = 4) -> int:
    return (n + a - 1) // a * a


def max_payload(graph: IntGraph) -> int:
    """Largest frame payload either side sends (docs/PROTOCOL.md), as the firmware's main.c computes it;
    the board name (at most 255 bytes) is not known here, so INFO is sized for the longest."""
    return protocol.max_payload_for(wire.wire_bytes(graph, wire.encoding_for(graph)), graph.output_count,
                                    len(graph.layers), 255)


def serial_buffer_bytes(graph: IntGraph) -> int:
    """Static RAM of the app's protocol buffers (firmware/app/main.c): the receive buffer, the 255-byte
    COBS transmit block, and the outputs and per-layer counts of one reply."""
    return (max_payload(graph) + protocol.FRAME_OVERHEAD + 255 + 4 * graph.output_count
            + 4 * len(graph.layers))


def place_tensors(graph: IntGraph) -> tuple[dict[int, int], int]:
    """(tensor id -> arena offset, arena bytes): first fit by liveness (see the module doc)."""
    last_use = graph.last_use()
    placed: dict[int, tuple[int, int, int]] = {}  # id -> (offset, size, last use)
    offsets: dict[int, int] = {}
    arena = 0
    for i, node in enumerate(graph.layers):
        size = _align(activation_bytes(node.output.kind, node.output.shape))
        live = sorted((off, sz) for off, sz, last in placed.values() if last >= i)
        offset = 0
        for off, sz in live:  # the lowest gap that holds `size`
            if offset + size <= off:
                break
            offset = max(offset, off + sz)
        placed[node.output.id] = (offset, size, last_use[node.output.id])
        offsets[node.output.id] = offset
        arena = max(arena, offset + size)
    return offsets, arena


def make_plan(graph: IntGraph, *, stack_bytes: int = 0, kernels: str = DEFAULT_KERNELS) -> MemoryPlan:
    offsets, arena = place_tensors(graph)
    buffers = []
    for node in graph.layers:
        ins = tuple(offsets.get(t.id) for t in node.inputs)  # the model input has no arena offset
        buffers.append(LayerBuffers(in_offset=ins[0], out_offset=offsets[node.output.id],
                                    out_bytes=_align(activation_bytes(node.output.kind, node.output.shape)),
                                    in_offsets=ins))
    weight_bytes = threshold_bytes = table_bytes = 0
    functions = set()
    encoding = wire.encoding_for(graph)
    for node in graph.layers:
        layer = wire.c_layer(node, graph, kernels, encoding)
        for arr in layer.arrays:
            if arr.suffix == "weights":
                weight_bytes += arr.values.nbytes
            else:
                threshold_bytes += arr.values.nbytes
        table_bytes += PARAMS_BYTES_PER_NODE + DISPATCH_BYTES_PER_NODE
        functions.add(layer.kernel)
    table_bytes += 16 * graph.output.shape[2] + 16
    code_bytes = RUNTIME_FLASH_BASE + sum(kernel_code_bytes(kernels, f) for f in functions)
    payload = max_payload(graph)
    flash = weight_bytes + threshold_bytes + table_bytes + code_bytes
    ram = arena + serial_buffer_bytes(graph) + stack_bytes + RUNTIME_RAM_ALLOWANCE
    return MemoryPlan(buffers=tuple(buffers), arena_bytes=arena, weight_bytes=weight_bytes,
                      threshold_bytes=threshold_bytes, table_bytes=table_bytes, max_payload=payload,
                      serial_bytes=serial_buffer_bytes(graph), flash_estimate=flash, ram_estimate=ram,
                      kernels=kernels)


def check_fits(plan: MemoryPlan, board) -> None:
    """Refuse, with the numbers, a model that cannot fit the board's flash or RAM."""
    problems = []
    if plan.flash_estimate > board.flash_size:
        problems.append(
            f"flash: needs ~{plan.flash_estimate:,} bytes (weights {plan.weight_bytes:,}, thresholds "
            f"{plan.threshold_bytes:,}, code and tables "
            f"~{plan.flash_estimate - plan.weight_bytes - plan.threshold_bytes:,}) but {board.name} has "
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
