"""KAN model: config errors, gradients, base folding, hardware-exact quantization, accuracy vs table bits."""
import subprocess
from dataclasses import replace

import numpy as np
import pytest

from flow.config import ConfigError
from kan import accuracy as acc
from kan import quantize as quant
from kan.accuracy import ModelError, accuracy_for, parse_bits
from kan.config import from_dict, load
from kan.model import KanModel, loss_and_grad, spline_basis
from kan.train import dataset, train
from rtl_gen import golden

from .conftest import FLOW, REPO

SMALL_DIGITS = {"task": "digits", "model": {"hidden": 8}, "train": {"epochs": 15, "seed": 0, "qat_epochs": 2},
                "kan": {"grid": 5, "degree": 3, "table_bits": 3}, "array": "4x4"}


@pytest.fixture(scope="module")
def digits_model():
    cfg = from_dict(SMALL_DIGITS, name="small_digits")
    model, _ = train(cfg)
    return model, cfg


# ---------------------------------------------------------------- config
@pytest.mark.parametrize("data, message", [
    ({"modle": {}}, "modle: unknown key (did you mean 'model'?)"),
    ({"model": {"hiden": 4}}, "model.hiden: unknown key (did you mean 'hidden'?)"),
    ({"task": "digit"}, "task: must be one of digits, symbolic (got 'digit'; did you mean 'digits'?)"),
    ({"train": {"epochs": 0}}, "train.epochs: must be an integer in 1..100000 (got 0)"),
    ({"kan": {"degree": 2}}, "kan.degree: must be odd in 1..7"),
    ({"array": "4by4"}, "array: must be 'RxC'"),
    ({"train": {"test_fraction": 1.5}}, "train.test_fraction: must be a number in 0..1"),
])
def test_config_errors_are_one_line(data, message):
    with pytest.raises(ConfigError) as exc:
        from_dict(data, "m.yaml")
    text = str(exc.value)
    assert text.startswith("m.yaml: ") and message in text and "\n" not in text


def test_shipped_configs_load():
    digits, symbolic = load(REPO / "configs/models/digits.yaml"), load(REPO / "configs/models/symbolic.yaml")
    assert (digits.name, digits.task, digits.model.hidden, digits.params.rows) == ("digits", "digits", 32, 8)
    assert (symbolic.task, symbolic.model.hidden, symbolic.params.cols) == ("symbolic", 5, 5)


def test_cli_bad_config_exits_2_with_one_line(write_yaml):
    path = write_yaml("task: digits\ntrain: {lr: -1}\n")
    res = subprocess.run([*FLOW, "train", str(path)], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == f"error: {path}: train.lr: must be a finite number > 0 (got -1)\n"
    res = subprocess.run([*FLOW, "accuracy", "nope/model.json"], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "nope/model.json: model file not found" in res.stderr


# ---------------------------------------------------------------- float model
def test_basis_is_partition_of_unity_with_exact_derivative():
    t = np.linspace(-1, 1, 101)[:, None]                                       # (101, 1)
    basis, dbasis = spline_basis(t, 5, 3, grad=True)
    assert basis.shape == (101, 1, 8)
    np.testing.assert_allclose(basis.sum(-1), 1.0, atol=1e-12)
    h = 1e-6
    numeric = (spline_basis(t[1:-1] + h, 5, 3) - spline_basis(t[1:-1] - h, 5, 3)) / (2 * h)
    np.testing.assert_allclose(dbasis[1:-1], numeric, atol=1e-6)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_backward_matches_finite_differences(task):
    rng = np.random.default_rng(1)
    model = KanModel.init([3, 4, 2 if task == "classification" else 1], 4, 3, True, rng)
    t = rng.uniform(-0.9, 0.9, size=(6, 3))
    target = rng.integers(0, 2, 6) if task == "classification" else rng.normal(size=6)
    out, cache = model.forward(t)
    _, dy = loss_and_grad(task, out, target)
    grads = model.backward(cache, dy)
    for param, grad in zip(model.params(), grads):
        idx = tuple(rng.integers(0, s) for s in param.shape)
        old, h = param[idx], 1e-6
        param[idx] = old + h
        up = loss_and_grad(task, model.forward(t)[0], target)[0]
        param[idx] = old - h
        down = loss_and_grad(task, model.forward(t)[0], target)[0]
        param[idx] = old
        assert grad[idx] == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-8)


def test_folding_the_silu_base_keeps_the_function(digits_model):
    model, cfg = digits_model
    t = dataset(cfg).test_t[:50]
    folded = model.folded()
    assert all(b is None for b in folded.base) and all(b is not None for b in model.base)
    assert np.abs(folded.predict(t) - model.predict(t)).max() < 1e-2


def test_training_is_deterministic_and_saves_exactly(digits_model, tmp_path):
    model, cfg = digits_model
    again, _ = train(cfg)
    assert all(np.array_equal(a, b) for a, b in zip(model.coefs, again.coefs))
    model.save(tmp_path / "a.json")
    again.save(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    loaded = KanModel.load(tmp_path / "a.json")
    assert all(np.array_equal(a, b) for a, b in zip(model.coefs, loaded.coefs)) and loaded.meta == model.meta


# ---------------------------------------------------------------- quantization
def test_input_codes_cover_the_grid():
    codes = quant.to_codes(np.array([-1.0, -1 + 2 / 256 - 1e-9, -1 + 2 / 256, 0.0, 1 - 1e-9, 1.0, 3.0]), 8)
    assert codes.tolist() == [0, 0, 1, 128, 255, 255, 255]


def test_coefficients_use_the_signed_range_per_column(digits_model):
    model, cfg = digits_model
    q = quant.quantize(model, replace(cfg.params, coef_bits=6))
    for c, s, f in zip(q.coefs, q.scales, model.folded().coefs):
        assert np.abs(c).max(axis=(0, 2)).tolist() == [31] * c.shape[1]        # 2^(c-1) - 1 in every column
        assert np.abs(c * s[None, :, None] - f).max() <= s.max() / 2 + 1e-12  # rounding error <= LSB / 2


def test_tiled_inference_equals_one_golden_pass_per_layer(digits_model):
    """4x4 tiles + host partial sums == golden.array_outputs of the whole 64x8 and 8x10 layers."""
    model, cfg = digits_model
    q = quant.quantize(model, cfg.params)
    t = dataset(cfg).test_t[:20]
    x = quant.to_codes(t, 8)
    for layer in range(2):
        acc_full = golden.array_outputs(q.layer_params(layer), q.coefs[layer], x)          # (T, out)
        y = quant.dequantize(q, layer, acc_full)
        x = quant.to_codes(np.clip(y, -1, 1), 8)
    np.testing.assert_array_equal(quant.infer(q, t), y)
    passes = list(quant.tiles(q, 0)) + list(quant.tiles(q, 1))
    assert len(passes) == 16 * 2 + 2 * 3


def test_qat_basis_is_the_hardware_table(digits_model):
    model, cfg = digits_model
    p = replace(cfg.params, table_bits=2)
    t = np.array([[-1.0, -0.3, 0.41, 0.99]])                                       # (1, 4)
    basis, dbasis = quant.qat_basis_fn(model, p)(0, t)
    m, vals = golden.bspline_unit(p, quant.to_codes(t, 8))
    for i in range(4):                                                              # p+1 = 4 values at m..m+3
        expected = np.zeros(8)
        expected[m[0, i]:m[0, i] + 4] = vals[0, i] / 3                             # 2-bit: 3 codes 1.0
        assert basis[0, i].tolist() == expected.tolist()
    np.testing.assert_array_equal(dbasis, spline_basis(t, 5, 3, grad=True)[1])


def test_accuracy_gap_vs_table_bits(digits_model):
    """Fixed seed: float >= 90 %, 3- and 16-bit tables within 1 point of float, a 1-bit table loses."""
    model, cfg = digits_model
    rows = {r["table_bits"]: r for r in acc.sweep(model, cfg, [1, 3, 16])}
    flt = model.meta["float_test"]
    assert flt >= 90.0
    assert abs(rows[3]["quantized"] - flt) <= 1.0
    assert abs(rows[16]["quantized"] - flt) <= 1.0
    assert rows[1]["quantized"] < flt


def test_qat_recovers_symbolic_rmse_at_low_bits():
    cfg = from_dict({"task": "symbolic", "model": {"hidden": 3}, "train": {"epochs": 60, "qat_epochs": 10},
                     "array": "2x3"}, name="small_symbolic")
    model, _ = train(cfg)
    assert model.meta["float_test"] < 0.1
    tile = replace(cfg.params, table_bits=1)
    ptq, qat = acc.quantized_score(model, cfg, tile), acc.quantized_score(model, cfg, tile, qat=True)
    assert qat < ptq and ptq > 2 * model.meta["float_test"]


def test_accuracy_for_and_its_errors(digits_model, tmp_path):
    model, cfg = digits_model
    model.save(tmp_path / "model.json")
    res = accuracy_for(tmp_path / "model.json", replace(cfg.params, table_bits=16, rows=8, cols=2))
    assert res["metric"] == "accuracy [%]" and res["float"] == model.meta["float_test"]
    # The tile size (8x2 here, 4x4 in the config) never changes the result: partial sums are exact.
    assert res["quantized"] == acc.quantized_score(model, cfg, replace(cfg.params, table_bits=16))
    with pytest.raises(ModelError, match="trained with grid 5, degree 3; the design has grid 8, degree 3"):
        accuracy_for(tmp_path / "model.json", replace(cfg.params, grid=8))
    with pytest.raises(ConfigError, match="--table-bits: must be"):
        parse_bits("0..3")
    assert parse_bits("3..5") == [3, 4, 5] and parse_bits("16,1") == [1, 16]


def test_cli_train_and_accuracy_write_deterministic_reports(write_yaml, tmp_path):
    cfg = write_yaml("name: cli\ntask: symbolic\nmodel: {hidden: 2}\ntrain: {epochs: 5, samples: 200}\narray: 2x2\n")
    out = tmp_path / "m"
    res = subprocess.run([*FLOW, "train", str(cfg), "-o", str(out)], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"{out}/model.json: KAN 2-2-1, test RMSE ")
    csvs = []
    for run in range(2):
        res = subprocess.run([*FLOW, "accuracy", str(out / "model.json"), "--table-bits", "2..4", "-o",
                              str(tmp_path / f"r{run}")], cwd=REPO, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        csvs.append((tmp_path / f"r{run}" / "accuracy_vs_table_bits.csv").read_text())
        assert {p.suffix for p in (tmp_path / f"r{run}").iterdir()} == {".csv", ".md", ".png", ".svg"}
    assert csvs[0] == csvs[1] and csvs[0].splitlines()[0] == "table_bits,float,quantized"
    assert [line.split(",")[0] for line in csvs[0].splitlines()[1:]] == ["2", "3", "4"]
