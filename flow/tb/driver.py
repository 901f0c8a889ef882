"""Drivers shared by the cocotb testbenches of kan_array: clock and reset, coefficient load, input stream."""
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from rtl_gen import golden
from rtl_gen.params import KanParams


def pack(values, width: int) -> int:
    mask = (1 << width) - 1
    return sum((int(v) & mask) << (k * width) for k, v in enumerate(values))


def unpack_signed(word: int, width: int, count: int) -> list[int]:
    mask, half = (1 << width) - 1, 1 << (width - 1)
    return [(((word >> (k * width)) & mask) ^ half) - half for k in range(count)]


async def start(dut) -> None:
    """Start the 100 MHz clock, hold reset two cycles with every input idle."""
    import cocotb
    cocotb.start_soon(Clock(dut.sys_clk, 10, unit="ns").start())
    dut.sys_rst.value = 1
    dut.in_valid.value = 0
    dut.load_en.value = 0
    dut.x.value = 0
    dut.load_data.value = 0
    for _ in range(2):
        await FallingEdge(dut.sys_clk)
    dut.sys_rst.value = 0


async def array_pass(dut, p: KanParams, coefs: np.ndarray, xs: np.ndarray,
                     window: dict | None = None) -> tuple[np.ndarray, int]:
    """Load coefs (R, C, G+p), stream xs (T, R), drain the pipeline -> ((T, C) outputs, cycles used).

    Inputs are driven on falling edges; outputs sampled there are those of the last rising edge. `window`, when
    given, gets the simulation times (ps) of the T streaming cycles: "start" when the first input is driven,
    "end" T clock periods later (what power.py measures: the coefficient load is before it).
    """
    dut.load_en.value = 1
    for word in golden.load_sequence(p, coefs):
        dut.load_data.value = pack(word, p.coef_bits)
        await FallingEdge(dut.sys_clk)
    dut.load_en.value = 0
    got, cycles = [], 0
    if window is not None:
        from cocotb.utils import get_sim_time
        window["start"] = get_sim_time("ps")
    while len(got) < len(xs):
        if window is not None and cycles == len(xs) and "end" not in window:
            from cocotb.utils import get_sim_time
            window["end"] = get_sim_time("ps")
        if cycles < len(xs):
            dut.x.value = pack(xs[cycles], p.input_bits)
            dut.in_valid.value = 1
        else:
            dut.in_valid.value = 0
        await FallingEdge(dut.sys_clk)
        cycles += 1
        if dut.out_valid.value == 1:
            got.append(unpack_signed(dut.y.value.to_unsigned(), p.acc_width, p.cols))
        assert cycles <= len(xs) + p.latency + 2, f"out_valid missing: {len(got)} of {len(xs)} outputs"
    dut.in_valid.value = 0
    return np.array(got, dtype=np.int64), cycles + p.rows * p.n_coefs              # + load cycles
