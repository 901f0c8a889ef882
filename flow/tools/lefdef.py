"""LEF and DEF as qflow, qrouter and this flow write them: the one reader of each construct.

LEF: layers (routing and cut, with width, spacing and R/C), vias (their layers and R), macros (size, pins with
direction, use and rectangles). DEF: sections, TRACKS, ROWs, COMPONENTS, PINS, VIAS, and routed nets
(`+ ROUTED layer ( x y ) ( * y ) VIA NEW ...`, the `*` repeating the previous point's coordinate).
The router (window_route), the floorplan, the SPEF writer (def_spef), the macro abstracts (macro) and the die
picture (die_plot) all read through here. LEF files are parsed once per process (functools.cache on the path).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

# a DEF point `( x y [extension] )`, `*` = the previous point's coordinate; group 3: the extension, kept when
# a point is rewritten (floorplan's shift)
POINT = re.compile(r"\(\s*(-?\d+|\*)\s+(-?\d+|\*)((?:\s+-?\d+)?)\s*\)")
RECT = re.compile(r"RECT\s+(?:MASK\s+\d+\s+)?(-?[0-9.]+)\s+(-?[0-9.]+)\s+(-?[0-9.]+)\s+(-?[0-9.]+)")


# ---------------------------------------------------------------- LEF

@dataclass(frozen=True)
class LefLayer:
    name: str
    kind: str                    # ROUTING, CUT, ... ("" when the LEF states none)
    width: float | None          # um
    spacing: float | None        # um: SPACING, or the narrowest-width column of a SPACINGTABLE (sky130)
    rpersq: float | None         # ohm per square
    cpersq: float | None         # pF per um^2
    edge: float | None           # pF per um of each edge
    resistance: float | None     # a cut layer's RESISTANCE (ohm per cut)


@dataclass(frozen=True)
class LefVia:
    name: str
    layers: tuple[str, ...]      # as its LAYER statements name them (cut and routing), in order
    resistance: float | None


@dataclass(frozen=True)
class LefPin:
    direction: str               # INPUT OUTPUT INOUT ("" when the LEF states none)
    x: float                     # um from the macro's origin: centre of the pin's first rectangle
    y: float
    use: str = ""                # SIGNAL POWER GROUND ... ("" when the LEF states none)
    rects: tuple[tuple[str, float, float, float, float], ...] = ()    # (layer, x0, y0, x1, y1) um


@dataclass(frozen=True)
class LefMacro:
    width: float                 # um (0 without a SIZE)
    height: float
    pins: dict[str, LefPin]


def _number(pattern: str, text: str) -> float | None:
    m = re.search(pattern, text, re.M)
    return float(m.group(1)) if m else None


def _text(lef: Path) -> str:
    return Path(lef).read_text(errors="replace")


@functools.cache
def lef_layers(lef: Path) -> dict[str, LefLayer]:
    """{layer: LefLayer} of the LAYER definitions of one LEF, in file order (a tech LEF, or a cell LEF that holds
    the technology as osu018's does)."""
    out = {}
    for name, body in re.findall(r"^\s*LAYER\s+(\S+)\s*$(.*?)^\s*END\s+\1\s*$", _text(lef), re.S | re.M):
        kind = re.search(r"^\s*TYPE\s+(\w+)", body, re.M)
        spacing = (re.search(r"^\s*SPACING\s+([0-9.]+)\s*;", body, re.M)
                   or re.search(r"SPACINGTABLE.*?WIDTH\s+0(?:\.0*)?\s+([0-9.]+)", body, re.S))
        out[name] = LefLayer(name, kind.group(1).upper() if kind else "",
                             _number(r"^\s*WIDTH\s+([0-9.eE+-]+)\s*;", body),
                             float(spacing.group(1)) if spacing else None,
                             _number(r"^\s*RESISTANCE\s+RPERSQ\s+([0-9.eE+-]+)", body),
                             _number(r"^\s*CAPACITANCE\s+CPERSQDIST\s+([0-9.eE+-]+)", body),
                             _number(r"^\s*EDGECAPACITANCE\s+([0-9.eE+-]+)", body),
                             _number(r"^\s*RESISTANCE\s+([0-9.eE+-]+)\s*;", body))
    return out


@functools.cache
def lef_vias(lef: Path) -> dict[str, LefVia]:
    """{via: LefVia} of the fixed VIA definitions of one LEF."""
    out = {}
    for name, body in re.findall(r"^\s*VIA\s+(\S+)[^\n]*$(.*?)^\s*END\s+\1\s*$", _text(lef), re.S | re.M):
        out[name] = LefVia(name, tuple(re.findall(r"^\s*LAYER\s+(\S+)\s*;", body, re.M)),
                           _number(r"^\s*RESISTANCE\s+([0-9.eE+-]+)\s*;", body))
    return out


def routing_layers(lefs: list[Path]) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """(routing layers bottom up, {via: the routing layers it joins}) over several LEFs."""
    layers: list[str] = []
    vias: dict[str, tuple[str, ...]] = {}
    for lef in lefs:
        layers += [n for n, layer in lef_layers(Path(lef)).items() if layer.kind == "ROUTING" and n not in layers]
        vias.update({n: tuple(dict.fromkeys(v.layers)) for n, v in lef_vias(Path(lef)).items()})
    return layers, {v: tuple(x for x in ls if x in layers) for v, ls in vias.items()}


def layer_rule(lefs: list[Path], layer: str) -> tuple[float, float] | None:
    """(minimum WIDTH, minimum SPACING) in um of a routing layer, from the first LEF that states both."""
    for lef in lefs:
        found = lef_layers(Path(lef)).get(layer)
        if found and found.width is not None and found.spacing is not None:
            return found.width, found.spacing
    return None


@functools.cache
def lef_macros(lef: Path) -> dict[str, LefMacro]:
    """{macro: LefMacro} of the MACROs of a LEF (cells or hardened blocks)."""
    out = {}
    for name, body in re.findall(r"^MACRO\s+(\S+)\s*$(.*?)^END\s+\1\s*$", _text(lef), re.S | re.M):
        size = re.search(r"^\s*SIZE\s+([0-9.]+)\s+BY\s+([0-9.]+)", body, re.M)
        pins = {}
        for pin, pbody in re.findall(r"^\s*PIN\s+(\S+)\s*$(.*?)^\s*END\s+\1\s*$", body, re.S | re.M):
            d = re.search(r"^\s*DIRECTION\s+(\w+)", pbody, re.M)
            use = re.search(r"USE\s+(\w+)", pbody)
            r = RECT.search(pbody)
            x0, y0, x1, y1 = map(float, r.groups()) if r else (0.0, 0.0, 0.0, 0.0)
            rects = tuple((layer, *map(float, rect)) for layer, sect in
                          re.findall(r"LAYER\s+(\S+)\s*;(.*?)(?=LAYER|END)", pbody, re.S)
                          for rect in RECT.findall(sect))
            pins[pin] = LefPin(d.group(1).upper() if d else "", (x0 + x1) / 2, (y0 + y1) / 2,
                               use.group(1).upper() if use else "", rects)
        out[name] = LefMacro(float(size.group(1)) if size else 0.0, float(size.group(2)) if size else 0.0, pins)
    return out


# ---------------------------------------------------------------- DEF

@dataclass
class DefLayout:
    units: int                                              # DEF database units per um
    die: tuple[int, int, int, int]                          # x0, y0, x1, y1 in DEF units
    rows: list[tuple[int, int, int, int]] = field(default_factory=list)     # x0, y0, x1, y1 per ROW
    components: dict[str, str] = field(default_factory=dict)                # instance -> macro
    placements: list[tuple[str, int, int]] = field(default_factory=list)    # macro, x, y (lower left)
    locations: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # instance -> x, y, orientation
    segments: list[tuple[str, int, int, int, int]] = field(default_factory=list)  # layer, x0, y0, x1, y1
    vias: int = 0
    via_names: dict[str, int] = field(default_factory=dict)                 # via -> count

    @property
    def die_area_um2(self) -> float:
        x0, y0, x1, y1 = self.die
        return (x1 - x0) * (y1 - y0) / self.units ** 2

    @property
    def core_area_um2(self) -> float:
        """Bounding box of the placement rows."""
        if not self.rows:
            return self.die_area_um2
        x0, y0 = min(r[0] for r in self.rows), min(r[1] for r in self.rows)
        x1, y1 = max(r[2] for r in self.rows), max(r[3] for r in self.rows)
        return (x1 - x0) * (y1 - y0) / self.units ** 2

    @property
    def wire_by_layer(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for layer, x0, y0, x1, y1 in self.segments:
            out[layer] = out.get(layer, 0.0) + (abs(x1 - x0) + abs(y1 - y0)) / self.units
        return out

    @property
    def wirelength_um(self) -> float:
        return sum(self.wire_by_layer.values())


def section(text: str, name: str) -> str:
    """The body of a DEF section (`NAME n ;` ... `END NAME`) from the line after its header; '' without one."""
    m = re.search(rf"^{name}\s+\d+\s*;[^\n]*\n(.*?)^END {name}", text, re.S | re.M)
    return m.group(1) if m else ""


def records(body: str) -> list[tuple[str, str]]:
    """[(name, the rest up to the next record)] of the `- name ...` records of a section body."""
    return re.findall(r"^\s*-\s+(\S+)(.*?)(?=^\s*-\s|\Z)", body, re.S | re.M)


class RouteElement(NamedTuple):
    layer: str
    width: str                   # '' without one (regular nets); SPECIALNETS give every element one
    points: list[tuple[int, int]]   # absolute (each `*` resolved)
    via: str                     # the via at the last point, '' if none


def route_elements(route: str) -> list[RouteElement]:
    """`+ ROUTED` text -> its elements, one per `NEW`."""
    out = []
    for part in re.split(r"\s+NEW\s+", route.strip()):
        m = re.match(r"(\S+)\s*(\d+\s+)?(.*)$", part, re.S)
        layer, width, rest = m.group(1), (m.group(2) or "").strip(), m.group(3)
        pts, x, y = [], None, None
        for p in POINT.finditer(rest):
            x = x if p[1] == "*" else int(p[1])
            y = y if p[2] == "*" else int(p[2])
            pts.append((x, y))
        via = POINT.sub("", rest).split()
        out.append(RouteElement(layer, width, pts, via[-1] if via else ""))
    return out


def add_routes(body: str, layout: DefLayout) -> None:
    """The wire segments and vias of the `+ ROUTED` records in `body` (DEF NETS text) added to `layout`."""
    for route in re.findall(r"\+\s*ROUTED\s+(.*?)(?=;|\n\s*-\s)", body, re.S):
        for e in route_elements(route):
            layout.segments += [(e.layer, *a, *b) for a, b in zip(e.points, e.points[1:]) if a != b]
            if e.via:
                layout.vias += 1
                layout.via_names[e.via] = layout.via_names.get(e.via, 0) + 1


def routes_of(def_text: str, name: str = "NETS") -> dict[str, str]:
    """{net: the text after `+ ROUTED`} of a routed DEF's NETS (or SPECIALNETS) section."""
    out = {}
    for net, rest in records(section(def_text, name)):
        m = re.search(r"\+ ROUTED (.*?)\s*;\s*$", rest, re.S)
        if m:
            out[net] = m.group(1)
    return out


def specials_of(def_text: str) -> dict[str, str]:
    """{net: text after `+ ROUTED`} of a routed DEF's SPECIALNETS section (qrouter's pin stubs and patches)."""
    return routes_of(def_text, "SPECIALNETS")


def def_tracks(text: str) -> dict[tuple[str, str], tuple[int, int, int]]:
    """{(X|Y, layer): (start, count, step)} from a DEF's TRACKS statements."""
    return {(d, layer): (int(float(s)), int(n), int(st)) for d, s, n, st, layer in re.findall(
        r"^TRACKS\s+([XY])\s+(-?[0-9.]+)\s+DO\s+(\d+)\s+STEP\s+(\d+)\s+LAYER\s+(\S+)\s*;", text, re.M)}


def read_def(path: Path) -> DefLayout:
    """Die, rows, placed components and every routed wire and via of a DEF."""
    text = Path(path).read_text()
    units = int(re.search(r"UNITS\s+DISTANCE\s+MICRONS\s+(\d+)", text).group(1))
    die = tuple(int(v) for v in re.search(
        r"DIEAREA\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)", text).groups())
    layout = DefLayout(units=units, die=die)
    for x, y, nx, ny, sx, sy in re.findall(
            r"^\s*ROW\s+\S+\s+\S+\s+(-?\d+)\s+(-?\d+)\s+\S+\s+DO\s+(\d+)\s+BY\s+(\d+)\s+STEP\s+(\d+)\s+(\d+)",
            text, re.M):
        x, y, nx, ny, sx, sy = map(int, (x, y, nx, ny, sx, sy))
        layout.rows.append((x, y, x + nx * sx, y + max(ny * sy, 0)))
    heights = sorted({r[1] for r in layout.rows})
    # a row's vertical STEP is 0: its height is the row pitch (one row: the rest of the die)
    row_height = heights[1] - heights[0] if len(heights) > 1 else die[3] - (heights[0] if heights else die[1])
    layout.rows = [(x0, y0, x1, y0 + row_height) for x0, y0, x1, _ in layout.rows]
    for name, macro, x, y, orient in re.findall(
            r"^\s*-\s+(\S+)\s+(\S+)\s+\+\s+(?:PLACED|FIXED)\s+\(\s*(-?\d+)\s+(-?\d+)\s*\)\s*(\w*)",
            section(text, "COMPONENTS"), re.M):
        layout.components[name] = macro
        layout.placements.append((macro, int(x), int(y)))
        layout.locations[name] = (int(x), int(y), orient or "N")
    add_routes(section(text, "NETS"), layout)
    return layout


@dataclass
class RoutedDef:
    """A DEF with each net's connections and routes (what a SPEF needs)."""
    units: int
    die: tuple[int, int, int, int]
    components: dict[str, str]
    locations: dict[str, tuple[int, int, str]]
    pins: dict[str, tuple[float, float, str]]                    # top-level pin -> x um, y um, DIRECTION
    nets: list[tuple[str, list[tuple[str, str]], DefLayout]]     # net, [(instance|PIN, pin)], its routes
    vias: dict[str, list[str]]                                   # the VIAS section: via -> its layers


def read_routed_def(path: Path) -> RoutedDef:
    """read_def's placement, the PINS, then per net its connections and its routed segments and vias."""
    text = Path(path).read_text()
    layout = read_def(path)
    u = layout.units
    pins = {}
    for name, body in re.findall(r"^\s*-\s+(\S+)\s+\+\s+NET\s+\S+(.*?);", section(text, "PINS"), re.S | re.M):
        p = re.search(r"(?:PLACED|FIXED)\s+\(\s*(-?\d+)\s+(-?\d+)\s*\)", body)
        d = re.search(r"DIRECTION\s+(\w+)", body)
        pins[name] = (int(p.group(1)) / u if p else 0.0, int(p.group(2)) / u if p else 0.0,
                      d.group(1).upper() if d else "")
    nets = []
    for name, body in records(section(text, "NETS")):
        conns = re.split(r"\s\+\s*\w", body, maxsplit=1)[0]     # the connections come before any `+ ...`
        seg = DefLayout(units=u, die=layout.die)
        add_routes(body, seg)
        nets.append((name, re.findall(r"\(\s*(\S+)\s+(\S+)\s*\)", conns), seg))
    vias = {name: re.findall(r"\+\s*(?:RECT|POLYGON)\s+(\S+)", body)
            for name, body in re.findall(r"^\s*-\s+(\S+)(.*?);", section(text, "VIAS"), re.S | re.M)}
    return RoutedDef(u, layout.die, layout.components, layout.locations, pins, nets, vias)


def net_segments(routed_def: Path) -> dict[str, list[tuple[str, int, int, int, int]]]:
    """{net: [(layer, x0, y0, x1, y1)]} of the routed wires of a DEF."""
    out = {}
    for name, body in records(section(Path(routed_def).read_text(), "NETS")):
        layout = DefLayout(units=1, die=(0, 0, 0, 0))
        add_routes(body, layout)
        out[name] = layout.segments
    return out


def port_stages(routed_def: Path, stage_cells: dict[str, str]) -> dict[str, int]:
    """{port: the most stage cells (`stage_cells`: single-input cells, buffers and inverters -> their output pin)
    in series from an input port to the other cells its net reaches inside} of a macro's routed DEF: 1 for a clock
    port that fans out through a row of clock buffers, 0 for one that reaches the registers itself."""
    text = Path(routed_def).read_text()
    cells = dict(re.findall(r"^\s*-\s+(\S+)\s+(\S+)", section(text, "COMPONENTS"), re.M))
    nets = {name: re.findall(r"\(\s*(\S+)\s+(\S+)\s*\)", re.split(r"\s\+\s*\w", body, maxsplit=1)[0])
            for name, body in records(section(text, "NETS"))}
    driven = {(inst, pin): name for name, conns in nets.items() for inst, pin in conns}

    def depth(net: str) -> int:
        outs = [(i, stage_cells[cells[i]]) for i, pin in nets[net] if stage_cells.get(cells.get(i)) not in (None, pin)]
        return max((1 + depth(driven[o]) for o in outs if o in driven), default=0)

    return {pin: depth(name) for name, conns in nets.items() for inst, pin in conns if inst == "PIN"}


def port_fanouts(routed_def: Path) -> dict[str, int]:
    """{port: the cell pins its net reaches inside} of a macro's routed DEF (0: a floating port, e.g. sys_rst of a
    reset-less PE macro)."""
    out = {}
    for body in re.findall(r"^-\s+\S+(.*?);\s*$", section(Path(routed_def).read_text(), "NETS"), re.M | re.S):
        conns = re.findall(r"\(\s*(\S+)\s+(\S+)\s*\)", body.split("+ ROUTED")[0])
        for port in (pin for inst, pin in conns if inst == "PIN"):
            out[port] = sum(inst != "PIN" for inst, _ in conns)
    return out
