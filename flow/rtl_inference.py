"""Stream real test inputs of a quantized KAN through the generated Verilog (cocotb + Icarus).

The RTL is the array of the model config (rows x cols tile); flow/tb/kan_infer_tb.py runs the same schedule as
the golden inference (kan.quantize.layer_passes: tiles, host partial sums, host requantization between
layers) with the RTL as the array, so equal outputs mean RTL accuracy == reported accuracy.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from kan.accuracy import metric_name
from kan.config import ModelConfig
from kan.model import KanModel, score
from kan.quantize import QuantModel, infer, quantize, to_codes
from kan.train import dataset
from rtl_gen.generator import write_rtl

from .errors import ToolFailed
from .verify import simulate


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


def rtl_report(model: KanModel, cfg: ModelConfig, images: int, work: Path, out_dir: Path) -> tuple[dict, Path]:
    """Stream the first `images` test inputs (0 = all) through the RTL at the config's table_bits and write
    rtl_inference.md (RTL vs golden outputs, scores) to out_dir."""
    ds = dataset(cfg)
    n = images or len(ds.test_t)
    q = quantize(model, cfg.params)
    res = rtl_check(q, ds.kind, ds.test_t[:n], ds.test_y[:n], work)
    metric, p = metric_name(model.meta["task"]), cfg.params
    text = (f"# {cfg.name}: test inputs through the generated Verilog (cocotb + Icarus)\n\n"
            f"- array {p.rows}x{p.cols} (`rtl_gen.generator.write_rtl`), table {p.table_bits} bit, "
            f"inputs {p.input_bits} bit, coefficients {p.coef_bits} bit, accumulator {p.acc_width} bit\n"
            f"- {n} test inputs, {len(q.coefs)} layers in {res['passes']} array passes (tiles), "
            f"{res['cycles']} clock cycles; the host sums partial sums and requantizes between layers\n"
            f"- array outputs differing from golden.array_outputs: {res['mismatches']}\n"
            f"- network outputs RTL == golden model: {'yes, bit-exact' if res['exact'] else 'NO'}\n"
            f"- test {metric}: RTL {res['rtl_score']:.5g}, golden model {res['golden_score']:.5g}\n")
    path = out_dir / "rtl_inference.md"
    path.write_text(text)
    return res, path
