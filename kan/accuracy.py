"""Accuracy (classification, %) or RMSE (regression) of the integer model vs basis-table width.

Every quantized score is integer inference through rtl_gen.golden.array_outputs (kan.quantize.infer), i.e.
exactly what the RTL computes; the float model (with its SiLU base, unfolded) is the reference line.
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from config_schema.errors import ConfigError, FlowError
from rtl_gen.params import KanParams

from . import quantize as quant
from .config import ModelConfig, from_dict
from .model import KanModel, fit, score
from .train import dataset


class ModelError(FlowError):
    """A model file the user named cannot be used; one line, exit 2."""
    exit_code = 2


def load_model(path: str | Path) -> tuple[KanModel, ModelConfig]:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found (train it with `flow train configs/models/<name>.yaml`)")
    try:
        model = KanModel.load(path)
        cfg = from_dict(model.meta["config"], str(path))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: not a model saved by `flow train` ({type(exc).__name__}: {exc})") from None
    return model, cfg


def parse_bits(text: str) -> list[int]:
    """'1..16', '3' or '1,2,3' -> sorted table widths in 1..16."""
    match = re.fullmatch(r"\s*(\d+)\s*\.\.\s*(\d+)\s*", text)
    try:
        bits = list(range(int(match[1]), int(match[2]) + 1)) if match else [int(b) for b in text.split(",")]
    except ValueError:
        bits = []
    if not bits or any(not 1 <= b <= 16 for b in bits):
        raise ConfigError(f"--table-bits: must be 'LO..HI' or a comma list of widths in 1..16, not {text!r}")
    return sorted(set(bits))


def quantized_score(model: KanModel, cfg: ModelConfig, tile: KanParams, qat: bool = False) -> float:
    """Test score of the integer model on `tile`; with `qat`, after quantization-aware fine-tuning.

    QAT fine-tunes the folded (spline-only) model for train.qat_epochs with the forward pass on the tile's
    table and input codes (kan.quantize.qat_basis_fn) at a tenth of the learning rate, then quantizes.
    """
    ds = dataset(cfg)
    if qat:
        model = model.folded()
        fit(model, ds.kind, ds.train_t, ds.train_y, cfg.train.qat_epochs, cfg.train.batch_size,
            cfg.train.lr * 0.1, np.random.default_rng(cfg.train.seed + tile.table_bits),
            basis_fn=quant.qat_basis_fn(model, tile))
    return score(ds.kind, quant.infer(quant.quantize(model, tile), ds.test_t), ds.test_y)


def sweep(model: KanModel, cfg: ModelConfig, bits: list[int], qat: bool = False) -> list[dict]:
    rows = []
    for b in bits:
        tile = replace(cfg.params, table_bits=b)
        row = {"table_bits": b, "float": model.meta["float_test"], "quantized": quantized_score(model, cfg, tile)}
        if qat:
            row["qat"] = quantized_score(model, cfg, tile, qat=True)
        rows.append(row)
    return rows


def metric_name(task: str) -> str:
    return "accuracy [%]" if task == "classification" else "RMSE"


def write_report(rows: list[dict], model: KanModel, cfg: ModelConfig, out_dir: Path) -> list[Path]:
    """accuracy_vs_table_bits.{csv,md,png,svg} in out_dir."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    metric, k = metric_name(model.meta["task"]), cfg.kan
    cols = [c for c in ("table_bits", "float", "quantized", "qat") if c in rows[0]]
    fmt = (lambda v: f"{v:.2f}") if model.meta["task"] == "classification" else (lambda v: f"{v:.5f}")
    csv = [",".join(cols)] + [",".join(str(r[c]) if c == "table_bits" else fmt(r[c]) for c in cols) for r in rows]
    stem = out_dir / "accuracy_vs_table_bits"
    (stem.with_suffix(".csv")).write_text("\n".join(csv) + "\n")
    head = {"table_bits": "table bits", "float": f"float {metric}", "quantized": f"integer (PTQ) {metric}",
            "qat": f"integer (QAT) {metric}"}
    md = [f"# {cfg.name}: {metric} vs basis-table bits\n",
          f"KAN {'-'.join(map(str, model.meta['widths']))}, grid {k.grid}, degree {k.degree}, "
          f"base {cfg.model.base} (folded into the splines), inputs {k.input_bits} bit, table depth "
          f"{k.table_depth}, coefficients {k.coef_bits} bit, layers tiled on a {cfg.array.rows}x{cfg.array.cols} "
          f"array. Integer scores are bit-exact golden-model inference (= RTL) on the test set.\n",
          "| " + " | ".join(head[c] for c in cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join(str(r[c]) if c == "table_bits" else fmt(r[c]) for c in cols) + " |" for r in rows]
    (stem.with_suffix(".md")).write_text("\n".join(md) + "\n")

    fig, ax = plt.subplots(figsize=(6, 3.8))
    bits = [r["table_bits"] for r in rows]
    ax.axhline(model.meta["float_test"], color="0.4", ls="--", label="float model")
    ax.plot(bits, [r["quantized"] for r in rows], "o-", label="integer, post-training quantization")
    if "qat" in rows[0]:
        ax.plot(bits, [r["qat"] for r in rows], "s-", label="integer, quantization-aware fine-tuning")
    ax.set(xlabel="basis-table entry width [bits]", ylabel=f"test {metric}", xticks=bits,
           title=f"{cfg.name}: KAN {'-'.join(map(str, model.meta['widths']))}, G={k.grid}, p={k.degree}")
    if model.meta["task"] != "classification":
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    plt.rcParams["svg.hashsalt"] = "kan"                       # deterministic SVG ids
    paths = [stem.with_suffix(e) for e in (".csv", ".md")]
    for ext, meta in ((".png", {"Software": None}), (".svg", {"Date": None, "Creator": None})):
        fig.savefig(stem.with_suffix(ext), dpi=110, metadata=meta)
        paths.append(stem.with_suffix(ext))
    plt.close(fig)
    return paths


def accuracy_for(model_path: str | Path, params: KanParams) -> dict:
    """Score of a saved model on the array `params` (its formats; rows x cols = tile), for `flow sweep`.

    -> {"metric": "accuracy [%]" | "RMSE", "float": ..., "quantized": ...}
    """
    model, cfg = load_model(model_path)
    if (params.grid, params.degree) != (model.grid, model.degree):
        raise ModelError(f"{model_path}: trained with grid {model.grid}, degree {model.degree}; the design has "
                         f"grid {params.grid}, degree {params.degree}")
    return {"metric": metric_name(model.meta["task"]), "float": model.meta["float_test"],
            "quantized": quantized_score(model, cfg, params)}


def check_fits(model_path: str | Path, params: KanParams, where: str = "", label: str = ""
               ) -> tuple[KanModel, ModelConfig]:
    """The model, or ModelError naming the file and keys when it is missing or its splines do not fit the
    array's (`where`: the design config naming it)."""
    try:
        model, cfg = load_model(model_path)
    except ModelError as exc:
        raise (ModelError(f"{where}: model: {exc}") if where else exc) from None
    if (params.grid, params.degree) != (model.grid, model.degree):
        raise ModelError(f"{where or model_path}: model: {label or model_path} was trained with grid {model.grid}, "
                         f"degree {model.degree}; the design has kan.grid {params.grid}, kan.degree {params.degree}")
    return model, cfg


def power_passes(model_path: str | Path, params: KanParams, images: int, max_passes: int = 8
                 ) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """The power workload of a model (flow.power_workload: model): its first `images` test inputs quantized
    as `flow accuracy` does, the inference schedule on the array (kan.quantize.layer_passes, the golden model as
    the array, so later layers see the real requantized activations), and up to `max_passes` of its passes
    evenly spread over it. -> ([(tile coefficients (R, C, G+p), inputs (T, R))], passes per inference)."""
    from rtl_gen import golden
    model, cfg = check_fits(model_path, params)
    ds = dataset(cfg)
    q = quant.quantize(model, params)
    steps = quant.layer_passes(q, quant.to_codes(ds.test_t[:images], params.input_bits))
    passes = []
    try:
        _, block, xs = next(steps)
        while True:
            passes.append((block, xs))
            _, block, xs = steps.send(golden.array_outputs(params, block, xs))
    except StopIteration:
        pass
    keep = sorted({int(round(i)) for i in np.linspace(0, len(passes) - 1, min(max_passes, len(passes)))})
    return [passes[i] for i in keep], len(passes)
