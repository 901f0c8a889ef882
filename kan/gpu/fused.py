"""The fused table kernels (Triton): table read, coefficients and integer accumulation in one pass.

Both compute a (BLOCK_N, BLOCK_J) tile of outputs per program and write nothing but that tile.

gather  For each input i: the tile's BLOCK_N codes -> interval and table row (table.interval_address), the p+1
        basis values from the stored half-table (mirrored for k >= (p+1)/2), the p+1 coefficient rows
        i*(G+p) + m + k restricted to the tile's outputs, acc += basis * coefficient in int32 (int64 for
        accumulators wider than 32 bits). Any widths.
mma     For each block of BLOCK_I inputs: the same table reads placed at columns i*(G+p) + m + k of a
        (BLOCK_N, BLOCK_I*(G+p)) basis tile that lives only in registers (zeros elsewhere), then one int8 x int8
        -> int32 tensor-core dot with the block's coefficient rows (every G+p, not only the p+1 active: twice
        the multiplies on units far faster than the gather's). Needs 8-bit coefficients, a table of at most
        8 bits (8 bits: two dots, low 7 bits and top bit, as int8 holds 0..127) and sums that fit int32
        (table.mma_fits: the instruction saturates, it does not wrap).
Sums equal golden.array_outputs: the caller wraps them to the accumulator width (gather's int32 adds wrap mod
2^32, so a narrower accumulator comes out the same; mma's sums never leave int32).
On a GPU the block sizes are autotuned per layer shape; under TRITON_INTERPRET=1 (CPU tensors) one fixed
configuration runs.
"""
from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

from rtl_gen.params import KanParams

from .table import mma_fits

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


@triton.jit
def _table_layer_mma_kernel(x_ptr, table_ptr, rows_ptr, out_ptr, N, N_IN, N_OUT, stride_xn, stride_xi,
                            GRID: tl.constexpr, INPUT_BITS: tl.constexpr, ADDR_BITS: tl.constexpr,
                            DEPTH: tl.constexpr, HALF: tl.constexpr, DEGREE: tl.constexpr, N_COEFS: tl.constexpr,
                            COEF_SLOTS: tl.constexpr, SPLIT_TOP_BIT: tl.constexpr,
                            BLOCK_N: tl.constexpr, BLOCK_I: tl.constexpr, BLOCK_J: tl.constexpr):
    rn = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)                     # (BLOCK_N,) samples
    rj = tl.program_id(1) * BLOCK_J + tl.arange(0, BLOCK_J)                     # (BLOCK_J,) outputs
    slot = tl.arange(0, COEF_SLOTS)                                             # coefficient g, padded to 2^k
    n_ok, j_ok = rn < N, rj < N_OUT
    acc = tl.zeros((BLOCK_N, BLOCK_J), dtype=tl.int32)
    for i0 in range(0, N_IN, BLOCK_I):
        ri = i0 + tl.arange(0, BLOCK_I)                                         # (BLOCK_I,) inputs
        i_ok = ri < N_IN
        x = tl.load(x_ptr + rn[:, None] * stride_xn + ri[None, :] * stride_xi,
                    mask=n_ok[:, None] & i_ok[None, :], other=0).to(tl.int32)   # (BLOCK_N, BLOCK_I)
        s = x * GRID
        m = s >> INPUT_BITS
        addr = (s - (m << INPUT_BITS)) >> (INPUT_BITS - ADDR_BITS)
        k = slot[None, None, :] - m[:, :, None]                                 # (BLOCK_N, BLOCK_I, SLOTS)
        entry = tl.where(k < HALF, addr[:, :, None] * HALF + k, (DEPTH - 1 - addr)[:, :, None] * HALF + DEGREE - k)
        active = (k >= 0) & (k <= DEGREE) & i_ok[None, :, None]
        basis = tl.load(table_ptr + entry, mask=active, other=0)                # (BLOCK_N, BLOCK_I, SLOTS) int32
        basis = tl.reshape(basis, (BLOCK_N, BLOCK_I * COEF_SLOTS))
        row = tl.reshape(ri[:, None] * N_COEFS + slot[None, :], (BLOCK_I * COEF_SLOTS,))
        row_ok = tl.reshape(i_ok[:, None] & (slot[None, :] < N_COEFS), (BLOCK_I * COEF_SLOTS,))
        coef = tl.load(rows_ptr + row[:, None] * N_OUT + rj[None, :], mask=row_ok[:, None] & j_ok[None, :],
                       other=0)                                                 # (BLOCK_I*SLOTS, BLOCK_J) int8
        acc = tl.dot((basis & 127).to(tl.int8), coef, acc, out_dtype=tl.int32)
        if SPLIT_TOP_BIT:
            acc += tl.dot((basis >> 7).to(tl.int8), coef, out_dtype=tl.int32) << 7
    tl.store(out_ptr + rn[:, None] * N_OUT + rj[None, :], acc, mask=n_ok[:, None] & j_ok[None, :])


_CONFIGS = [triton.Config({"BLOCK_N": bn, "BLOCK_J": bj}, num_warps=w)
            for bn, bj, w in ((16, 64, 2), (32, 64, 4), (64, 64, 4), (32, 128, 4), (64, 128, 8), (128, 64, 8),
                              (128, 128, 8))]
_tuned_kernel = triton.autotune(_CONFIGS, key=["N", "N_IN", "N_OUT", "ACC64"])(_table_layer_kernel)
_MMA_CONFIGS = [triton.Config({"BLOCK_N": bn, "BLOCK_I": bi, "BLOCK_J": bj}, num_warps=w, num_stages=st)
                for bn, bi, bj, w, st in ((16, 8, 64, 4, 2), (64, 8, 64, 4, 3), (64, 16, 64, 4, 3),
                                          (128, 8, 128, 8, 3), (128, 16, 128, 8, 3), (64, 16, 128, 4, 4),
                                          (128, 32, 64, 8, 3))]
_tuned_mma_kernel = triton.autotune(_MMA_CONFIGS, key=["N", "N_IN", "N_OUT", "SPLIT_TOP_BIT"])(
    _table_layer_mma_kernel)
KERNEL_CONFIGS = {"gather": _CONFIGS, "mma": _MMA_CONFIGS}          # what the autotuner chooses from on a GPU


def interpreter_config(kernel: str, n: int, n_out: int) -> triton.Config:
    """One configuration for the interpreter, whose cost is per operation, not per element: large blocks, few
    programs (tl.dot needs every side >= 16)."""
    low = 16 if kernel == "mma" else 1
    blocks = {"BLOCK_N": min(128, max(low, triton.next_power_of_2(n))),
              "BLOCK_J": min(64, max(low, triton.next_power_of_2(n_out)))}
    return triton.Config({**blocks, "BLOCK_I": 16} if kernel == "mma" else blocks)


def table_layer(x: torch.Tensor, table: torch.Tensor, rows: torch.Tensor, p: KanParams, acc_bits: int,
                kernel: str = "gather", config: triton.Config | None = None):
    """x (N, in) integer codes, table (D, (p+1)/2) int32, rows (in*(G+p), out) -> (N, out) int32/int64.

    kernel: "gather" (any widths) or "mma" (mma_fits(p); rows int8). config: one of KERNEL_CONFIGS[kernel] instead
    of autotuning (GPU) or interpreter_config (interpreter)."""
    n, n_in = x.shape
    n_out = rows.shape[1]
    if not INTERPRET and x.device.type != "cuda":
        raise RuntimeError("the fused kernel needs a CUDA tensor, or TRITON_INTERPRET=1 set before "
                           "kan.gpu.fused is imported (Triton's interpreter, CPU tensors)")
    consts = dict(GRID=p.grid, INPUT_BITS=p.input_bits, ADDR_BITS=p.addr_bits, DEPTH=p.table_depth,
                  HALF=p.table_cols, DEGREE=p.degree, N_COEFS=p.n_coefs)
    if kernel == "mma":
        if not mma_fits(p) or rows.dtype != torch.int8:
            raise ValueError(f"mma kernel: needs coefficients <= 8 bits, table <= 8 bits, sums within 32 bits "
                             f"(have {p.coef_bits}, {p.table_bits}, {p.acc_bits_auto})")
        out = torch.empty((n, n_out), dtype=torch.int32, device=x.device)
        consts.update(COEF_SLOTS=triton.next_power_of_2(p.n_coefs), SPLIT_TOP_BIT=p.table_bits == 8)
        plain, tuned = _table_layer_mma_kernel, _tuned_mma_kernel
    else:
        out = torch.empty((n, n_out), dtype=torch.int64 if acc_bits > 32 else torch.int32, device=x.device)
        consts["ACC64"] = acc_bits > 32
        plain, tuned = _table_layer_kernel, _tuned_kernel
    args = (x, table, rows.contiguous(), out, n, n_in, n_out, x.stride(0), x.stride(1))
    grid = lambda meta: (triton.cdiv(n, meta["BLOCK_N"]), triton.cdiv(n_out, meta["BLOCK_J"]))
    config = interpreter_config(kernel, n, n_out) if config is None and INTERPRET else config
    if config is None:
        tuned[grid](*args, **consts)
    else:
        plain[grid(config.kwargs)](*args, **consts, **config.kwargs, num_warps=config.num_warps,
                                   num_stages=config.num_stages)
    return out


def compile_for_gpu(kernel: str, p: KanParams, arch: int = 90, acc_bits: int = 32, **blocks) -> dict[str, str]:
    """Compile one kernel ahead of time for CUDA compute capability `arch` (90 = H100) without a GPU, with
    Triton's own ptxas: -> {"ttir", "ttgir", "llir", "ptx", ...: text, "cubin": hex}. Proves on a machine
    without a GPU that the kernel compiles, and shows which instructions it uses (the mma kernel: int8 wgmma)."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    if INTERPRET:
        raise RuntimeError("compile_for_gpu: TRITON_INTERPRET=1 replaced the kernels by the interpreter's")
    fn = _table_layer_mma_kernel if kernel == "mma" else _table_layer_kernel
    consts = dict(GRID=p.grid, INPUT_BITS=p.input_bits, ADDR_BITS=p.addr_bits, DEPTH=p.table_depth,
                  HALF=p.table_cols, DEGREE=p.degree, N_COEFS=p.n_coefs)
    config = (_MMA_CONFIGS if kernel == "mma" else _CONFIGS)[0]
    if kernel == "mma":
        consts.update(COEF_SLOTS=triton.next_power_of_2(p.n_coefs), SPLIT_TOP_BIT=p.table_bits == 8)
    else:
        consts["ACC64"] = acc_bits > 32
    consts.update({**config.kwargs, **blocks})
    out_type = "*i64" if kernel == "gather" and acc_bits > 32 else "*i32"
    rows_type = "*i8" if p.coef_bits <= 8 else "*i16" if p.coef_bits <= 16 else "*i32"
    signature = {"x_ptr": "*i64", "table_ptr": "*i32", "rows_ptr": rows_type, "out_ptr": out_type,
                 **{name: "i32" for name in ("N", "N_IN", "N_OUT", "stride_xn", "stride_xi")},
                 **{name: "constexpr" for name in consts}}
    src = ASTSource(fn=fn, signature=signature, constexprs={(fn.arg_names.index(k),): v for k, v in consts.items()})
    compiled = triton.compile(src, target=GPUTarget("cuda", arch, 32),
                              options={"num_warps": config.num_warps, "num_stages": config.num_stages})
    return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in compiled.asm.items()}
