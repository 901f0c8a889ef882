"""kan/gpu/table.py, the table algorithm of the torch and Triton layers, bit-exact against rtl_gen/golden.py.

No torch needed: this runs everywhere, CI included.
"""
import numpy as np
import pytest

from kan.gpu import table as tab
from rtl_gen import golden
from rtl_gen.params import KanParams

# (grid, degree, input_bits, table_bits, table_depth, coef_bits): the digits model's formats, the 16-bit
# reference, degree 1/5/7, a table as deep as the input range, a narrow table, an 8-bit table (int8 holds 0..127)
FORMATS = [(5, 3, 8, 3, 256, 8), (5, 3, 8, 16, 256, 16), (8, 1, 6, 2, 16, 4), (4, 5, 10, 16, 64, 12),
           (3, 7, 9, 5, 512, 6), (7, 3, 8, 1, 2, 8), (5, 3, 8, 8, 256, 8)]


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
    # one input adds at most 4 * 7 * 128 = 3584 (3-bit table, 8-bit coefficients): 64 inputs in one float32 chunk;
    # 8-bit table: 4 * 255 * 128 = 130560, 128 inputs per chunk below 2^24; 16 x 16 bits: float64 or nothing
    assert tab.exact_float_chunks(params(FORMATS[0]), 64) == ("float32", 64)
    assert tab.exact_float_chunks(params((5, 3, 8, 8, 256, 8)), 1024) == ("float32", 128)
    assert 128 * 130560 < 1 << 24 < 129 * 130560
    assert tab.exact_float_chunks(params(FORMATS[1]), 1024) == ("float64", 1024)
    assert tab.exact_float_chunks(params(FORMATS[1]), 1 << 30) is None


def test_bench_gpu_options_parse_shapes_and_reject_bad_ones(capsys):
    import importlib.util

    from kan.gpu import parse_shape

    from .conftest import REPO

    assert parse_shape("64x32") == [64, 32] and parse_shape("784-256-10") == [784, 256, 10]
    for bad in ("64*32", "64x", "0x4", "12"):
        with pytest.raises(ValueError, match="--gpu-shapes"):
            parse_shape(bad)
    spec = importlib.util.spec_from_file_location("bench_run_gpu", REPO / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = bench.parse_args(["--sections", "gpu", "--gpu-shapes", "8x4,16-8-4", "--gpu-bits", "2,8"])
    assert args.sections == ["gpu"] and args.gpu_bits == [2, 8] and args.gpu_batches[-1] == 4096
    assert bench.parse_args([]).sections == list(bench.SECTIONS)          # the default run leaves gpu out
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(["--sections", "gpu", "--gpu-shapes", "64by32"])
    assert exc.value.code == 2 and "--gpu-shapes: '64by32'" in capsys.readouterr().err
