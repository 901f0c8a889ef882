"""Buffer trees of the array's broadcast nets (flow/tiled/buffertree.py) on a small glue netlist: no tool needed."""
from __future__ import annotations

import re

from flow.pdks import CellPin
from flow.tiled.buffertree import FANOUT, bisect, insert_trees
from flow.tiled.glue import ArrayNetlist

CLK = CellPin("CLKBUF", ("A",), "X")
BUF = CellPin("BUF", ("A",), "X")
UP = CellPin("CLKBUF8", ("A",), "X")


def _netlist(n_flops: int, n_enable: int):
    """sys_clk to `n_flops` flops on a 10 x 10 um grid, en to `n_enable` of their D pins, d0 to one."""
    port = lambda name: (f"\\{name}", 0, 1, True)
    cells = [(f"ff{k}", "DFF", [("CLK", [port("sys_clk")]), ("D", [port("en" if k < n_enable else "d0")])])
             for k in range(n_flops)]
    net = ArrayNetlist([("sys_clk", "input", 1), ("en", "input", 1), ("d0", "input", 1)], cells, [], {})
    xy = {f"DFF_{k + 1}": (10.0 * (k % 40), 10.0 * (k // 40)) for k in range(n_flops)}
    return net, xy


def test_bisect_keeps_groups_small_and_compact():
    items = [((f"c{k}", "A"), (float(k % 30), float(k // 30)), 1) for k in range(900)]
    groups = bisect(items, 12, 8.0)
    assert sorted(m for g in groups for m in g) == sorted(items)       # every item in one group
    for g in groups:
        xs, ys = [p[0] for _, p, _ in g], [p[1] for _, p, _ in g]
        assert len(g) <= 12 and max(xs) - min(xs) <= 8 and max(ys) - min(ys) <= 8
    assert groups == bisect(list(reversed(items)), 12, 8.0)            # the same whatever the input order
    assert bisect(items[:5], 12, 100.0) == [items[:5]]


def test_bisect_counts_the_load_of_each_item():
    """A macro pin whose net reaches 9 cells inside counts 9: with 4 flops beside it the load is 13 > 12."""
    pe = (("pe_0_0", "sys_clk"), (0.0, 0.0), 9)
    flops = [((f"ff{k}", "CLK"), (1.0 + k, 0.0), 1) for k in range(4)]
    assert [len(g) for g in bisect([pe, *flops], 12, 100.0)] == [1, 4]
    assert bisect([pe, *flops[:3]], 12, 100.0) == [[pe, *flops[:3]]]
    heavy = [((f"pe_{k}", "sys_clk"), (float(k), 0.0), 20) for k in range(3)]
    assert bisect(heavy, 12, 100.0) == [[h] for h in heavy]            # heavier than FANOUT: one per buffer


def test_every_sink_is_behind_the_same_number_of_buffers():
    net, xy = _netlist(1000, 13)
    nets = net.nets({})
    trees = insert_trees(net, nets, lambda i, pin: xy[i], 20, CLK, BUF, UP)
    # every input with more than FANOUT sinks gets a tree: sys_clk (1000), en (13), d0 (987)
    assert {b.net for b in trees.buffers} == {"sys_clk", "en", "d0"}
    after = net.nets({})
    root = next(b for b in trees.buffers if b.net == "sys_clk" and b.net_in == "sys_clk")
    assert set(after["sys_clk"]) == {("PIN", "sys_clk"), (root.name, "A")}     # the port drives the root only
    assert max(len(m) for m in after.values()) <= FANOUT + 1            # no net drives more than FANOUT sinks
    # walk each flop's CLK up to the port: the same number of buffers for every flop
    driver = {}
    for iname, ctype, conns in net.cells:
        if ctype in ("CLKBUF", "BUF", "CLKBUF8"):
            ins, out = dict(conns)["A"][0], dict(conns)["X"][0]
            driver[out] = (iname, ins)
    depths = set()
    for _, ctype, conns in net.cells:
        if ctype == "DFF":
            n, depth = dict(conns)["CLK"][0], 0
            while n in driver:
                n, depth = driver[n][1], depth + 1
            assert n == "sys_clk"
            depths.add(depth)
    levels = max(b.level for b in trees.buffers if b.net == "sys_clk") + 1
    assert depths == {levels} and levels == 5                   # 1000 flops -> 128 -> 32 -> 8 -> 2 -> 1 buffers
    # sized by level: the leaves the clock buffer (the clock) or the buffer, every level above the tree buffer
    assert all(b.cell is CLK for b in trees.buffers if b.net == "sys_clk" and b.level == 0)
    assert all(b.cell is BUF for b in trees.buffers if b.net != "sys_clk" and b.level == 0)
    assert all(b.cell is UP for b in trees.buffers if b.level > 0)
    text = net.verilog()
    assert len(re.findall(r"^\s+CLKBUF CLKBUF_\d+ \( \.A\(", text, re.M)) == 128        # the clock's leaves
    assert len(re.findall(r"^\s+CLKBUF8 CLKBUF8_\d+ \( \.A\(", text, re.M)) == sum(b.level > 0
                                                                                 for b in trees.buffers)


def test_a_sink_with_buffers_inside_joins_the_tree_that_many_levels_up():
    """The first 100 flops stand for macro clock pins with one buffer inside (stages 1): a level-1 buffer drives
    each of them, a leaf each other flop, so that every register is behind as many buffers (the macro's one
    included)."""
    net, xy = _netlist(1000, 0)
    inside = lambda i, pin: 1 if pin == "CLK" and int(i.split("_")[1]) <= 100 else 0
    trees = insert_trees(net, net.nets({}), lambda i, pin: xy[i], 20, CLK, BUF, UP, stages=inside)
    clock = [b for b in trees.buffers if b.net == "sys_clk"]
    driver = {(i, pin): b for b in clock for i, pin in b.sinks}
    levels = {driver[(i, "CLK")].level - inside(i, "CLK") for i, _ in driver if i.startswith("DFF")}
    assert levels == {0} and sum(len(b.sinks) for b in clock if b.level == 0) == 900
    assert sum(1 for b in clock for i, _ in b.sinks if b.level == 1 and i.startswith("DFF")) == 100
    # a net whose sinks all have a buffer inside starts at level 1, with the tree buffer
    net, xy = _netlist(40, 0)
    trees = insert_trees(net, net.nets({}), lambda i, pin: xy[i], 20, CLK, BUF, UP, stages=lambda i, pin: 1)
    assert {b.level for b in trees.buffers if b.net == "sys_clk"} == {1, 2, 3}
    assert all(b.cell is UP for b in trees.buffers if b.net == "sys_clk")
    # above the leaves a macro pin counts its cell inputs in buffers (FANOUT inputs = UPPER_FANOUT buffers): one
    # that reaches 9 cells counts 3, so no buffer drives two of them
    net, xy = _netlist(40, 0)
    trees = insert_trees(net, net.nets({}), lambda i, pin: xy[i], 20, CLK, BUF, UP, load=lambda i, pin: 9,
                         stages=lambda i, pin: 1)
    assert sorted(len(b.sinks) for b in trees.buffers if b.net == "sys_clk" and b.level == 1) == [1] * 40

def test_the_levels_above_the_macros_split_the_array_evenly():
    """A 16 x 16 array of macro clock pins (one buffer inside, 9 cells; 100 um pitch) and 64 flops in a column west
    of it. Level 1 mixes macro pins and leaves, so its buffers cover 0 to 4 macros; above it each level is planned
    top-down, and the buffers of a level cover near equal numbers of macros (bottom-up, groups of 2 to 4 buffers
    counted as one: 8 to 16 at level 3, 30 to 64 at level 4)."""
    n = 16
    net, _ = _netlist(n * n + 4 * n, 0)
    macro = lambda i: int(i[4:]) <= n * n                       # DFF_1 .. DFF_256 stand for the macros
    xy = {f"DFF_{k + 1}": (100.0 * (k % n), 100.0 * (k // n)) if k < n * n else (-50.0, 25.0 * (k - n * n + 1))
          for k in range(n * n + 4 * n)}
    trees = insert_trees(net, net.nets({}), lambda i, pin: xy[i], 100, CLK, BUF, UP,
                         load=lambda i, pin: 9 if macro(i) else 1, stages=lambda i, pin: 1 if macro(i) else 0)
    clock = {b.name: b for b in trees.buffers if b.net == "sys_clk"}
    macros = lambda b: sum(macros(clock[i]) if i in clock else macro(i) for i, _ in b.sinks)
    covered = {}
    for b in clock.values():
        covered.setdefault(b.level, []).append(macros(b))
    for level in (3, 4):
        assert max(covered[level]) <= 1.25 * min(covered[level]), (level, sorted(covered[level]))
    assert max(covered) == 6 and covered[6] == [n * n]
    assert sorted(covered[5]) == [126, 130] and len(covered[4]) == 6 and len(covered[3]) == 18



def test_small_nets_get_no_tree():
    net, xy = _netlist(FANOUT, FANOUT)
    before = net.verilog()
    trees = insert_trees(net, net.nets({}), lambda i, pin: xy[i], 20, CLK, BUF, UP)
    assert trees.buffers == [] and net.verilog() == before


def test_crossings_take_cells_in_the_order_given_and_return_those_without_room():
    """Two 20 x 20 crossings, 2 um margin, 1 x 5 sites: the rows at y 5 and 10 lie wholly within 2..18, 16 sites
    each. Cells 6 sites wide fit 2 per row, 4 per crossing: of 10, in the order given, the first 8 get a spot (the
    nearest crossing first, then the other), the last 2 are returned unplaced."""
    from flow.tools.floorplan import Inst, place_in_crossings
    crossings = [(0, 0, 20, 20), (100, 0, 120, 20)]
    cells = [Inst(f"b{k:02d}", "BUF", width=6, height=5) for k in range(10)]
    targets = {c.name: (10.0, 10.0) for c in cells}
    left = place_in_crossings(list(reversed(cells)), targets, crossings, (1, 5), (0, 0), 2)
    assert [c.name for c in left] == ["b01", "b00"]
    spots = sorted((c.x, c.y) for c in cells[2:])
    assert spots == [(2, 5), (2, 10), (8, 5), (8, 10), (102, 5), (102, 10), (108, 5), (108, 10)]
    assert {c.name for c in cells[2:] if c.x < 20} == {"b06", "b07", "b08", "b09"}     # first in order: nearest


def test_row_space_puts_a_cell_in_the_free_spot_nearest_its_target():
    """Rows y = 0, 5, 10 of a 0..30 x 0..15 region (1 x 5 sites); row 5 holds a cell at 8..20. A 4-wide cell aimed
    at (14, 7.5) goes a row away at its x (|dx| + |dy| = 0 + 5; rows 0 and 10 tie, the lower first) rather than
    to its own row's nearest free spot (8 + 0); the next ones fill around the others, none overlapping, and a
    cell wider than every free span finds none."""
    from flow.tools.floorplan import Inst, RowSpace
    space = RowSpace((0, 0, 30, 15), (1, 5), (0, 0), [Inst("g", "G", x=8, y=5, width=12, height=5)])
    a, b, c, wide = (Inst(n, "BUF", width=w, height=5) for n, w in (("a", 4), ("b", 4), ("c", 4), ("w", 31)))
    assert space.place(a, (14.0, 7.5)) and (a.x, a.y) == (12, 0)
    assert space.place(b, (22.0, 7.5)) and (b.x, b.y) == (20, 5)
    assert space.place(c, (14.0, 2.5)) and (c.x, c.y) == (8, 0)          # a's spot taken: 8..12 beside it
    assert not space.place(wide, (14.0, 7.5))
    spans = sorted((r.y, r.x, r.x + r.width) for r in (a, b, c))
    assert all(p[0] != q[0] or p[2] <= q[1] for p, q in zip(spans, spans[1:]))


def test_densest_stretch_finds_the_most_area_within_one_stretch():
    """Areas 1 at 0, 2 at 5, 4 at 12, 8 at 30: within 10 of each other 2 + 4 (5..12) beats 1 + 2, and the 8 alone
    beats both; an empty strip holds none."""
    from flow.tools.floorplan import densest_stretch
    assert densest_stretch([(12, 4.0), (0, 1.0), (5, 2.0)], 10) == 6.0
    assert densest_stretch([(12, 4.0), (0, 1.0), (5, 2.0), (30, 8.0)], 10) == 8.0
    assert densest_stretch([(0, 1.0), (5, 2.0), (12, 4.0)], 12) == 7.0
    assert densest_stretch([], 10) == 0.0


def test_glue_targets_of_a_long_chain_settle_between_its_fixed_ends():
    """A chain of 15 cells between pins at (0, 100) and (100, 0) of a 10,000-wide die: every target lies on the
    segment between the ends (x + y = 100), evenly spaced, and a cell on no fixed pin's component sits at the
    die centre. Started at the die centre, 60 passes left the chain's middle at (1992, 1992) (the 16x16 skew
    chains across the die)."""
    from flow.tools.floorplan import glue_targets
    chain = [f"c{k}" for k in range(15)]
    nets = {"in": [("PIN", "a"), ("c0", "D")], "out": [("c14", "Q"), ("PIN", "b")], "lone": [("z", "A"), ("z", "B")]}
    nets |= {f"n{k}": [(chain[k], "Q"), (chain[k + 1], "D")] for k in range(14)}
    fixed = {("PIN", "a"): ("m2", 0, 100), ("PIN", "b"): ("m2", 100, 0)}
    t = glue_targets([*chain, "z"], nets, fixed, (0, 0, 10000, 10000))
    assert all(abs(t[c][0] + t[c][1] - 100) < 1e-6 for c in chain)
    assert abs(t["c7"][0] - 50) < 3 and t["c0"][0] < t["c7"][0] < t["c14"][0]
    assert t["z"] == (5000, 5000)


def test_channel_runs_and_crossings_tile_the_channels():
    """Two 10 x 10 macros at x 10 and 30, y 10, channels 5 wide: 6 crossings, 3 column-gap runs along the macro
    row and 4 row-gap runs along the macro columns; with the macros they tile the grid box 5..45 x 5..25 (800)
    without overlap."""
    from flow.tools.floorplan import Inst, channel_crossings, channel_runs
    insts = {n: Inst(n, "M", x, 10, width=10, height=10, macro=object()) for n, x in (("a", 10), ("b", 30))}
    crossings, runs = channel_crossings(insts, 5), channel_runs(insts, 5)
    assert len(crossings) == 6 and len(runs) == 7
    assert sorted(r for r in runs if r[1] == 10) == [(5, 10, 10, 20), (20, 10, 30, 20), (40, 10, 45, 20)]
    boxes = crossings + runs + [(m.x, m.y, m.x + m.width, m.y + m.height) for m in insts.values()]
    area = lambda b: (b[2] - b[0]) * (b[3] - b[1])
    assert sum(area(b) for b in boxes) == 40 * 20
    cells = {(x, y) for b in boxes for x in range(b[0], b[2]) for y in range(b[1], b[3])}
    assert len(cells) == 800 and min(cells) == (5, 5) and max(cells) == (44, 24)


def test_blockages_become_qrouter_obstructions_clipped_to_the_window():
    from flow.tools.floorplan import Floorplan, die_margin
    plan = Floorplan(100, (0, 0, 2000, 1000), [], {}, {},
                     blockages=[("li1", b) for b in die_margin((0, 0, 2000, 1000), 50)])
    assert plan.obstructions()[0] == "obstruction 0 0 0.5 10 li1"
    # a window in the die's middle bottom: only the south margin reaches into it, cut to the window
    assert plan.obstructions((500, 0, 1500, 600)) == ["obstruction 5 0 15 0.5 li1"]


def test_a_crossing_beyond_reach_is_not_taken():
    """Reach (|dx| + |dy| from the target to a crossing's centre, arrayplan: the distance to the nearest strip):
    a cell midway between two crossings 50 away from each is left for its strip with reach 40, placed with 60."""
    from flow.tools.floorplan import Inst, place_in_crossings
    crossings = [(0, 0, 20, 20), (100, 0, 120, 20)]
    for reach, left in ((40.0, 1), (60.0, 0)):
        cell = Inst("b", "BUF", width=6, height=5)
        assert len(place_in_crossings([cell], {"b": (60.0, 10.0)}, crossings, (1, 5), (0, 0), 2,
                                      reach={"b": reach})) == left
