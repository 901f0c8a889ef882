"""Bit-exact integer model of the KAN systolic array, plus a float reference.

This is the one source of truth: the generator takes its basis table from `basis_table`, the
cocotb testbench uses `array_outputs` as its scoreboard, and the KAN model runs its integer
inference through `array_outputs` too.

Number formats (all integers):
  x      unsigned n-bit input; the grid spans the whole input range [0, 2^n).
  s      = x * G, the input in knot units scaled by 2^n: knot m sits at s = m * 2^n (exact).
  m      interval index in 0..G-1 = number of inner knots <= s.
  addr   top q bits of the position inside the interval (s - m*2^n), D = 2^q table rows.
  basis  p+1 unsigned b-bit values; 2^b - 1 codes the value 1.0.
  coef   signed c-bit; edge (i, j) holds G + p of them.
  y      signed A-bit sums (two's-complement wrap at A bits, as the hardware does).
"""
from __future__ import annotations

import numpy as np

from .params import KanParams


# ---------------------------------------------------------------- float reference
def cox_de_boor(x: np.ndarray, knots: np.ndarray, degree: int) -> np.ndarray:
    """Float B-spline basis by the Cox-de Boor recursion.

    x: (N,) points, knots: (K,) non-decreasing -> (N, K - degree - 1) basis values.
    """
    x = np.asarray(x, dtype=float)[:, None]                                   # (N, 1)
    t = np.asarray(knots, dtype=float)
    basis = ((x >= t[:-1]) & (x < t[1:])).astype(float)                       # (N, K-1), degree 0
    for k in range(1, degree + 1):
        left_den = t[k:-1] - t[:-k - 1]
        right_den = t[k + 1:] - t[1:-k]
        left = np.divide(x - t[:-k - 1], left_den, out=np.zeros_like(basis[:, :-1]), where=left_den != 0)
        right = np.divide(t[k + 1:] - x, right_den, out=np.zeros_like(basis[:, :-1]), where=right_den != 0)
        basis = left * basis[:, :-1] + right * basis[:, 1:]                   # (N, K-1-k)
    return basis


def uniform_knots(p: KanParams) -> np.ndarray:
    """Extended uniform knot vector in knot units: -p .. G + p (G + 2p + 1 knots)."""
    return np.arange(-p.degree, p.grid + p.degree + 1, dtype=float)


def segment_values(u: np.ndarray, degree: int) -> np.ndarray:
    """Values of the p+1 non-zero uniform B-splines at local position u in [0, 1).

    (N,) -> (N, p+1); column j is the basis function that starts j intervals to the left.
    """
    # Interval [p, p+1) of a knot vector 0..2p+1 sees exactly basis functions 0..p.
    knots = np.arange(0, 2 * degree + 2, dtype=float)
    return cox_de_boor(np.asarray(u, dtype=float) + degree, knots, degree)


# ---------------------------------------------------------------- integer model
def basis_table(p: KanParams) -> np.ndarray:
    """Quantized basis table, (D, (p+1)/2) unsigned b-bit ints.

    Row a samples the interval at its midpoint u = (a + 0.5) / D, so the symmetry
    B_{p-j}(u) = B_j(1 - u) maps to the mirrored address D-1-a exactly.
    """
    u = (np.arange(p.table_depth) + 0.5) / p.table_depth                      # (D,)
    vals = segment_values(u, p.degree)[:, :p.table_cols]                      # (D, (p+1)/2)
    return np.rint(vals * p.table_full_scale).astype(np.int64)


def expand_table(p: KanParams, table: np.ndarray | None = None) -> np.ndarray:
    """Full (D, p+1) lookup: column j for j < (p+1)/2 is stored, the rest read mirrored."""
    table = basis_table(p) if table is None else table
    mirrored = table[::-1, ::-1]                                              # T[D-1-a][p-j]
    return np.concatenate([table, mirrored], axis=1)


def bspline_unit(p: KanParams, x: np.ndarray, table: np.ndarray | None = None):
    """Interval search + table lookup for unsigned inputs x (any shape).

    Returns (m, basis): m has x's shape, basis has x's shape + (p+1,).
    """
    x = np.asarray(x, dtype=np.int64)
    s = x * p.grid
    m = s >> p.input_bits                                                     # knots at m * 2^n
    frac = s - (m << p.input_bits)
    addr = frac >> (p.input_bits - p.addr_bits)
    return m, expand_table(p, table)[addr]


def wrap(v: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap to `bits`, as an A-bit register holds the sum."""
    half = 1 << (bits - 1)
    return ((np.asarray(v, dtype=np.int64) + half) & ((1 << bits) - 1)) - half


def edge_outputs(p: KanParams, coefs: np.ndarray, x: np.ndarray, table: np.ndarray | None = None):
    """Per-edge spline values phi_ij(x_i) = sum_k basis_k * coef[i, j, m + k].

    coefs: (R, C, G+p) signed ints, x: (T, R) unsigned ints -> (T, R, C) ints (unwrapped).
    """
    m, basis = bspline_unit(p, x, table)                                      # (T, R), (T, R, p+1)
    idx = m[..., None] + np.arange(p.n_active)                                # (T, R, p+1)
    rows = np.arange(p.rows)[None, :, None]                                   # (1, R, 1)
    active = coefs.transpose(0, 2, 1)[rows, idx]                              # (T, R, p+1, C)
    return np.einsum("trk,trkc->trc", basis, active)


def array_outputs(p: KanParams, coefs: np.ndarray, x: np.ndarray, table: np.ndarray | None = None):
    """Column sums y_j = sum_i phi_ij(x_i), wrapped to the accumulator width.

    coefs: (R, C, G+p), x: (T, R) -> (T, C).
    """
    coefs = np.asarray(coefs, dtype=np.int64)
    assert coefs.shape == (p.rows, p.cols, p.n_coefs), coefs.shape
    return wrap(edge_outputs(p, coefs, x, table).sum(axis=1), p.acc_width)


def load_sequence(p: KanParams, coefs: np.ndarray) -> np.ndarray:
    """Words for the per-column load chain, (R * (G+p), C), first word first.

    Each PE shifts coef[k] <- coef[k+1] <- load_in and passes coef[0] south, so the first
    word ends in the bottom PE's coef[0]: bottom row first, coefficient 0 first.
    """
    coefs = np.asarray(coefs, dtype=np.int64)
    return coefs[::-1].transpose(0, 2, 1).reshape(p.rows * p.n_coefs, p.cols)


def table_error(p: KanParams, samples: int = 4096) -> dict:
    """Quantization error of the table against the float basis, in units of 1.0.

    Two figures: at the table's own sample points (pure value quantization) and over a dense
    u grid (value + address quantization), for the report.
    """
    lut = expand_table(p) / p.table_full_scale                                 # (D, p+1)
    mid = (np.arange(p.table_depth) + 0.5) / p.table_depth
    u = (np.arange(samples) + 0.5) / samples
    dense_addr = np.minimum((u * p.table_depth).astype(int), p.table_depth - 1)
    return {
        "max_abs_err_at_samples": float(np.abs(lut - segment_values(mid, p.degree)).max()),
        "max_abs_err_dense": float(np.abs(lut[dense_addr] - segment_values(u, p.degree)).max()),
        "rms_err_dense": float(np.sqrt(((lut[dense_addr] - segment_values(u, p.degree)) ** 2).mean())),
    }
