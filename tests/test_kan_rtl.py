"""End to end: real digits test images through the generated Verilog, layer by layer, equal to the golden model."""
import numpy as np
import pytest

from flow.rtl_inference import rtl_check
from kan import quantize as quant
from kan.config import from_dict
from kan.train import dataset, train

pytestmark = pytest.mark.eda

# 64-4-10 on a 4x4 array: layer 1 = 16 row blocks x 1 column block, layer 2 = 1 x 3 (10 outputs padded to 12).
CFG = {"task": "digits", "model": {"hidden": 4}, "train": {"epochs": 15, "seed": 0},
       "kan": {"grid": 5, "degree": 3, "table_bits": 2}, "array": "4x4"}


@pytest.fixture(scope="module")
def quantized():
    cfg = from_dict(CFG, name="rtl_digits")
    model, _ = train(cfg)
    return quant.quantize(model, cfg.params), dataset(cfg)


def test_digits_images_through_rtl_equal_golden(quantized, tmp_path):
    q, ds = quantized
    images = 12
    res = rtl_check(q, ds.kind, ds.test_t[:images], ds.test_y[:images], tmp_path)
    assert res["mismatches"] == 0, res["first_mismatches"]
    assert res["passes"] == 16 + 3
    assert res["outputs"].shape == (images, 10) and res["exact"]
    np.testing.assert_array_equal(res["outputs"], quant.infer(q, ds.test_t[:images]))
    assert res["rtl_score"] == res["golden_score"] >= 75.0                      # 2-bit table, tiny model
    assert res["cycles"] == 19 * (4 * 8 + images + q.tile.latency - 1)        # load + stream + drain per pass


def test_corrupted_coefficients_change_rtl_outputs(quantized, tmp_path):
    """The comparison is not vacuous: a model whose hidden layer is zeroed gives different outputs."""
    q, ds = quantized
    broken = quant.QuantModel(q.tile, [np.zeros_like(q.coefs[0]), q.coefs[1]], q.scales)
    res = rtl_check(broken, ds.kind, ds.test_t[:4], ds.test_y[:4], tmp_path)
    assert res["exact"] and res["mismatches"] == 0
    assert not np.array_equal(res["outputs"], quant.infer(q, ds.test_t[:4]))
