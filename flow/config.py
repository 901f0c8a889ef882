"""The one typed config schema: every key with its type, range, unit and help, validated at load.

A config file is YAML:

    name: b3                  # optional, defaults to the file name
    kan: {grid: 5, degree: 3, input_bits: 8, table_bits: 3, table_depth: 256, coef_bits: 8, acc_bits: auto}
    array: 4x4                # or {rows: 4, cols: 4}
    pdk: sky130hd
    flow: {clock_period_ns: 10.0, ...}

User errors raise `ConfigError`, whose text is one line:
`<file>: <key.path>: <what was expected> (got <value, cut to 40 characters>)`; the CLI prints it and exits 2.
The same file-level rules hold for design configs, sweep files (`read_sweep`) and model configs (kan/config.py):
UTF-8 text without control characters, valid YAML, one non-empty mapping, no duplicate key, no YAML tag beyond the
plain types, at most MAX_VALUES values after alias expansion, at most MAX_DEPTH levels, finite numbers.
"""
from __future__ import annotations

import difflib
import math
import re
import reprlib
import unicodedata
import warnings
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from rtl_gen.params import KanParams

from . import pdks
from .errors import FlowError

PDKS = pdks.NAMES
REPO = Path(__file__).resolve().parent.parent
MAX_BYTES = 1 << 20        # a config is a few hundred bytes; anything near this is not one
MAX_VALUES = 10_000        # YAML values after alias expansion: generous for a sweep, far below an alias bomb
MAX_DEPTH = 16             # nesting levels (the deepest real file, a sweep rule's `when` list, has 5)
MAX_POINTS = 10_000        # points one sweep file may expand to
SHOWN_CHARS = 40           # a value quoted in an error is cut to this many characters
MESSAGE_CHARS = 500        # and no error message is longer than this
TARGETS = ("asic", "fpga")
# nextpnr-ecp5 device switches (LFE5U-<size>F) and the packages it knows for them
FPGA_DEVICES = ("12k", "25k", "45k", "85k")
FPGA_PACKAGES = ("CABGA256", "CABGA381", "CABGA554", "CABGA756", "CSFBGA285", "TQFP144")
PACKAGES_OF_DEVICE = {"12k": ("CABGA256", "CABGA381", "CSFBGA285", "TQFP144"),     # Lattice ECP5 family data sheet
                      "25k": ("CABGA256", "CABGA381", "CSFBGA285", "TQFP144"),
                      "45k": ("CABGA256", "CABGA381", "CABGA554", "CSFBGA285", "TQFP144"),
                      "85k": ("CABGA381", "CABGA554", "CABGA756", "CSFBGA285")}


class ConfigError(FlowError):
    """A user error in a config file; str() is the one-line message the CLI prints (as every FlowError), exit 2.

    Every message is built from cut values (`short`); this is the last guard that it stays one printable line
    of bounded length whatever went into it (a key name with a newline, a path of 10 kB)."""

    exit_code = 2

    def __init__(self, message: str):
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message)[:MESSAGE_CHARS * 4])
        super().__init__(text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "...")


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = SHOWN_CHARS + 8
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4
_SHORT.maxlevel = 3


def short(value: Any) -> str:
    """repr(value) cut to SHOWN_CHARS (+ '...'); bounded work however large or deeply shared the value is."""
    text = repr(value[:SHOWN_CHARS + 1]) if isinstance(value, str) else _SHORT.repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."


def key_text(key: Any) -> str:
    """A mapping key as it appears in an error's key path: as written when it is a plain name, else cut."""
    return key if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_.\-]{1,40}", key) else short(key)


def did_you_mean(value: Any, known) -> str:
    """'; did you mean 'x'?' for the closest of `known`, or ''."""
    text = str(value) if isinstance(value, str) and len(value) <= 100 else ""
    hint = difflib.get_close_matches(text, list(known), n=1) if text else []
    return f"; did you mean '{hint[0]}'?" if hint else ""


def schema_key(help: str, default: Any, unit: str = "", lo: float | None = None, hi: float | None = None,
               choices: tuple | None = None, kind: type | None = None, auto: bool = False):
    """A schema entry: the dataclass field carries its own type, range, unit and help."""
    meta = dict(help=help, unit=unit, lo=lo, hi=hi, choices=choices, kind=kind, auto=auto)
    return field(default=default, metadata=meta)


_key = schema_key          # the short name the field declarations below use


@dataclass(frozen=True)
class KanSection:
    grid: int = _key("grid intervals G of every B-spline (uniform knots over the input range); at most "
                     "2^input_bits: a finer grid has intervals that no n-bit input falls in (their coefficients "
                     "are never used, and the testbench's knot corners would lie outside the input range)",
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


def _expected(meta: dict, kind: type) -> str:
    lo, hi = meta.get("lo"), meta.get("hi")
    if meta.get("choices"):
        return "must be one of " + ", ".join(meta["choices"])
    if kind is list:
        return f"must be a non-empty list of distinct integers in {lo:.0f}..{hi:.0f}"
    noun = {int: "an integer", float: "a finite number", str: "a string", bool: "true or false"}[kind]
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
    bad = ConfigError(f"{where}: {path}: {expected} (got {short(value)})")
    if kind is list:       # a list of integers in lo..hi (fpga.seeds), kept as a tuple (the config is frozen)
        if not isinstance(value, (list, tuple)) or not value or len(set(value)) != len(value) or any(
                isinstance(v, bool) or not isinstance(v, int) or not meta["lo"] <= v <= meta["hi"] for v in value):
            raise bad
        return tuple(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
    elif kind is bool:
        if not isinstance(value, bool):
            raise bad
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad
        value = float(value)
    elif not isinstance(value, str):
        raise bad
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{where}: {path}: {expected} (got {short(value)}{did_you_mean(value, meta['choices'])})")
    lo, hi = meta.get("lo"), meta.get("hi")
    if kind is float and lo is not None and not value > lo:
        raise bad
    if kind is int and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        raise bad
    return value


def unknown_key(where: str, path: str, key: Any, known: list[str]) -> ConfigError:
    """The error for a key the schema does not have, with the closest known key."""
    dotted = f"{path}.{key_text(key)}" if path else key_text(key)
    hint = did_you_mean(key, known).removeprefix("; ")
    return ConfigError(f"{where}: {dotted}: unknown key" + (f" ({hint})" if hint else "")
                       + f"; known keys: {', '.join(known)}")


def build_section(cls, data: Any, where: str, path: str):
    """An instance of the schema dataclass `cls` from a YAML mapping, every key checked; ConfigError otherwise."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: {path or '<top>'}: must be a mapping of keys (got {short(data)})")
    known = [f.name for f in fields(cls) if not f.metadata.get("internal")]
    for key in data:
        if key not in known:
            raise unknown_key(where, path, key, known)
    values = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        sub = f"{path}.{f.name}" if path else f.name
        raw = data[f.name]
        if f.name == "array" and cls is Config and not isinstance(raw, dict):
            raw = _parse_array(where, sub, raw)
        values[f.name] = build_section(SECTIONS[f.name], raw, where, sub) if _is_section(f) and cls is Config \
            else _check_value(where, sub, f, raw)
    return cls(**values)


def _array_shorthand(text: str) -> dict | None:
    match = re.fullmatch(r"\s*(\d{1,6})\s*[xX]\s*(\d{1,6})\s*", text)
    return {"rows": int(match[1]), "cols": int(match[2])} if match else None


def _parse_array(where: str, path: str, text: Any) -> dict:
    rows_cols = _array_shorthand(text) if isinstance(text, str) else None
    if rows_cols is None:
        raise ConfigError(f"{where}: {path}: must be 'RxC' such as '4x4' or {{rows: R, cols: C}} (got {short(text)})")
    return rows_cols


def check_name(where: str, name: Any, from_file: bool = False) -> str:
    """`name` names folders (reports/<name>/, build/<name>/): a slug that cannot climb out of them."""
    if not (isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}", name)):
        origin = " from the file name; set name:" if from_file else ""
        raise ConfigError(f"{where}: name: must be 1..200 letters, digits, '-', '_', '.', not starting with '.' "
                          f"(got {short(name)}{origin})")
    return name


def _cross_checks(cfg: Config, where: str) -> None:
    k = cfg.kan
    if cfg.fpga.package not in PACKAGES_OF_DEVICE[cfg.fpga.device]:
        raise ConfigError(f"{where}: fpga.package: {cfg.fpga.device} comes in "
                          f"{', '.join(PACKAGES_OF_DEVICE[cfg.fpga.device])} (got {short(cfg.fpga.package)})")
    if k.degree % 2 == 0:
        raise ConfigError(f"{where}: kan.degree: must be odd in 1..7 for symmetric table halves (got {k.degree})")
    if k.table_depth & (k.table_depth - 1) or k.table_depth > 1 << k.input_bits:
        raise ConfigError(f"{where}: kan.table_depth: must be a power of two <= 2^input_bits = "
                          f"{1 << k.input_bits} (got {k.table_depth})")
    if k.grid > 1 << k.input_bits:
        raise ConfigError(f"{where}: kan.grid: must be <= 2^input_bits = {1 << k.input_bits}, so that every grid "
                          f"interval holds an input value (got {k.grid})")
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
    if k.acc_bits != "auto" and k.acc_bits < cfg.params.acc_bits_auto:
        warnings.warn(f"{where}: kan.acc_bits: {k.acc_bits} bits can overflow; "
                      f"'auto' would be {cfg.params.acc_bits_auto}", stacklevel=3)


def from_dict(data: dict, where: str = "<config>", name: str = "") -> Config:
    cfg = build_section(Config, data, where, "")
    cfg = replace(cfg, name=cfg.name or name, source=where)
    check_name(where, cfg.name or "x", from_file=not data.get("name"))
    _cross_checks(cfg, where)
    return cfg


# ---------------------------------------------------------------- reading YAML files

_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map", "merge")}
# YAML's own rule for characters a stream may hold (PyYAML's Reader.NON_PRINTABLE); checked here to name the line
_NOT_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]")


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader that reads dates as plain strings (a config holds no timestamps) and stops at MAX_DEPTH levels
    (PyYAML's composer recurses once per level: 50,000 '[' would end in a RecursionError)."""

    yaml_implicit_resolvers = {first: [(tag, rx) for tag, rx in resolvers if not tag.endswith(":timestamp")]
                               for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def __init__(self, text: str, where: str):
        super().__init__(text)
        self.where, self.depth = where, 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise ConfigError(f"{self.where}: {_at(self.peek_event().start_mark)}: must nest at most "
                                  f"{MAX_DEPTH} levels (got deeper)")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _at(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _labelled_children(node) -> list[tuple[str, Any]]:
    """(key-path part, value node) of a mapping or sequence node."""
    if isinstance(node, yaml.MappingNode):
        return [(key_text(k.value) if isinstance(k, yaml.ScalarNode) else "<key>", v) for k, v in node.value]
    return [(f"[{i}]", v) for i, v in enumerate(node.value)] if isinstance(node, yaml.SequenceNode) else []


def _join(path: str, part: str) -> str:
    return f"{path}{part}" if part.startswith("[") or not path else f"{path}.{part}"


def _path_to(root, target) -> str:
    """Key path of `target` (each node visited once, so aliases cannot loop)."""
    seen, stack = set(), [("", root)]
    while stack:
        path, node = stack.pop()
        if node is target:
            return path
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend((_join(path, part), c) for part, c in reversed(_labelled_children(node)))
    return ""


def _expanded_sizes(root, where: str) -> dict[int, tuple[int, int]]:
    """(values, levels) each node stands for once aliases are expanded, per id(node), in time linear in the file
    (an alias bomb is small as a graph; only its expansion is huge). Iterative: alias chains can nest deep."""
    sizes: dict[int, tuple[int, int] | None] = {}
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            inner = [sizes[id(c)] for c in _children(node)]
            sizes[id(node)] = (1 + sum(n for n, _ in inner), 1 + max((d for _, d in inner), default=0))
            continue
        if id(node) in sizes:
            if sizes[id(node)] is None:        # still open: an alias inside its own anchor
                raise ConfigError(f"{where}: {_path_to(root, node) or '<top>'}: must not contain itself through "
                                  f"an alias (got a recursive alias at {_at(node.start_mark)})")
            continue
        sizes[id(node)] = None
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node))
    return sizes


def _innermost(root, sizes: dict, too_big) -> tuple[str, Any]:
    """Key path and node of the innermost value for which too_big(sizes[id(node)]) holds."""
    path, node = "", root
    while True:
        inner = [(part, c) for part, c in _labelled_children(node) if too_big(sizes[id(c)])]
        if not inner:
            return path or "<top>", node
        part, node = inner[0]
        path = _join(path, part)


def _construct_scalar(loader: _ConfigLoader, node, where: str, path: str) -> Any:
    try:
        return loader.construct_object(node)   # e.g. an int of 5,000 digits is a ValueError; name its key here
    except (ValueError, OverflowError):
        kind = node.tag.rsplit(":", 1)[-1]
        expected = {"int": "an integer of at most 4300 digits", "float": "a number"}.get(kind, f"a valid {kind}")
        raise ConfigError(f"{where}: {path or '<top>'}: must be {expected} (got {short(node.value)})") from None


def _check_tag(node, where: str, path: str) -> None:
    if node.tag not in _PLAIN_TAGS:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise ConfigError(f"{where}: {path or '<top>'}: must be a plain YAML value (got tag {short(tag)})")


def _check_nodes(loader: _ConfigLoader, root, where: str) -> None:
    """Before any Python value is built: expansion size and depth, duplicate keys, tags, scalars, each error
    naming its key."""
    sizes = _expanded_sizes(root, where)
    if sizes[id(root)][0] > MAX_VALUES:
        path, node = _innermost(root, sizes, lambda size: size[0] > MAX_VALUES)
        raise ConfigError(f"{where}: {path}: must hold at most {MAX_VALUES} values once YAML aliases are expanded "
                          f"(got {sizes[id(node)][0]})")
    if sizes[id(root)][1] > MAX_DEPTH:                 # e.g. a chain of anchors, each holding the one before
        part = next((part for part, c in _labelled_children(root) if 1 + sizes[id(c)][1] > MAX_DEPTH), "<top>")
        raise ConfigError(f"{where}: {part}: must nest at most {MAX_DEPTH} levels once YAML aliases are expanded "
                          f"(got {sizes[id(root)][1]})")
    seen, stack = set(), [("", root)]
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        _check_tag(node, where, path)
        if isinstance(node, yaml.ScalarNode):
            _construct_scalar(loader, node, where, path)
        if isinstance(node, yaml.MappingNode):
            first_seen: dict = {}
            for k, _ in node.value:
                if not isinstance(k, yaml.ScalarNode) or k.tag.endswith(":merge"):
                    continue
                at = _join(path, key_text(k.value))
                _check_tag(k, where, at)
                ident = (k.tag, _construct_scalar(loader, k, where, at))
                if ident in first_seen:
                    first = first_seen[ident]
                    twice = f"lines {first.line + 1} and {k.start_mark.line + 1}" if first.line != k.start_mark.line \
                        else f"line {first.line + 1}, columns {first.column + 1} and {k.start_mark.column + 1}"
                    raise ConfigError(f"{where}: {at}: must appear once in its mapping (got it on {twice})")
                first_seen[ident] = k.start_mark
        stack.extend((_join(path, part), c) for part, c in reversed(_labelled_children(node)))


def _read_text(path: Path, where: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(f"{where}: <top>: must be a config file of at most {MAX_BYTES} bytes (got {size})")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{where}: line {line}, column {column}: must be UTF-8 text "
                          f"(got byte 0x{raw[exc.start]:02x})") from None
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        kind = "control" if unicodedata.category(bad[0]) == "Cc" else "non-printable"
        raise ConfigError(f"{where}: line {line}, column {column}: must be printable text "
                          f"(got {kind} character U+{ord(bad[0]):04X})")
    return text


def read_yaml(path: str | Path) -> dict:
    """A YAML file's top-level mapping, or ConfigError naming the file, the key (or line) and what is wrong."""
    where = str(path)
    loader = _ConfigLoader(_read_text(Path(path), where), where)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError(f"{where}: <top>: must be a mapping of config keys (got an empty file)")
        _check_nodes(loader, root, where)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where_in = f"{_at(mark)}: " if mark else ""
        what = ", ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError(f"{where}: {where_in}YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: YAML error: {short(str(exc))}") from None
    finally:
        loader.dispose()
    if data is None:            # a file holding only comments, `---` or `~`
        raise ConfigError(f"{where}: <top>: must be a mapping of config keys (got an empty file)")
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: <top>: must be a mapping of config keys (got {short(data)})")
    if not data:
        raise ConfigError(f"{where}: <top>: must be a mapping of config keys (got an empty mapping)")
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
    """data[a][b] = value for 'a.b'. The 'RxC' array shorthand becomes {rows, cols} first; any other section
    written as a non-mapping is left as it is, for from_dict to name."""
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        sub = node.setdefault(part, {})
        if part == "array" and isinstance(sub, str) and _array_shorthand(sub):
            sub = node[part] = _array_shorthand(sub)
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
        _parse_array(where, at, value)
    elif dotted in SECTIONS:
        raise ConfigError(f"{where}: {at}: must be set key by key, e.g. {dotted}.{fields(SECTIONS[dotted])[0].name} "
                          f"(got {short(value)})")
    else:
        _check_value(where, at, _field_at(dotted), value)


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
    kind = _kind(f)
    rng = _expected(meta, kind).removeprefix("must be ")
    default = f.default if not callable(getattr(f, "default_factory", None)) else ""
    return path, kind.__name__, rng, meta.get("unit", ""), f"{meta['help']} (default {default!r})"
