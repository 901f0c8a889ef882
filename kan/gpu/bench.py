"""Latency, throughput, speedup and memory of the torch KAN layers on the device at hand (bench/run.py gpu).

Per shape (one layer "INxOUT" or a network "A-B-C"), batch and table width it times, on float inputs in [-1, 1]
to float outputs:
    eager      RecursionLayer network, float32 (Cox-de Boor basis + matmul): the common open-source KAN layer
    compiled   the same module through torch.compile (default mode, dynamic=False, compiled per shape and batch)
    table      TableNetwork 'table' (codes, basis table, embedding_bag gather, exact integer sums, requantization)
    fused-gather, fused-mma   TableNetwork with the Triton kernels (fused.py; GPU only: on CPU, Triton's
               interpreter is a correctness tool, so their columns stay empty; each is checked equal to table)
Latency is the median of timed calls after warm-up (CUDA synchronized); throughput = batch / latency; memory is
the peak of bytes allocated during one call above what was allocated before it (CUDA: max_memory_allocated; CPU:
the profiler's allocation events). Weights are random integers in the coefficient range (timing does not depend
on their values); the formats are the digits model's (G=5, p=3, 8-bit inputs and coefficients, table depth 256).
"""
from __future__ import annotations

import itertools
import math
import re
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from kan.quantize import QuantModel
from rtl_gen.params import KanParams

from . import parse_shape
from .layers import RecursionLayer

FORMATS = KanParams(grid=5, degree=3, input_bits=8, table_bits=3, table_depth=256, coef_bits=8, rows=1, cols=1)
IMPLS = ("eager", "compiled", "table", "fused-gather", "fused-mma")
TABLE_IMPLS = IMPLS[2:]


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda}, torch {torch.__version__})"
    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    return (f"{cpu[1].strip() if cpu else 'CPU'}, {torch.get_num_threads()} torch thread(s) "
            f"(torch {torch.__version__})")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def latency(fn, x, device: torch.device, min_time: float, max_calls: int) -> float:
    """Median seconds of one call, over calls until min_time has passed (at least 3, at most max_calls)."""
    times = []
    while len(times) < 3 or (sum(times) < min_time and len(times) < max_calls):
        sync(device)
        start = time.perf_counter()
        fn(x)
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_bytes(fn, x, device: torch.device) -> int:
    """Peak of bytes allocated during one call, above the allocation before it."""
    if device.type == "cuda":
        sync(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn(x)
        sync(device)
        return torch.cuda.max_memory_allocated(device) - before
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        fn(x)
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                    if e.name() == "[memory]")
    return max(itertools.accumulate((n for _, n in events), initial=0))


@dataclass
class Case:
    shape: str
    widths: list[int]
    coefs: list[np.ndarray]          # per layer (in, out, G+p) ints


def make_case(shape: str, seed: int = 0) -> Case:
    widths = parse_shape(shape)
    rng = np.random.default_rng(seed)
    c = FORMATS.coef_bits
    coefs = [rng.integers(-(1 << (c - 1)), 1 << (c - 1), size=(a, b, FORMATS.n_coefs))
             for a, b in zip(widths[:-1], widths[1:])]
    return Case(shape, widths, coefs)


def recursion_net(case: Case, device) -> torch.nn.Module:
    return torch.nn.Sequential(*[RecursionLayer(c.astype(float), FORMATS.grid, FORMATS.degree)
                                 for c in case.coefs]).to(device).eval()


def table_net(case: Case, bits: int, kind: str, device):
    from .network import TableNetwork

    tile = replace(FORMATS, table_bits=bits)
    scales = [np.full(c.shape[1], 1.0 / c.shape[0]) for c in case.coefs]
    return TableNetwork(QuantModel(tile, case.coefs, scales), kind, device)


def measure(fn, x, device, min_time, max_calls) -> dict:
    start = time.perf_counter()
    fn(x)                                                   # warm-up: compiles, autotunes, fills caches
    sync(device)
    first = time.perf_counter() - start
    fn(x)
    lat = latency(fn, x, device, min_time, max_calls)
    return {"ms": lat * 1e3, "first_s": first, "MiB": peak_bytes(fn, x, device) / 2**20}


def run(shapes: list[str], batches: list[int], bits: list[int], device: torch.device, min_time: float = 0.2,
        max_calls: int = 50, log=print) -> list[dict]:
    """One row per (shape, batch, table bits); recursion columns are measured once per (shape, batch)."""
    has_fused = device.type == "cuda"
    # compile time is a column: no on-disk caches from earlier runs (they turn a 10 s compile into 0.4 s)
    torch._inductor.config.fx_graph_cache = False
    torch._functorch.config.enable_autograd_cache = False
    rows = []
    for shape in shapes:
        case = make_case(shape)
        eager = recursion_net(case, device)
        for batch in batches:
            gen = torch.Generator().manual_seed(batch)
            t = (torch.rand(batch, case.widths[0], generator=gen) * 2 - 1).to(device)
            base = {"shape": shape, "batch": batch}
            with torch.inference_mode():
                rec = {"eager": measure(eager, t, device, min_time, max_calls)}
            torch._dynamo.reset()                           # a fresh compile per shape and batch
            compiled = torch.compile(eager, dynamic=False)
            with torch.inference_mode():
                rec["compiled"] = measure(compiled, t, device, min_time, max_calls)
            log(f"  {shape} batch {batch}: eager {rec['eager']['ms']:.3f} ms, compiled {rec['compiled']['ms']:.3f} ms "
                f"(compile {rec['compiled']['first_s']:.1f} s)")
            for b in bits:
                res = dict(rec)
                with torch.inference_mode():
                    table = table_net(case, b, "table", device)
                    res["table"] = measure(table, t, device, min_time, max_calls)
                    first = table.layers[0]
                    res["table"]["sums"] = (f"{str(first.rows.dtype).removeprefix('torch.')}, "
                                            f"{-(-first.n_in // first.chunk)} chunk(s)")
                    for kind in TABLE_IMPLS[1:] if has_fused else ():
                        fused = table_net(case, b, kind, device)
                        res[kind] = measure(fused, t, device, min_time, max_calls)
                        res[kind]["equal"] = bool(torch.equal(fused(t), table(t)))
                rows.append(row(base, b, batch, res))
                log(f"  {shape} batch {batch} b{b}: " + ", ".join(f"{k} {res[k]['ms']:.3f} ms"
                                                                   for k in TABLE_IMPLS if k in res))
    return rows


def largest_point_summary(rows: list[dict]) -> str:
    """One line: speedups vs the compiled recursion at the largest shape (most weights) and batch, over bits."""
    weights = lambda shape: sum(a * b for a, b in zip(parse_shape(shape)[:-1], parse_shape(shape)[1:]))
    shape = max({r["shape"] for r in rows}, key=weights)
    batch = max(r["batch"] for r in rows if r["shape"] == shape)
    at = [r for r in rows if r["shape"] == shape and r["batch"] == batch]
    parts = []
    for impl in TABLE_IMPLS:
        ratios = [r[f"{impl} vs compiled [x]"] for r in at if not math.isnan(r[f"{impl} vs compiled [x]"])]
        if ratios:
            parts.append(f"{impl} {min(ratios):.2f}x" + (f"..{max(ratios):.2f}x" if len(ratios) > 1 else ""))
    bits = ", ".join(str(r["table bits"]) for r in at)
    return (f"At the largest shape and batch ({shape}, batch {batch}; table bits {bits}), speedup over the "
            f"torch.compile'd recursion: {'; '.join(parts) or 'none measured'}.")


def row(base: dict, bits: int, batch: int, res: dict) -> dict:
    """Latency, speedups, throughput and peak memory of every implementation (NaN where not measured)."""
    get = lambda impl, key: res[impl][key] if impl in res else math.nan
    out = {**base, "table bits": bits}
    out.update({f"{impl} [ms]": get(impl, "ms") for impl in IMPLS})
    out.update({f"{impl} vs {ref} [x]": res[ref]["ms"] / get(impl, "ms")
                for impl in TABLE_IMPLS for ref in ("eager", "compiled")})
    out.update({f"{impl} [samples/s]": batch / (get(impl, "ms") * 1e-3) for impl in IMPLS})
    out.update({f"{impl} peak [MiB]": get(impl, "MiB") for impl in IMPLS})
    out["compile [s]"] = res["compiled"]["first_s"]
    out["table sums"] = res["table"]["sums"]
    fused = [k for k in TABLE_IMPLS[1:] if k in res]
    out["fused == table"] = ("yes" if all(res[k]["equal"] for k in fused) else
                             "NO: " + ", ".join(k for k in fused if not res[k]["equal"])) if fused else ""
    return out
