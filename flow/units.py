"""Node-independent units read from a library's liberty: NAND2-equivalent area and the FO4 delay.

Results from 7, 130 and 180 nm compare with each other (and with the 28 nm study) once area is counted in
NAND2 gates of the same library and clock periods in FO4 inverter delays of the same library.
FO4 = the delay of an inverter driving four copies of itself, from the NLDM tables at the self-consistent
input slew (the slew a FO4 stage produces), averaged over rise and fall.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from .metrics import Metric
from .pdks import PdkInfo
from .tools.liberty import prepared_liberty


def _group(text: str, header: str) -> str:
    """Body of the first `header { ... }` group (brace matched)."""
    start = text.index("{", text.index(header)) + 1
    depth, i = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start:i - 1]


def _cell(text: str, name: str) -> str:
    match = re.search(rf'cell\s*\(\s*"?{re.escape(name)}"?\s*\)', text)
    if not match:
        raise KeyError(f"cell {name} not in liberty")
    return _group(text[match.start():], match.group(0))


def _floats(s: str) -> np.ndarray:
    return np.array([float(v) for v in re.findall(r"[-+0-9.eE]+", s)])


def _table(group: str, kind: str, templates: dict):
    match = re.search(rf"{kind}\s*\(\s*\"?(\w+)\"?\s*\)", group)
    body = _group(group[match.start():], match.group(0))
    idx1 = _floats(re.search(r'index_1\s*\(\s*"([^"]*)"', body).group(1))
    idx2 = _floats(re.search(r'index_2\s*\(\s*"([^"]*)"', body).group(1))
    values = _floats(re.search(r"values\s*\((.*?)\)\s*;", body, re.S).group(1)).reshape(len(idx1), len(idx2))
    slew_first = templates.get(match.group(1), "input_net_transition") == "input_net_transition"
    return (idx1, idx2, values) if slew_first else (idx2, idx1, values.T)   # -> (slews, loads, [slew, load])


def interpolate(table, slew: float, load: float) -> float:
    """Bilinear interpolation, linear extrapolation beyond the table (as timers do)."""
    slews, loads, values = table

    def weights(axis, v):
        k = int(np.clip(np.searchsorted(axis, v) - 1, 0, len(axis) - 2))
        return k, (v - axis[k]) / (axis[k + 1] - axis[k])

    i, a = weights(slews, slew)
    j, b = weights(loads, load)
    v = values
    return float((1 - a) * (1 - b) * v[i, j] + a * (1 - b) * v[i + 1, j] + (1 - a) * b * v[i, j + 1]
                 + a * b * v[i + 1, j + 1])


@functools.cache
def _units(liberty: Path) -> tuple[float, float]:
    """(seconds per liberty time unit, farads per liberty capacitance unit)."""
    text = liberty.read_text(errors="replace")[:20000]
    t = re.search(r'time_unit\s*:\s*"?1(\w+)"?', text).group(1).lower()
    c_scale, c_unit = re.search(r'capacitive_load_unit\s*\(\s*([0-9.]+)\s*,\s*"?(\w+)"?\s*\)', text).groups()
    return ({"ns": 1e-9, "ps": 1e-12}[t], float(c_scale) * {"pf": 1e-12, "ff": 1e-15}[c_unit.lower()])


@functools.cache
def _library_units(liberty: Path, nand2: str, inverter: str, pin_in: str, pin_out: str) -> tuple[float, float]:
    text = liberty.read_text(errors="replace")
    nand2_area = float(re.search(r"\barea\s*:\s*([0-9.]+)", _cell(text, nand2)).group(1))
    templates = {m.group(1): m.group(2) for m in re.finditer(
        r'lu_table_template\s*\(\s*"?(\w+)"?\s*\)\s*\{\s*variable_1\s*:\s*(\w+)', text)}
    inv = _cell(text, inverter)
    pin_a = _group(inv[re.search(rf'pin\s*\(\s*"?{pin_in}"?\s*\)', inv).start():], "{")
    cap = float(re.search(r"\bcapacitance\s*:\s*([0-9.eE+-]+)", pin_a).group(1))
    out_match = re.search(rf'pin\s*\(\s*"?{pin_out}"?\s*\)', inv)
    pin_y = _group(inv[out_match.start():], out_match.group(0))
    timing = _group(pin_y[pin_y.index("timing"):], "timing")
    rise, fall = _table(timing, "cell_rise", templates), _table(timing, "cell_fall", templates)
    rise_tr, fall_tr = _table(timing, "rise_transition", templates), _table(timing, "fall_transition", templates)
    load = 4 * cap
    slew_r = slew_f = float(np.median(rise[0]))
    for _ in range(50):                                  # a chain of FO4 stages: slews settle in a few steps
        slew_r, slew_f = interpolate(rise_tr, slew_f, load), interpolate(fall_tr, slew_r, load)
    fo4 = (interpolate(rise, slew_f, load) + interpolate(fall, slew_r, load)) / 2
    t_unit, _ = _units(liberty)
    return nand2_area, fo4 * t_unit * 1e12


def node_units(pdk: PdkInfo) -> dict[str, Metric]:
    """{'nand2_area': um^2, 'fo4_delay': ps} of the PDK, each with its liberty as the source."""
    lib = prepared_liberty(pdk)
    area, fo4 = _library_units(lib, pdk.nand2.cell, pdk.inverter.cell, pdk.inverter.inputs[0], pdk.inverter.output)
    return {"nand2_area": Metric(area, "um^2", "flow.units (liberty area)", str(lib)),
            "fo4_delay": Metric(round(fo4, 3), "ps", "flow.units (liberty NLDM, FO4 at settled slew)", str(lib))}
