"""The basis-table algorithm of the torch and Triton layers, in numpy (no torch needed).

For the input code x (n bits) of input i, with T = golden.basis_table(p) ((D, h) entries, h = (p+1)/2 stored
columns, D = 2^q rows):

    s = x * G,  m = s >> n,  addr = (s - (m << n)) >> (n - q)       interval and table row (golden.bspline_unit)
    basis_k = T[addr, k]          for k <  h                        stored half
            = T[D-1-addr, p-k]    for k >= h                        mirrored half: B_{p-k}(u) = B_k(1-u)
    acc_j  += sum_k basis_k * coef_rows[i*(G+p) + m + k, j]         p+1 coefficient rows gathered per input

The dense (batch, in, G+p) basis is never formed: only the p+1 rows the interval selects are read. Sums are
exact integers, wrapped to the accumulator width at the end as golden.array_outputs does. layers.py and fused.py
run the same steps; tests/test_gpu_table.py checks this module bit-exact against golden.array_outputs.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from rtl_gen import golden
from rtl_gen.params import KanParams


def layer_params(tile: KanParams, n_in: int, n_out: int) -> KanParams:
    """A whole layer as one array: the tile's formats, rows = inputs, cols = outputs."""
    return replace(tile, rows=n_in, cols=n_out)


def coef_rows(coefs: np.ndarray) -> np.ndarray:
    """(in, out, G+p) -> (in*(G+p), out): row i*(G+p) + k holds coefficient k of every edge leaving input i
    (the same flat layout as KanModel.forward's matmul), so one gathered row feeds every output at once."""
    f_in, f_out, k = coefs.shape
    return np.ascontiguousarray(np.asarray(coefs).transpose(0, 2, 1).reshape(f_in * k, f_out))


def interval_address(p: KanParams, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unsigned n-bit codes (any shape) -> (interval m, table row addr), both of x's shape."""
    s = np.asarray(x, dtype=np.int64) * p.grid
    m = s >> p.input_bits
    return m, (s - (m << p.input_bits)) >> (p.input_bits - p.addr_bits)


def table_read(p: KanParams, table: np.ndarray, addr: np.ndarray) -> np.ndarray:
    """The p+1 basis values at row addr of the stored half-table: addr's shape + (p+1,)."""
    stored = table[addr]                                                         # (..., h): k = 0..h-1
    mirrored = table[p.table_depth - 1 - addr][..., ::-1]                        # (..., h): k = h..p
    return np.concatenate([stored, mirrored], axis=-1)[..., :p.n_active]


def layer_accumulate(p: KanParams, coefs: np.ndarray, x: np.ndarray, table: np.ndarray | None = None):
    """Integer layer outputs, one input at a time as the fused kernel runs: (N, in) codes -> (N, out) ints.

    `p` gives the formats (its rows/cols are ignored: the layer's size comes from coefs (in, out, G+p)); the
    sum is wrapped to the accumulator width of the whole layer as one array (layer_params).
    """
    table = golden.basis_table(p) if table is None else table
    rows = coef_rows(coefs).astype(np.int64)                                     # (in*(G+p), out)
    f_in, f_out, _ = coefs.shape
    m, addr = interval_address(p, x)                                             # (N, in) each
    basis = table_read(p, table, addr)                                           # (N, in, p+1)
    acc = np.zeros((len(x), f_out), dtype=np.int64)                              # (N, out)
    for i in range(f_in):
        first = i * p.n_coefs + m[:, i]                                          # (N,) row of coefficient m
        for k in range(p.n_active):
            acc += basis[:, i, k, None] * rows[first + k]                        # (N, 1) * (N, out)
    return golden.wrap(acc, layer_params(p, f_in, f_out).acc_width)


def exact_float_chunks(p: KanParams, n_in: int) -> tuple[str, int] | None:
    """(float type, inputs per chunk) in which a layer's partial sums over a chunk of inputs are exact integers.

    One input adds at most (p+1) * (2^b - 1) * 2^(c-1) in magnitude (acc_bits_auto's bound for one row), so any
    partial sum over k inputs, in any order, is an integer below k times that: exact in float32 while below 2^24,
    in float64 while below 2^53. float32 is preferred (vectorized, and half the bytes), in chunks of inputs whose
    sums are then added as int64; float64 only when one input alone can reach 2^24. None: no exact float type.
    """
    per_input = p.n_active * p.table_full_scale * (1 << (p.coef_bits - 1))
    if per_input < 1 << 24:
        return "float32", min(n_in, ((1 << 24) - 1) // per_input)
    return ("float64", n_in) if per_input * n_in < 1 << 53 else None


def mma_fits(p: KanParams) -> bool:
    """Limits of the fused mma kernel (fused.py): int8 coefficients, a basis that int8 holds in at most two parts
    (7 bits + the top bit of an 8-bit table), and sums that cannot leave int32 whatever the accumulator width:
    the int8 tensor-core instruction saturates (PTX mma ... satfinite) instead of wrapping, so a narrower
    accumulator is wrapped afterwards, from the exact sum."""
    return p.coef_bits <= 8 and p.table_bits <= 8 and p.acc_bits_auto <= 32
