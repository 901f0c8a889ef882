"""The fused table kernel (Triton): table read, coefficient gather and integer accumulation in one pass.

One program computes a (BLOCK_N, BLOCK_J) tile of outputs. For each input i it loads the tile's BLOCK_N codes,
computes interval and table row (table.interval_address), reads the p+1 basis values from the stored half-table
(mirrored for k >= (p+1)/2), gathers the p+1 coefficient rows i*(G+p) + m + k restricted to the tile's outputs
and accumulates basis * coefficient in int32 (int64 for accumulators wider than 32 bits). Nothing but the
output tile is written. On a GPU the block sizes are autotuned per layer shape; under TRITON_INTERPRET=1 (CPU
tensors) one fixed configuration runs.
"""
from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

from rtl_gen.params import KanParams

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


@triton.jit
def _table_layer_kernel(x_ptr, table_ptr, rows_ptr, out_ptr, N, N_IN, N_OUT, stride_xn, stride_xi,
                        GRID: tl.constexpr, INPUT_BITS: tl.constexpr, ADDR_BITS: tl.constexpr,
                        DEPTH: tl.constexpr, HALF: tl.constexpr, DEGREE: tl.constexpr, N_COEFS: tl.constexpr,
                        ACC64: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_J: tl.constexpr):
    acc_type = tl.int64 if ACC64 else tl.int32
    rn = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)                     # (BLOCK_N,) samples
    rj = tl.program_id(1) * BLOCK_J + tl.arange(0, BLOCK_J)                     # (BLOCK_J,) outputs
    n_ok, j_ok = rn < N, rj < N_OUT
    tile_ok = n_ok[:, None] & j_ok[None, :]
    acc = tl.zeros((BLOCK_N, BLOCK_J), dtype=acc_type)
    for i in range(N_IN):
        x = tl.load(x_ptr + rn * stride_xn + i * stride_xi, mask=n_ok, other=0).to(tl.int32)
        s = x * GRID
        m = s >> INPUT_BITS                                                     # interval
        addr = (s - (m << INPUT_BITS)) >> (INPUT_BITS - ADDR_BITS)             # table row
        first = i * N_COEFS + m                                                 # row of coefficient m
        for k in tl.static_range(DEGREE + 1):
            if k < HALF:
                basis = tl.load(table_ptr + addr * HALF + k, mask=n_ok, other=0)
            else:
                basis = tl.load(table_ptr + (DEPTH - 1 - addr) * HALF + (DEGREE - k), mask=n_ok, other=0)
            coef = tl.load(rows_ptr + (first + k)[:, None] * N_OUT + rj[None, :], mask=tile_ok, other=0)
            acc += basis.to(acc_type)[:, None] * coef.to(acc_type)
    tl.store(out_ptr + rn[:, None] * N_OUT + rj[None, :], acc, mask=tile_ok)


_CONFIGS = [triton.Config({"BLOCK_N": bn, "BLOCK_J": bj}, num_warps=w)
            for bn, bj, w in ((16, 64, 2), (32, 64, 4), (64, 64, 4), (32, 128, 4), (64, 128, 8), (128, 64, 8),
                              (128, 128, 8))]
_tuned_kernel = triton.autotune(_CONFIGS, key=["N", "N_IN", "N_OUT", "ACC64"])(_table_layer_kernel)


def table_layer(x: torch.Tensor, table: torch.Tensor, rows: torch.Tensor, p: KanParams, acc_bits: int):
    """x (N, in) integer codes, table (D, (p+1)/2) int32, rows (in*(G+p), out) -> (N, out) int32/int64."""
    n, n_in = x.shape
    n_out = rows.shape[1]
    out = torch.empty((n, n_out), dtype=torch.int64 if acc_bits > 32 else torch.int32, device=x.device)
    consts = dict(GRID=p.grid, INPUT_BITS=p.input_bits, ADDR_BITS=p.addr_bits, DEPTH=p.table_depth,
                  HALF=p.table_cols, DEGREE=p.degree, N_COEFS=p.n_coefs, ACC64=acc_bits > 32)
    args = (x, table, rows.contiguous(), out, n, n_in, n_out, x.stride(0), x.stride(1))
    if INTERPRET or x.device.type != "cuda":
        if not INTERPRET:
            raise RuntimeError("the fused kernel needs a CUDA tensor, or TRITON_INTERPRET=1 set before "
                               "kan.gpu.fused is imported (Triton's interpreter, CPU tensors)")
        # the interpreter's cost is per operation, not per element: large blocks, few programs
        block_n, block_j = min(128, triton.next_power_of_2(n)), min(64, triton.next_power_of_2(n_out))
        grid = (triton.cdiv(n, block_n), triton.cdiv(n_out, block_j))
        _table_layer_kernel[grid](*args, **consts, BLOCK_N=block_n, BLOCK_J=block_j)
    else:
        grid = lambda meta: (triton.cdiv(n, meta["BLOCK_N"]), triton.cdiv(n_out, meta["BLOCK_J"]))  # noqa: E731
        _tuned_kernel[grid](*args, **consts)
    return out
