"""The typed-schema machinery: a schema is a frozen dataclass whose fields carry their type, range, unit and help
(schema_key); build_section checks a YAML mapping against one, key by key, and every error is a one-line
ConfigError `<file>: <key.path>: <what was expected> (got <value, cut to SHOWN_CHARS characters>)`."""
from __future__ import annotations

import difflib
import math
import re
import reprlib
from dataclasses import field, fields
from typing import Any

from .errors import ConfigError

SHOWN_CHARS = 40           # a value quoted in an error is cut to this many characters

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


def expected_text(meta: dict, kind: type) -> str:
    """What a key must be, as its errors and `flow schema` say it: 'must be an integer in 1..64', ..."""
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


def key_kind(f) -> type:
    """The Python type a key takes (annotations are strings under `from __future__ import annotations`)."""
    return f.metadata.get("kind") or {"int": int, "float": float, "str": str, "bool": bool}[f.type]


def check_value(where: str, path: str, f, value: Any) -> Any:
    """`value` checked against the schema field `f` (type, range, choices) and normalized; ConfigError otherwise."""
    meta = f.metadata
    kind = key_kind(f)
    expected = expected_text(meta, kind)
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


def build_section(cls, data: Any, where: str, path: str, sections: dict[str, type] | None = None,
                  parsers: dict | None = None):
    """An instance of the schema dataclass `cls` from a YAML mapping, every key checked; ConfigError otherwise.
    `sections`: {key: schema dataclass} of the keys that are nested sections; `parsers`: {key: parse(where, path,
    value) -> mapping} for a section that may also be written as a non-mapping (the 'RxC' array shorthand)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: {path or '<top>'}: must be a mapping of keys (got {short(data)})")
    sections, parsers = sections or {}, parsers or {}
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
        if f.name in parsers and not isinstance(raw, dict):
            raw = parsers[f.name](where, sub, raw)
        values[f.name] = build_section(sections[f.name], raw, where, sub) if f.name in sections \
            else check_value(where, sub, f, raw)
    return cls(**values)


def check_name(where: str, name: Any, from_file: bool = False) -> str:
    """`name` names folders (reports/<name>/, build/<name>/): a slug that cannot climb out of them."""
    if not (isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}", name)):
        origin = " from the file name; set name:" if from_file else ""
        raise ConfigError(f"{where}: name: must be 1..200 letters, digits, '-', '_', '.', not starting with '.' "
                          f"(got {short(name)}{origin})")
    return name
