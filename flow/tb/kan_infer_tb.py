"""cocotb inference of a quantized KAN on kan_array: the host side of kan.quantize.layer_passes, with the RTL
as the array.

Configured by the JSON file named in $KAN_TB_JOB (written by kan.rtl_inference through flow.verify.simulate):
  quant    kan.quantize.QuantModel.to_dict() (tile params, integer coefficients, scales)
  x        (T, in) unsigned input codes of the first layer
  summary  path where this test writes {outputs, passes, cycles, mismatches, first_mismatches}
Every pass loads one tile's coefficients (golden.load_sequence), streams the T inputs and collects T outputs;
the RTL outputs (not the golden ones) feed the host's partial sums and requantization, and each pass is also
compared with golden.array_outputs.
"""
import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from flow.tb.kan_array_tb import pack, unpack_signed
from kan.quantize import QuantModel, layer_passes
from rtl_gen import golden
from rtl_gen.params import KanParams


async def array_pass(dut, p: KanParams, coefs: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, int]:
    """Load coefs (R, C, G+p), stream xs (T, R), drain the pipeline -> ((T, C) outputs, cycles used)."""
    dut.load_en.value = 1
    for word in golden.load_sequence(p, coefs):
        dut.load_data.value = pack(word, p.coef_bits)
        await FallingEdge(dut.sys_clk)
    dut.load_en.value = 0
    got, cycles = [], 0
    while len(got) < len(xs):                        # drive on falling edges, as kan_array_tb does
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


@cocotb.test()
async def kan_inference_matches_golden_model(dut):
    job = json.loads(open(os.environ["KAN_TB_JOB"]).read())
    q = QuantModel.from_dict(job["quant"])
    p = q.tile
    cocotb.start_soon(Clock(dut.sys_clk, 10, unit="ns").start())
    dut.sys_rst.value = 1
    dut.in_valid.value = 0
    dut.load_en.value = 0
    dut.x.value = 0
    dut.load_data.value = 0
    for _ in range(2):
        await FallingEdge(dut.sys_clk)
    dut.sys_rst.value = 0

    steps = layer_passes(q, np.array(job["x"], dtype=np.int64))
    request, passes, cycles, mismatches, first = next(steps), 0, 0, 0, []
    while True:
        layer, block, xs = request
        got, used = await array_pass(dut, p, block, xs)
        expected = golden.array_outputs(p, block, xs)                        # (T, C)
        bad = np.argwhere(got != expected)
        mismatches += len(bad)
        first += [{"pass": passes, "layer": layer, "image": int(t), "column": int(j),
                   "expected": int(expected[t, j]), "got": int(got[t, j])} for t, j in bad[:10 - len(first)]]
        passes, cycles = passes + 1, cycles + used
        try:
            request = steps.send(got)
        except StopIteration as done:
            outputs = done.value
            break
    with open(job["summary"], "w") as fh:
        json.dump({"outputs": outputs.tolist(), "passes": passes, "cycles": cycles, "mismatches": mismatches,
                   "first_mismatches": first}, fh)
    assert mismatches == 0, f"{mismatches} array outputs differ from the golden model: {first[:3]}"
