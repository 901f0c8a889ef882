"""Stream real test inputs of a quantized KAN through the generated Verilog (cocotb + Icarus).

The RTL is the array of the model config (rows x cols tile); flow/tb/kan_infer_tb.py runs the same schedule as
the golden inference (kan.quantize.layer_passes: tiles, host partial sums, host requantization between
layers) with the RTL as the array, so equal outputs mean RTL accuracy == reported accuracy.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from flow.errors import ToolFailed
from flow.verify import simulate
from rtl_gen.generator import write_rtl

from .model import score
from .quantize import QuantModel, infer, to_codes


def run_rtl(q: QuantModel, t: np.ndarray, work: Path) -> dict:
    """t: (T, in) float test inputs -> {"outputs" (T, out) from the RTL, "golden" (T, out), "exact", ...}."""
    work = Path(work)
    rtl = write_rtl(q.tile, work / "rtl")
    data, seconds, log = simulate([rtl], work, "flow.tb.kan_infer_tb",
                                  {"quant": q.to_dict(), "x": to_codes(t, q.tile.input_bits).tolist()})
    if data is None:
        raise ToolFailed("cocotb KAN inference", str(log), "the testbench wrote no summary")
    outputs, golden_out = np.array(data["outputs"]), infer(q, t)
    return {"outputs": outputs, "golden": golden_out, "exact": bool(np.array_equal(outputs, golden_out)),
            "passes": data["passes"], "cycles": data["cycles"], "mismatches": data["mismatches"],
            "first_mismatches": data["first_mismatches"], "seconds": seconds, "log": log}


def rtl_check(q: QuantModel, kind: str, t: np.ndarray, target: np.ndarray, work: Path) -> dict:
    """run_rtl plus the test score of the RTL outputs and of the golden outputs on the same images."""
    res = run_rtl(q, t, work)
    res.update(rtl_score=score(kind, res["outputs"], target), golden_score=score(kind, res["golden"], target))
    return res
