"""kan/gpu torch layers: bit-exact with rtl_gen/golden.py, the float layer against kan/model.py, trained models.

Needs the optional group (pip install -e '.[gpu-interpret]'); without torch the module is skipped. Without a
GPU the fused Triton kernel runs under Triton's interpreter (TRITON_INTERPRET=1, CPU tensors).
"""
import csv
import os
import subprocess
import sys
from dataclasses import replace
from functools import partial

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed (optional group: pip install -e '.[gpu]')")
if not torch.cuda.is_available():
    os.environ["TRITON_INTERPRET"] = "1"                 # read when kan.gpu.fused defines the kernel
from kan import quantize as quant  # noqa: E402
from kan.accuracy import load_model  # noqa: E402
from kan.gpu.layers import FusedTableLayer, RecursionLayer, TableLayer  # noqa: E402
from kan.gpu.network import TableNetwork, accuracy_rows, float_network  # noqa: E402
from kan.gpu.table import mma_fits  # noqa: E402
from kan.model import KanModel, spline_basis  # noqa: E402
from kan.train import dataset  # noqa: E402
from rtl_gen import golden  # noqa: E402

from .conftest import REPO  # noqa: E402
from .test_gpu_table import FORMATS, params  # noqa: E402

HAVE_TRITON = bool(__import__("importlib").util.find_spec("triton"))
needs_triton = pytest.mark.skipif(not HAVE_TRITON, reason="Triton not installed (pip install -e '.[gpu-interpret]')")
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
DIGITS = REPO / "reports" / "models" / "digits"


def random_layer(p, batch=40, seed=0):
    rng = np.random.default_rng(seed)
    c = p.coef_bits
    coefs = rng.integers(-(1 << (c - 1)), 1 << (c - 1), size=(p.rows, p.cols, p.n_coefs))
    x = rng.integers(0, 1 << p.input_bits, size=(batch, p.rows))
    x[0], x[1] = 0, (1 << p.input_bits) - 1
    return coefs, x


LAYERS = [TableLayer] + [pytest.param(partial(FusedTableLayer, kernel=k), marks=needs_triton, id=f"fused-{k}")
                          for k in ("gather", "mma")]


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_table_layers_equal_golden(layer, fmt):
    p = params(fmt, rows=37, cols=70)              # 37 inputs: 3 input blocks of the mma kernel, the last partial;
    coefs, x = random_layer(p, seed=sum(fmt))      # 70 outputs: two output blocks, the last partial
    if getattr(layer, "keywords", {}).get("kernel") == "mma" and not mma_fits(p):
        with pytest.raises(ValueError, match="mma kernel: needs"):
            layer(p, coefs)
        return
    out = layer(p, coefs).to(DEVICE)(torch.as_tensor(x, device=DEVICE))
    assert out.dtype == torch.int64
    np.testing.assert_array_equal(out.cpu().numpy(), golden.array_outputs(p, coefs, x))


@needs_triton
@pytest.mark.parametrize("kernel", ["gather", "mma"])
def test_every_autotune_configuration_computes_the_same_sums(kernel):
    """The GPU's autotuner may pick any configuration: each one (block sizes, input blocks of the mma kernel) is
    run here on a layer with partial blocks on every side and checked against golden."""
    from kan.gpu import fused

    rows, batch = (41, 70) if kernel == "mma" else (5, 20)          # mma: partial input blocks of 8, 16, 32
    p = params((5, 3, 8, 8, 256, 8), rows=rows, cols=133)           # 8-bit table: the mma kernel's two dots
    coefs, x = random_layer(p, batch=batch, seed=7)
    layer = FusedTableLayer(p, coefs, kernel=kernel).to(DEVICE)
    xt, want = torch.as_tensor(x, device=DEVICE), golden.array_outputs(p, coefs, x)
    for config in fused.KERNEL_CONFIGS[kernel]:
        out = fused.table_layer(xt, layer.table, layer.rows, layer.p, layer.acc_bits, kernel, config)
        np.testing.assert_array_equal(out.cpu().numpy(), want, err_msg=str(config))


@pytest.mark.parametrize("layer", LAYERS)
def test_table_layers_wrap_a_narrow_accumulator_like_golden(layer):
    p = params(FORMATS[0], rows=16, cols=3, acc_bits=12)
    coefs = np.full((p.rows, p.cols, p.n_coefs), -(1 << (p.coef_bits - 1)))
    x = np.arange(0, 256, 16)[None, :].repeat(5, axis=0)
    out = layer(p, coefs).to(DEVICE)(torch.as_tensor(x, device=DEVICE)).cpu().numpy()
    np.testing.assert_array_equal(out, golden.array_outputs(p, coefs, x))
    assert out.min() >= -2048 and out.max() <= 2047


@pytest.mark.parametrize("chunk_bytes", [1, 8 << 20])
def test_table_layer_adds_exact_chunks_of_inputs(chunk_bytes):
    p = params((5, 3, 8, 8, 256, 8), rows=300, cols=5)                # 8-bit table: 128 inputs per float32 chunk
    coefs, x = random_layer(p, batch=20, seed=3)
    coefs[:, :, :] = np.where(coefs < 0, -128, 127)                    # largest magnitudes, 3 chunks of inputs
    layer = TableLayer(p, coefs, chunk_bytes)
    assert layer.chunk == (1 if chunk_bytes == 1 else 128) and layer.rows.dtype == torch.float32
    np.testing.assert_array_equal(layer(torch.as_tensor(x)).numpy(), golden.array_outputs(p, coefs, x))


def test_table_layer_refuses_sums_no_float_holds_exactly():
    with pytest.raises(ValueError, match="more than 53 bits"):
        TableLayer(params(FORMATS[1], rows=1 << 30, cols=1), np.zeros((1 << 30, 1, 0)))


def test_recursion_layer_equals_the_numpy_model():
    rng = np.random.default_rng(1)
    model = KanModel.init([6, 5, 3], grid=5, degree=3, base=True, rng=rng)
    t = np.concatenate([rng.uniform(-1.2, 1.2, size=(50, 6)), np.full((2, 6), 1.0), np.full((2, 6), -1.0)])
    layer = RecursionLayer(model.coefs[0], 5, 3, dtype=torch.float64)
    np.testing.assert_allclose(layer.basis(torch.as_tensor(np.clip(t, -1, 1))).numpy(),
                               spline_basis(np.clip(t, -1, 1), 5, 3), atol=1e-12)
    out = float_network(model)(torch.as_tensor(t)).numpy()
    np.testing.assert_allclose(out, model.forward(t)[0], atol=1e-10)
    f32 = RecursionLayer(model.coefs[0], 5, 3)(torch.as_tensor(t, dtype=torch.float32))   # t = 1: u just below G
    np.testing.assert_allclose(f32.numpy(), layer(torch.as_tensor(t)).numpy(), atol=1e-5)


def committed_ptq() -> dict[int, float]:
    with open(DIGITS / "accuracy_vs_table_bits.csv") as f:
        return {int(r["table_bits"]): float(r["quantized"]) for r in csv.DictReader(f)}


def test_digits_table_network_equals_flow_accuracy_for_every_table_width():
    model, cfg = load_model(DIGITS / "model.json")
    ds = dataset(cfg)
    t = torch.as_tensor(ds.test_t, dtype=torch.float64, device=DEVICE)
    for b in range(1, 17):                                              # outputs bit-exact with golden inference
        q = quant.quantize(model, replace(cfg.params, table_bits=b))
        np.testing.assert_array_equal(TableNetwork(q, "table", DEVICE)(t).cpu().numpy(), quant.infer(q, ds.test_t))
    rows = accuracy_rows(DIGITS / "model.json", list(range(1, 17)), "table", DEVICE)
    assert {r["table_bits"]: round(r["quantized"], 2) for r in rows} == committed_ptq()   # `flow accuracy`'s table


@needs_triton
@pytest.mark.parametrize("kind, bits", [("fused-gather", [3]), ("fused-mma", [2, 8])])
def test_digits_fused_network_equals_flow_accuracy(kind, bits):
    if DEVICE == "cuda":                                   # compiled kernels: every width (the interpreter is slow)
        bits = [b for b in range(1, 17) if kind == "fused-gather" or b <= 8]
    rows = accuracy_rows(DIGITS / "model.json", bits, kind, DEVICE)
    assert {r["table_bits"]: round(r["quantized"], 2) for r in rows} == {b: committed_ptq()[b] for b in bits}


def test_accuracy_cli_runs_and_rejects_a_bad_model(tmp_path, capsys):
    from kan.gpu.__main__ import main

    ok = subprocess.run([sys.executable, "-m", "kan.gpu", "accuracy", str(DIGITS / "model.json"), "--table-bits",
                         "3,4"], capture_output=True, text=True, cwd=REPO, timeout=300)      # as a user runs it
    assert ok.returncode == 0, ok.stderr
    assert "b= 3  integer 96.667" in ok.stdout and "b= 4  integer 97.5" in ok.stdout
    bad = tmp_path / "model.json"
    bad.write_text("{}")
    assert main(["accuracy", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a model saved by `flow train`" in err
    assert main(["accuracy", str(DIGITS / "model.json"), "--table-bits", "0..3"]) == 2
    assert "--table-bits" in capsys.readouterr().err


def test_bench_peak_memory_and_row_arithmetic():
    from kan.gpu import bench as gpu_bench

    cpu = torch.device("cpu")
    peak = gpu_bench.peak_bytes(lambda n: torch.ones(n, dtype=torch.float64) + 1, 1 << 16, cpu)
    assert 1 << 20 <= peak <= (1 << 20) + 64                            # two 512 KiB tensors alive at once (+ a scalar)
    res = {"eager": {"ms": 8.0, "MiB": 3.0}, "compiled": {"ms": 2.0, "MiB": 1.0, "first_s": 9.0},
           "table": {"ms": 4.0, "MiB": 0.5, "sums": "float32"}}
    r = gpu_bench.row({"shape": "8x4", "batch": 64}, 3, 64, res)
    assert r["table vs eager [x]"] == 2.0 and r["table vs compiled [x]"] == 0.5
    assert r["table [samples/s]"] == 16000.0 and np.isnan(r["fused-mma [ms]"]) and r["fused == table"] == ""
    res["fused-mma"] = {"ms": 1.0, "MiB": 0.1, "equal": False}
    r = gpu_bench.row({"shape": "1024x1024", "batch": 64}, 3, 64, res)
    assert r["fused-mma vs compiled [x]"] == 2.0 and r["fused == table"] == "NO: fused-mma"
    small = gpu_bench.row({"shape": "64x32", "batch": 4096}, 3, 4096, {**res, "fused-mma": {**res["fused-mma"],
                                                                                        "ms": 0.1}})
    line = gpu_bench.largest_point_summary([small, r, {**r, "batch": 1, "table vs compiled [x]": 9.0}])
    assert line.startswith("At the largest shape and batch (1024x1024, batch 64; table bits 3)")
    assert "table 0.50x; fused-mma 2.00x." in line


COMPILE_SCRIPT = """
import json, re
from rtl_gen.params import KanParams
from kan.gpu import fused
p = KanParams(5, 3, 8, 8, 256, 8, rows=1024, cols=1024)
mma = re.compile(r"(?:wgmma\\.mma_async|mma\\.sync)\\S+")
out = {}
for name, kernel, blocks in (("mma", "mma", {}), ("mma64", "mma", {"BLOCK_N": 64}), ("gather", "gather", {})):
    asm = fused.compile_for_gpu(kernel, p, arch=90, **blocks)
    out[name] = {"mma": sorted(set(mma.findall(asm["ptx"]))), "cubin": len(asm["cubin"]) // 2}
print(json.dumps(out))
"""


@needs_triton
def test_kernels_compile_for_h100_and_mma_uses_int8_tensor_cores():
    """Without a GPU: Triton compiles both kernels to sm_90 cubins with its own ptxas (no interpreter here)."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    res = subprocess.run([sys.executable, "-c", COMPILE_SCRIPT], capture_output=True, text=True, cwd=REPO, env=env,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    out = __import__("json").loads(res.stdout.strip().splitlines()[-1])
    assert out["mma"]["mma"] == ["mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32"]   # 16-row tiles
    assert [i for i in out["mma64"]["mma"] if i.startswith("wgmma.mma_async") and ".s32.s8.s8" in i]  # Hopper
    assert out["gather"]["mma"] == [] and min(v["cubin"] for v in out.values()) > 10_000


def test_mma_kernel_only_where_sums_cannot_saturate():
    fits = params((5, 3, 8, 8, 256, 8), rows=1024, cols=1)           # 1024 x 4 x 255 x 128 < 2^31
    assert mma_fits(fits) and mma_fits(replace(fits, acc_bits=12))      # narrow: wrapped after the exact sum
    assert not mma_fits(replace(fits, rows=1 << 17))                   # sums may pass 2^31: the dot saturates
    assert not mma_fits(params(FORMATS[3])) and not mma_fits(params((5, 3, 8, 3, 256, 9)))
    with pytest.raises(ValueError, match="sums within 32 bits"):
        FusedTableLayer(replace(fits, rows=1 << 17), np.zeros((1 << 17, 1, 8), dtype=int), kernel="mma")
    assert FusedTableLayer(replace(fits, rows=1 << 17), np.zeros((1 << 17, 1, 8), dtype=int)).kernel == "gather"
