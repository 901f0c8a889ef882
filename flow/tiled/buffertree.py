"""Buffer trees for the array's broadcast nets (clock, load enable, reset): every input-port net with more than
FANOUT sinks is driven through a tree of buffers built in the array glue, so that no unbuffered net of many sinks
spans the die.

A tree is built bottom-up by recursive bisection of its sinks' points (the method of means and medians): a group of
more than FANOUT cell inputs (a macro pin counts the cells its port net reaches inside) or, at the leaves, wider
than SPAN_PITCHES PE pitches across, is cut at the median of its longer side; each group gets one buffer, meant for
the group's centroid, and the buffers are grouped again, level by level, at most UPPER_FANOUT to a group. A macro
pin whose net passes k buffers inside the macro (a PE's row of clock buffers: Abstract.stages) joins the tree at
level k, among the buffers, so that every register is behind the same number of buffers, the macros' own included.
Above the last level that sinks join, the rest of the tree is planned top-down (partition): the buffers are cut into
at most UPPER_FANOUT parts of near equal counts, each part again, until a part is small enough for one buffer, so
that the branches of a level hold near equal numbers of buffers (grouped bottom-up, 2 to 4 buffers to a group and
each group counted as one, they did not: test_buffertree's 16x16 array had 30 to 64 macros under the buffers of one
level; 32x32 b3 skew 0.696 -> 0.548 ns). Equal in buffers is not equal in die: the glue's buffers crowd the west and
south strips, so the root's two branches of 32x32 b3 still cover 336 and 688 PEs. Sized by level: a leaf drives at
most FANOUT inputs within SPAN_PITCHES, with the PDK's clock buffer (the clock) or buffer (the others); a buffer
above the leaves drives wires across many PE pitches, with the PDK's tree buffer (a stronger clock buffer).
arrayplan.py plans the trees on the glue cells' legal places and puts a buffer whose point lies in the macro grid in
the nearest crossing of the routing channels with room, if that is nearer than a glue strip, any other into the free
sites of the strip nearest it.

Above the leaves a macro pin counts its cell inputs in buffers (FANOUT inputs weigh UPPER_FANOUT buffers: a b3
PE's clock pin, 9 clock buffers inside, weighs 3), so the buffer that drives it drives little else: counted as one,
4 PE pins to a level-1 buffer (0.19 pF) made the PEs the latest sinks of 8x8 b3 (latency 1.13 .. 1.93 ns, register
hold -0.058 ns; weighed, 1.33 .. 1.76 ns, +0.150 ns).

What this does not do of a real clock-tree synthesis: groups are balanced in cell inputs (above the sinks, in
buffer counts), not in wire length, load or delay; buffers are sized by level, not by their load; no delay
balancing between branches (the macros' own buffers are matched in number, not in delay), no useful skew, no hold
fixing. The post-route timing (propagated clock) measures the result: insertion delay, skew and hold slack."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate

from ..pdks import CellPin
from ..tools.floorplan import centroid
from .glue import ArrayNetlist

FANOUT = 12            # cell inputs a buffer drives (a macro pin counts the cells its net reaches inside); nets
                       # with more sinks are broadcasts (floorplan.glue_targets does not let them pull)
SPAN_PITCHES = 4       # a group spans at most this many PE pitches across
UPPER_FANOUT = 4       # buffers a buffer above the leaves drives: its wires cross many pitches, so fewer loads keep
                       # its delay near its neighbours' (8x8 b3 with 12: one drove 0.45 pF, its neighbour 0.22)
CLOCK = "sys_clk"

Point = tuple[float, float]


@dataclass
class Buffer:
    net: str                              # the broadcast net
    name: str
    cell: CellPin
    net_in: str
    net_out: str
    sinks: list[tuple[str, str]]          # (instance, pin) it drives: the net's sinks, or the buffers below
    level: int                            # 0 drives the sinks


@dataclass
class BufferTrees:
    buffers: list[Buffer] = field(default_factory=list)       # bottom-up: a buffer comes after those it drives
    in_channels: int = 0                                       # buffers placed in channel crossings

    @property
    def nets(self) -> set[str]:
        return {b.net_out for b in self.buffers}

    def points(self, sink_xy) -> dict[str, Point]:
        """Each buffer's point: the centroid of what it drives (`sink_xy(instance, pin)` for the net's sinks)."""
        out: dict[str, Point] = {}
        for b in self.buffers:
            out[b.name] = centroid([out[i] if i in out else sink_xy(i, pin) for i, pin in b.sinks])
        return out


def bisect(items: list[tuple[tuple, Point, int]], fanout: int, span: float) -> list[list[tuple[tuple, Point, int]]]:
    """Groups of (key, point, load) items with at most `fanout` load, spanning at most `span` across (a single
    item is a group whatever its load), cut at the median load."""
    side, axis = _longer_side(items)
    if len(items) == 1 or sum(n for *_, n in items) <= fanout and side <= span:
        return [items]
    items = _ordered(items, axis)
    loads = list(accumulate(n for *_, n in items))
    half = next((k + 1 for k, c in enumerate(loads[:-1]) if 2 * c >= loads[-1]), len(items) - 1)
    return bisect(items[:half], fanout, span) + bisect(items[half:], fanout, span)


def _longer_side(items: list[tuple[tuple, Point, int]]) -> tuple[float, int]:
    """(the length of the longer side of the items' box, its axis: 0 for x, 1 for y; x where they are equal)."""
    xs, ys = [p[0] for _, p, _ in items], [p[1] for _, p, _ in items]
    w, h = max(xs) - min(xs), max(ys) - min(ys)
    return (w, 0) if w >= h else (h, 1)


def _ordered(items: list[tuple[tuple, Point, int]], axis: int) -> list[tuple[tuple, Point, int]]:
    """The items along `axis`, ties by the other coordinate, then by key (the same whatever the input order)."""
    return sorted(items, key=lambda it: (it[1][axis], it[1][1 - axis], it[0]))


def _split(items: list[tuple[tuple, Point, int]], parts: int) -> list[list[tuple[tuple, Point, int]]]:
    """`items` cut into `parts` groups of as near equal counts as can be, by cuts across the longer side of each
    group's box (`parts` <= len(items))."""
    if parts == 1:
        return [items]
    items = _ordered(items, _longer_side(items)[1])
    low = parts // 2
    cut = len(items) * low // parts
    return _split(items[:cut], low) + _split(items[cut:], parts - low)


def partition(items: list[tuple[tuple, Point, int]], fanout: int) -> tuple[list, int]:
    """The levels above the last one that sinks join, planned top-down: `items` (buffers) cut into at most `fanout`
    groups of near equal counts, each of those again, until a group is small enough for one buffer -> (the plan:
    nested lists `depth` deep, depth 1 being a group of items; depth, the levels it takes)."""
    depth = 1
    while fanout ** depth < len(items):
        depth += 1
    return _cut(items, depth, len(items), fanout), depth


def _cut(group: list, levels: int, most: int, fanout: int) -> list:
    """`group` (at most `most` items) planned `levels` deep: cut into as many parts as the largest group of its level
    needs, so that siblings and cousins alike hold near equal counts."""
    if levels == 1:
        return group
    parts = -(-most // fanout ** (levels - 1))
    return [_cut(g, levels - 1, -(-most // parts), fanout) for g in _split(group, min(parts, len(group)))]


def _leaves(plan: list, depth: int) -> list[list]:
    """The item groups of a nested plan (partition's)."""
    return [plan] if depth == 1 else [g for part in plan for g in _leaves(part, depth - 1)]


def _fold(plan: list, depth: int, built) -> list:
    """The plan one level up: each item group replaced by the next of `built` (the buffer that drives it)."""
    return next(built) if depth == 1 else [_fold(part, depth - 1, built) for part in plan]


def insert_trees(net: ArrayNetlist, nets: dict[str, list[tuple[str, str]]], sink_xy, pitch: int, clock: CellPin,
                 buffer: CellPin, upper: CellPin, load=lambda inst, pin: 1, stages=lambda inst, pin: 0) -> BufferTrees:
    """Plan a tree for every input-port net with more than FANOUT sinks (their points: `sink_xy(instance, pin)`;
    `load(instance, pin)`: the cell inputs a sink stands for, a macro pin the cells its port net reaches inside;
    `stages(instance, pin)`: the buffers in series behind a macro pin inside the macro, 0 elsewhere) and add its
    buffers to `net`, the sinks moved onto the nets of the buffers that drive them. Leaves: `clock` for the clock,
    `buffer` for the others; above them `upper`."""
    directions = net.port_directions()
    trees, moved = BufferTrees(), {}
    for name in sorted(nets):
        sinks = [m for m in nets[name] if m[0] != "PIN"]
        if directions.get(name) != "input" or len(sinks) <= FANOUT:
            continue
        leaf = clock if name == CLOCK else buffer
        # a sink with k buffers inside joins the tree at level k: every register then sits behind as many buffers
        # (16x16 b3: a PE's registers, behind its row of clock buffers, were clocked 0.22 ns after the B-spline
        # units' and the glue's, which the leaves drive themselves)
        entering: dict[int, list] = {}
        for m in sinks:
            k = stages(*m)
            # above the leaves a buffer counts 1 against UPPER_FANOUT, a macro pin its cell inputs in that unit
            entering.setdefault(k, []).append((m, sink_xy(*m), load(*m) if k == 0 else
                                               -(-load(*m) * UPPER_FANOUT // FANOUT)))
        items, below, level, plan, last = [], {}, 0, None, max(entering)
        while True:
            items += entering.pop(level, [])
            if not items:
                level += 1
                continue
            # the span bounds the leaf nets; above them, while sinks still join, the items are grouped by weight
            # alone; above those, the rest of the tree is planned top-down
            if level > last and plan is None:
                plan, depth = partition(items, UPPER_FANOUT)
            groups = (_leaves(plan, depth) if plan is not None else
                      bisect(items, FANOUT, SPAN_PITCHES * pitch) if level == 0 else
                      bisect(items, UPPER_FANOUT, float("inf")))
            built, cell = {}, leaf if level == 0 else upper
            for k, group in enumerate(groups):
                out = net.net_name(f"{name}_tree{level}_{k}")
                b = Buffer(name, net.cell_name(cell.cell), cell, name, out, [m for m, *_ in group], level)
                for m in b.sinks:
                    if m[0] in below:
                        below[m[0]].net_in = out
                    else:
                        moved[m] = out
                built[b.name] = (b, centroid([xy for _, xy, _ in group]))
            trees.buffers += [b for b, _ in built.values()]
            if len(groups) == 1 and not entering:      # the root: the port drives it
                break
            below = {n: b for n, (b, _) in built.items()}
            items = [((n, cell.inputs[0]), xy, 1) for n, (_, xy) in built.items()]
            if plan is not None:
                plan, depth = _fold(plan, depth, iter(items)), depth - 1
            level += 1
    net.add_buffers([(b.name, b.cell, b.net_in, b.net_out) for b in trees.buffers], moved)
    return trees
