"""Train a model config and save it (weights + config + float score) as reports/models/<name>/model.json."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import data as data_mod
from .config import ModelConfig
from .model import KanModel, fit, score

REPORTS = Path("reports/models")


def model_path(cfg: ModelConfig, root: Path = REPORTS) -> Path:
    return Path(root) / cfg.name / "model.json"


def dataset(cfg: ModelConfig) -> data_mod.Dataset:
    tr = cfg.train
    return data_mod.load(cfg.task, tr.seed, tr.test_fraction, tr.samples)


def train(cfg: ModelConfig) -> tuple[KanModel, float]:
    """-> (trained model with meta {config, task, widths, float_test, loss}, training seconds)."""
    ds = dataset(cfg)
    widths = [ds.n_in] + ([cfg.model.hidden] if cfg.model.hidden else []) + [ds.n_out]
    rng = np.random.default_rng(cfg.train.seed)
    model = KanModel.init(widths, cfg.kan.grid, cfg.kan.degree, cfg.model.base == "silu", rng, cfg.train.init_scale)
    start = time.monotonic()
    history = fit(model, ds.kind, ds.train_t, ds.train_y, cfg.train.epochs, cfg.train.batch_size, cfg.train.lr, rng)
    seconds = time.monotonic() - start
    model.meta = {"config": cfg.to_dict(), "task": ds.kind, "widths": widths,
                  "float_test": score(ds.kind, model.predict(ds.test_t), ds.test_y),
                  "float_train": score(ds.kind, model.predict(ds.train_t), ds.train_y),
                  "final_loss": float(history[-1])}
    return model, seconds
