"""Model-config schema (configs/models/*.yaml), built with flow/config.py's machinery.

    name: digits              # optional, defaults to the file name
    task: digits              # digits | symbolic (kan/data.py)
    model: {hidden: 16, base: silu}
    train: {epochs: 40, batch_size: 64, lr: 0.01, seed: 0, qat_epochs: 10, ...}
    kan: {grid: 5, degree: 3, input_bits: 8, table_bits: 3, ...}   # flow.config's own `kan` section
    array: 8x8                                                      # array the layers are tiled onto

`kan` and `array` are the sections a design config has (config_schema/kan.py: same keys, ranges and cross-checks), so a
model and a design point can never disagree on what grid, degree or table_bits mean.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from config_schema.errors import ConfigError
from config_schema.kan import ArraySection, KanSection, acc_bits_overflow, check_kan, kan_params, parse_array
from config_schema.keys import build_section, check_name, schema_key, short, unknown_key
from config_schema.yaml_file import read_yaml
from rtl_gen.params import KanParams

from .data import TASKS


@dataclass(frozen=True)
class ModelSection:
    hidden: int = schema_key("width of the hidden KAN layer (network in -> hidden -> out); 0 = one layer in -> out",
                             16, "", 0, 1024)
    base: str = schema_key("base activation added to every spline during float training; folded into the spline "
                           "coefficients (least squares on the grid) before quantization", "silu",
                           choices=("silu", "none"))


@dataclass(frozen=True)
class TrainSection:
    epochs: int = schema_key("float training epochs (mini-batch Adam, cosine learning-rate decay)",
                             40, "", 1, 100_000)
    batch_size: int = schema_key("mini-batch size", 64, "samples", 1, 1_000_000)
    lr: float = schema_key("Adam peak learning rate", 0.01, "", 0.0, None)
    init_scale: float = schema_key("initial coefficient std times sqrt(fan-in)", 0.5, "", 0.0, None)
    seed: int = schema_key("seed of the split, the initialization and the batch order", 0, "", 0, 2**31 - 1)
    test_fraction: float = schema_key("share of the data held out for testing", 0.2, "", 0.0, None)
    samples: int = schema_key("samples drawn for the symbolic task (train + test)", 2000, "samples", 10, 10_000_000)
    qat_epochs: int = schema_key("quantization-aware fine-tuning epochs per table width (`flow accuracy --qat`)",
                                 10, "", 1, 100_000)


@dataclass(frozen=True)
class ModelConfig:
    name: str = schema_key("model name, used for reports/models/<name>/; defaults to the file name", "")
    task: str = schema_key("data set and loss", "digits", choices=tuple(TASKS))
    model: ModelSection = field(default_factory=ModelSection, metadata=dict(help="network shape"))
    train: TrainSection = field(default_factory=TrainSection, metadata=dict(help="training"))
    kan: KanSection = field(default_factory=KanSection, metadata=dict(help="spline grid and hardware number formats"))
    array: ArraySection = field(default_factory=ArraySection, metadata=dict(help="array the layers are tiled onto"))
    source: str = field(default="", compare=False, metadata=dict(internal=True))

    @property
    def params(self) -> KanParams:
        """The array tile: model grid/degree plus the hardware formats."""
        return kan_params(self.kan, self.array)

    def to_dict(self) -> dict:
        out = {"name": self.name, "task": self.task}
        for sec in ("model", "train", "kan", "array"):
            v = getattr(self, sec)
            out[sec] = {g.name: getattr(v, g.name) for g in fields(v)}
        return out


SECTIONS = {"model": ModelSection, "train": TrainSection}


def _hardware(data: dict, where: str) -> tuple[KanSection, ArraySection]:
    """The `kan` and `array` sections, checked as a design config's are (array also as 'RxC')."""
    kan = build_section(KanSection, data.get("kan", {}), where, "kan")
    array = data.get("array", {})
    array = build_section(ArraySection, array if isinstance(array, dict) else parse_array(where, "array", array),
                          where, "array")
    check_kan(kan, where)
    if overflow := acc_bits_overflow(kan, kan_params(kan, array), where):
        warnings.warn(overflow, stacklevel=3)
    return kan, array


def from_dict(data: dict, where: str = "<model config>", name: str = "") -> ModelConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: <top>: must be a mapping of keys (got {short(data)})")
    known = [f.name for f in fields(ModelConfig) if not f.metadata.get("internal")]
    for key in data:
        if key not in known:
            raise unknown_key(where, "", key, known)
    scalars = build_section(ModelConfig, {k: v for k, v in data.items() if k in ("name", "task")}, where, "")
    sections = {k: build_section(cls, data.get(k, {}), where, k) for k, cls in SECTIONS.items()}
    kan, array = _hardware(data, where)
    cfg = replace(scalars, name=scalars.name or name, source=where, kan=kan, array=array, **sections)
    check_name(where, cfg.name or "x", from_file=not data.get("name"))
    if not 0.0 < cfg.train.test_fraction < 1.0:
        raise ConfigError(f"{where}: train.test_fraction: must be a number in 0..1 (exclusive) "
                          f"(got {cfg.train.test_fraction!r})")
    return cfg


def load(path: str | Path) -> ModelConfig:
    path = Path(path)
    data = read_yaml(path)
    return from_dict(data, str(path), name=path.stem)
