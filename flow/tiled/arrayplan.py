"""The array's floorplan: the macro grid with its routing channels (flow.tools.floorplan), the I/O pins on the die
edge where their nets lead, and the glue cells in strips west, south and north of the array, sized by what lands
in them and legalized on the site grid."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rtl_gen.params import KanParams

from ..errors import FlowError
from ..pdks import LayerRoles, PdkInfo
from ..tools import floorplan as fp
from ..tools.liberty import cell_table
from ..tools.macro import Abstract
from .buffertree import BufferTrees, insert_trees
from .glue import ArrayNetlist
from .rtl import bits

CHANNEL_UM = 12.0          # routing channel between macros
CROSSING_MARGIN_UM = 2.0   # a tree buffer in a channel crossing keeps this clear of the macros (their edge pins)
GLUE_DENSITY = 0.5         # of the glue strips (the routability the toolchain notes measured for sky130hd)
GLUE_PEAK_DENSITY = 0.65   # of a strip's densest stretch of STRETCH_PITCHES PE pitches (by its cells' targets):
STRETCH_PITCHES = 4        # a strip's load is uneven (16x16 b3's south strip: 15 deskew stages under column 0,
                           # none under column 15; its first 4 pitches hold 1.5x the mean)
STRIPS = ("W", "S", "N")   # glue strips west, south and north of the array


def io_pins(p: KanParams, insts: dict, die, tracks, layers: LayerRoles) -> dict[str, tuple[str, int, int]]:
    """Top-level pins on the die edge, each on the track where its net leads: x west of its row's B-spline
    x pin, load_data north above its column's load_in pin, y south below the last row's psum_out pin,
    the control ports stacked on the west edge from the bottom."""
    h_layer, v_layer = layers.pin_h, layers.pin_v
    sx = next(st for d, l, st, _ in tracks if d == "X" and l == v_layer)
    sy = next(st for d, l, st, _ in tracks if d == "Y" and l == h_layer)
    x0, y0, x1, y1 = die
    xl, yb = fp.align_up(x0, sx) + sx, fp.align_up(y0, sy) + sy      # one track inside the die edge
    yt = (y1 // sy) * sy - sy
    pins: dict[str, tuple] = {}
    A, n, c = p.acc_width, p.input_bits, p.coef_bits
    for i in range(p.rows):
        for k in range(n):
            pins[f"x[{i * n + k}]"] = (h_layer, xl, fp.macro_pin_xy(insts[f"bspline_{i}"], bits("x", n)[k])[2])
    for j in range(p.cols):
        for k in range(c):
            top_pe = insts[f"pe_0_{j}"]
            pins[f"load_data[{j * c + k}]"] = (v_layer, fp.macro_pin_xy(top_pe, bits("load_in", c)[k])[1], yt)
        for k in range(A):
            pe = insts[f"pe_{p.rows - 1}_{j}"]
            pins[f"y[{j * A + k}]"] = (v_layer, fp.macro_pin_xy(pe, bits("psum_out", A)[k])[1], yb)
    for k, name in enumerate(("sys_clk", "sys_rst", "load_en", "in_valid", "out_valid")):
        pins[name] = (h_layer, xl, yb + sy * (4 + 2 * k))
    return pins


@dataclass
class StripPlan:
    """The macro grid and glue strips once the strips hold their cells: die, instances, strip rectangles, I/O
    pins, each glue cell's target point and strip."""
    die: tuple[int, int, int, int]
    insts: dict[str, fp.Inst]
    regions: dict[str, tuple]
    pins: dict[str, tuple[str, int, int]]
    fixed: dict[tuple[str, str], tuple]          # (instance | 'PIN', pin) -> (layer, x, y) of macro and I/O pins
    targets: dict[str, tuple]
    side: dict[str, str]                         # glue cell -> strip, or 'C': a channel crossing (tree buffers)
    crossings: list[tuple[int, int, int, int]]

    def sink_at(self, places: dict[str, tuple]):
        """-> sink_xy(instance, pin): a macro or I/O pin where it is fixed, else the glue cell's point in `places`."""
        return lambda inst, pin: _sink_xy(self.fixed, places, inst, pin)


def build_floorplan(p: KanParams, pe: Abstract, bs: Abstract, net: ArrayNetlist, pdk: PdkInfo, liberty: Path,
                    buffer_trees: bool = True) -> tuple[fp.Floorplan, dict, BufferTrees]:
    """-> (the array's floorplan: macros, I/O pins, legal glue rows; its nets {net: [(instance|'PIN', pin)]};
    the broadcast nets' buffer trees, added to `net`).

    The trees are planned on the glue cells' legal places, which they then keep: planned on the cells' target
    points, a leaf group of 12 registers within 4 pitches ended up over 1.4 mm of a crowded strip once legalized
    (16x16 b3: 121 of 574 clock leaf nets wider than 4 pitches), too wide for any routing window. So the strips
    are sized for a trial tree (planned on the legal places in strips sized without one), the glue is legalized
    in them, the trees are planned on those places, and their buffers go into the channel crossings and the
    strips' free sites around the glue."""
    u = pe.units
    dims = fp.cell_dims(pdk.cell_lef, u)
    layers = pdk.layers
    _, _, tracks = fp.grid_steps(pe.tracks)
    sx = next(st for d, l, st, _ in tracks if d == "X" and l == layers.pin_v)
    sy = next(st for d, l, st, _ in tracks if d == "Y" and l == layers.row_tracks)
    row_h = dims[pdk.buffer.cell][1]
    site, offset = (sx, row_h), (sx // 2, sy // 2)
    u_track = sx / u
    types = {t for _, t, _ in net.cells if t not in net.macros} | {pdk.clock_buffer.cell, pdk.buffer.cell,
                                                                   pdk.tree_buffer.cell}
    mirrored = {t for t in types if fp.x_mirrored(pdk.cell_lef, t, u_track, u_track / 2, layers.cell_pins)}
    floating = {m: a.floating for m, a in (("kan_pe", pe), ("kan_bspline", bs))}
    glue = lambda n: {i: fp.Inst(i, t, width=dims[t][0], height=dims[t][1]) for i, t, _ in n.cells
                      if t not in n.macros}
    pitch = max(fp.array_pitch(pe, bs, CHANNEL_UM))
    sizing = (p, pe, bs, tracks, layers, cell_table(liberty), site, offset)

    def plan_trees(n: ArrayNetlist, s: StripPlan, places: dict[str, tuple]) -> BufferTrees:
        macro_of = {i: inst.macro for i, inst in s.insts.items() if inst.macro}
        load = lambda i, pin: max(macro_of[i].fanout.get(pin, 1), 1) if i in macro_of else 1
        stages = lambda i, pin: macro_of[i].stages.get(pin, 0) if i in macro_of else 0
        return insert_trees(n, n.nets(floating), s.sink_at(places), pitch, pdk.clock_buffer, pdk.buffer,
                            pdk.tree_buffer, load, stages)

    s = _size_strips(*sizing, glue(net), net.nets(floating))
    if buffer_trees:
        trial = net.copy()
        if (tried := plan_trees(trial, s, _legalize(glue(net), s, site, offset, mirrored))).buffers:
            s = _size_strips(*sizing, glue(trial), trial.nets(floating), tried, dims)
    cells = glue(net)
    places = _legalize(cells, s, site, offset, mirrored)
    trees = plan_trees(net, s, places) if buffer_trees else BufferTrees()
    if trees.buffers:
        buffers = {b.name: fp.Inst(b.name, b.cell.cell, width=dims[b.cell.cell][0], height=dims[b.cell.cell][1])
                   for b in trees.buffers}
        trees.in_channels = _place_buffers(trees, buffers, trees.points(s.sink_at(places)), s, cells, dims, site,
                                           offset, int(CROSSING_MARGIN_UM * u), mirrored)
        cells.update(buffers)
    rows = [r for strip in sorted(STRIPS) for r in fp.site_rows(s.regions[strip], site, offset)]   # none if empty
    # no wire on the local layer in the channels and margins (b3 8x8: the clock port's net ran 401 um of li1 up
    # the west margin, 1.2 ns before the root buffer)
    keep_out = fp.channel_runs(s.insts, int(CHANNEL_UM * u)) + fp.die_margin(s.die, s.regions["W"][0])
    blockages = [(layers.local, b) for b in keep_out] if layers.local else []
    s.insts.update(cells)
    plan = fp.Floorplan(u, s.die, tracks, s.insts, s.pins, rows, site, blockages)
    return plan, net.nets(floating), trees


def _legalize(cells: dict[str, fp.Inst], s: StripPlan, site: tuple[int, int], offset: tuple[int, int],
              mirrored: set[str]) -> dict[str, tuple]:
    """Legalize the glue `cells` in their strips -> {cell: its centre}."""
    for strip in sorted(STRIPS):
        members = [cells[c] for c in sorted(cells) if s.side[c] == strip]
        if members:
            fp.legalize(members, s.targets, s.regions[strip], site, offset, strip, mirrored)
    return {n: (c.x + c.width / 2, c.y + c.height / 2) for n, c in cells.items()}


def _place_buffers(trees: BufferTrees, buffers: dict[str, fp.Inst], targets: dict[str, tuple], s: StripPlan,
                   glue: dict[str, fp.Inst], dims: dict, site: tuple[int, int], offset: tuple[int, int], margin: int,
                   mirrored: set[str]) -> int:
    """The tree buffers at their points (`targets`): into the channel crossings where _crossing_order puts them
    and a crossing has room, the others into the free sites of the strip nearest their point (the next nearest
    where it is full) around the legal glue -> buffers in crossings."""
    order, reach = _crossing_order(trees, targets, s.crossings, s.insts, s.regions, dims, site, margin)
    left = fp.place_in_crossings([buffers[n] for n in order], targets, s.crossings, site, offset, margin, mirrored,
                                 reach)
    space = {strip: fp.RowSpace(s.regions[strip], site, offset, [c for n, c in glue.items() if s.side[n] == strip])
             for strip in STRIPS}
    ordered = set(order)
    for b in [buffers[b.name] for b in trees.buffers if b.name not in ordered] + left:
        near = sorted(STRIPS, key=lambda k: (fp.box_distance(targets[b.name], s.regions[k]), k))
        if not any(space[k].place(b, targets[b.name], mirrored) for k in near):
            raise FlowError(f"floorplan: no glue strip has room for tree buffer {b.name}")
    return len(order) - len(left)


def _size_strips(p: KanParams, pe: Abstract, bs: Abstract, tracks, layers: LayerRoles, areas: dict,
                 site: tuple[int, int], offset: tuple[int, int], cells: dict[str, fp.Inst], nets: dict,
                 trees: BufferTrees | None = None, dims: dict | None = None) -> StripPlan:
    """Plan the array with empty strips, size each strip by the area of the glue cells nearest it (GLUE_DENSITY
    over its length, GLUE_PEAK_DENSITY over its densest stretch), and plan again in the sized strips (at most
    twice: until the sizes stay). Tree buffers sit at the centroid of what they drive (their nets pull no glue
    cell): in a channel crossing where that lies in the macro grid, the buffer's cell (`dims`: cell -> (width,
    height)) fits there and a crossing nearer than a strip has room left, those farthest from the strips first
    (_crossing_order); in the strip nearest that point otherwise."""
    u = pe.units
    pitch = fp.array_pitch(pe, bs, CHANNEL_UM)
    strips = dict.fromkeys(STRIPS, 0)
    pull = {n: m for n, m in nets.items() if not trees or n not in trees.nets}
    margin = int(CROSSING_MARGIN_UM * u)
    for _ in range(2):
        die, insts, regions = fp.plan_array(p.rows, p.cols, pe, bs, strips, CHANNEL_UM)
        pins = io_pins(p, insts, die, tracks, layers)
        fixed = {(i, pin): fp.macro_pin_xy(insts[i], pin) for i in insts for pin in insts[i].macro.pins}
        fixed.update({("PIN", n): v for n, v in pins.items()})
        targets = fp.glue_targets(sorted(cells), pull, fixed, die)
        crossings = fp.channel_crossings(insts, int(CHANNEL_UM * u))
        if trees:
            targets.update(trees.points(lambda i, pin: _sink_xy(fixed, targets, i, pin)))
        side = {c: fp.nearest_strip(targets[c], regions) for c in sorted(cells)}
        order, reach = (_crossing_order(trees, targets, crossings, insts, regions, dims, site, margin) if trees
                        else ([], {}))
        side.update({n: "C" for n in order})
        if order:   # the same packing as _place_buffers': whatever finds no room within reach goes to its strip
            left = fp.place_in_crossings([cells[n] for n in order], targets, crossings, site, offset, margin,
                                         reach=reach)
            side.update({c.name: fp.nearest_strip(targets[c.name], regions) for c in left})
        new = {}
        for s in strips:
            along = 1 if s == "W" else 0                # the axis a strip runs along: y for the west strip
            members = [(targets[c][along], areas[cells[c].cell][0]) for c in cells if side[c] == s]
            r = regions[s]
            length = r[along + 2] - r[along]
            stretch = STRETCH_PITCHES * pitch[along]
            new[s] = max(_thickness(s, sum(a for _, a in members), length, GLUE_DENSITY, u, site),
                         _thickness(s, fp.densest_stretch(members, stretch), stretch, GLUE_PEAK_DENSITY, u, site))
        if new == strips:
            break
        strips = new
    return StripPlan(die, insts, regions, pins, fixed, targets, side, crossings)


def _thickness(strip: str, area: float, length: int, density: float, u: int, site: tuple[int, int]) -> int:
    """How thick (DEF units) a strip must be to hold `area` um^2 of cells over `length` at `density`."""
    sx, row_h = site
    if strip == "W":     # rows run across a west strip: its width holds the area at the density, plus margin
        return fp.align_up(int(area * u * u / density / max(length, 1)) + 4 * row_h, sx) if area else 0
    return fp.strip_thickness(area, length, u, density, row_h)


def _sink_xy(fixed: dict, targets: dict, inst: str, pin: str) -> tuple:
    """A net member's point: a macro or I/O pin where it is fixed, else the glue cell's target."""
    return fixed[(inst, pin)][1:] if (inst, pin) in fixed else targets[inst]


def _crossing_order(trees: BufferTrees, targets: dict, crossings: list, insts: dict[str, fp.Inst], regions: dict,
                    dims: dict, site: tuple[int, int], margin: int) -> tuple[list[str], dict[str, float]]:
    """The tree buffers meant for a channel crossing (their point in the macro grid, their cell narrow enough),
    farthest from the glue strips first, and each one's reach: its distance to the nearest strip. Where the
    crossings run out, the buffers nearest a strip go there, the deep ones keep their place; and a buffer whose
    nearest crossing with room is farther than a strip goes to the strip (4x4 b3: a leaf buffer sent to a
    crossing 140 um from its point made the latest clock arrival, 1.78 ns against 1.55)."""
    grid = _grid_box(insts)
    fits = {c: fp.crossings_fit(crossings, dims[c][0], site, margin) for c in {b.cell.cell for b in trees.buffers}}
    inside = [b.name for b in trees.buffers if fits[b.cell.cell] and _inside(targets[b.name], grid)]
    depth = {n: min(fp.box_distance(targets[n], r) for r in regions.values()) for n in inside}
    return sorted(inside, key=lambda n: (-depth[n], n)), depth


def _grid_box(insts: dict[str, fp.Inst]) -> tuple[int, int, int, int]:
    macros = [i for i in insts.values() if i.macro]
    return (min(m.x for m in macros), min(m.y for m in macros), max(m.x + m.width for m in macros),
            max(m.y + m.height for m in macros))


def _inside(point: tuple, box: tuple) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]
