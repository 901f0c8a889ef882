"""KAN layers in PyTorch: the float recursion (baseline) and two integer layers on the hardware's basis table.

    RecursionLayer   float t in [-1, 1] -> float y: Cox-de Boor basis (N, in, G+p), one matmul (efficient-kan's
                     formulation, the common open-source KAN layer); optional SiLU base as in kan/model.py
    TableLayer       n-bit codes -> integer y: table.py's algorithm with torch ops; the p+1 active coefficient
                     rows are gathered and summed by embedding_bag, so the dense basis is never materialized
    FusedTableLayer  the same in one Triton kernel (fused.py): table read, gather, integer accumulation

Both table layers equal rtl_gen.golden.array_outputs on the whole layer, bit for bit (tests/test_gpu_layers.py).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rtl_gen import golden
from rtl_gen.params import KanParams

from . import table as tab


def wrap(v: torch.Tensor, bits: int) -> torch.Tensor:
    """Two's-complement wrap of int64 sums to `bits` (golden.wrap); a no-op at the automatic width."""
    half = 1 << (bits - 1)
    return ((v + half) & ((1 << bits) - 1)) - half


def to_codes(t: torch.Tensor, input_bits: int) -> torch.Tensor:
    """Float inputs on [-1, 1] -> n-bit codes, the same float64 operations as kan.quantize.to_codes."""
    t = t.to(torch.float64)
    return torch.floor((t + 1.0) * 0.5 * (1 << input_bits)).clamp(0, (1 << input_bits) - 1).to(torch.int64)


class RecursionLayer(nn.Module):
    """Float KAN layer: y = B(t) @ W [+ silu(t) @ base], B by the Cox-de Boor recursion on uniform knots."""

    def __init__(self, coefs: np.ndarray, grid: int, degree: int, base: np.ndarray | None = None,
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        self.grid, self.degree = grid, degree
        knots = torch.arange(-degree, grid + degree + 1, dtype=dtype)              # -p .. G+p in knot units
        self.register_buffer("knots", knots)
        # the grid is right-open (kan/model.py clips just below G): the largest value of dtype below G
        self.register_buffer("u_top", torch.nextafter(torch.tensor(float(grid), dtype=dtype),
                                                      torch.tensor(0.0, dtype=dtype)))
        self.register_buffer("weight", torch.as_tensor(tab.coef_rows(coefs), dtype=dtype))   # (in*(G+p), out)
        # coefs: (in, out, G+p), the golden model's layout
        self.register_buffer("base", None if base is None else torch.as_tensor(base, dtype=dtype))  # (in, out)

    def basis(self, t: torch.Tensor) -> torch.Tensor:
        """(N, in) -> (N, in, G+p)."""
        kv = self.knots
        u = torch.minimum(((t + 1.0) * (0.5 * self.grid)).clamp(min=0.0), self.u_top)[..., None]  # (N, in, 1)
        b = ((u >= kv[:-1]) & (u < kv[1:])).to(u.dtype)                           # (N, in, G+2p): degree 0
        for k in range(1, self.degree + 1):
            left = (u - kv[:-k - 1]) / (kv[k:-1] - kv[:-k - 1])                    # (N, in, G+2p-k)
            right = (kv[k + 1:] - u) / (kv[k + 1:] - kv[1:-k])
            b = left * b[..., :-1] + right * b[..., 1:]                            # (N, in, G+2p-k)
        return b

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        t = t.clamp(-1.0, 1.0)
        y = self.basis(t).flatten(1) @ self.weight                                  # (N, in*(G+p)) @ (.., out)
        return y if self.base is None else y + F.silu(t) @ self.base


class _TableBase(nn.Module):
    """Shared state: formats of the whole layer, the stored half-table, coefficient rows."""

    def __init__(self, tile: KanParams, coefs: np.ndarray, rows_dtype: torch.dtype):
        super().__init__()
        f_in, f_out, _ = coefs.shape
        self.p = tab.layer_params(tile, f_in, f_out)
        self.n_in, self.n_out = f_in, f_out
        self.register_buffer("table", torch.as_tensor(golden.basis_table(self.p), dtype=torch.int32))  # (D, h)
        self.register_buffer("rows", torch.as_tensor(tab.coef_rows(coefs), dtype=rows_dtype))          # (in*(G+p), out)

    def interval_address(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, in) codes -> m, addr (table.interval_address)."""
        p = self.p
        s = x.to(torch.int64) * p.grid
        m = s >> p.input_bits
        return m, (s - (m << p.input_bits)) >> (p.input_bits - p.addr_bits)


class TableLayer(_TableBase):
    """Integer layer, torch ops only: (N, in) codes -> (N, out) int64, equal to golden.array_outputs.

    embedding_bag sums the gathered coefficient rows weighted by the basis values in floating point, over chunks
    of inputs small enough that every partial sum is an exact integer (table.exact_float_chunks); the chunks'
    sums are added in int64, so the result is exact. Chunks are also capped at `chunk_bytes` of coefficient rows,
    so that a chunk's gathers stay in cache (on the development CPU, 1024x1024 at batch 1024 ran several times
    faster in chunks of 128-512 inputs than in one).
    """

    def __init__(self, tile: KanParams, coefs: np.ndarray, chunk_bytes: int = 8 << 20):
        exact = tab.exact_float_chunks(tile, coefs.shape[0])
        if exact is None:
            raise ValueError(f"layer sums need more than 53 bits ({coefs.shape[0]} inputs, {tile.table_bits}-bit "
                             f"table, {tile.coef_bits}-bit coefficients): no exact float accumulation")
        dtype, exact_chunk = exact
        super().__init__(tile, coefs, getattr(torch, dtype))
        row_bytes = self.p.n_coefs * self.n_out * self.rows.element_size()        # one input's coefficient rows
        self.chunk = max(1, min(exact_chunk, chunk_bytes // row_bytes))
        self.register_buffer("first_row", torch.arange(self.n_in) * self.p.n_coefs)          # (in,)
        self.register_buffer("k", torch.arange(self.p.n_active))                            # (p+1,)

    def lookup(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, in) codes -> coefficient row indices and basis values, both (N, in, p+1)."""
        p = self.p
        m, addr = self.interval_address(x)                                          # (N, in)
        stored = self.table[addr]                                                   # (N, in, h)
        mirrored = self.table[p.table_depth - 1 - addr].flip(-1)                    # (N, in, h)
        basis = torch.cat([stored, mirrored], dim=-1)[..., :p.n_active]
        return (self.first_row[:, None] + m[..., None]) + self.k, basis

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idx, basis = self.lookup(x)                                                 # (N, in, p+1) each
        basis = basis.to(self.rows.dtype)
        acc = 0
        for i in range(0, self.n_in, self.chunk):                                   # exact float sums per chunk
            part = F.embedding_bag(idx[:, i:i + self.chunk].flatten(1), self.rows, mode="sum",
                                   per_sample_weights=basis[:, i:i + self.chunk].flatten(1))   # (N, out)
            acc = acc + part.to(torch.int64)
        return wrap(acc, self.p.acc_width)


class FusedTableLayer(_TableBase):
    """Integer layer in one Triton kernel (fused.py): (N, in) codes -> (N, out) int64, equal to golden.

    kernel "mma" (int8 tensor-core dot of a register basis tile, where table.mma_fits) or "gather" (p+1
    coefficient rows per input, any widths); "auto" takes mma where it fits. Needs Triton and either a GPU tensor
    or TRITON_INTERPRET=1 set before kan.gpu.fused is imported (Triton's interpreter runs the same kernels on CPU
    tensors, slowly: a correctness tool, not a benchmark).
    """

    def __init__(self, tile: KanParams, coefs: np.ndarray, kernel: str = "auto"):
        width = torch.int8 if tile.coef_bits <= 8 else torch.int16 if tile.coef_bits <= 16 else torch.int32
        super().__init__(tile, coefs, width)
        self.acc_bits = 32 if self.p.acc_width <= 32 else 64      # int32 wraps mod 2^32: exact below 33 bits
        fits = tab.mma_fits(self.p)
        if kernel == "mma" and not fits:
            raise ValueError(f"mma kernel: needs coefficients <= 8 bits, table <= 8 bits, sums within 32 bits "
                             f"(have {self.p.coef_bits}, {self.p.table_bits}, {self.p.acc_bits_auto})")
        self.kernel = ("mma" if fits else "gather") if kernel == "auto" else kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .fused import table_layer

        acc = table_layer(x, self.table, self.rows, self.p, self.acc_bits, self.kernel)   # (N, out) int32/int64
        return wrap(acc.to(torch.int64), self.p.acc_width)
