"""The golden model against the float Cox-de Boor reference and against its own invariants."""
import numpy as np
import pytest

from rtl_gen import golden
from rtl_gen.params import KanParams


def params(**kw):
    base = dict(grid=5, degree=3, input_bits=8, table_bits=3, table_depth=256, coef_bits=8, rows=4, cols=4)
    return KanParams(**{**base, **kw})


def test_cox_de_boor_is_a_partition_of_unity_inside_the_grid():
    p = params()
    knots = golden.uniform_knots(p)                                   # -3 .. 8
    x = np.linspace(0, p.grid - 1e-9, 301)
    basis = golden.cox_de_boor(x, knots, p.degree)                    # (301, G+p)
    assert basis.shape == (301, p.n_coefs)
    np.testing.assert_allclose(basis.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(basis[0, :4], [1 / 6, 2 / 3, 1 / 6, 0], atol=1e-12)


@pytest.mark.parametrize("degree", [1, 3, 5, 7])
def test_table_is_symmetric_and_within_half_an_lsb(degree):
    p = params(degree=degree, table_bits=8, table_depth=64)
    full = golden.expand_table(p)                                     # (D, p+1)
    np.testing.assert_array_equal(full, full[::-1, ::-1])             # B_{p-j}(u) = B_j(1-u)
    err = golden.table_error(p)["max_abs_err_at_samples"]
    assert err <= 0.5 / p.table_full_scale + 1e-12


def test_table_error_shrinks_with_bits():
    errs = [golden.table_error(params(table_bits=b))["max_abs_err_dense"] for b in (2, 3, 8, 16)]
    assert errs == sorted(errs, reverse=True)
    assert errs[0] > 0.1 and errs[-1] < 0.01


def test_interval_search_at_knot_boundaries():
    p = params(grid=5, input_bits=8)
    # knot k sits at x = k * 256 / 5: first x of interval k is ceil(51.2 k)
    x = np.array([0, 51, 52, 102, 103, 153, 154, 204, 205, 255])
    m, _ = golden.bspline_unit(p, x)
    np.testing.assert_array_equal(m, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])


def test_integer_outputs_track_the_float_spline():
    """With 16-bit tables the integer array equals the float spline sum to within table rounding."""
    p = params(table_bits=16, rows=3, cols=2)
    rng = np.random.default_rng(5)
    coefs = rng.integers(-128, 128, size=(3, 2, p.n_coefs))
    x = rng.integers(0, 256, size=(50, 3))
    got = golden.array_outputs(p, coefs, x) / p.table_full_scale      # (50, 2)
    # float: evaluate at the table's sample point (midpoint of the address bin) of each input
    u_knots = ((x * p.grid) >> 8) + (((x * p.grid) & 255) + 0.5) / 256
    basis = golden.cox_de_boor(u_knots.ravel(), golden.uniform_knots(p), p.degree).reshape(50, 3, -1)
    want = np.einsum("trk,rck->tc", basis, coefs)
    np.testing.assert_allclose(got, want, atol=3 * 4 * 128 / p.table_full_scale)


def test_auto_accumulator_never_overflows_at_the_extremes():
    p = params(table_bits=3, rows=4)
    table = np.full((p.table_depth, p.table_cols), p.table_full_scale)   # every basis value at full scale
    coefs = np.full((p.rows, p.cols, p.n_coefs), -(1 << (p.coef_bits - 1)))
    x = np.zeros((1, p.rows), dtype=int)
    raw = golden.edge_outputs(p, coefs, x, table).sum(axis=1)
    assert raw.min() == -p.rows * p.n_active * 7 * 128
    np.testing.assert_array_equal(golden.array_outputs(p, coefs, x, table), raw)   # no wrap
    narrow = KanParams(**{**p.__dict__, "acc_bits": p.acc_width - 1})
    assert (golden.array_outputs(narrow, coefs, x, table) != raw).all()           # one bit less wraps


def test_load_sequence_order_bottom_row_first():
    p = params(rows=2, cols=1, grid=1, degree=1)                       # 2 coefs per edge
    coefs = np.array([[[10, 11]], [[20, 21]]])                         # (R=2, C=1, 2)
    np.testing.assert_array_equal(golden.load_sequence(p, coefs)[:, 0], [20, 21, 10, 11])
