"""The one typed config schema: every key with its type, range, unit and help, validated at load.

A config file is YAML:

    name: b3                  # optional, defaults to the file name
    kan: {grid: 5, degree: 3, input_bits: 8, table_bits: 3, table_depth: 256, coef_bits: 8, acc_bits: auto}
    array: 4x4                # or {rows: 4, cols: 4}
    pdk: sky130hd
    flow: {clock_period_ns: 10.0, ...}

User errors raise `ConfigError`, whose text is one line: `<file>: <key.path>: <what was expected>`.
"""
from __future__ import annotations

import difflib
import re
import warnings
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from rtl_gen.params import KanParams

PDKS = ("sky130hd", "gf180mcu", "asap7", "osu018")


class ConfigError(Exception):
    """A user error in a config file; str() is the one-line message the CLI prints."""


def _key(help: str, default: Any, unit: str = "", lo: float | None = None, hi: float | None = None,
         choices: tuple | None = None, kind: type | None = None, auto: bool = False):
    """A schema entry: the dataclass field carries its own type, range, unit and help."""
    meta = dict(help=help, unit=unit, lo=lo, hi=hi, choices=choices, kind=kind, auto=auto)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class KanSection:
    grid: int = _key("grid intervals G of every B-spline (uniform knots over the input range)",
                     5, "intervals", 1, 64)
    degree: int = _key("spline degree p; odd, so the table stores (p+1)/2 symmetric columns", 3, "", 1, 7)
    input_bits: int = _key("width n of the unsigned inputs x", 8, "bits", 4, 16)
    table_bits: int = _key("width b of each basis-table entry; sets every PE multiplier to b x coef_bits",
                           3, "bits", 1, 16)
    table_depth: int = _key("rows D of the basis table (power of two, at most 2^input_bits)", 256, "rows", 2, 65536)
    coef_bits: int = _key("width c of the signed spline coefficients held in each PE", 8, "bits", 2, 16)
    acc_bits: Any = _key("accumulator width A; 'auto' = smallest width that can never overflow",
                         "auto", "bits", 2, 64, kind=int, auto=True)


@dataclass(frozen=True)
class ArraySection:
    rows: int = _key("array rows R = KAN layer inputs (one B-spline unit per row)", 4, "", 1, 32)
    cols: int = _key("array columns C = KAN layer outputs", 4, "", 1, 32)


@dataclass(frozen=True)
class FlowSection:
    clock_period_ns: float = _key("target clock period for synthesis and timing", 10.0, "ns", 0.0, None)
    stop_after: str = _key("last physical step to run", "route", choices=("synth", "place", "route"))
    verify_vectors: int = _key("random input vectors streamed by `flow verify` (corners are added)",
                               2000, "vectors", 1, 10_000_000)
    seed: int = _key("seed of the random coefficients and inputs used in verification", 1, "", 0, 2**31 - 1)
    synth_strategy: str = _key("ABC mapping goal: 'area' relaxes the delay target to recover area, 'delay' maps "
                               "at the clock period (abc -D)", "area", choices=("area", "delay"))
    booth: bool = _key("Yosys `booth` pass: Booth-encoded multipliers instead of the default array", False)
    physical: str = _key("physical implementation: 'flat' places and routes the whole array as one block; 'tiled' "
                         "hardens one PE (and one B-spline unit) as macros, tiles them and routes only the "
                         "array-level nets; 'auto' = tiled for arrays larger than 2x2",
                         "auto",
                         choices=("auto", "flat", "tiled"))


@dataclass(frozen=True)
class Config:
    name: str = _key("design name used for reports/<name>/; defaults to the config file name", "")
    kan: KanSection = field(default_factory=KanSection, metadata=dict(help="KAN layer arithmetic"))
    array: ArraySection = field(default_factory=ArraySection,
                                metadata=dict(help="systolic array size, 'RxC' or {rows, cols}"))
    pdk: str = _key("standard-cell library / PDK", "sky130hd", choices=PDKS)
    model: str = _key("trained KAN (model.json from `flow train`, relative to the repository) scored on this design "
                      "point's integer formats: `flow run` and `flow sweep` then report its accuracy ('' = none)", "")
    flow: FlowSection = field(default_factory=FlowSection, metadata=dict(help="physical flow options"))
    source: str = field(default="", compare=False, metadata=dict(internal=True))

    @property
    def params(self) -> KanParams:
        k = self.kan
        return KanParams(grid=k.grid, degree=k.degree, input_bits=k.input_bits, table_bits=k.table_bits,
                         table_depth=k.table_depth, coef_bits=k.coef_bits, rows=self.array.rows,
                         cols=self.array.cols, acc_bits=None if k.acc_bits == "auto" else k.acc_bits)

    @property
    def physical_mode(self) -> str:
        """'flat' or 'tiled', resolving 'auto' by the array size."""
        if self.flow.physical != "auto":
            return self.flow.physical
        return "tiled" if self.array.rows * self.array.cols > 4 else "flat"

    def to_dict(self) -> dict:
        """Normalized plain dict (every key, defaults filled in): the basis of cache keys."""
        out = {}
        for f in fields(self):
            if f.metadata.get("internal"):
                continue
            v = getattr(self, f.name)
            out[f.name] = {g.name: getattr(v, g.name) for g in fields(v)} if _is_section(f) else v
        return out


SECTIONS = {"kan": KanSection, "array": ArraySection, "flow": FlowSection}


def _is_section(f) -> bool:
    return f.name in SECTIONS


def _expected(meta: dict, kind: type) -> str:
    lo, hi = meta.get("lo"), meta.get("hi")
    if meta.get("choices"):
        return "must be one of " + ", ".join(meta["choices"])
    noun = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}[kind]
    if kind is float and lo is not None and hi is None:
        rng = f" > {lo:g}"
    elif lo is not None and hi is not None:
        rng = f" in {lo:.0f}..{hi:.0f}"
    else:
        rng = ""
    return f"must be {noun}{rng}" + (" or 'auto'" if meta.get("auto") else "")


def _kind(f) -> type:
    """The Python type a key takes (annotations are strings under `from __future__ import annotations`)."""
    return f.metadata.get("kind") or {"int": int, "float": float, "str": str, "bool": bool}[f.type]


def _check_value(where: str, path: str, f, value: Any) -> Any:
    meta = f.metadata
    kind = _kind(f)
    expected = _expected(meta, kind)
    if meta.get("auto") and value == "auto":
        return value
    bad = ConfigError(f"{where}: {path}: {expected}, not {value!r}")
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
    elif kind is bool:
        if not isinstance(value, bool):
            raise bad
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        value = float(value)
    elif not isinstance(value, str):
        raise bad
    if meta.get("choices") and value not in meta["choices"]:
        hint = difflib.get_close_matches(str(value), meta["choices"], n=1)
        raise ConfigError(f"{where}: {path}: {expected}, not {value!r}"
                          + (f" (did you mean '{hint[0]}'?)" if hint else ""))
    lo, hi = meta.get("lo"), meta.get("hi")
    if kind is float and lo is not None and not value > lo:
        raise bad
    if kind is int and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        raise bad
    return value


def _unknown(where: str, path: str, key: str, known: list[str]) -> ConfigError:
    hint = difflib.get_close_matches(str(key), known, n=1)
    dotted = f"{path}.{key}" if path else str(key)
    return ConfigError(f"{where}: {dotted}: unknown key" + (f" (did you mean '{hint[0]}'?)" if hint else "")
                       + f"; known keys: {', '.join(known)}")


def _build(cls, data: Any, where: str, path: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: {path or '<top>'}: must be a mapping of keys, not {data!r}")
    known = [f.name for f in fields(cls) if not f.metadata.get("internal")]
    for key in data:
        if key not in known:
            raise _unknown(where, path, key, known)
    values = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        sub = f"{path}.{f.name}" if path else f.name
        raw = data[f.name]
        if f.name == "array" and cls is Config and isinstance(raw, str):
            raw = _parse_array(where, sub, raw)
        values[f.name] = _build(SECTIONS[f.name], raw, where, sub) if _is_section(f) and cls is Config \
            else _check_value(where, sub, f, raw)
    return cls(**values)


def _parse_array(where: str, path: str, text: str) -> dict:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise ConfigError(f"{where}: {path}: must be 'RxC' such as '4x4' or {{rows: R, cols: C}}, not {text!r}")
    return {"rows": int(match[1]), "cols": int(match[2])}


def _cross_checks(cfg: Config, where: str) -> None:
    k = cfg.kan
    if k.degree % 2 == 0:
        raise ConfigError(f"{where}: kan.degree: must be odd in 1..7 (symmetric table halves), not {k.degree}")
    if k.table_depth & (k.table_depth - 1) or k.table_depth > 1 << k.input_bits:
        raise ConfigError(f"{where}: kan.table_depth: must be a power of two <= 2^input_bits = "
                          f"{1 << k.input_bits}, not {k.table_depth}")
    if k.acc_bits != "auto" and k.acc_bits < cfg.params.acc_bits_auto:
        warnings.warn(f"{where}: kan.acc_bits: {k.acc_bits} bits can overflow; "
                      f"'auto' would be {cfg.params.acc_bits_auto}", stacklevel=3)


def from_dict(data: dict, where: str = "<config>", name: str = "") -> Config:
    cfg = _build(Config, data, where, "")
    cfg = replace(cfg, name=cfg.name or name, source=where)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", cfg.name or "x"):
        raise ConfigError(f"{where}: name: must use letters, digits, '_', '.', '-' only, not {cfg.name!r}")
    _cross_checks(cfg, where)
    return cfg


def read_yaml(path: str | Path) -> dict:
    """A YAML file's top-level mapping, or ConfigError naming the file and what is wrong."""
    where = str(path)
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{where}: YAML syntax error: {pos}{getattr(exc, 'problem', exc)}") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: <top>: must be a mapping of keys, not {data!r}")
    return data


def load(path: str | Path, overrides: dict | None = None) -> Config:
    """Read and validate a YAML config; `overrides` maps dotted keys to values (sweeps use it)."""
    path = Path(path)
    where = str(path)
    data = read_yaml(path)
    for dotted, value in (overrides or {}).items():
        set_dotted(data, dotted, value)
    return from_dict(data, where, name=path.stem)


def set_dotted(data: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def schema_rows() -> list[tuple[str, str, str, str, str]]:
    """(key, type, range, unit, help) for every key: `flow schema` prints these."""
    rows = []
    for f in fields(Config):
        if f.metadata.get("internal"):
            continue
        if _is_section(f):
            rows.append((f.name, "section", "", "", f.metadata["help"]))
            for g in fields(SECTIONS[f.name]):
                rows.append(_schema_row(f"{f.name}.{g.name}", g))
        else:
            rows.append(_schema_row(f.name, f))
    return rows


def _schema_row(path: str, f) -> tuple[str, str, str, str, str]:
    meta = f.metadata
    kind = _kind(f)
    rng = _expected(meta, kind).removeprefix("must be ")
    default = f.default if not callable(getattr(f, "default_factory", None)) else ""
    return path, kind.__name__, rng, meta.get("unit", ""), f"{meta['help']} (default {default!r})"
