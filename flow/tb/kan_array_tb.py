"""cocotb testbench of kan_array: loads coefficients, streams inputs, scores against the golden model.

Configured by the JSON file named in $KAN_TB_JOB (written by flow.verify):
  params   KanParams fields           seed, vectors   stimulus
  summary  path where this test writes {vectors, mismatches, first_mismatches, latency, windows}
  corners  (optional, default true) false: random inputs only (the power workload)
  passes   (optional) [{"coefs": (R, C, G+p), "xs": (T, R)}]: these passes instead of the random one (the model
           power workload: a model's real tiles and inputs), each scored against the golden model
  The summary's "windows" hold the simulation times (ps) of each pass's streaming cycles (power.py measures there).
"""
import json
import os

import cocotb
import numpy as np

from flow.tb.driver import array_pass, start
from rtl_gen import golden
from rtl_gen.params import KanParams


def stimulus(p: KanParams, vectors: int, rng: np.random.Generator) -> np.ndarray:
    """Corner inputs (0, max, both sides of every inner knot) on every row, then random ones.

    -> (T, R) unsigned ints.
    """
    top = (1 << p.input_bits) - 1
    knots = [-(-(k << p.input_bits) // p.grid) for k in range(1, p.grid)]   # first x of interval k
    corners = sorted({0, top, *knots, *(k - 1 for k in knots)})
    rolled = [np.roll(corners, -i)[: len(corners)] for i in range(p.rows)]  # rows see different corners
    corner_vecs = np.array(rolled).T                                          # (len(corners), R)
    uniform = np.repeat(np.array(corners)[:, None], p.rows, axis=1)           # all rows on one corner
    random = rng.integers(0, top + 1, size=(vectors, p.rows))
    return np.concatenate([uniform, corner_vecs, random]).astype(np.int64)


@cocotb.test()
async def kan_array_matches_golden_model(dut):
    job = json.loads(open(os.environ["KAN_TB_JOB"]).read())
    p = KanParams(**job["params"])
    rng = np.random.default_rng(job["seed"])
    if "passes" in job:
        passes = [(np.array(s["coefs"], dtype=np.int64), np.array(s["xs"], dtype=np.int64)) for s in job["passes"]]
    else:
        coefs = rng.integers(-(1 << (p.coef_bits - 1)), 1 << (p.coef_bits - 1), size=(p.rows, p.cols, p.n_coefs))
        xs = stimulus(p, job["vectors"], rng)
        if not job.get("corners", True):
            xs = xs[len(xs) - job["vectors"]:]
        passes = [(coefs, xs)]

    await start(dut)
    windows, gots, expects, inputs = [], [], [], []
    for coefs, xs in passes:
        window = {}
        got, _ = await array_pass(dut, p, coefs, xs, window)
        windows.append([window["start"], window["end"]])
        gots.append(got)
        expects.append(golden.array_outputs(p, coefs, xs))                  # (T, C)
        inputs.append(xs)
    got, expected, xs = np.concatenate(gots), np.concatenate(expects), np.concatenate(inputs)
    bad = np.argwhere(got != expected)                                       # (k, 2): vector, column
    first = [{"vector": int(t), "cycle": int(t) + p.latency, "pe": f"pe_{p.rows - 1}_{int(j)}",
              "column": int(j), "x": xs[t].tolist(), "expected": int(expected[t, j]), "got": int(got[t, j])}
             for t, j in bad[:10]]
    for m in first:
        dut._log.error("mismatch at cycle %d (vector %d, x=%s), column %d output of %s: expected %d, got %d",
                       m["cycle"], m["vector"], m["x"], m["column"], m["pe"], m["expected"], m["got"])
    summary = {"vectors": len(xs), "mismatches": len(bad), "first_mismatches": first, "latency": p.latency,
               "windows": windows}
    with open(job["summary"], "w") as fh:
        json.dump(summary, fh, indent=1)
    assert len(bad) == 0, f"{len(bad)} of {got.size} outputs differ from the golden model"
