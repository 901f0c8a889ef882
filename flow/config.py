"""The one typed config schema: every key with its type, range, unit and help, validated at load.

A config file is YAML:

    name: b3                  # optional, defaults to the file name
    kan: {grid: 5, degree: 3, input_bits: 8, table_bits: 3, table_depth: 256, coef_bits: 8, acc_bits: auto}
    array: 4x4                # or {rows: 4, cols: 4}
    pdk: sky130hd
    flow: {clock_period_ns: 10.0, ...}

User errors raise `ConfigError`, whose text is one line:
`<file>: <key.path>: <what was expected> (got <value, cut to 40 characters>)`; the CLI prints it and exits 2.
The machinery (schema_key, build_section, the YAML file rules) and the `kan` and `array` sections live in
config_schema/, which model configs (kan/config.py) build on too; the same file-level rules hold for design configs,
sweep files (`read_sweep`) and model configs (config_schema/yaml_file.py).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from config_schema.errors import ConfigError
from config_schema.kan import (
    ArraySection,
    KanSection,
    acc_bits_overflow,
    array_shorthand,
    check_kan,
    kan_params,
    parse_array,
)
from config_schema.keys import (
    build_section,
    check_name,
    check_value,
    did_you_mean,
    expected_text,
    key_kind,
    key_text,
    schema_key,
    short,
    unknown_key,
)
from config_schema.yaml_file import read_yaml
from rtl_gen.params import KanParams

from . import pdks

PDKS = pdks.NAMES
REPO = Path(__file__).resolve().parent.parent
MAX_POINTS = 10_000        # points one sweep file may expand to
TARGETS = ("asic", "fpga")
# nextpnr-ecp5 device switches (LFE5U-<size>F) and the packages it knows for them
FPGA_DEVICES = ("12k", "25k", "45k", "85k")
FPGA_PACKAGES = ("CABGA256", "CABGA381", "CABGA554", "CABGA756", "CSFBGA285", "TQFP144")
PACKAGES_OF_DEVICE = {"12k": ("CABGA256", "CABGA381", "CSFBGA285", "TQFP144"),     # Lattice ECP5 family data sheet
                      "25k": ("CABGA256", "CABGA381", "CSFBGA285", "TQFP144"),
                      "45k": ("CABGA256", "CABGA381", "CABGA554", "CSFBGA285", "TQFP144"),
                      "85k": ("CABGA381", "CABGA554", "CABGA756", "CSFBGA285")}


_key = schema_key          # the short name the field declarations below use


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
    buffer_trees: bool = _key("tiled flow: drive each broadcast net of the array (clock, load enable, reset: an "
                              "input with more than 12 sinks) through a tree of buffers in the glue: a leaf drives "
                              "at most 12 cell inputs (a macro pin counts the cells its net reaches inside) within "
                              "4 PE pitches, a buffer above the leaves at most 4 buffers, with the PDK's stronger "
                              "tree buffer; buffers in the channel crossings (no delay balancing: not a CTS); "
                              "false = one unbuffered net from the port", True)
    verify_gates: str = _key("gate-level check of the tiled flow: 'macros' simulates the routed glue, every B-spline "
                             "unit and the PEs of the first and last row as routed gates and the other PEs as their "
                             "RTL (each macro checked in place, every glue connection simulated; the cost of about two "
                             "rows at any array size); 'full' simulates every macro instance as routed gates (cost "
                             "grows with the whole array)", "macros", choices=("macros", "full"))
    power_vectors: int = _key("random input vectors of the power workload: streamed through the routed gates after "
                              "a random coefficient load, their toggles annotated in OpenSTA (the `power` step "
                              "after sta_route); 0 = no power step", 500, "vectors", 0, 1_000_000)
    power_workload: str = _key("what the power step streams: 'random' inputs and coefficients, or 'model': the first "
                               "power_vectors test inputs of the config's `model:`, quantized as `flow accuracy` does, "
                               "through up to 8 of its array passes (real tile coefficients) spread over the layers",
                               "random", choices=("random", "model"))


@dataclass(frozen=True)
class FpgaSection:
    family: str = _key("FPGA family (Yosys synth_ecp5 + nextpnr-ecp5)", "ecp5", choices=("ecp5",))
    device: str = _key("ECP5 device, LFE5U-<device>F (the resources nextpnr's device model offers)", "85k",
                       choices=FPGA_DEVICES)
    package: str = _key("device package (decides the I/O count)", "CABGA381", choices=FPGA_PACKAGES)
    speed: int = _key("speed grade (timing model)", 6, "", 6, 8)
    dsp: bool = _key("multipliers on MULT18X18D DSP blocks (true) or in LUTs and carry chains (false)", True)
    table_ram: str = _key("basis table in LUT logic ('lut') or DP16KD block RAM ('bram', forced per table)", "lut",
                          choices=("lut", "bram"))
    seeds: tuple = _key("nextpnr placement seeds: one place-and-route per seed, the report gives the median fmax "
                        "and the spread", (1, 2, 3), "", 1, 2**31 - 1, kind=list)


@dataclass(frozen=True)
class Config:
    name: str = _key("design name used for reports/<name>/ and build/<name>/: letters, digits, '-', '_', '.', "
                     "not starting with '.'; defaults to the config file name", "")
    kan: KanSection = field(default_factory=KanSection, metadata=dict(help="KAN layer arithmetic"))
    array: ArraySection = field(default_factory=ArraySection,
                                metadata=dict(help="systolic array size, 'RxC' or {rows, cols}"))
    pdk: str = _key("standard-cell library / PDK", "sky130hd", choices=PDKS)
    target: str = _key("implementation target: 'asic' (pdk, physical flow) or 'fpga' (the fpga section)", "asic",
                       choices=TARGETS)
    fpga: FpgaSection = field(default_factory=FpgaSection,
                              metadata=dict(help="FPGA target options (used when target: fpga)"))
    model: str = _key("trained KAN (model.json from `flow train`, relative to the repository) scored on this design "
                      "point's integer formats: `flow run` and `flow sweep` then report its accuracy ('' = none)", "")
    flow: FlowSection = field(default_factory=FlowSection, metadata=dict(help="physical flow options"))
    source: str = field(default="", compare=False, metadata=dict(internal=True))

    @property
    def params(self) -> KanParams:
        return kan_params(self.kan, self.array)

    @property
    def physical_mode(self) -> str:
        """'flat' or 'tiled', resolving 'auto' by the array size."""
        if self.flow.physical != "auto":
            return self.flow.physical
        return "tiled" if self.array.rows * self.array.cols > 4 else "flat"

    def to_dict(self) -> dict:
        """Normalized plain dict (every key, defaults filled in): the basis of cache keys. An ASIC point leaves
        out `target` and `fpga` (they change nothing in its result, and its cached results keep their keys)."""
        out = {}
        for f in fields(self):
            if f.metadata.get("internal") or (self.target == "asic" and f.name in ("target", "fpga")):
                continue
            v = getattr(self, f.name)
            out[f.name] = {g.name: _plain(getattr(v, g.name)) for g in fields(v)} if _is_section(f) else v
        return out

    @property
    def platform(self) -> str:
        """What the point is implemented on: the PDK, or the FPGA family and device (e.g. 'ecp5-85k')."""
        return self.pdk if self.target == "asic" else f"{self.fpga.family}-{self.fpga.device}"


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


SECTIONS = {"kan": KanSection, "array": ArraySection, "flow": FlowSection, "fpga": FpgaSection}


def _is_section(f) -> bool:
    return f.name in SECTIONS


def _cross_checks(cfg: Config, where: str) -> None:
    if cfg.fpga.package not in PACKAGES_OF_DEVICE[cfg.fpga.device]:
        raise ConfigError(f"{where}: fpga.package: {cfg.fpga.device} comes in "
                          f"{', '.join(PACKAGES_OF_DEVICE[cfg.fpga.device])} (got {short(cfg.fpga.package)})")
    check_kan(cfg.kan, where)
    why = pdks.unsupported(cfg.pdk, cfg.physical_mode)
    if why and cfg.flow.stop_after != "synth":      # synthesis alone is the same in every mode
        auto = f" (auto for a {cfg.array.rows}x{cfg.array.cols} array)" if cfg.flow.physical == "auto" else ""
        raise ConfigError(f"{where}: flow.physical: must be flat on {cfg.pdk}, or stop_after synth: "
                          f"{why} (got {cfg.physical_mode}{auto})")
    if cfg.model and not (REPO / cfg.model).is_file():
        raise ConfigError(f"{where}: model: must name a model.json relative to the repository, e.g. "
                          f"reports/models/digits/model.json (got {short(cfg.model)}: not found)")
    if cfg.flow.power_workload == "model" and not cfg.model:
        raise ConfigError(f"{where}: flow.power_workload: 'model' needs a trained model in the top-level `model:` key "
                          "(e.g. model: reports/models/digits/model.json)")
    if overflow := acc_bits_overflow(cfg.kan, cfg.params, where):
        warnings.warn(overflow, stacklevel=3)


def from_dict(data: dict, where: str = "<config>", name: str = "") -> Config:
    cfg = build_section(Config, data, where, "", SECTIONS, {"array": parse_array})
    cfg = replace(cfg, name=cfg.name or name, source=where)
    check_name(where, cfg.name or "x", from_file=not data.get("name"))
    _cross_checks(cfg, where)
    return cfg


def load(path: str | Path, overrides: dict | None = None) -> Config:
    """Read and validate a YAML config; `overrides` maps dotted keys to values (sweeps use it)."""
    path = Path(path)
    where = str(path)
    data = read_yaml(path)
    for dotted, value in (overrides or {}).items():
        set_dotted(data, dotted, value)
    return from_dict(data, where, name=path.stem)


def set_dotted(data: dict, dotted: str, value: Any) -> None:
    """data[a][b] = value for 'a.b'. The 'RxC' array shorthand becomes {rows, cols} first; any other section
    written as a non-mapping is left as it is, for from_dict to name."""
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        sub = node.setdefault(part, {})
        if part == "array" and isinstance(sub, str) and array_shorthand(sub):
            sub = node[part] = array_shorthand(sub)
        if not isinstance(sub, dict):
            return
        node = sub
    node[leaf] = value


def settable_keys() -> list[str]:
    """Every dotted key a sweep can set or sweep: top-level keys, sections and their keys (`name` is per point)."""
    keys = []
    for f in fields(Config):
        if f.metadata.get("internal") or f.name == "name":
            continue
        keys.append(f.name)
        keys += [f"{f.name}.{g.name}" for g in fields(SECTIONS[f.name])] if _is_section(f) else []
    return keys


# ---------------------------------------------------------------- sweep files

SWEEP_SCHEMA = (   # (key, type, range, unit, help): read_sweep checks these keys, `flow schema` prints them
    ("name", "str", "letters, digits, '-', '_', '.', not starting with '.'", "",
     "sweep name: reports/<name>/ and build/sweeps/<name>/ (default: the sweep file's name)"),
    ("base", "str", "a config file, relative to the sweep file", "",
     "design config every point starts from (required)"),
    ("mode", "str", "one of product, zip", "",
     "product: every combination of the axes' values; zip: the i-th values of all axes together (default product)"),
    ("set", "mapping", "dotted config key -> value", "",
     "overrides applied to every point, e.g. {flow.stop_after: synth}"),
    ("axes", "mapping", "dotted config key -> non-empty list of values", "",
     f"the swept keys, e.g. {{kan.table_bits: [2, 3, 4], array: [2x2, 4x4]}}; at most {MAX_POINTS} points "
     "(required); a value may be a mapping of dotted keys set together, the axis name then a label, e.g. "
     "{platform: [{pdk: sky130hd}, {target: fpga, fpga.device: 85k}]}"),
    ("rules", "list", "of {when, set}", "",
     "overrides for the points whose axes match; precedence: axes over rules over set"),
    ("rules[].when", "mapping", "axis -> value or list of values", "",
     "a point matches when every named axis has that value (or one of those values)"),
    ("rules[].set", "mapping", "dotted config key -> value", "", "overrides for the matching points"),
)


@dataclass(frozen=True)
class SweepSpec:
    """A sweep file with every key checked; flow.sweep expands it into points."""
    name: str
    base_path: Path
    base: dict             # the base config's top-level mapping, as read
    mode: str              # product | zip
    fixed: dict            # set: dotted key -> value
    axes: dict             # dotted key -> list of values
    rules: list            # [(when: {axis: value or [values]}, set: {dotted key: value})]

    @property
    def size(self) -> int:
        """Points before duplicates are merged."""
        lengths = [len(v) for v in self.axes.values()]
        return lengths[0] if self.mode == "zip" else math.prod(lengths)


def _field_at(dotted: str):
    section, _, leaf = dotted.partition(".")
    top = {f.name: f for f in fields(Config)}[section]
    return {g.name: g for g in fields(SECTIONS[section])}[leaf] if leaf else top


def _check_dotted(where: str, path: str, dotted: Any) -> str:
    known = settable_keys()
    if dotted not in known:
        raise unknown_key(where, path, dotted, known)
    return f"{path}.{dotted}"


def _check_setting(where: str, path: str, dotted: Any, value: Any) -> None:
    """One `dotted.key: value` of a sweep file (under `path`): a key the config has, a value of its type."""
    at = _check_dotted(where, path, dotted)
    if dotted == "array":
        parse_array(where, at, value)
    elif dotted in SECTIONS:
        raise ConfigError(f"{where}: {at}: must be set key by key, e.g. {dotted}.{fields(SECTIONS[dotted])[0].name} "
                          f"(got {short(value)})")
    else:
        check_value(where, at, _field_at(dotted), value)


def _settings(where: str, path: str, data: Any) -> dict:
    """A `set:` mapping of dotted keys to values, each checked."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: {path}: must be a mapping of dotted config keys to values (got {short(data)})")
    for dotted, value in data.items():
        _check_setting(where, path, dotted, value)
    return data


def _check_axis_value(where: str, path: str, axis: Any, value: Any) -> None:
    """An axis value: a value of the config key the axis names, or a mapping of dotted keys to values set together
    (the axis name is then only a label, e.g. `platform: [{pdk: sky130hd}, {target: fpga, fpga.device: 85k}]`)."""
    if isinstance(value, dict) and value:
        for dotted, v in value.items():
            _check_setting(where, f"{path}.{key_text(axis)}", dotted, v)
    else:
        _check_setting(where, path, axis, value)


def _sweep_axes(where: str, axes: Any, mode: str) -> dict:
    if not isinstance(axes, dict) or not axes:
        raise ConfigError(f"{where}: axes: must map dotted config keys to non-empty lists of values "
                          f"(got {short(axes)})")
    for dotted, values in axes.items():
        if not isinstance(values, list) or not values:
            _check_dotted(where, "axes", dotted)
            raise ConfigError(f"{where}: axes.{key_text(dotted)}: must be a non-empty list of values "
                              f"(got {short(values)})")
        for value in values:
            _check_axis_value(where, "axes", dotted, value)
    if mode == "zip" and len({len(v) for v in axes.values()}) != 1:
        raise ConfigError(f"{where}: axes: must be lists of one length in zip mode (got "
                          + ", ".join(f"{k}: {len(v)}" for k, v in axes.items()) + ")")
    return axes


def _sweep_rules(where: str, rules: Any, axes: dict) -> list:
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise ConfigError(f"{where}: rules: must be a list of {{when: {{axis: value}}, set: {{key: value}}}} "
                          f"(got {short(rules)})")
    checked = []
    for i, rule in enumerate(rules):
        at = f"rules[{i}]"
        if not isinstance(rule, dict):
            raise ConfigError(f"{where}: {at}: must be a mapping {{when: ..., set: ...}} (got {short(rule)})")
        for key in rule:
            if key not in ("when", "set"):
                raise unknown_key(where, at, key, ["when", "set"])
        for key in ("when", "set"):
            if key not in rule:
                raise ConfigError(f"{where}: {at}.{key}: must be given (got nothing)")
        when = rule["when"]
        if not isinstance(when, dict) or not when:
            raise ConfigError(f"{where}: {at}.when: must map axes to a value or a list of values (got {short(when)})")
        for axis, value in when.items():
            if axis not in axes:
                raise unknown_key(where, f"{at}.when", axis, list(axes))
            for v in value if isinstance(value, list) else [value]:
                _check_axis_value(where, f"{at}.when", axis, v)
        checked.append((when, _settings(where, f"{at}.set", rule["set"])))
    return checked


def read_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file (keys: SWEEP_SCHEMA) and its base config file; ConfigError naming the key."""
    path = Path(path)
    where = str(path)
    data = read_yaml(path)
    known = [row[0] for row in SWEEP_SCHEMA if "." not in row[0]]
    for key in data:
        if key not in known:
            raise unknown_key(where, "", key, known)
    name = check_name(where, data.get("name", path.stem), from_file="name" not in data)
    base_name = data.get("base")
    if not isinstance(base_name, str) or not base_name.strip():
        raise ConfigError(f"{where}: base: must name the config file every point starts from, relative to the "
                          f"sweep file (got {short(base_name) if 'base' in data else 'nothing'})")
    try:
        base_path = (path.parent / base_name).resolve()
        found = base_path.is_file()
    except OSError:
        found = False
    if not found:
        raise ConfigError(f"{where}: base: must be an existing config file relative to the sweep file "
                          f"(got {short(base_name)}: not found)")
    base = read_yaml(base_path)
    mode = data.get("mode", "product")
    if mode not in ("product", "zip"):
        raise ConfigError(f"{where}: mode: must be one of product, zip (got {short(mode)}"
                          f"{did_you_mean(mode, ('product', 'zip'))})")
    axes = _sweep_axes(where, data.get("axes"), mode)
    spec = SweepSpec(name, base_path, base, mode, _settings(where, "set", data.get("set")), axes,
                     _sweep_rules(where, data.get("rules"), axes))
    if spec.size > MAX_POINTS:
        raise ConfigError(f"{where}: axes: must give at most {MAX_POINTS} points (got {spec.size})")
    return spec


def sweep_schema_rows() -> list[tuple[str, str, str, str, str]]:
    """(key, type, range, unit, help) of every sweep-file key: `flow schema` prints these after the config's."""
    return list(SWEEP_SCHEMA)


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
    kind = key_kind(f)
    rng = expected_text(meta, kind).removeprefix("must be ")
    default = f.default if not callable(getattr(f, "default_factory", None)) else ""
    return path, kind.__name__, rng, meta.get("unit", ""), f"{meta['help']} (default {default!r})"
