"""cocotb inference of a quantized KAN on kan_array: the host side of kan.quantize.layer_passes, with the RTL
as the array.

Configured by the JSON file named in $KAN_TB_JOB (written by flow.rtl_inference through flow.verify.simulate):
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

from flow.tb.driver import array_pass, start
from kan.quantize import QuantModel, layer_passes
from rtl_gen import golden


@cocotb.test()
async def kan_inference_matches_golden_model(dut):
    job = json.loads(open(os.environ["KAN_TB_JOB"]).read())
    q = QuantModel.from_dict(job["quant"])
    p = q.tile
    await start(dut)

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
