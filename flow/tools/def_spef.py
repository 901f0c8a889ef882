"""SPEF for every net of a routed DEF, from the tech LEF's per-layer R and C (the array level of the tiled flow).

Why not qflow's rc2dly there: qrouter's .rc file leaves out every net it finds "No driver" for (the clock, the
load enable, every net driven by a macro pin: qrouter takes neither a DEF PIN nor a macro LEF's OUTPUT pin as a
driver) and rc2dly cuts macro pin names short, so OpenSTA timed those nets with the liberty's default wire-load
model (2x2 b3 sky130hd: sys_clk 0.012 pF of wire, 0.25 pF here).

Parasitics per layer (LEF units: pF and ohms): a routing layer's WIDTH w, RESISTANCE RPERSQ r,
CAPACITANCE CPERSQDIST c and EDGECAPACITANCE e; a wire of length l has R = l / w * r and
C = l * (w * c + 2 * e) (the LEF formula's area plus perimeter term, without the 2w of segment ends, which
join other segments). qrouter's own .rc counts the edge once, so rc2dly's SPEFs (the macros') hold about half
this C per um on sky130's met1. A via has its VIA's RESISTANCE or, failing that, its cut layer's; a via the
router generated (the DEF's VIAS) that of a LEF via through the same cut layer. A value a layer lacks counts 0
and the returned info names it (gf180mcu: no EDGECAPACITANCE); a tech LEF with no R/C at all (asap7) gives a
SPEF of connections only (every net 0 pF), which run_sta reports as "SPEF all zeros".

The RC model of one net is a star: one resistor from the driver pin to each load pin, R_k = rho * d_k * s,
with d_k the Manhattan distance driver -> load (pin positions from the placement and the LEF pin shapes),
rho the net's routed resistance (wires and vias) per um of routed length, and s = max(1, routed length /
sum of d_k) (a 2-pin net then gets exactly its routed R; a wide net's tree shares its trunk, so the star
over-counts its R rather than under-counts it). The net's routed C goes half to the driver pin, half to the
loads in proportion to d_k. OpenSTA's delay calculation reduces a net to a pi model at its driver and Elmore
delays to its loads; the star gives both the full wire C (what matters for a clock or an enable reaching
hundreds of pins) and a per-load R that grows with distance, without rebuilding the routed tree.
SPECIALNETS (qrouter's pin stubs, < 0.1 um each) are left out. A net with no routed wire gets its
connections only. Macro pins: see write_spef's `macro_defs`.
Names are the DEF's, which are the netlist's (flow/tiled/ writes both): `inst:pin`, hierarchy divider `/`,
bus bits `[k]`; any other character is escaped as OpenSTA 2.0 reads it.
"""
from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .lefdef import DefLayout, RoutedDef, lef_layers, lef_macros, lef_vias, read_routed_def
from .liberty import pin_directions


@dataclass(frozen=True)
class LayerRC:
    width: float                 # um
    rpersq: float | None         # ohm per square
    cpersq: float | None         # pF per um^2
    edge: float | None           # pF per um of each edge

    def r(self, length: float) -> float:
        return length / self.width * (self.rpersq or 0.0) if self.width else 0.0

    def c(self, length: float) -> float:
        return length * (self.width * (self.cpersq or 0.0) + 2 * (self.edge or 0.0))


@functools.cache
def tech_rc(lef: Path) -> tuple[dict[str, LayerRC], dict[str, float], dict[str, float]]:
    """(routing layers, cut layer R {layer: ohm}, via R {via: ohm}) of one LEF (tech LEF, or a cell LEF
    that holds the technology as osu018's does). A cut layer without a RESISTANCE of its own takes that of the
    first VIA through it that states one (gf180mcu: R on the VIAs only), for the vias a router generates."""
    layers, cuts, vias = {}, {}, {}
    for name, layer in lef_layers(Path(lef)).items():
        if layer.kind == "ROUTING":
            layers[name] = LayerRC(layer.width or 0.0, layer.rpersq, layer.cpersq, layer.edge)
        elif layer.kind == "CUT" and layer.resistance is not None:
            cuts[name] = layer.resistance
    for name, via in lef_vias(Path(lef)).items():
        r = via.resistance
        if r is None:
            r = next((cuts[l] for l in via.layers if l in cuts), None)
        elif (cut := next((l for l in via.layers if l not in layers), None)) is not None:
            cuts.setdefault(cut, r)
        if r is not None:
            vias[name] = r
    return layers, cuts, vias


def _orient(x: float, y: float, w: float, h: float, orient: str) -> tuple[float, float]:
    """A point of a cell (w x h, origin lower left) placed with DEF orientation `orient`, relative to the
    placed cell's lower-left corner."""
    return {"N": (x, y), "S": (w - x, h - y), "W": (h - y, x), "E": (y, w - x),
            "FN": (w - x, y), "FS": (x, h - y), "FW": (y, x), "FE": (h - y, w - x)}.get(orient, (x, y))


_SAFE = re.compile(r"[A-Za-z0-9_]")


def spef_name(name: str) -> str:
    """A netlist name as OpenSTA 2.0 reads it in a SPEF: a trailing `[k]` is a bus bit, every other character
    that is not a letter, digit or `_` is escaped with a backslash."""
    m = re.fullmatch(r"(.*?)(\[\d+\])?", name)
    base, bit = m.group(1), m.group(2) or ""
    return "".join(c if _SAFE.fullmatch(c) else "\\" + c for c in base) + bit


@functools.cache
def _macro_ports(path: Path, mtime: float) -> tuple[RoutedDef, dict[str, tuple[list[tuple[str, str]], DefLayout]]]:
    """A hardened macro's routed DEF and {port: (the cell pins its net reaches inside, that net's routes)}."""
    d = read_routed_def(path)
    ports = {}
    for _, conns, seg in d.nets:
        for inst, pin in conns:
            if inst == "PIN":
                ports[pin] = ([c for c in conns if c[0] != "PIN"], seg)
    return d, ports


def _wire(seg: DefLayout, layers: dict[str, LayerRC], vias: dict[str, float], missing: set[str]):
    """(length um, R ohm, C pF) of one net's routed wires and vias (`vias`: the LEFs' and the DEF's own)."""
    length = r = c = 0.0
    for layer, x0, y0, x1, y1 in seg.segments:
        lum = (abs(x1 - x0) + abs(y1 - y0)) / seg.units
        rc = layers.get(layer)
        if rc is None:
            missing.add(f"layer {layer} not in the LEFs")
            continue
        length, r, c = length + lum, r + rc.r(lum), c + rc.c(lum)
    for via, count in seg.via_names.items():
        if via not in vias:
            missing.add(f"via {via}: no resistance in the LEFs")
        r += count * vias.get(via, 0.0)
    return length, r, c


def write_spef(routed_def: Path, lefs: list[Path], liberty: Path | None, out: Path, design: str,
               port_directions: dict[str, str] | None = None, macro_defs: dict[str, Path] | None = None) -> dict:
    """Write the SPEF of every net of `routed_def` to `out` (model in the module docstring).

    `lefs`: the tech LEF, the cell LEF and the macro LEFs (layers, vias and pin shapes); `liberty`: the cells'
    pin directions; `port_directions`: {top-level pin: input|output} where the DEF's PINS carry no DIRECTION.
    `macro_defs`: {macro: its routed DEF}. A connection to a pin of such a macro is written as the cell pins
    the macro's port net reaches inside (`inst/cell:pin`), and that net's wire is added to the array-level
    net's. OpenSTA 2.0 keeps a net's parasitics under the highest net of its hierarchy and finds a driver's
    and a load's RC by their leaf pins: a SPEF that stops at the macro pins leaves the macro-side loads out
    of the load it computes (and a net driven from inside a macro gets no RC at all), and the macro SPEF's
    own port nets (`read_spef -path`) are never looked up.
    -> info: nets, annotated (nets with wire written as RC), expanded (macro pin connections written as the
    cells inside), resistors, total_cap_pf, top_cap_pf (the array-level wires alone), wire_um, no_driver
    (nets without a driver: a top input PIN or an output pin), missing (layers without R or C, vias without
    R, pins not found), no_rc (the LEFs have no R/C at all: connections only), runtime_s."""
    t0 = time.perf_counter()
    spef = SpefNets(read_routed_def(Path(routed_def)), lefs, liberty, port_directions, macro_defs)
    body = [line for name, conns, seg in spef.top.nets for line in spef.net(name, conns, seg)]
    Path(out).write_text("\n".join(_header(design) + ["*PORTS", *sorted(spef.ports), "", *body]) + "\n")
    return {**spef.info(), "runtime_s": time.perf_counter() - t0}


def _header(design: str) -> list[str]:
    return ['*SPEF "IEEE 1481-1998"', f'*DESIGN "{design}"', '*DATE "-"', '*VENDOR "kan-dse"',
            '*PROGRAM "flow.tools.def_spef"', '*VERSION "1"', '*DESIGN_FLOW "ROUTED DEF STAR RC"',
            "*DIVIDER /", "*DELIMITER :", "*BUS_DELIMITER []", "*T_UNIT 1 NS", "*C_UNIT 1 PF", "*R_UNIT 1 OHM",
            "*L_UNIT 1 HENRY", ""]


class SpefNets:
    """The SPEF text of a routed DEF's nets, one net at a time (write_spef): the LEFs' layer, via and pin data,
    the macros' port nets, and the counts and totals info() returns."""

    def __init__(self, top: RoutedDef, lefs: list[Path], liberty: Path | None,
                 port_directions: dict[str, str] | None = None, macro_defs: dict[str, Path] | None = None):
        self.top, self.u = top, top.units
        self.layers, self.vias, self.cells = {}, {}, {}
        cuts: dict[str, float] = {}
        for lef in lefs:
            l_rc, c_rc, v_rc = tech_rc(Path(lef))
            for table, new in ((self.layers, l_rc), (cuts, c_rc), (self.vias, v_rc),
                               (self.cells, lef_macros(Path(lef)))):
                table.update({k: v for k, v in new.items() if k not in table})
        self.subs = {m: _macro_ports(Path(p), Path(p).stat().st_mtime) for m, p in (macro_defs or {}).items()}
        for d in [top, *(s[0] for s in self.subs.values())]:      # vias the router generated: their cut layer's R
            for name, via_layers in d.vias.items():
                r = next((cuts[l] for l in via_layers if l in cuts), None)
                if name not in self.vias and r is not None:
                    self.vias[name] = r
        self.no_rc = not any(l.rpersq or l.cpersq or l.edge for l in self.layers.values())
        self.missing: set[str] = set() if self.no_rc else {
            f"layer {k}: no {what}" for k, l in self.layers.items()
            for what, v in (("RPERSQ", l.rpersq), ("CPERSQDIST", l.cpersq), ("EDGECAPACITANCE", l.edge)) if v is None}
        self.lib_dirs = pin_directions(Path(liberty)) if liberty else {}
        self.port_dir = {k: v.upper() for k, v in (port_directions or {}).items()}
        self.ports: set[str] = set()
        self.total_c = self.top_c = self.wire_um = 0.0
        self.annotated = self.expanded = self.n_res = 0
        self.no_driver: list[str] = []

    def info(self) -> dict:
        return {"nets": len(self.top.nets), "annotated": self.annotated, "expanded": self.expanded,
                "resistors": self.n_res, "total_cap_pf": self.total_c, "top_cap_pf": 0.0 if self.no_rc else self.top_c,
                "wire_um": self.wire_um, "no_driver": self.no_driver, "missing": sorted(self.missing),
                "no_rc": self.no_rc}

    def cell_pin(self, cell: str, pin: str, x: float, y: float, orient: str) -> tuple[float, float, str]:
        """(x, y, I|O|B) of a pin of `cell` placed at (x, y) um with `orient`."""
        macro = self.cells.get(cell)
        w, h = (macro.width, macro.height) if macro else (0.0, 0.0)
        p = macro.pins.get(pin) if macro else None
        if p is None:
            self.missing.add(f"pin {cell}/{pin} not in the LEFs")
        px, py = _orient(p.x, p.y, w, h, orient) if p else (w / 2, h / 2)
        d = self.lib_dirs.get(cell, {}).get(pin, "").upper() or (p.direction if p else "")
        return x + px, y + py, {"OUTPUT": "O", "INPUT": "I"}.get(d, "B")

    def nodes(self, conns: list[tuple[str, str]], wires: list) -> list[tuple]:
        """The SPEF nodes of a net's connections: (SPEF node, *P|*I, direction, x um, y um, drives the net). A
        connection to a macro's pin becomes the cell pins its port net reaches inside, and that port net's wire
        is added to `wires`."""
        top, u = self.top, self.u
        nodes = []
        for inst, pin in conns:
            if inst == "PIN":
                x, y, d = top.pins.get(pin, (0.0, 0.0, ""))
                d = {"INPUT": "I", "OUTPUT": "O"}.get(d or self.port_dir.get(pin, ""), "B")
                self.ports.add(f"{spef_name(pin)} {d}")
                nodes.append((spef_name(pin), "*P", d, x, y, d == "I"))     # a top input drives its net
                continue
            cell = top.components.get(inst, "")
            x0, y0, orient = top.locations.get(inst, (0, 0, "N"))
            sub = self.subs.get(cell)
            if sub and pin in sub[1]:
                mdef, (leaves, mseg) = sub[0], sub[1][pin]
                mu, (dx0, dy0, dx1, dy1) = mdef.units, mdef.die
                wires.append(_wire(mseg, self.layers, self.vias, self.missing))
                self.expanded += 1
                for leaf, lpin in leaves:
                    lx, ly, lo = mdef.locations.get(leaf, (dx0, dy0, "N"))
                    px, py, d = self.cell_pin(mdef.components.get(leaf, ""), lpin, (lx - dx0) / mu,
                                              (ly - dy0) / mu, lo)
                    px, py = _orient(px, py, (dx1 - dx0) / mu, (dy1 - dy0) / mu, orient)
                    nodes.append((f"{spef_name(inst)}/{spef_name(leaf)}:{spef_name(lpin)}", "*I", d,
                                  x0 / u + px, y0 / u + py, d == "O"))
                continue
            if sub:
                self.missing.add(f"macro {cell} pin {pin}: no port net in its DEF")
            x, y, d = self.cell_pin(cell, pin, x0 / u, y0 / u, orient)
            nodes.append((f"{spef_name(inst)}:{spef_name(pin)}", "*I", d, x, y, d == "O"))
        return nodes

    def net(self, name: str, conns: list[tuple[str, str]], seg: DefLayout) -> list[str]:
        """The *D_NET lines of one net: its connections, and its wire as a star RC from the driver."""
        wires = [_wire(seg, self.layers, self.vias, self.missing)]
        self.top_c += wires[0][2]
        nodes = self.nodes(conns, wires)
        length = sum(w[0] for w in wires)
        r_total, c_total = (0.0, 0.0) if self.no_rc else (sum(w[1] for w in wires), sum(w[2] for w in wires))
        self.wire_um += length
        self.total_c += c_total
        drivers = [n for n in nodes if n[5]]
        if not drivers:
            self.no_driver.append(name)
        root = (drivers or nodes or [None])[0]
        loads = [n for n in nodes if n is not root]
        lines = [f"*D_NET {spef_name(name)} {c_total:.6g}", "*CONN", *[f"{n[1]} {n[0]} {n[2]}" for n in nodes]]
        if loads and (length or r_total) and not self.no_rc:
            lines += self.star_rc(root, loads, length, r_total, c_total)
        return lines + ["*END", ""]

    def star_rc(self, root: tuple, loads: list[tuple], length: float, r_total: float, c_total: float) -> list[str]:
        """*CAP and *RES of a star from `root` to each load (model in the module docstring)."""
        self.annotated += 1
        dist = [abs(n[3] - root[3]) + abs(n[4] - root[4]) for n in loads]
        span = sum(dist)
        stretch = max(1.0, length / span) if span else 1.0
        caps = [c_total / 2] + [c_total / 2 * (dk / span if span else 1 / len(loads)) for dk in dist]
        lines = ["*CAP", *[f"{k} {n[0]} {c:.6g}" for k, (n, c) in enumerate(zip([root, *loads], caps), 1)], "*RES"]
        # rho: the net's routed ohms per um; no wire at all (a via stack only): the vias' R to every load
        res = [r_total * dk * stretch / length if length else r_total for dk in dist]
        lines += [f"{k} {root[0]} {n[0]} {r:.6g}" for k, (n, r) in enumerate(zip(loads, res), 1)]
        self.n_res += len(loads)
        return lines
