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
    crossing_order: list[str]                    # the 'C' buffers, in the order they are packed into crossings

    def sink_xy(self, inst: str, pin: str) -> tuple:
        return _sink_xy(self.fixed, self.targets, inst, pin)


def build_floorplan(p: KanParams, pe: Abstract, bs: Abstract, net: ArrayNetlist, pdk: PdkInfo, liberty: Path,
                    buffer_trees: bool = True) -> tuple[fp.Floorplan, dict, BufferTrees]:
    """-> (the array's floorplan: macros, I/O pins, legal glue rows; its nets {net: [(instance|'PIN', pin)]};
    the broadcast nets' buffer trees, added to `net`, planned on the glue's places without them)."""
    u = pe.units
    dims = fp.cell_dims(pdk.cell_lef, u)
    layers = pdk.layers
    _, _, tracks = fp.grid_steps(pe.tracks)
    sx = next(st for d, l, st, _ in tracks if d == "X" and l == layers.pin_v)
    sy = next(st for d, l, st, _ in tracks if d == "Y" and l == layers.row_tracks)
    row_h = dims[pdk.buffer.cell][1]
    site, offset = (sx, row_h), (sx // 2, sy // 2)
    floating = {m: a.floating for m, a in (("kan_pe", pe), ("kan_bspline", bs))}
    glue = lambda: {i: fp.Inst(i, t, width=dims[t][0], height=dims[t][1]) for i, t, _ in net.cells
                    if t not in net.macros}
    cells, nets, trees = glue(), net.nets(floating), BufferTrees()
    sizing = (p, pe, bs, tracks, layers, cell_table(liberty), site, offset)
    s = _size_strips(*sizing, cells, nets)
    if buffer_trees:
        macro_of = {i: inst.macro for i, inst in s.insts.items() if inst.macro}
        load = lambda i, pin: max(macro_of[i].fanout.get(pin, 1), 1) if i in macro_of else 1
        trees = insert_trees(net, nets, s.sink_xy, max(fp.array_pitch(pe, bs, CHANNEL_UM)), pdk.clock_buffer,
                             pdk.buffer, pdk.tree_buffer, load)
        if trees.buffers:
            cells, nets = glue(), net.nets(floating)
            s = _size_strips(*sizing, cells, nets, trees, dims)
    u_track = sx / u
    mirrored = {t for t in {c.cell for c in cells.values()}
                if fp.x_mirrored(pdk.cell_lef, t, u_track, u_track / 2, layers.cell_pins)}
    rows = []
    for strip in sorted(STRIPS):
        members = [cells[c] for c in sorted(cells) if s.side[c] == strip]
        if members:
            rows += fp.legalize(members, s.targets, s.regions[strip], site, offset, strip, mirrored)
    in_channels = [cells[c] for c in s.crossing_order]
    if fp.place_in_crossings(in_channels, s.targets, s.crossings, site, offset, int(CROSSING_MARGIN_UM * u),
                             mirrored):
        raise FlowError("floorplan: a buffer planned into a channel crossing found none with room")
    trees.in_channels = len(in_channels)
    s.insts.update(cells)
    plan = fp.Floorplan(u, s.die, tracks, s.insts, s.pins, rows, site)
    return plan, nets, trees


def _size_strips(p: KanParams, pe: Abstract, bs: Abstract, tracks, layers: LayerRoles, areas: dict,
                 site: tuple[int, int], offset: tuple[int, int], cells: dict[str, fp.Inst], nets: dict,
                 trees: BufferTrees | None = None, dims: dict | None = None) -> StripPlan:
    """Plan the array with empty strips, size each strip by the area of the glue cells nearest it, and plan
    again in the sized strips (at most twice: until the sizes stay). Tree buffers sit at the centroid of what
    they drive (their nets pull no glue cell): in a channel crossing where that lies in the macro grid, the
    buffer's cell (`dims`: cell -> (width, height)) fits there and a crossing has room left, those farthest from
    the strips first (_crossing_order); in the strip nearest that point otherwise."""
    u = pe.units
    sx, row_h = site
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
        order = _crossing_order(trees, targets, crossings, insts, regions, dims, site, margin) if trees else []
        side.update({n: "C" for n in order})
        if order:   # the same packing as build_floorplan's: whatever finds no room goes to its strip
            left = fp.place_in_crossings([cells[n] for n in order], targets, crossings, site, offset, margin)
            side.update({c.name: fp.nearest_strip(targets[c.name], regions) for c in left})
            order = [n for n in order if side[n] == "C"]
        new = {}
        for s in strips:
            area = sum(areas[cells[c].cell][0] for c in cells if side[c] == s)
            r = regions[s]
            length = (r[3] - r[1]) if s == "W" else (r[2] - r[0])
            if s == "W":     # rows run across a west strip: its width holds the area at the density, plus margin
                new[s] = fp.align_up(int(area * u * u / GLUE_DENSITY / max(length, 1)) + 4 * row_h, sx) if area else 0
            else:
                new[s] = fp.strip_thickness(area, length, u, GLUE_DENSITY, row_h)
        if new == strips:
            break
        strips = new
    return StripPlan(die, insts, regions, pins, fixed, targets, side, crossings, order)


def _sink_xy(fixed: dict, targets: dict, inst: str, pin: str) -> tuple:
    """A net member's point: a macro or I/O pin where it is fixed, else the glue cell's target."""
    return fixed[(inst, pin)][1:] if (inst, pin) in fixed else targets[inst]


def _crossing_order(trees: BufferTrees, targets: dict, crossings: list, insts: dict[str, fp.Inst], regions: dict,
                    dims: dict, site: tuple[int, int], margin: int) -> list[str]:
    """The tree buffers meant for a channel crossing (their point in the macro grid, their cell narrow enough),
    farthest from the glue strips first: where the crossings run out (16x16 b3: 1,079 of its 1,198 buffers end up
    there), the buffers nearest a strip go there, the deep ones keep their place."""
    grid = _grid_box(insts)
    fits = {c: fp.crossings_fit(crossings, dims[c][0], site, margin) for c in {b.cell.cell for b in trees.buffers}}
    inside = [b.name for b in trees.buffers if fits[b.cell.cell] and _inside(targets[b.name], grid)]
    depth = {n: min(fp.box_distance(targets[n], r) for r in regions.values()) for n in inside}
    return sorted(inside, key=lambda n: (-depth[n], n))


def _grid_box(insts: dict[str, fp.Inst]) -> tuple[int, int, int, int]:
    macros = [i for i in insts.values() if i.macro]
    return (min(m.x for m in macros), min(m.y for m in macros), max(m.x + m.width for m in macros),
            max(m.y + m.height for m in macros))


def _inside(point: tuple, box: tuple) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]
