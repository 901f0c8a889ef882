"""The sections a design config (flow/config.py) and a model config (kan/config.py) share: the KAN layer
arithmetic (`kan`) and the array (`array`, also written 'RxC'), their cross-checks, and the generator parameters
(rtl_gen.params.KanParams) they make, so a model and a design point can never disagree on what they mean."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rtl_gen.params import KanParams

from .errors import ConfigError
from .keys import schema_key, short

_key = schema_key          # the short name the field declarations below use


@dataclass(frozen=True)
class KanSection:
    grid: int = _key("grid intervals G of every B-spline (uniform knots over the input range); at most "
                     "2^input_bits: a finer grid has intervals that no n-bit input falls in (their coefficients "
                     "are never used, and the testbench's knot corners would lie outside the input range)",
                     5, "intervals", 1, 64)
    degree: int = _key("spline degree p; odd, so the table stores (p+1)/2 symmetric columns", 3, "", 1, 7)
    input_bits: int = _key("width n of the unsigned inputs x", 8, "bits", 4, 16)
    table_bits: int = _key("width b of each basis-table entry; sets every PE multiplier to b x coef_bits",
                           3, "bits", 1, 16)
    table_depth: int = _key("rows D of the basis table (power of two, at most 2^input_bits)", 256, "rows", 2, 65536)
    coef_bits: int = _key("width c of the signed spline coefficients held in each PE", 8, "bits", 2, 16)
    acc_bits: Any = _key("accumulator width A; 'auto' = smallest width that can never overflow",
                         "auto", "bits", 2, 64, kind=int, auto=True)


@dataclass(frozen=True)
class ArraySection:
    rows: int = _key("array rows R = KAN layer inputs (one B-spline unit per row)", 4, "", 1, 32)
    cols: int = _key("array columns C = KAN layer outputs", 4, "", 1, 32)


def kan_params(kan: KanSection, array: ArraySection) -> KanParams:
    """The generator parameters of a `kan` and an `array` section."""
    return KanParams(grid=kan.grid, degree=kan.degree, input_bits=kan.input_bits, table_bits=kan.table_bits,
                     table_depth=kan.table_depth, coef_bits=kan.coef_bits, rows=array.rows, cols=array.cols,
                     acc_bits=None if kan.acc_bits == "auto" else kan.acc_bits)


def array_shorthand(text: str) -> dict | None:
    """{rows, cols} of an 'RxC' string, or None."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*[xX]\s*(\d{1,6})\s*", text)
    return {"rows": int(match[1]), "cols": int(match[2])} if match else None


def parse_array(where: str, path: str, text: Any) -> dict:
    """{rows, cols} of the array written as 'RxC'; ConfigError otherwise."""
    rows_cols = array_shorthand(text) if isinstance(text, str) else None
    if rows_cols is None:
        raise ConfigError(f"{where}: {path}: must be 'RxC' such as '4x4' or {{rows: R, cols: C}} (got {short(text)})")
    return rows_cols


def check_kan(k: KanSection, where: str) -> None:
    """The rules between the `kan` keys (each key alone is checked by its schema entry)."""
    if k.degree % 2 == 0:
        raise ConfigError(f"{where}: kan.degree: must be odd in 1..7 for symmetric table halves (got {k.degree})")
    if k.table_depth & (k.table_depth - 1) or k.table_depth > 1 << k.input_bits:
        raise ConfigError(f"{where}: kan.table_depth: must be a power of two <= 2^input_bits = "
                          f"{1 << k.input_bits} (got {k.table_depth})")
    if k.grid > 1 << k.input_bits:
        raise ConfigError(f"{where}: kan.grid: must be <= 2^input_bits = {1 << k.input_bits}, so that every grid "
                          f"interval holds an input value (got {k.grid})")


def acc_bits_overflow(k: KanSection, params: KanParams, where: str) -> str | None:
    """The warning for an accumulator narrower than 'auto' (it can overflow), or None."""
    if k.acc_bits != "auto" and k.acc_bits < params.acc_bits_auto:
        return f"{where}: kan.acc_bits: {k.acc_bits} bits can overflow; 'auto' would be {params.acc_bits_auto}"
    return None
