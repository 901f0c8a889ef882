"""Migen generator of the KAN systolic array (KAN-SAs / KANtize architecture).

Three Verilog modules, written to one file in this order:

  kan_bspline  one per array row: interval search + symmetric basis table.
      in  x[n]                       unsigned input of this row
      out m[interval_bits]           interval index 0..G-1          (registered)
      out basis_0 .. basis_p [b]     the p+1 non-zero basis values  (registered)

  kan_pe       one per array cell, weight-stationary, G+p coefficients.
      in  m_in, basis_in_0..p        from the west (B-spline unit or previous PE)
      in  psum_in[A] (signed)        from the north (0 in row 0)
      in  load_en, load_in[c]        coefficient load chain from the north
      out m_out, basis_out_0..p      to the east                     (registered)
      out psum_out[A]                psum_in + sum_k basis_k * coef[m + k]  (registered)
      out load_out[c]                coef[0], to the south

  kan_array    the top level.
      in  x[R*n]        row i at bits [i*n +: n]; sampled every cycle
      in  in_valid      marks a valid x
      in  load_en       shift one word into every column's load chain
      in  load_data[C*c] column j at bits [j*c +: c], see golden.load_sequence
      out y[C*A]        column j at bits [j*A +: A], signed
      out out_valid     in_valid delayed by the latency (R + C + 1 cycles)
      clock sys_clk, reset sys_rst (only the valid pipeline is reset)

All datapath registers are reset-less: only `out_valid` needs a defined reset value.
"""
from __future__ import annotations

from functools import reduce
from operator import add
from pathlib import Path

from migen import Array, Case, ClockSignal, If, Instance, Module, ResetSignal, Signal
from migen.fhdl import verilog

from . import golden
from .params import KanParams

TOP = "kan_array"


def _sig(width, name, signed=False, reset_less=True):
    return Signal((width, signed), name_override=name, reset_less=reset_less)


class KanBspline(Module):
    def __init__(self, p: KanParams, table=None):
        # interface
        self.x = _sig(p.input_bits, "x")
        self.m = _sig(p.interval_bits, "m")
        self.basis = [_sig(p.table_bits, f"basis_{j}") for j in range(p.n_active)]
        self.ios = {self.x, self.m, *self.basis}

        # logic
        n = p.input_bits
        s = _sig(n + p.grid.bit_length(), "s")               # x in knot units, scaled by 2^n
        self.comb += s.eq(self.x * p.grid)
        # Parallel comparators against the inner knots m * 2^n; their count is the interval.
        above = [s >= (k << n) for k in range(1, p.grid)]
        m_next = _sig(p.interval_bits, "m_next")
        self.comb += m_next.eq(reduce(add, above) if above else 0)
        # Knots are multiples of 2^n, so the position inside the interval is s mod 2^n.
        addr = _sig(p.addr_bits, "addr")
        self.comb += addr.eq(s[n - p.addr_bits:n])
        mirrored = _sig(p.addr_bits, "addr_mirrored")
        self.comb += mirrored.eq(~addr)                      # D-1-a

        table = golden.basis_table(p) if table is None else table   # (D, (p+1)/2)
        h = p.table_cols
        for j in range(h):
            # Column j serves basis j at addr and basis p-j at the mirrored address.
            for out, a in ((self.basis[j], addr), (self.basis[p.degree - j], mirrored)):
                self.sync += Case(a, {r: out.eq(int(table[r, j])) for r in range(p.table_depth)})
        self.sync += self.m.eq(m_next)


class KanPE(Module):
    def __init__(self, p: KanParams):
        A, c = p.acc_width, p.coef_bits
        # interface
        self.m_in = _sig(p.interval_bits, "m_in")
        self.basis_in = [_sig(p.table_bits, f"basis_in_{j}") for j in range(p.n_active)]
        self.psum_in = _sig(A, "psum_in", signed=True)
        self.load_en = _sig(1, "load_en")
        self.load_in = _sig(c, "load_in", signed=True)
        self.m_out = _sig(p.interval_bits, "m_out")
        self.basis_out = [_sig(p.table_bits, f"basis_out_{j}") for j in range(p.n_active)]
        self.psum_out = _sig(A, "psum_out", signed=True)
        self.load_out = _sig(c, "load_out", signed=True)
        self.ios = {self.m_in, *self.basis_in, self.psum_in, self.load_en, self.load_in,
                    self.m_out, *self.basis_out, self.psum_out, self.load_out}

        # logic
        coefs = [_sig(c, f"coef_{k}", signed=True) for k in range(p.n_coefs)]
        shift_in = coefs[1:] + [self.load_in]                # coef[k] <- coef[k+1] <- load_in
        self.sync += If(self.load_en, *[ck.eq(nxt) for ck, nxt in zip(coefs, shift_in)])
        self.comb += self.load_out.eq(coefs[0])
        coef_array = Array(coefs)
        products = []
        for j in range(p.n_active):
            active = _sig(c, f"coef_active_{j}", signed=True)
            self.comb += active.eq(coef_array[self.m_in + j])
            prod = _sig(c + p.table_bits + 1, f"prod_{j}", signed=True)
            self.comb += prod.eq(active * self.basis_in[j])
            products.append(prod)
        self.sync += [
            self.psum_out.eq(self.psum_in + reduce(add, products)),
            self.m_out.eq(self.m_in),
            *[bo.eq(bi) for bo, bi in zip(self.basis_out, self.basis_in)],
        ]


class KanArray(Module):
    def __init__(self, p: KanParams):
        n, c, A = p.input_bits, p.coef_bits, p.acc_width
        # interface
        self.x = _sig(p.rows * n, "x")
        self.in_valid = _sig(1, "in_valid")
        self.load_en = _sig(1, "load_en")
        self.load_data = _sig(p.cols * c, "load_data")
        self.y = _sig(p.cols * A, "y")
        self.out_valid = _sig(1, "out_valid", reset_less=False)
        self.ios = {self.x, self.in_valid, self.load_en, self.load_data, self.y, self.out_valid}

        # logic
        clk = {"i_sys_clk": ClockSignal(), "i_sys_rst": ResetSignal()}
        # Row i waits i+1 cycles (input register + systolic skew).
        bs_m, bs_basis = [], []
        for i in range(p.rows):
            stage = self.x[i * n:(i + 1) * n]
            for d in range(i + 1):
                reg = _sig(n, f"x_skew_{i}_{d}")
                self.sync += reg.eq(stage)
                stage = reg
            m = _sig(p.interval_bits, f"bs_m_{i}")
            basis = [_sig(p.table_bits, f"bs_basis_{i}_{j}") for j in range(p.n_active)]
            self.specials += Instance("kan_bspline", name=f"bspline_{i}", **clk, i_x=stage, o_m=m,
                                      **{f"o_basis_{j}": b for j, b in enumerate(basis)})
            bs_m.append(m)
            bs_basis.append(basis)

        for j in range(p.cols):
            psum = _sig(A, f"psum_top_{j}", signed=True)       # row 0 adds to zero
            self.comb += psum.eq(0)
            load = _sig(c, f"load_top_{j}", signed=True)
            self.comb += load.eq(self.load_data[j * c:(j + 1) * c])
            for i in range(p.rows):
                m_out = _sig(p.interval_bits, f"m_{i}_{j}")
                basis_out = [_sig(p.table_bits, f"basis_{i}_{j}_{k}") for k in range(p.n_active)]
                psum_out = _sig(A, f"psum_{i}_{j}", signed=True)
                load_out = _sig(c, f"load_{i}_{j}", signed=True)
                ports = {"i_m_in": bs_m[i], "o_m_out": m_out, "i_psum_in": psum, "o_psum_out": psum_out,
                         "i_load_en": self.load_en, "i_load_in": load, "o_load_out": load_out}
                ports.update({f"i_basis_in_{k}": b for k, b in enumerate(bs_basis[i])})
                ports.update({f"o_basis_out_{k}": b for k, b in enumerate(basis_out)})
                self.specials += Instance("kan_pe", name=f"pe_{i}_{j}", **clk, **ports)
                bs_m[i], bs_basis[i], psum, load = m_out, basis_out, psum_out, load_out
            # Deskew: column j finishes j cycles after column 0; delay it to the last column.
            stage = psum
            for d in range(p.cols - 1 - j):
                reg = _sig(A, f"y_deskew_{j}_{d}", signed=True)
                self.sync += reg.eq(stage)
                stage = reg
            self.comb += self.y[j * A:(j + 1) * A].eq(stage)

        valid = self.in_valid
        for d in range(p.latency):
            reg = _sig(1, f"valid_{d}", reset_less=False) if d < p.latency - 1 else self.out_valid
            self.sync += reg.eq(valid)
            valid = reg


def _convert(module: Module, name: str) -> str:
    return str(verilog.convert(module, ios=module.ios, name=name))


def generate_verilog(p: KanParams, table=None) -> str:
    """The whole design as one deterministic Verilog text (kan_bspline, kan_pe, kan_array).

    `table` replaces the basis table, for fault-injection tests only: the golden model keeps the real one.
    """
    return "\n".join([
        "// KAN systolic array (rtl_gen)\n"
        f"// {p}\n",
        _convert(KanBspline(p, table), "kan_bspline"),
        _convert(KanPE(p), "kan_pe"),
        _convert(KanArray(p), TOP),
    ])


def write_rtl(p: KanParams, out_dir: Path, table=None) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{TOP}.v"
    path.write_text(generate_verilog(p, table))
    return path
