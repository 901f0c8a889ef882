"""A hardened macro's edges: pin placement on the die edges of a placed DEF, and the LEF abstract of the routed
macro that the array-level router reads.

Pins sit on routing tracks ON the die edge (the first/last track), so a neighbouring tile's pin at the same
y (west/east) or x (north/south) is reached by a straight wire across the channel. West/east pins use the
PDK's horizontal pin layer and north/south pins its vertical one: qflow's obstruction file blocks exactly the
other direction in the die margins, so the macro's own router reaches every pin from inside.
The abstract blocks the whole die on each layer the macro may use, shrunk by a thin ring that holds only the
pin grid points; a pin's rectangle runs from the edge to the blockage (covering its own stub).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FlowError
from ..pdks import LayerRoles
from .lefdef import DefLayout, def_tracks, layer_rule, net_segments, port_fanouts, read_def

PIN_HALF = 14           # half side of a pin's square in DEF units, as qflow's place2def writes pins


@dataclass
class MacroPins:
    """Pin plan of one macro. `rows`: (west pin, east pin) pairs from the bottom up, sharing one y; `cols`:
    (north pin, south pin) pairs from the left, sharing one x; None leaves that side of the pair empty.
    `row_y`: explicit y (DEF units) per row, to line this macro up with another one's pins."""
    rows: list[tuple[str | None, str | None]]
    cols: list[tuple[str | None, str | None]]
    row_y: list[int] | None = None
    spacing: int | None = None     # tracks between neighbouring pins; None spreads them (see MAX_SPREAD)


# Pins packed 2 tracks apart into one corner made that corner a routing hot spot: an 8-bit sky130hd PE macro
# ended with 28 failed nets, and 0 with the same placement once its pins were spread 7 tracks apart.
# Spread at most this far, so a neighbour (the B-spline unit) lining up with the pins stays small.
MAX_SPREAD = 8


def _spread(plan_spacing: int | None, n_pins: int, n_tracks: int) -> int:
    if plan_spacing is not None:
        return plan_spacing
    return max(2, min(MAX_SPREAD, (n_tracks - 6) // max(n_pins, 1)))


@dataclass
class PlacedPin:
    name: str
    side: str            # W E N S
    layer: str
    x: int               # DEF units, in the macro DEF's coordinates
    y: int


@dataclass
class Abstract:
    """What the array level needs of a routed macro (DEF units of the macro's own DEF)."""
    name: str
    lef: Path
    units: int
    die: tuple[int, int, int, int]
    pins: dict[str, PlacedPin]
    fanout: dict[str, int] = field(default_factory=dict)   # port -> cell pins its net reaches inside
    tracks: dict = field(default_factory=dict)              # the macro DEF's TRACKS (see def_tracks)
    stages: dict[str, int] = field(default_factory=dict)    # input port -> buffers in series inside (port_stages)

    @property
    def floating(self) -> set[str]:
        """Ports nothing inside connects to."""
        return {p for p, n in self.fanout.items() if n == 0}

    @property
    def width(self) -> int:
        return self.die[2] - self.die[0]

    @property
    def height(self) -> int:
        return self.die[3] - self.die[1]


def place_edge_pins(def_path: Path, macro: str, plan: MacroPins, layers: LayerRoles) -> dict[str, PlacedPin]:
    """Rewrite the PINS of a placed DEF by `plan`; every pin of the DEF must be in the plan and vice versa."""
    h_layer, v_layer = layers.pin_h, layers.pin_v
    text = Path(def_path).read_text()
    layout = read_def(def_path)
    x0, y0, x1, y1 = layout.die
    tracks = def_tracks(text)
    try:
        ys, ny, sy = tracks[("Y", h_layer)]
        xs, nx, sx = tracks[("X", v_layer)]
    except KeyError as exc:
        raise FlowError(f"macro {macro}: {def_path}: no TRACKS for pin layer {exc.args[0][1]}") from None
    pins_text = re.search(r"^PINS\s+\d+\s*;\n(.*?)^END PINS", text, re.S | re.M)
    existing = re.findall(r"^-\s+(\S+)\s+\+\s+NET", pins_text.group(1), re.M)
    # the edge grid lines: vertical tracks at x0/x1 ends, horizontal tracks at the y ends
    x_first, x_last = xs, xs + (nx - 1) * sx
    yh = tracks.get(("Y", layers.row_tracks)) or (ys, ny, sy)
    y_first, y_last = yh[0], yh[0] + (yh[1] - 1) * yh[2]
    placed: dict[str, PlacedPin] = {}
    core_x0, core_y0 = core_origin(def_path, layout)
    if plan.row_y is not None:
        row_ys = plan.row_y
    else:
        first = _first_inner_track(ys, sy, core_y0)
        row_ys = [ys + sy * (first + _spread(plan.spacing, len(plan.rows), ny) * k) for k in range(len(plan.rows))]
    first = _first_inner_track(xs, sx, core_x0)
    col_xs = [xs + sx * (first + _spread(plan.spacing, len(plan.cols), nx) * k) for k in range(len(plan.cols))]
    if row_ys and (max(row_ys) > y_last - sy or min(row_ys) < y_first):
        raise FlowError(f"macro {macro}: {len(plan.rows)} west/east pins need y up to "
                        f"{max(row_ys) / layout.units:g} um;"
                        f" the die ends at {y1 / layout.units:g} um")
    if col_xs and max(col_xs) > x_last - sx:
        raise FlowError(f"macro {macro}: {len(plan.cols)} north/south pins need x up to "
                        f"{max(col_xs) / layout.units:g} um; the die ends at {x1 / layout.units:g} um")
    for (west, east), y in zip(plan.rows, row_ys):
        if (y - ys) % sy:
            raise FlowError(f"macro {macro}: pin row y={y} is not on a {h_layer} track")
        for name, side, x in ((west, "W", x_first), (east, "E", x_last)):
            if name:
                placed[name] = PlacedPin(name, side, h_layer, x, y)
    for (north, south), x in zip(plan.cols, col_xs):
        for name, side, y in ((north, "N", y_last), (south, "S", y_first)):
            if name:
                placed[name] = PlacedPin(name, side, v_layer, x, y)
    missing, extra = sorted(set(existing) - set(placed)), sorted(set(placed) - set(existing))
    if missing or extra:
        raise FlowError(f"macro {macro}: pin plan does not match the ports of {def_path}: "
                        f"unplanned {missing[:5]}, not ports {extra[:5]}")
    body = "".join(f"- {p.name} + NET {p.name}\n  + LAYER {p.layer} ( -{PIN_HALF} -{PIN_HALF} ) "
                   f"( {PIN_HALF} {PIN_HALF} )\n  + PLACED ( {p.x} {p.y} ) N ;\n"
                   for p in (placed[n] for n in existing))
    Path(def_path).write_text(text[:pins_text.start(1)] + body + text[pins_text.end(1):])
    return placed


def core_origin(def_path: Path, layout: DefLayout) -> tuple[int, int]:
    """Lower-left corner of the core (DEF units): the inner edge of the west and south die-margin
    obstructions that qflow's place2def wrote to the .obs file beside the DEF; the die corner without one."""
    obs = Path(def_path).with_suffix(".obs")
    u = layout.units
    x0, y0, x1, y1 = (v / u for v in layout.die)
    core = [x0, y0]
    if obs.exists():
        for a, b, c, d in (map(float, line.split()[1:5]) for line in obs.read_text().splitlines()
                           if line.startswith("obstruction")):
            if a <= x0 + 1e-3 and c < (x0 + x1) / 2:     # a west margin
                core[0] = max(core[0], c)
            if b <= y0 + 1e-3 and d < (y0 + y1) / 2:     # a south margin
                core[1] = max(core[1], d)
    return round(core[0] * u), round(core[1] * u)


def _first_inner_track(start: int, step: int, core: int) -> int:
    """Index of the first track at least one pitch inside the core. A pin row on the first core track (sky130hd
    met3 at y=0, 0.06 um above the margin blockage) or a column inside the west margin boxed a corner pin in
    once the edge keep-outs were added (1 failed net, m[0], on the 12- and 16-bit B-spline units)."""
    return max(2, -(-(core + step - start) // step))


def edge_keepouts(def_path: Path, pins: dict[str, PlacedPin], layers: LayerRoles, lefs: list[Path]) -> list[str]:
    """qrouter obstructions that keep a macro's own wires off its edge grid lines on the pin layers, except
    where a pin sits. The LEF abstract turns a pin net's wires on that line into more of the pin and any
    other net's into blockage; the array router then failed to reach a pin next to such a jog (5 of 14 sky130hd
    nightly points: bspline x[0], pe basis_out_3[7], ...). The gap around a pin lets its own wire in (half
    width + spacing) and blocks the neighbouring grid point, so the pin is entered straight from the edge."""
    layout = read_def(def_path)
    u = layout.units
    x0, y0, x1, y1 = (v / u for v in layout.die)
    tracks = def_tracks(Path(def_path).read_text())
    grid = {d: min(st for (dd, _), (_, _, st) in tracks.items() if dd == d) / u for d in "XY"}
    h_layer, v_layer = layers.pin_h, layers.pin_v
    out = []
    for side, (a0, a1), band in (("W", (y0, y1), (x0 - 0.5, x0)), ("E", (y0, y1), (x1, x1 + 0.5)),
                                 ("S", (x0, x1), (y0 - 0.5, y0)), ("N", (x0, x1), (y1, y1 + 0.5))):
        along = "Y" if side in "WE" else "X"
        for layer in (h_layer, v_layer):
            rule = layer_rule(lefs, layer)
            if rule is None:
                raise FlowError(f"layer {layer}: no WIDTH and SPACING in {', '.join(map(str, lefs))}")
            width, spacing = rule
            gap = width / 2 + spacing + 0.25 * (grid[along] - spacing)
            at = sorted((p.y if along == "Y" else p.x) / u for p in pins.values()
                        if p.side == side and p.layer == layer)
            lo = a0 - 0.5
            for c in [*at, None]:
                hi = a1 + 0.5 if c is None else c - gap
                if hi > lo:
                    r = (band[0], lo, band[1], hi) if along == "Y" else (lo, band[0], hi, band[1])
                    out.append("obstruction {:g} {:g} {:g} {:g} {}".format(*(round(v, 4) for v in r), layer))
                if c is not None:
                    lo = c + gap
    return out


def write_lef(routed_def: Path, macro: str, pins: dict[str, PlacedPin], directions: dict[str, str],
              layers: LayerRoles, out: Path, free_layers: tuple[str, ...] = ()) -> Abstract:
    """LEF abstract of a routed macro: SIZE of the die, each pin as a rectangle from its edge to the blockage,
    OBS over the die on every routing layer except `free_layers` (kept empty inside the macro for the array
    router). Coordinates are relative to the die's lower-left corner."""
    layout = read_def(routed_def)
    u = layout.units
    x0, y0, x1, y1 = layout.die
    blocked = [layer for layer in layers.routing if layer not in free_layers]
    used_free = sorted({s[0] for s in layout.segments} & set(free_layers))
    if used_free:
        raise FlowError(f"macro {macro}: {routed_def} uses {', '.join(used_free)}, which was to stay free")
    ring = 100 * u // 200       # 0.5 um: the edge grid line stays free, the next one is blocked (sky130 pitches)

    def um(v: float) -> str:
        return f"{v / u:.3f}"

    def rect(a, b, c, d) -> str:
        return f"RECT {um(a - x0)} {um(b - y0)} {um(c - x0)} {um(d - y0)} ;"

    pin_rects: dict[str, tuple[int, int, int, int]] = {}
    for p in pins.values():
        w = PIN_HALF
        pin_rects[p.name] = {"W": (x0, p.y - w, x0 + ring, p.y + w), "E": (x1 - ring, p.y - w, x1, p.y + w),
                             "S": (p.x - w, y0, p.x + w, y0 + ring), "N": (p.x - w, y1 - ring, p.x + w, y1)}[p.side]
    # the macro's own wires in the ring: those of a pin's net become more of that pin, any other one is blocked
    extra_port: dict[str, list[tuple]] = {n: [] for n in pins}
    ring_obs: dict[str, list[tuple]] = {}
    for net, segments in net_segments(routed_def).items():
        for lay, a, b, c, d in segments:
            box = (min(a, c) - PIN_HALF, min(b, d) - PIN_HALF, max(a, c) + PIN_HALF, max(b, d) + PIN_HALF)
            if x0 + ring <= box[0] and box[2] <= x1 - ring and y0 + ring <= box[1] and box[3] <= y1 - ring:
                continue
            if net in pins and lay == pins[net].layer:
                extra_port[net].append(box)
            else:
                ring_obs.setdefault(lay, []).append(box)
    lines = ["VERSION 5.7 ;", 'BUSBITCHARS "[]" ;', 'DIVIDERCHAR "/" ;', "", f"MACRO {macro}",
             "  CLASS BLOCK ;", f"  FOREIGN {macro} 0 0 ;", "  ORIGIN 0 0 ;",
             f"  SIZE {(x1 - x0) / u:.3f} BY {(y1 - y0) / u:.3f} ;", "  SYMMETRY X Y ;"]
    for name in sorted(pins):
        p = pins[name]
        rects = [f"        {rect(*r)}" for r in [pin_rects[name], *extra_port[name]]]
        lines += [f"  PIN {name}", f"    DIRECTION {directions.get(name, 'INPUT')} ;", "    USE SIGNAL ;",
                  "    PORT", f"      LAYER {p.layer} ;", *rects, "    END", f"  END {name}"]
    lines.append("  OBS")
    for layer in blocked:
        lines += [f"    LAYER {layer} ;", f"      {rect(x0 + ring, y0 + ring, x1 - ring, y1 - ring)}"]
        lines += [f"      {rect(*r)}" for r in ring_obs.get(layer, [])]
    lines += ["  END", f"END {macro}", "", "END LIBRARY", ""]
    Path(out).write_text("\n".join(lines))
    return Abstract(macro, Path(out), u, layout.die, pins, port_fanouts(routed_def),
                    def_tracks(Path(routed_def).read_text()))
