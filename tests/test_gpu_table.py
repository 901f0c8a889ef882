"""kan/gpu/table.py, the table algorithm of the torch and Triton layers, bit-exact against rtl_gen/golden.py.

No torch needed: this runs everywhere, CI included.
"""
import numpy as np
import pytest

from kan.gpu import table as tab
from rtl_gen import golden
from rtl_gen.params import KanParams

# (grid, degree, input_bits, table_bits, table_depth, coef_bits): the digits model's formats, the 16-bit
# reference, degree 1/5/7, a table as deep as the input range, a narrow table
FORMATS = [(5, 3, 8, 3, 256, 8), (5, 3, 8, 16, 256, 16), (8, 1, 6, 2, 16, 4), (4, 5, 10, 16, 64, 12),
           (3, 7, 9, 5, 512, 6), (7, 3, 8, 1, 2, 8)]


def params(fmt, rows=7, cols=11, acc_bits=None):
    g, d, n, b, depth, c = fmt
    return KanParams(g, d, n, b, depth, c, rows=rows, cols=cols, acc_bits=acc_bits)


@pytest.mark.parametrize("fmt", FORMATS)
def test_interval_and_mirrored_read_equal_golden_for_every_code(fmt):
    p = params(fmt)
    x = np.arange(1 << p.input_bits)                                   # every input code
    m, basis = golden.bspline_unit(p, x)
    m_tab, addr = tab.interval_address(p, x)
    np.testing.assert_array_equal(m_tab, m)
    assert addr.min() == 0 and addr.max() < p.table_depth
    np.testing.assert_array_equal(tab.table_read(p, golden.basis_table(p), addr), basis)


@pytest.mark.parametrize("fmt", FORMATS)
def test_layer_accumulate_equals_golden_array_outputs(fmt):
    p = params(fmt)
    rng = np.random.default_rng(sum(fmt))
    c = p.coef_bits
    coefs = rng.integers(-(1 << (c - 1)), 1 << (c - 1), size=(p.rows, p.cols, p.n_coefs))
    x = rng.integers(0, 1 << p.input_bits, size=(64, p.rows))
    x[0], x[1] = 0, (1 << p.input_bits) - 1                           # both ends of the input range
    np.testing.assert_array_equal(tab.layer_accumulate(p, coefs, x), golden.array_outputs(p, coefs, x))


def test_extreme_coefficients_and_narrow_accumulator_wrap_like_golden():
    p = params(FORMATS[0], rows=16, cols=3)
    coefs = np.full((p.rows, p.cols, p.n_coefs), -(1 << (p.coef_bits - 1)))   # most negative everywhere
    x = np.arange(0, 256, 16)[None, :].repeat(4, axis=0)
    exact = tab.layer_accumulate(p, coefs, x)
    np.testing.assert_array_equal(exact, golden.array_outputs(p, coefs, x))
    narrow = params(FORMATS[0], rows=16, cols=3, acc_bits=12)
    wrapped = tab.layer_accumulate(narrow, coefs, x)
    np.testing.assert_array_equal(wrapped, golden.array_outputs(narrow, coefs, x))
    assert (wrapped != exact).any() and wrapped.min() >= -2048 and wrapped.max() <= 2047


def test_coef_rows_layout_and_exact_float_type():
    coefs = np.arange(2 * 3 * 8).reshape(2, 3, 8)                     # (in, out, G+p)
    rows = tab.coef_rows(coefs)
    assert rows.shape == (16, 3)
    assert rows[8 + 5, 2] == coefs[1, 2, 5]                            # row i*(G+p)+k, column j
    # 64 inputs, 3-bit table, 8-bit coefficients: sums < 2^18 -> float32; 1024 x 16 x 16 bits: float64
    assert tab.float_exact_dtype(params(FORMATS[0]), 64) == "float32"
    assert tab.float_exact_dtype(params(FORMATS[1]), 1024) == "float64"
    assert tab.float_exact_dtype(params((5, 3, 8, 16, 256, 16)), 1 << 30) is None
