"""Architecture parameters of the KAN systolic array, independent of any config file.

`flow.config` builds a `KanParams` from a validated YAML config; the generator, the golden
model and the testbench take nothing else, so every consumer sees the same derived widths.
"""
from __future__ import annotations

from dataclasses import dataclass


def signed_width_for(max_magnitude: int) -> int:
    """Smallest two's-complement width w with -2^(w-1) <= -max_magnitude and max_magnitude <= 2^(w-1)-1."""
    return max(2, (max_magnitude).bit_length() + 1)


@dataclass(frozen=True)
class KanParams:
    grid: int          # G: uniform grid intervals over the input range
    degree: int        # p: spline degree (odd)
    input_bits: int    # n: unsigned input width
    table_bits: int    # b: basis-table entry width (unsigned)
    table_depth: int   # D = 2^q: rows of the basis table
    coef_bits: int     # c: signed coefficient width
    rows: int          # R: array rows = KAN layer inputs
    cols: int          # C: array columns = KAN layer outputs
    acc_bits: int | None = None  # A: None = auto (never overflows)

    @property
    def n_coefs(self) -> int:
        """Coefficients per edge: G + p."""
        return self.grid + self.degree

    @property
    def n_active(self) -> int:
        """Non-zero basis values per input: p + 1."""
        return self.degree + 1

    @property
    def table_cols(self) -> int:
        """Stored table columns (p+1)/2; the other half is read at the mirrored address."""
        return (self.degree + 1) // 2

    @property
    def addr_bits(self) -> int:
        return self.table_depth.bit_length() - 1

    @property
    def interval_bits(self) -> int:
        """Width of the interval index m in 0..G-1."""
        return max(1, (self.grid - 1).bit_length())

    @property
    def table_full_scale(self) -> int:
        """Integer code of basis value 1.0 in the table."""
        return (1 << self.table_bits) - 1

    @property
    def acc_bits_auto(self) -> int:
        """Smallest accumulator that cannot overflow: R rows x (p+1) products of b-bit x c-bit."""
        worst = self.rows * self.n_active * self.table_full_scale * (1 << (self.coef_bits - 1))
        return signed_width_for(worst)

    @property
    def acc_width(self) -> int:
        return self.acc_bits if self.acc_bits is not None else self.acc_bits_auto

    @property
    def latency(self) -> int:
        """Clock edges from `x` sampled to `y` valid.

        Row i is registered i+1 times (input register + skew), so PE(i, j) fires on edge i+j+2
        (counting from 0) after the B-spline register; the deskew aligns every column on edge R+C.
        """
        return self.rows + self.cols + 1
