"""Trained models (`flow train`'s model.json) through the torch layers: integer inference and accuracy.

The host steps between layers are kan.quantize's, in the same float64 operations: codes = to_codes(t), layer
sums acc (N, out), y = acc * (scale / (2^b - 1)), next codes = to_codes(clip(y, -1, 1)). The array's tiling does
not change the sums: `flow accuracy` adds the tiles' partial sums in int64, and a tile with the automatic
accumulator width never wraps, so one whole-layer sum is the same number. A model whose array has a narrower
accumulator (tiles that wrap) is refused.
"""
from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import torch

from kan import quantize as quant
from kan.accuracy import ModelError, load_model
from kan.model import score
from kan.train import dataset

from .layers import FusedTableLayer, RecursionLayer, TableLayer, to_codes

# torch ops; the fused kernel mma where it fits, else gather; each fused kernel by name
TABLE_LAYERS = {"table": TableLayer, "fused": FusedTableLayer,
                "fused-gather": partial(FusedTableLayer, kernel="gather"),
                "fused-mma": partial(FusedTableLayer, kernel="mma")}


class TableNetwork:
    """A quantized model's layers as torch table layers (`kind`: a TABLE_LAYERS key) on one device."""

    def __init__(self, q: quant.QuantModel, kind: str = "table", device: str | torch.device = "cpu"):
        tile = q.tile
        if tile.acc_bits is not None and tile.acc_bits < tile.acc_bits_auto:
            raise ModelError(f"array accumulator {tile.acc_bits} bits < {tile.acc_bits_auto} (auto): tiles wrap, "
                             "whole-layer sums would differ from the array's; use `flow accuracy`")
        exact = replace(tile, acc_bits=None)                                     # whole-layer sums, exact
        self.q, self.device = q, torch.device(device)
        self.layers = [TABLE_LAYERS[kind](exact, c).to(self.device) for c in q.coefs]
        self.lsb = [torch.as_tensor(s / tile.table_full_scale, dtype=torch.float64, device=self.device)
                    for s in q.scales]                                           # (out,) value of one acc LSB

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        """Float inputs (N, in) on [-1, 1] -> float64 outputs (N, out)."""
        n = self.q.tile.input_bits
        x, y = to_codes(t, n), None
        for layer, lsb in zip(self.layers, self.lsb):
            if y is not None:
                x = to_codes(y.clamp(-1.0, 1.0), n)                              # host requantization
            y = layer(x).to(torch.float64) * lsb
        return y


def float_network(model, device="cpu", dtype=torch.float64) -> torch.nn.Sequential:
    """The float model (SiLU base unfolded) as RecursionLayers; each clips its input to [-1, 1] as kan/model.py."""
    return torch.nn.Sequential(*[RecursionLayer(c, model.grid, model.degree, b, dtype)
                                 for c, b in zip(model.coefs, model.base)]).to(device)


def accuracy_rows(model_path: str | Path, bits: list[int], kind: str = "table", device: str = "cpu") -> list[dict]:
    """Test score of the model's integer inference on the torch table layers for each table width.

    -> [{"table_bits", "metric", "float", "quantized"}]; "quantized" is what `flow accuracy` reports as integer
    (PTQ), computed here by the torch layers.
    """
    model, cfg = load_model(model_path)
    ds = dataset(cfg)
    t = torch.as_tensor(ds.test_t, dtype=torch.float64, device=device)
    rows = []
    for b in bits:
        q = quant.quantize(model, replace(cfg.params, table_bits=b))
        out = TableNetwork(q, kind, device)(t).cpu().numpy()
        rows.append({"table_bits": b, "metric": "accuracy [%]" if ds.kind == "classification" else "RMSE",
                     "float": model.meta["float_test"], "quantized": score(ds.kind, out, ds.test_y)})
    return rows
