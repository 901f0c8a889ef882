"""Post-training quantization onto the array's integer formats, and integer inference through the golden model.

Formats (rtl_gen/golden.py's docstring has the hardware side):
  inputs  t in [-1, 1] -> x = clip(floor((t + 1) / 2 * 2^n), 0, 2^n - 1): the n-bit code of the grid bin that
          holds t (the G intervals span [0, 2^n) exactly as they span [-1, 1] in the float model).
  table   golden.basis_table at `table_bits`, 2^b - 1 = 1.0 (nothing to choose: the hardware's own table).
  coefs   one scale per layer output column j, s_j = max_{i,k} |c_ijk| / (2^(c-1) - 1), c_q = round(c / s_j):
          symmetric, so the largest coefficient of each column uses the full signed range. Per column (not
          per edge) because column j's accumulator sums every row's products: they must share one scale.
  outputs acc_j (A-bit integers) -> y_j = acc_j * s_j / (2^b - 1), then the host clips to [-1, 1] and
          requantizes to the next layer's inputs (the float model's clip between layers).
The SiLU base path is folded into the spline coefficients first (`KanModel.folded`), since the array has none.

Layers wider than the array are tiled: input rows in blocks of R, outputs in blocks of C, missing rows and
columns padded with zero coefficients; every tile is one pass of the array (golden.array_outputs or the RTL)
and the host sums the partial sums of a column block in int64. `layer_passes` is that one schedule; the golden
driver (`infer`) and the cocotb driver (flow/tb/kan_infer_tb.py) both run it, so RTL and reported accuracy
come from the same code.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from rtl_gen import golden
from rtl_gen.params import KanParams

from .model import KanModel, spline_basis


def to_codes(t: np.ndarray, input_bits: int) -> np.ndarray:
    """Float inputs on [-1, 1] -> unsigned n-bit codes (any shape)."""
    top = (1 << input_bits) - 1
    return np.clip(np.floor((np.asarray(t) + 1.0) * 0.5 * (1 << input_bits)), 0, top).astype(np.int64)


def coef_scale(coef: np.ndarray, coef_bits: int) -> np.ndarray:
    """Per-output-column scale: (in, out, G+p) -> (out,)."""
    peak = np.abs(coef).max(axis=(0, 2))
    return np.where(peak > 0, peak, 1.0) / ((1 << (coef_bits - 1)) - 1)


def quantize_coefs(coef: np.ndarray, coef_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(in, out, G+p) floats -> (signed c-bit ints of the same shape, per-column scale (out,))."""
    scale = coef_scale(coef, coef_bits)
    return np.rint(coef / scale[None, :, None]).astype(np.int64), scale


@dataclass(frozen=True)
class QuantModel:
    tile: KanParams              # the array every pass runs on (its rows x cols); grid/degree equal the model's
    coefs: list[np.ndarray]      # per layer (in, out, G+p) signed ints
    scales: list[np.ndarray]     # per layer (out,) float: value of one coefficient LSB

    def to_dict(self) -> dict:
        return {"tile": asdict(self.tile), "coefs": [c.tolist() for c in self.coefs],
                "scales": [s.tolist() for s in self.scales]}

    @classmethod
    def from_dict(cls, data: dict) -> QuantModel:
        return cls(KanParams(**data["tile"]), [np.array(c, dtype=np.int64) for c in data["coefs"]],
                   [np.array(s, dtype=float) for s in data["scales"]])

    def layer_params(self, layer: int) -> KanParams:
        """Untiled parameters of a whole layer (reports, load sequences of a full-size array)."""
        f_in, f_out, _ = self.coefs[layer].shape
        return replace(self.tile, rows=f_in, cols=f_out)


def quantize(model: KanModel, tile: KanParams) -> QuantModel:
    if (tile.grid, tile.degree) != (model.grid, model.degree):
        raise ValueError(f"array has grid {tile.grid}, degree {tile.degree}; the model was trained with "
                         f"grid {model.grid}, degree {model.degree}")
    spline = model.folded()
    pairs = [quantize_coefs(c, tile.coef_bits) for c in spline.coefs]
    return QuantModel(tile, [q for q, _ in pairs], [s for _, s in pairs])


def tiles(q: QuantModel, layer: int):
    """Yield (row block, col block, coefs (R, C, G+p)) of one layer, zero-padded to the array size."""
    coef = q.coefs[layer]
    f_in, f_out, k = coef.shape
    R, C = q.tile.rows, q.tile.cols
    padded = np.zeros((-(-f_in // R) * R, -(-f_out // C) * C, k), dtype=np.int64)
    padded[:f_in, :f_out] = coef
    for r0 in range(0, f_in, R):
        for c0 in range(0, f_out, C):
            yield r0, c0, padded[r0:r0 + R, c0:c0 + C]


def layer_passes(q: QuantModel, x: np.ndarray):
    """The inference schedule as a generator.

    x: (T, in) unsigned codes. Yields (layer, coefs (R, C, G+p), x_tile (T, R)) for each array pass and expects
    the pass's (T, C) outputs sent back; returns the float network outputs (T, out).
    """
    R, n = q.tile.rows, q.tile.input_bits
    y = None
    for layer, coef in enumerate(q.coefs):
        if layer:
            x = to_codes(np.clip(y, -1.0, 1.0), n)                                   # host requantization
        f_in, f_out, _ = coef.shape
        xp = np.zeros((len(x), -(-f_in // R) * R), dtype=np.int64)                 # padded rows see x = 0
        xp[:, :f_in] = x
        acc = np.zeros((len(x), -(-f_out // q.tile.cols) * q.tile.cols), dtype=np.int64)   # (T, out padded)
        for r0, c0, block in tiles(q, layer):
            out = yield layer, block, xp[:, r0:r0 + R]
            acc[:, c0:c0 + q.tile.cols] += np.asarray(out, dtype=np.int64)
        y = dequantize(q, layer, acc[:, :f_out])
    return y


def dequantize(q: QuantModel, layer: int, acc: np.ndarray) -> np.ndarray:
    """Accumulator sums (T, out) of a layer -> float outputs: acc_j * s_j / (2^b - 1)."""
    return acc * (q.scales[layer] / q.tile.table_full_scale)


def infer(q: QuantModel, t: np.ndarray, array_fn=golden.array_outputs) -> np.ndarray:
    """Integer inference of float inputs t (N, in) -> float outputs (N, out), every pass through `array_fn`."""
    steps = layer_passes(q, to_codes(t, q.tile.input_bits))
    try:
        _, block, xt = next(steps)
        while True:
            _, block, xt = steps.send(array_fn(q.tile, block, xt))
    except StopIteration as done:
        return done.value


def qat_basis_fn(model: KanModel, tile: KanParams):
    """Quantization-aware basis for `KanModel.forward`: the forward pass sees the hardware's table lookup of
    the n-bit input code, the backward pass the float basis derivative (straight-through estimator)."""
    def basis_fn(layer: int, t: np.ndarray):
        m, vals = golden.bspline_unit(tile, to_codes(t, tile.input_bits))            # (N, F), (N, F, p+1)
        basis = np.zeros((*t.shape, tile.n_coefs))
        np.put_along_axis(basis, m[..., None] + np.arange(tile.n_active), vals / tile.table_full_scale, axis=-1)
        return basis, spline_basis(t, model.grid, model.degree, grad=True)[1]
    return basis_fn
