"""Offline data sets, already scaled to the KAN input domain t in [-1, 1].

digits    scikit-learn's handwritten digits (1797 images, 8x8 pixels 0..16, 10 classes; ships with the
          package, no download), pixels mapped 0..16 -> -1..1, stratified train/test split.
symbolic  f(x, y) = exp(sin(pi x) + y^2) on x, y uniform in [-1, 1] (the KAN paper's example), fixed seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TASKS = {"digits": "classification", "symbolic": "regression"}


@dataclass(frozen=True)
class Dataset:
    kind: str                # "classification" (integer labels) or "regression" (float targets)
    train_t: np.ndarray      # (N, F) in [-1, 1]
    train_y: np.ndarray      # (N,)
    test_t: np.ndarray
    test_y: np.ndarray
    n_out: int               # output width of the network

    @property
    def n_in(self) -> int:
        return self.train_t.shape[1]


def symbolic_target(xy: np.ndarray) -> np.ndarray:
    """(N, 2) -> (N,): exp(sin(pi x) + y^2)."""
    return np.exp(np.sin(np.pi * xy[:, 0]) + xy[:, 1] ** 2)


def load(task: str, seed: int, test_fraction: float = 0.2, samples: int = 2000) -> Dataset:
    if task == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        digits = load_digits()
        t = digits.data / 8.0 - 1.0                                                   # (1797, 64)
        tr_t, te_t, tr_y, te_y = train_test_split(t, digits.target, test_size=test_fraction,
                                                  random_state=seed, stratify=digits.target)
        return Dataset(TASKS[task], tr_t, tr_y, te_t, te_y, 10)
    if task == "symbolic":
        xy = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(samples, 2))       # (S, 2)
        n_test = int(round(samples * test_fraction))
        y = symbolic_target(xy)
        return Dataset(TASKS[task], xy[n_test:], y[n_test:], xy[:n_test], y[:n_test], 1)
    raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
