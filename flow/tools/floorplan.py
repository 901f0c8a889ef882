"""Array floorplan of the tiled flow: macro grid with routing channels, glue-cell strips and their legalizer,
the array-level DEF qrouter routes, and the merged DEF (every macro's cells and wires at its place) for the
die picture.

Coordinates are DEF units of the macros' DEFs. qflow writes every TRACKS statement at a multiple of its step
from DEF (0,0), so a macro whose DEF origin lands on a multiple of the least common multiple of the steps keeps
its pins on the array's tracks (the array DEF's tracks also start at multiples of their steps).
Glue cells (skew/deskew registers, valid pipeline, constant ties) go into strips west, south and north of the
array: each cell's target is the average of where its nets lead (macro and I/O pins fixed, other glue cells
iterated), it joins the strip nearest that target, and a Tetris legalizer packs it into that strip's rows on
the site grid, alternate rows flipped (FS, N) as qflow's place2def writes them.
"""
from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .lefdef import POINT, lef_macros, section
from .macro import Abstract


@dataclass
class Inst:
    """A component of the array DEF: a macro (FIXED) or a glue standard cell (PLACED)."""
    name: str
    cell: str
    x: int = 0
    y: int = 0
    orient: str = "N"
    width: int = 0
    height: int = 0
    macro: Abstract | None = None
    origin: tuple[int, int] = (0, 0)     # where the macro DEF's (0,0) lands (macros only)


@dataclass
class Floorplan:
    units: int
    die: tuple[int, int, int, int]
    tracks: list[tuple[str, str, int, int]]          # (X|Y, layer, step, count) from 0
    insts: dict[str, Inst]
    pins: dict[str, tuple[str, int, int]]            # top-level port bit -> (layer, x, y)
    rows: list[tuple[int, int, int, str]] = field(default_factory=list)   # x0, y, sites, orient
    site: tuple[int, int] = (0, 0)                   # site width, row height
    blockages: list[tuple[str, tuple[int, int, int, int]]] = field(default_factory=list)   # (layer, box) no
                                                     # array-level wire may use

    def obstructions(self, window: tuple[int, int, int, int] | None = None) -> list[str]:
        """The blockages as qrouter `obstruction x0 y0 x1 y1 layer` lines (um), clipped to `window`."""
        x0, y0, x1, y1 = window or self.die
        out = []
        for layer, (a, b, c, d) in self.blockages:
            a, b, c, d = max(a, x0), max(b, y0), min(c, x1), min(d, y1)
            if a < c and b < d:
                out.append("obstruction {:g} {:g} {:g} {:g} {}".format(*(v / self.units for v in (a, b, c, d)),
                                                                       layer))
        return out

    def macro_insts(self) -> list[tuple[str, Inst]]:
        """(name, instance) of every macro instance, by name: the order the merged DEF, the die picture and the
        hierarchical timing list them in."""
        return sorted((n, i) for n, i in self.insts.items() if i.macro)


def align_up(value: int, step: int) -> int:
    """The smallest multiple of `step` at or above `value`."""
    return -(-value // step) * step


def grid_steps(tracks: dict) -> tuple[int, int, list[tuple[str, str, int, int]]]:
    """(x alignment, y alignment, array tracks) from one macro DEF's TRACKS."""
    ax = math.lcm(*[st for (d, _), (_, _, st) in tracks.items() if d == "X"])
    ay = math.lcm(*[st for (d, _), (_, _, st) in tracks.items() if d == "Y"])
    return ax, ay, [(d, layer, st, 0) for (d, layer), (_, _, st) in sorted(tracks.items())]


def array_pitch(pe: Abstract, bs: Abstract, channel_um: float) -> tuple[int, int]:
    """(x, y) distance between neighbouring PEs, in DEF units, on the track grid."""
    ax, ay, _ = grid_steps(pe.tracks)
    ch = int(channel_um * pe.units)
    # rows are as tall as the taller macro: a B-spline unit placed with relief can outgrow the PE
    return align_up(pe.width + ch, ax), align_up(max(pe.height, bs.height) + ch, ay)


def plan_array(rows: int, cols: int, pe: Abstract, bs: Abstract, strips: dict[str, int], channel_um: float,
               edge_um: float = 4.0) -> tuple[tuple[int, int, int, int], dict[str, Inst], dict[str, tuple]]:
    """Macro instances on the grid (row 0 on top: partial sums flow south) and the glue strip rectangles.
    `strips` = {W, S, N: thickness in DEF units}. -> (die, instances, {strip: (x0, y0, x1, y1)})."""
    u = pe.units
    ax, ay, _ = grid_steps(pe.tracks)
    ch, edge = int(channel_um * u), int(edge_um * u)
    west = edge + strips.get("W", 0)
    south = edge + strips.get("S", 0)
    # a macro's location is its die corner; its DEF origin must be aligned: origin = corner - die lower-left
    bs_ox = align_up(west + ch - bs.die[0], ax)
    pe_ox0 = align_up(bs_ox + bs.die[2] + ch - pe.die[0], ax)
    pitch_x, pitch_y = array_pitch(pe, bs, channel_um)
    pe_oy_last = align_up(south + ch - pe.die[1], ay)
    insts: dict[str, Inst] = {}
    for i in range(rows):
        oy = pe_oy_last + (rows - 1 - i) * pitch_y
        insts[f"bspline_{i}"] = Inst(f"bspline_{i}", bs.name, bs_ox + bs.die[0], oy + bs.die[1], "N",
                                     bs.width, bs.height, bs, (bs_ox, oy))
        for j in range(cols):
            ox = pe_ox0 + j * pitch_x
            insts[f"pe_{i}_{j}"] = Inst(f"pe_{i}_{j}", pe.name, ox + pe.die[0], oy + pe.die[1], "N",
                                        pe.width, pe.height, pe, (ox, oy))
    x_end = max(m.x + m.width for m in insts.values()) + ch
    y_top = max(m.y + m.height for m in insts.values()) + ch
    width = align_up(x_end + edge, ax)
    height = align_up(y_top + strips.get("N", 0) + edge, ay)
    regions = {"W": (edge, edge, west, height - edge), "S": (west, edge, width - edge, south),
               "N": (west, y_top, width - edge, height - edge)}
    return (0, 0, width, height), insts, regions


def macro_pin_xy(inst: Inst, pin: str) -> tuple[str, int, int]:
    p = inst.macro.pins[pin]
    return p.layer, inst.origin[0] + p.x, inst.origin[1] + p.y


def glue_targets(glue: list[str], nets: dict[str, list[tuple[str, str]]], fixed: dict[tuple[str, str], tuple],
                 die: tuple[int, int, int, int], max_fanout: int = 12, passes: int = 60) -> dict[str, tuple]:
    """Each glue cell's target point: iterated average over its nets of the other members' positions
    (fixed pins stay; nets wider than `max_fanout`, i.e. clock/reset/enable broadcasts, do not pull). Each cell
    starts at the centroid of the fixed pins its connected cells reach (the die centre if none): a chain of n
    cells settles in about n^2 passes, so started at the die centre the 15-stage skew chains of 16x16 b3 were
    still pulled far toward it after 60 (row 15's x skew chain reached (540, 575) um into the macro grid, split
    between the west and south strips, and the deskew registers crowded the south strip's first half)."""
    members = [m for m in nets.values() if 2 <= len(m) <= max_fanout]
    cell_nets: dict[str, list[list]] = {g: [] for g in glue}
    for m in members:
        for inst, _ in m:
            if inst in cell_nets:
                cell_nets[inst].append(m)
    pos = _component_centroids(glue, cell_nets, fixed, ((die[0] + die[2]) / 2, (die[1] + die[3]) / 2))
    for _ in range(passes):
        new = {}
        for g in glue:
            pts = []
            for m in cell_nets[g]:
                for inst, pin in m:
                    if inst != g:
                        pts.append(fixed[(inst, pin)][1:] if (inst, pin) in fixed else pos[inst])
            new[g] = centroid(pts) if pts else pos[g]
        pos = new
    return pos


def _component_centroids(glue: list[str], cell_nets: dict[str, list[list]], fixed: dict, default: tuple
                         ) -> dict[str, tuple]:
    """{glue cell: the centroid of the fixed pins on the nets of its connected component (through glue cells)}."""
    pos: dict[str, tuple] = {}
    for start in glue:
        if start in pos:
            continue
        component, pins, todo = {start}, set(), [start]
        while todo:
            for m in cell_nets[todo.pop()]:
                for inst, pin in m:
                    if (inst, pin) in fixed:
                        pins.add((inst, pin))
                    elif inst in cell_nets and inst not in component:
                        component.add(inst)
                        todo.append(inst)
        centre = centroid([fixed[p][1:] for p in sorted(pins)]) if pins else default
        pos.update(dict.fromkeys(component, centre))
    return pos


def centroid(points: list[tuple[float, float]]) -> tuple[float, float]:
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def nearest_strip(point: tuple[float, float], regions: dict[str, tuple]) -> str:
    return min(sorted(regions), key=lambda k: box_distance(point, regions[k]))


def box_distance(point: tuple[float, float], box: tuple) -> float:
    x, y = point
    return math.hypot(max(box[0] - x, 0, x - box[2]), max(box[1] - y, 0, y - box[3]))


def x_mirrored(cell_lef: Path, cell: str, pitch_um: float, phase_um: float, layer: str) -> bool:
    """Whether `cell` is better mirrored in x: the orientation whose signal pins on `layer` hold a vertical track
    (cell-relative x = phase + k*pitch) farthest inside their rectangles. Cells sit on every site phase in
    the flat flow too, but graywolf also flips them; a dfxtp_1's D pin is unreachable unflipped (measured)."""
    macro = lef_macros(Path(cell_lef))[cell]
    width = macro.width

    def score(mirror: bool) -> float:
        worst = math.inf
        for pin in macro.pins.values():
            if pin.use in ("POWER", "GROUND"):
                continue
            best = -math.inf
            for _, x0, _, x1, _ in (r for r in pin.rects if r[0] == layer):
                lo, hi = sorted((width - x1, width - x0) if mirror else (x0, x1))
                k = math.ceil((lo - phase_um) / pitch_um - 1e-9)
                while phase_um + k * pitch_um <= hi + 1e-9:
                    g = phase_um + k * pitch_um
                    best = max(best, min(g - lo, hi - g))
                    k += 1
            worst = min(worst, best)
        return worst
    return score(True) > score(False) + 1e-9


def legalize(cells: list[Inst], targets: dict[str, tuple], region: tuple, site: tuple[int, int],
             offset: tuple[int, int], strip: str, mirrored: set[str] = frozenset()) -> None:
    """Tetris legalization of `cells` into the rows of `region` (site_rows; cells in `mirrored` also flipped in
    x: S, FN): sets each cell's x, y, orient."""
    from ..errors import FlowError
    sw, rh = site
    rows = site_rows(region, site, offset)
    x1 = region[2]
    cursor = {y: x0 for x0, y, _, _ in rows}
    for cell in sorted(cells, key=lambda c: (targets[c.name][0], targets[c.name][1], c.name)):
        tx, ty = targets[cell.name]
        best = None
        for x0, y, _, _ in rows:
            x = max(cursor[y], x0 + align_up(max(int(tx - cell.width / 2) - x0, 0), sw))
            if x + cell.width > x1:
                x = cursor[y]
                if x + cell.width > x1:
                    continue
            cost = abs(x + cell.width / 2 - tx) + abs(y + rh / 2 - ty)
            if best is None or cost < best[0]:
                best = (cost, x, y)
        if best is None:
            raise FlowError(f"floorplan: glue strip {strip} is full ({len(cells)} cells); widen it")
        _, cell.x, cell.y = best
        cell.orient = row_orient(cell, offset, rh, mirrored)
        cursor[cell.y] = cell.x + cell.width


def site_rows(region: tuple, site: tuple[int, int], offset: tuple[int, int]) -> list[tuple[int, int, int, str]]:
    """The rows of `region` on the site grid (x = offset + k*site_w, y = offset + k*row_h, wholly inside):
    (x0, y, sites, orient), even rows FS, odd rows N as qflow's place2def writes them."""
    sw, rh = site
    x0, y0, x1, y1 = region
    sx0 = offset[0] + align_up(max(x0 - offset[0], 0), sw)
    return [(sx0, y, (x1 - sx0) // sw, "FS" if ((y - offset[1]) // rh) % 2 == 0 else "N")
            for y in _row_ys(y0, y1, offset[1], rh)]


class RowSpace:
    """The free sites of a region's rows around the cells already legalized there (they keep their places):
    `place` puts a cell into the free spot nearest its target."""

    def __init__(self, region: tuple, site: tuple[int, int], offset: tuple[int, int], placed: list[Inst]):
        self.site, self.offset, self.x1 = site, offset, region[2]
        self.rows = {y: (x0, []) for x0, y, _, _ in site_rows(region, site, offset)}   # y -> (x0, sorted spans)
        for c in placed:
            bisect.insort(self.rows[c.y][1], (c.x, c.x + c.width))

    def place(self, cell: Inst, target: tuple, mirrored: set[str] = frozenset()) -> bool:
        """Set the cell's x, y, orient at the free spot of least |dx| + |dy| to `target` (its centre); False if
        no row has room."""
        (sw, rh), ox = self.site, self.offset[0]
        tx, ty = target
        up, down = (lambda x: ox + align_up(x - ox, sw)), (lambda x: ox + (x - ox) // sw * sw)   # site grid
        best = None
        for y in sorted(self.rows, key=lambda y: (abs(y + rh / 2 - ty), y)):
            dy = abs(y + rh / 2 - ty)
            if best is not None and dy >= best[0]:
                break
            x0, spans = self.rows[y]
            edges = [x0] + [e for s in spans for e in s] + [self.x1]
            for lo, hi in zip(edges[::2], edges[1::2]):
                lo, top = up(lo), down(hi - cell.width)
                if top < lo:
                    continue
                x = min(max(down(round(tx - cell.width / 2)), lo), top)
                cost = abs(x + cell.width / 2 - tx) + dy
                if best is None or cost < best[0]:
                    best = (cost, x, y)
        if best is None:
            return False
        _, cell.x, cell.y = best
        cell.orient = row_orient(cell, self.offset, rh, mirrored)
        bisect.insort(self.rows[cell.y][1], (cell.x, cell.x + cell.width))
        return True


def channel_crossings(insts: dict[str, Inst], channel: int) -> list[tuple[int, int, int, int]]:
    """The rectangles where the routing channels between the macro columns and rows (and the outer channels
    around the grid, `channel` wide) cross."""
    xs, ys = _channel_gaps(insts, channel)
    return [(x0, y0, x1, y1) for x0, x1 in xs for y0, y1 in ys]


def channel_runs(insts: dict[str, Inst], channel: int) -> list[tuple[int, int, int, int]]:
    """The routing channels between and around the macros cut at their crossings: each column gap along each
    macro row, each row gap along each macro column."""
    xs, ys = _channel_gaps(insts, channel)
    spans = lambda gaps: [(a[1], b[0]) for a, b in zip(gaps, gaps[1:])]       # the macro columns / rows
    return ([(x0, y0, x1, y1) for x0, x1 in xs for y0, y1 in spans(ys)]
            + [(x0, y0, x1, y1) for x0, x1 in spans(xs) for y0, y1 in ys])


def die_margin(die: tuple[int, int, int, int], edge: int) -> list[tuple[int, int, int, int]]:
    """The ring `edge` wide inside the die's border (west, east, south, north)."""
    x0, y0, x1, y1 = die
    return [(x0, y0, x0 + edge, y1), (x1 - edge, y0, x1, y1), (x0, y0, x1, y0 + edge), (x0, y1 - edge, x1, y1)]


def _channel_gaps(insts: dict[str, Inst], channel: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(x gaps, y gaps) between the macros' merged spans, with a `channel`-wide one outside each end."""
    def gaps(spans):
        merged = []
        for lo, hi in sorted(spans):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        edges = [merged[0][0] - channel] + [e for lo, hi in merged for e in (lo, hi)] + [merged[-1][1] + channel]
        return list(zip(edges[::2], edges[1::2]))
    macros = [i for i in insts.values() if i.macro]
    return gaps([(m.x, m.x + m.width) for m in macros]), gaps([(m.y, m.y + m.height) for m in macros])


def place_in_crossings(cells: list[Inst], targets: dict[str, tuple], crossings: list[tuple[int, int, int, int]],
                       site: tuple[int, int], offset: tuple[int, int], margin: int,
                       mirrored: set[str] = frozenset(), reach: dict[str, float] | None = None) -> list[Inst]:
    """Each cell, in the order given, into the channel crossing nearest its target with room left (its centre
    within `reach[cell]` of the target, |dx| + |dy|, where given), on the site grid, `margin` clear of the macros
    (their edge pins), packed row by row; rows flipped as in the strips (legalize). -> the cells no crossing
    within reach had room for (left unplaced)."""
    sw, rh = site
    free = {}                      # crossing -> {row y: next free x}
    for c in crossings:
        x0 = offset[0] + align_up(max(c[0] + margin - offset[0], 0), sw)
        free[c] = dict.fromkeys(_row_ys(c[1] + margin, c[3] - margin, offset[1], rh), x0)
    left = []
    for cell in cells:
        tx, ty = targets[cell.name]
        far = reach.get(cell.name, math.inf) if reach else math.inf
        dist = {c: abs((c[0] + c[2]) / 2 - tx) + abs((c[1] + c[3]) / 2 - ty) for c in crossings}
        near = sorted((c for c in crossings if dist[c] <= far), key=lambda c: (dist[c], c))
        spot = next(((c, y) for c in near for y, x in free[c].items() if x + cell.width <= c[2] - margin), None)
        if spot is None:
            left.append(cell)
            continue
        c, cell.y = spot
        cell.x = free[c][cell.y]
        free[c][cell.y] += cell.width
        cell.orient = row_orient(cell, offset, rh, mirrored)
    return left


def crossings_fit(crossings: list[tuple[int, int, int, int]], width: int, site: tuple[int, int],
                  margin: int) -> bool:
    """Whether a cell `width` wide fits in every channel crossing, `margin` clear of the macros, on the site
    grid (two row heights hold one whole row however the grid falls)."""
    return all(c[3] - c[1] - 2 * margin >= 2 * site[1] and c[2] - c[0] - 2 * margin >= width + site[0]
               for c in crossings)


def row_orient(cell: Inst, offset: tuple[int, int], row_h: int, mirrored: set[str]) -> str:
    """Even rows flipped (FS), odd rows N, as qflow's place2def writes them; cells in `mirrored` flipped in x."""
    flip = ((cell.y - offset[1]) // row_h) % 2 == 0
    return {(True, False): "FS", (False, False): "N", (True, True): "S", (False, True): "FN"}[
        (flip, cell.cell in mirrored)]


def _row_ys(y0: int, y1: int, offset: int, row_h: int) -> list[int]:
    """The rows of the site grid (y = offset + k * row_h) lying wholly within y0..y1."""
    first = max(0, -(-(y0 - offset) // row_h))
    return [offset + k * row_h for k in range(first, (y1 - offset) // row_h) if offset + (k + 1) * row_h <= y1]


def strip_thickness(area_um2: float, length: int, units: int, density: float, row_h: int) -> int:
    """Rows (in DEF units of height) a strip of `length` needs for `area_um2` of cells at `density`."""
    if area_um2 <= 0:
        return 0
    n_rows = math.ceil(area_um2 * units ** 2 / density / max(length, 1) / row_h)
    return (n_rows + 1) * row_h


def densest_stretch(members: list[tuple[float, float]], stretch: int) -> float:
    """The most cell area within any `stretch` (DEF units) along a strip; members: (position along it, area)."""
    members = sorted(members)
    best, total, lo = 0.0, 0.0, 0
    for pos, area in members:
        total += area
        while members[lo][0] < pos - stretch:
            total -= members[lo][1]
            lo += 1
        best = max(best, total)
    return best


def cell_dims(cell_lef: Path, units: int) -> dict[str, tuple[int, int]]:
    return {m: (round(c.width * units), round(c.height * units)) for m, c in lef_macros(Path(cell_lef)).items()}


def special_route(route: str) -> str:
    """`+ ROUTED` text of a net -> the same wires and vias as SPECIALNETS routing, whose every element has a
    width (0: qrouter takes the layer's route width)."""
    return "\n  NEW ".join(re.sub(r"^(\S+)\s+(?:\d+\s+)?", r"\1 0 ", part.strip())
                           for part in re.split(r"\s+NEW\s+", route.strip()))


def write_def(fp: Path | str, plan: Floorplan, nets: dict[str, list[tuple[str, str]]], design: str,
              window: tuple[int, int, int, int] | None = None, routes: dict[str, str] | None = None) -> Path:
    """The array-level DEF qrouter routes: tracks, macros FIXED, glue PLACED, I/O pins, signal nets.
    `window`: a part of the die as the DEF's die (components reaching into it, pins inside it); `routes`:
    {net: `+ ROUTED` text} written with the net, or for names not in `nets` as a FIXED special net named
    kan_obstruction_<k> (wires qrouter keeps as obstructions)."""
    x0, y0, x1, y1 = window or plan.die
    routes = routes or {}
    insts = [i for i in plan.insts.values() if i.x <= x1 and x0 <= i.x + i.width and i.y <= y1 and y0 <= i.y + i.height]
    pins = {n: v for n, v in plan.pins.items() if x0 <= v[1] <= x1 and y0 <= v[2] <= y1}
    out = ["VERSION 5.6 ;", "NAMESCASESENSITIVE ON ;", 'DIVIDERCHAR "/" ;', 'BUSBITCHARS "<>" ;',
           f"DESIGN {design} ;", f"UNITS DISTANCE MICRONS {plan.units} ;", "",
           f"DIEAREA ( {x0} {y0} ) ( {x1} {y1} ) ;", ""]
    for i, (rx, ry, n, orient) in enumerate(plan.rows):
        out.append(f"ROW ROW_{i} unithd {rx} {ry} {orient} DO {n} BY 1 STEP {plan.site[0]} 0 ;")
    out.append("")
    for d, layer, step, _ in plan.tracks:
        lo, hi = (x0, x1) if d == "X" else (y0, y1)
        start = align_up(lo, step)
        out.append(f"TRACKS {d} {start} DO {(hi - start) // step + 1} STEP {step} LAYER {layer} ;")
    out += ["", f"COMPONENTS {len(insts)} ;"]
    for inst in sorted(insts, key=lambda i: i.name):
        status = "FIXED" if inst.macro else "PLACED"
        out.append(f"- {inst.name} {inst.cell} + {status} ( {inst.x} {inst.y} ) {inst.orient} ;")
    out += ["END COMPONENTS", "", f"PINS {len(pins)} ;"]
    for name, (layer, x, y) in sorted(pins.items()):
        out += [f"- {name} + NET {name}", f"  + LAYER {layer} ( -14 -14 ) ( 14 14 )", f"  + PLACED ( {x} {y} ) N ;"]
    walls = sorted(set(routes) - set(nets))
    out += ["END PINS", "", f"NETS {len(nets)} ;"]
    for name in sorted(nets):
        # one connection per line and ';' on its own line, as place2def writes them: qrouter's write_def
        # inserts the routes before that ';' (a one-line net comes back without its wires)
        route = [f"+ ROUTED {routes[name]}"] if name in routes else []
        out += [f"- {name}", *[f"  ( {i} {p} )" for i, p in nets[name]], *route, ";"]
    out += ["END NETS", ""]
    if walls:
        # FIXED special nets: qrouter makes their wires obstructions (its UserObs) that no rip-up removes. As
        # regular nets without connections, stage2 ripped them up to route through and never put them back
        # (16x16: 1,811 grid shorts in the merged routes). Renamed: under its own name a wire of an I/O net
        # would join that pin
        out.append(f"SPECIALNETS {len(walls)} ;")
        for k, name in enumerate(walls):
            out += [f"- kan_obstruction_{k}", f"+ FIXED {special_route(routes[name])}", ";"]
        out += ["END SPECIALNETS", ""]
    out += ["END DESIGN", ""]
    Path(fp).write_text("\n".join(out))
    return Path(fp)


def _shift(text: str, dx: int, dy: int) -> str:
    return POINT.sub(lambda m: f"( {m[1] if m[1] == '*' else int(m[1]) + dx} "
                               f"{m[2] if m[2] == '*' else int(m[2]) + dy}{m[3]} )", text)


def merge_def(top_def: Path, routed_top: Path, macro_defs: dict[str, Path], plan: Floorplan, out: Path) -> Path:
    """One DEF of the whole array: the routed array level plus every macro's cells and wires moved to its
    instance (names prefixed `<instance>/`). For inspection; each macro keeps its own DEF (the die picture is
    drawn from those). Written as it goes, one instance at a time: a 16x16 array's merged DEF is ~0.5 GB."""
    top = Path(routed_top).read_text()
    macros = {m: Path(f).read_text() for m, f in macro_defs.items()}
    placed = plan.macro_insts()
    comps = [l for l in section(top, "COMPONENTS").splitlines() if l.strip()
             and not any(l.split()[1] == i for i, _ in placed)]
    count = {m: len([l for l in section(t, "COMPONENTS").splitlines() if l.strip()]) for m, t in macros.items()}
    n_nets = {m: len(re.findall(r"^-\s", section(t, "NETS"), re.M)) for m, t in macros.items()}
    pins = re.search(r"^PINS.*?^END PINS\n", top, re.S | re.M)
    with open(out, "w") as f:
        f.write(top[:top.index("COMPONENTS")]
                + f"COMPONENTS {len(comps) + sum(count[i.macro.name] for _, i in placed)} ;\n" + "\n".join(comps))
        for name, inst in placed:
            body = _shift(section(macros[inst.macro.name], "COMPONENTS"), *inst.origin)
            f.writelines("\n" + re.sub(r"^-\s+(\S+)", rf"- {name}/\1", l) for l in body.splitlines() if l.strip())
        top_nets = section(top, "NETS")
        total = len(re.findall(r"^-\s", top_nets, re.M)) + sum(n_nets[i.macro.name] for _, i in placed)
        f.write("\nEND COMPONENTS\n\n" + (pins.group(0) if pins else "") + f"\nNETS {total} ;\n" + top_nets.rstrip())
        for name, inst in placed:
            nb = re.sub(r"^-\s+(\S+)", rf"- {name}/\1", section(macros[inst.macro.name], "NETS"), flags=re.M)
            nb = re.sub(r"\(\s*(?!PIN\b)(\S+)\s+(\S+)\s*\)", lambda m: m[0] if m[1] in "*-0123456789"
                        or m[1][0] in "-0123456789*" else f"( {name}/{m[1]} {m[2]} )", nb)
            f.write("\n" + _shift(re.sub(r"\(\s*PIN\s+\S+\s*\)\s*", "", nb), *inst.origin).rstrip())
        f.write("\nEND NETS\n\nEND DESIGN\n")
    return Path(out)
