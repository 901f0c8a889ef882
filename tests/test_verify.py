"""cocotb + Icarus: the generated RTL is bit-exact against the golden model across the design space."""
import numpy as np
import pytest

from flow.verify import run_cocotb
from rtl_gen import golden
from rtl_gen.generator import write_rtl
from rtl_gen.params import KanParams

pytestmark = pytest.mark.eda

# Covers b in {2, 3, 8, 16}, p in {1, 3, 5}, G in {3, 5, 8}, arrays 1x1, 2x3, 4x4.
CASES = [
    dict(table_bits=2, degree=1, grid=3, rows=1, cols=1, input_bits=6, table_depth=16),
    dict(table_bits=3, degree=3, grid=5, rows=2, cols=3, input_bits=8, table_depth=256),
    dict(table_bits=8, degree=5, grid=8, rows=2, cols=3, input_bits=8, table_depth=64),
    dict(table_bits=16, degree=3, grid=5, rows=4, cols=4, input_bits=8, table_depth=256),
    dict(table_bits=3, degree=5, grid=3, rows=1, cols=1, input_bits=10, table_depth=128),
    dict(table_bits=2, degree=3, grid=8, rows=4, cols=4, input_bits=8, table_depth=32, coef_bits=4),
    dict(table_bits=8, degree=1, grid=5, rows=2, cols=3, input_bits=4, table_depth=16, acc_bits=9),  # wraps
]


def make(case):
    return KanParams(**{"coef_bits": 8, **case})


@pytest.mark.parametrize("case", CASES, ids=lambda c: "b{table_bits}-p{degree}-G{grid}-{rows}x{cols}".format(**c))
def test_rtl_matches_golden_model(case, tmp_path):
    p = make(case)
    rtl = write_rtl(p, tmp_path / "rtl")
    res = run_cocotb(p, [rtl], tmp_path, vectors=300, seed=3)
    assert res.mismatches == 0, res.first_mismatches
    assert res.passed and res.vectors > 300                           # corners come on top of the random ones


def test_broken_table_entry_is_caught(tmp_path):
    p = make(CASES[1])
    table = golden.basis_table(p).copy()
    table[100, 1] ^= 1                                                # one bit of one entry
    rtl = write_rtl(p, tmp_path / "rtl", table=table)
    res = run_cocotb(p, [rtl], tmp_path, vectors=600, seed=3)
    assert not res.passed and res.mismatches > 0
    m = res.first_mismatches[0]
    assert set(m) >= {"cycle", "pe", "expected", "got"} and m["expected"] != m["got"]


def test_broken_pe_is_caught(tmp_path):
    p = make(CASES[0])
    rtl = write_rtl(p, tmp_path / "rtl")
    text = rtl.read_text()
    assert text.count("(psum_in + ") == 1
    rtl.write_text(text.replace("(psum_in + ", "(psum_in - "))      # the PE subtracts instead of adds
    res = run_cocotb(p, [rtl], tmp_path, vectors=50, seed=1)
    assert not res.passed and res.mismatches > 0


def test_acc_wrap_case_really_wraps():
    """The acc_bits=9 case above only tests wrapping if the golden sums exceed 9 bits."""
    p = make(CASES[-1])
    rng = np.random.default_rng(0)
    coefs = rng.integers(-128, 128, size=(p.rows, p.cols, p.n_coefs))
    raw = golden.edge_outputs(p, coefs, rng.integers(0, 16, size=(200, p.rows))).sum(axis=1)
    assert np.abs(raw).max() >= 1 << (p.acc_width - 1)
