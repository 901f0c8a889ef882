"""Compact KAN in numpy: B-spline layers (grid G, degree p) with an optional SiLU base, Adam training.

Why numpy and not torch: a layer is one matmul against a dense basis (efficient-kan's formulation), so the
hand-written backward pass is a dozen lines, the digits model trains in seconds on 2 cores, and the project
keeps a single array library shared with the golden model (no multi-GB dependency).

Every layer sees its inputs on t in [-1, 1]: the G uniform grid intervals span exactly that range, which the
hardware maps onto its whole unsigned input range [0, 2^n) (see rtl_gen/golden.py). Between layers the
activation is clip(y, -1, 1): the host does the same clip when it requantizes a layer's outputs to the next
layer's n-bit inputs, so float and integer models see the same domain.

    phi_ij(t) = sum_k B_k(u(t)) c_ijk  [+ w_ij silu(t)],   u(t) = (t + 1) / 2 * G  in knot units
    y_j       = sum_i phi_ij(t_i)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rtl_gen.golden import cox_de_boor

_U_TOP = 1.0 - 1e-12   # knot-unit inputs are clipped just below G: the grid is right-open, like the hardware's


def knots(grid: int, degree: int) -> np.ndarray:
    """Extended uniform knot vector in knot units, -p .. G+p (the same one golden.uniform_knots builds)."""
    return np.arange(-degree, grid + degree + 1, dtype=float)


def silu(t):
    return t / (1.0 + np.exp(-t))


def silu_grad(t):
    s = 1.0 / (1.0 + np.exp(-t))
    return s * (1.0 + t * (1.0 - s))


def spline_basis(t: np.ndarray, grid: int, degree: int, grad: bool = False):
    """Float basis of the G+p B-splines at t in [-1, 1].

    t: (N, F) -> B (N, F, G+p) [, dB/dt (N, F, G+p)].
    """
    u = np.clip((t + 1.0) * 0.5 * grid, 0.0, grid * _U_TOP).ravel()             # (N*F,)
    kv = knots(grid, degree)
    basis = cox_de_boor(u, kv, degree).reshape(*t.shape, -1)                      # (N, F, G+p)
    if not grad:
        return basis
    # Uniform unit knots: dB^p_k/du = B^{p-1}_k - B^{p-1}_{k+1}; du/dt = G/2.
    lower = cox_de_boor(u, kv, degree - 1).reshape(*t.shape, -1)                  # (N, F, G+p+1)
    return basis, (lower[..., :-1] - lower[..., 1:]) * (0.5 * grid)


@dataclass
class KanModel:
    """Layer l holds coefs[l] (in, out, G+p) (the golden model's (R, C, G+p) layout) and base[l] (in, out)."""
    grid: int
    degree: int
    coefs: list[np.ndarray]
    base: list[np.ndarray | None]
    meta: dict = field(default_factory=dict)

    @property
    def widths(self) -> list[int]:
        return [self.coefs[0].shape[0]] + [c.shape[1] for c in self.coefs]

    @classmethod
    def init(cls, widths: list[int], grid: int, degree: int, base: bool, rng: np.random.Generator,
             scale: float = 0.5) -> KanModel:
        coefs, bases = [], []
        for f_in, f_out in zip(widths[:-1], widths[1:]):
            std = scale / np.sqrt(f_in)
            coefs.append(rng.normal(0.0, std, size=(f_in, f_out, grid + degree)))
            bases.append(rng.normal(0.0, std, size=(f_in, f_out)) if base else None)
        return cls(grid, degree, coefs, bases)

    def params(self) -> list[np.ndarray]:
        return [a for pair in zip(self.coefs, self.base) for a in pair if a is not None]

    def copy(self) -> KanModel:
        return KanModel(self.grid, self.degree, [c.copy() for c in self.coefs],
                        [None if b is None else b.copy() for b in self.base], dict(self.meta))

    # ------------------------------------------------------------ forward / backward
    def forward(self, t: np.ndarray, basis_fn=None):
        """t: (N, in) -> (N, out), plus the cache for `backward`.

        basis_fn(layer, t) -> (B, dB/dt) replaces the float basis (quantization-aware training uses it).
        """
        cache = []
        for layer, (coef, base) in enumerate(zip(self.coefs, self.base)):
            t = np.clip(t, -1.0, 1.0)
            basis, dbasis = basis_fn(layer, t) if basis_fn else spline_basis(t, self.grid, self.degree, True)
            n, f_in, k = basis.shape
            y = basis.reshape(n, f_in * k) @ coef.transpose(0, 2, 1).reshape(f_in * k, -1)   # (N, out)
            if base is not None:
                y = y + silu(t) @ base
            cache.append((t, basis, dbasis))
            t = y
        return t, cache

    def backward(self, cache, dy: np.ndarray) -> list[np.ndarray]:
        """Gradients in the order of `params()`, given dLoss/dOutput (N, out)."""
        grads = []
        for coef, base, (t, basis, dbasis) in reversed(list(zip(self.coefs, self.base, cache))):
            n, f_in, k = basis.shape
            flat = coef.transpose(0, 2, 1).reshape(f_in * k, -1)                             # (F*K, out)
            g_coef = (basis.reshape(n, f_in * k).T @ dy).reshape(f_in, k, -1).transpose(0, 2, 1)
            dt = np.einsum("nfk,nfk->nf", (dy @ flat.T).reshape(n, f_in, k), dbasis)          # (N, F)
            layer_grads = [g_coef]
            if base is not None:
                layer_grads.append(silu(t).T @ dy)
                dt = dt + (dy @ base.T) * silu_grad(t)
            grads = layer_grads + grads
            dy = dt * (np.abs(t) < 1.0)                                                      # clip passes inside
        return grads

    def predict(self, t: np.ndarray, batch: int = 2048) -> np.ndarray:
        return np.concatenate([self.forward(t[i:i + batch])[0] for i in range(0, len(t), batch)])

    # ------------------------------------------------------------ base folding
    def folded(self, samples: int = 4096) -> KanModel:
        """Spline-only copy: each SiLU base is replaced by its least-squares spline on the grid.

        The hardware has no base path, so w_ij silu(t) becomes w_ij sum_k a_k B_k(t); `a` is one fit shared
        by every edge (same grid, same function), so folding is c_ijk += w_ij a_k.
        """
        out = self.copy()
        t = np.linspace(-1.0, 1.0, samples)[:, None]                                   # (S, 1)
        a, *_ = np.linalg.lstsq(spline_basis(t, self.grid, self.degree)[:, 0], silu(t[:, 0]), rcond=None)
        for layer, base in enumerate(self.base):
            if base is not None:
                out.coefs[layer] = out.coefs[layer] + base[:, :, None] * a             # (in, out, G+p)
                out.base[layer] = None
        return out

    # ------------------------------------------------------------ persistence
    def save(self, path: Path) -> None:
        """JSON: exact float64 round trip and byte-identical files for identical models."""
        data = {"grid": self.grid, "degree": self.degree, "meta": self.meta,
                "coefs": [c.tolist() for c in self.coefs],
                "base": [None if b is None else b.tolist() for b in self.base]}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, separators=(",", ":")) + "\n")

    @classmethod
    def load(cls, path: Path) -> KanModel:
        data = json.loads(Path(path).read_text())
        return cls(data["grid"], data["degree"], [np.array(c, dtype=float) for c in data["coefs"]],
                   [None if b is None else np.array(b, dtype=float) for b in data["base"]], data["meta"])


# ---------------------------------------------------------------- loss, optimizer, training loop
def loss_and_grad(task: str, out: np.ndarray, target: np.ndarray):
    """Cross-entropy on integer labels (classification) or mean squared error (regression)."""
    n = len(out)
    if task == "classification":
        z = out - out.max(axis=1, keepdims=True)
        prob = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)                        # (N, classes)
        loss = -np.log(prob[np.arange(n), target] + 1e-12).mean()
        prob[np.arange(n), target] -= 1.0
        return loss, prob / n
    err = out[:, 0] - target
    return (err ** 2).mean(), (2.0 / n) * err[:, None]


def score(task: str, out: np.ndarray, target: np.ndarray) -> float:
    """Accuracy in % (classification) or RMSE (regression)."""
    if task == "classification":
        return float((out.argmax(axis=1) == target).mean() * 100.0)
    return float(np.sqrt(((out[:, 0] - target) ** 2).mean()))


class Adam:
    def __init__(self, params: list[np.ndarray], lr: float, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.step_count = 0

    def step(self, grads: list[np.ndarray], lr: float | None = None) -> None:
        self.step_count += 1
        lr = self.lr if lr is None else lr
        c1, c2 = 1 - self.b1 ** self.step_count, 1 - self.b2 ** self.step_count
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= lr * (m / c1) / (np.sqrt(v / c2) + self.eps)                          # in place: the model sees it


def fit(model: KanModel, task: str, t: np.ndarray, target: np.ndarray, epochs: int, batch_size: int,
        lr: float, rng: np.random.Generator, basis_fn=None) -> list[float]:
    """Mini-batch Adam with a cosine learning-rate decay; returns the mean training loss per epoch."""
    opt = Adam(model.params(), lr)
    steps, history = epochs * -(-len(t) // batch_size), []
    for _ in range(epochs):
        order, total = rng.permutation(len(t)), 0.0
        for i in range(0, len(t), batch_size):
            idx = order[i:i + batch_size]
            out, cache = model.forward(t[idx], basis_fn)
            loss, dy = loss_and_grad(task, out, target[idx])
            opt.step(model.backward(cache, dy), lr * 0.5 * (1 + np.cos(np.pi * opt.step_count / steps)))
            total += loss * len(idx)
        history.append(total / len(t))
    return history
